"""archive package of nianbao."""
