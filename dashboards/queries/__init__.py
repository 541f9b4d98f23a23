"""Panel query kinds: one module each, registered in dashboards.queries.registry."""
