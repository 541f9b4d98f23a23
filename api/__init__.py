"""Flask blueprints: the public /api/..., /healthz, snow removal, the staff API (layers, alert rules,
sources), /ogcapi, open-data downloads and the NGSI notification receiver."""
