"""Dashboards that staff build, save and publish: the JSON model (model.py), one module per panel
query kind (queries/), and the service shared by the API and the pages (service.py)."""
