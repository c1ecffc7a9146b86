"""spiders package of nianbao."""
