"""Flask blueprints: /api/... REST, /healthz (later /ogcapi and the NGSI receiver)."""
