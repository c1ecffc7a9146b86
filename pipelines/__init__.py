"""pipelines package of nianbao."""
