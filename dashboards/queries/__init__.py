"""Panel query kinds: one module each, registered in registry.QUERY_KINDS by plugins.register_all()."""
