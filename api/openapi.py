"""OpenAPI 3.1 description of the API (GET /api/openapi.json)."""
from __future__ import annotations

from dashboards.model import SLUG, json_schemas


def _err(desc: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "400": _err("Bad parameter (message says which)"),
    "401": _err("Missing or invalid Bearer token"),
    "403": _err("The layer belongs to another organisation"),
    "404": _err("No such layer — or a private layer you may not see (never 403, so existence does not leak)"),
    "413": _err("File larger than UPLOAD_MAX_MB (default 100 MB)"),
    "415": _err("File type not supported (judged from the content, not the name)"),
    "422": _err("File understood but not usable; for unplaceable rows `details` lists {row, reason, message}"),
}

# uploads also pass the virus scan when the operator set CLAMD_URL
UPLOAD_ERRORS = {
    **ERRORS,
    "422": _err("File understood but not usable; for unplaceable rows `details` lists {row, reason, message}; "
                "a virus found by ClamAV is `virus_found` with `details` [{signature}] (nothing stored)"),
    "503": _err("`virus_scan_unavailable`: CLAMD_URL is set but ClamAV cannot scan the file now (nothing stored)"),
}

UPLOAD_FIELDS = {
    "file": {"type": "string", "format": "binary",
             "description": "CSV (UTF-8, UTF-8 BOM, CP932), GeoJSON, KML, KMZ, GPX, zipped Shapefile, GeoPackage"},
    "crs": {"type": "string", "example": "EPSG:6675",
            "description": "CRS when the file does not say (WGS84, JGD2011, JGD2000, Tokyo, plane-rectangular zones). "
                           "Plane-rectangular X points north: lat_column is the X (north) column."},
    "lat_column": {"type": "string", "description": "CSV: the latitude (north-south) column, overriding detection"},
    "lon_column": {"type": "string", "description": "CSV: the longitude (east-west) column, overriding detection"},
    "on_invalid": {"type": "string", "enum": ["skip"],
                   "description": "skip: publish the placeable rows; "
                                  "without it a file with unplaceable rows is refused (422)"},
}


def dashboard_paths(bearer: list) -> dict:
    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "pattern": SLUG}}
    panel = {"name": "panel", "in": "path", "required": True, "schema": {"type": "string"}}
    doc = {"application/json": {"schema": {"$ref": "#/components/schemas/Dashboard"}}}
    view = [slug, panel,
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "now-24h … or JST date-time"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "now or JST date-time"},
            {"name": "var-{name}", "in": "query", "schema": {"type": "string"},
             "description": "the value of a dashboard variable (one parameter per variable)"}]
    not_found = {"404": _err("No such dashboard — or a private one you may not see")}
    return {
        "/api/dashboards": {
            "get": {"summary": "Public dashboards (plus the token's organisation's)",
                    "responses": {"200": {"description": "list"}}},
            "post": {"summary": "Create a dashboard", "security": bearer,
                     "requestBody": {"required": True, "content": doc},
                     "responses": {"201": {"description": "created", "content": doc},
                                   "409": _err("The slug is taken"), **ERRORS}}},
        "/api/dashboards/{slug}": {
            "get": {"summary": "A dashboard as JSON (what export writes and import reads)", "parameters": [slug],
                    "responses": {"200": {"description": "the dashboard", "content": doc}, **not_found}},
            "put": {"summary": "Replace a dashboard (the old version is kept)", "security": bearer,
                    "parameters": [slug], "requestBody": {"required": True, "content": doc},
                    "responses": {"200": {"description": "saved", "content": doc}, **ERRORS}},
            "delete": {"summary": "Delete a dashboard", "security": bearer, "parameters": [slug],
                       "responses": {"204": {"description": "deleted"}, **ERRORS}}},
        "/api/dashboards/{slug}/panels/{panel}/data": {
            "get": {"summary": "A panel's data as JSON", "parameters": view,
                    "responses": {"200": {"description": "{panel, type, from, to, variables, data} or denied"},
                                  **not_found}}},
        "/api/dashboards/{slug}/panels/{panel}/data.csv": {
            "get": {"summary": "A panel's data as CSV (UTF-8 with BOM, JST)", "parameters": view,
                    "responses": {"200": {"description": "CSV file"}, **not_found}}},
    }


def spec() -> dict:
    layer_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    bearer = [{"bearer": []}]
    doc = _spec(layer_id, bearer)
    doc["components"]["schemas"].update(json_schemas())
    doc["paths"].update(dashboard_paths(bearer))
    doc["paths"].update(audit_usage_paths(bearer))
    from api.nearby import openapi_paths as nearby_paths

    doc["paths"].update(nearby_paths())
    return doc


def _spec(layer_id: dict, bearer: list) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ishikawa-map API", "version": "1.0",
                 "description": "石川県 データ連携基盤 マップ. "
                                "Messages in Japanese unless Accept-Language: en or ?lang=en."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "flask --app app create-token EMAIL"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message", "details"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "details": {"type": "array", "items": {}}}},
                "Skipped": {"type": "object", "properties": {
                    "row": {"type": "integer",
                            "description": "CSV: spreadsheet row (header = 1); else feature position"},
                    "reason": {"type": "string"}, "message": {"type": "string"}}},
                "Created": {"type": "object", "properties": {
                    "id": {"type": "string"}, "feature_count": {"type": "integer"},
                    "skipped": {"type": "array", "items": {"$ref": "#/components/schemas/Skipped"}},
                    "skipped_count": {"type": "integer"}, "format": {"type": "string"}, "crs": {"type": "string"}}},
                "LayerSettings": {"type": "object", "properties": {
                    "name": {"type": "string"}, "name_en": {"type": "string"}, "group": {"type": "string"},
                    "visibility": {"type": "string", "enum": ["public", "private"]},
                    "description_ja": {"type": "string"}, "description_en": {"type": "string"},
                    "license": {"type": "string"}, "attribution_ja": {"type": "string"},
                    "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                    "shape": {"type": "string", "enum": ["circle", "square", "marker"]},
                    "popup": {"type": "object", "properties": {
                        "title": {"type": "string"},
                        "fields": {"type": "array", "items": {"type": "array", "items": {"type": "string"},
                                                               "description": "[property, label ja, label en]"}}}}}},
            },
        },
        "paths": {
            "/api/layers": {
                "get": {"summary": "Public layers (plus the private ones a logged-in staff member may see)",
                        "responses": {"200": {"description": "layers"}}},
                "post": {"summary": "Upload a file as a new layer", "security": bearer,
                         "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                             "type": "object", "required": ["file", "name", "visibility", "group"],
                             "properties": {**UPLOAD_FIELDS, "name": {"type": "string"},
                                            "name_en": {"type": "string"},
                                            "visibility": {"type": "string", "enum": ["public", "private"]},
                                            "group": {"type": "string", "description": "menu group key or label"},
                                            "organisation": {"type": "string", "description": "admins only"}}}}}},
                         "responses": {"201": {"description": "created", "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Created"}}}}, **UPLOAD_ERRORS}},
            },
            "/api/layers/{id}": {
                "patch": {"summary": "Change a layer's settings", "security": bearer, "parameters": [layer_id],
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/LayerSettings"}}}},
                          "responses": {"200": {"description": "the layer's settings"}, **ERRORS}},
                "delete": {"summary": "Delete a layer", "security": bearer, "parameters": [layer_id],
                           "responses": {"204": {"description": "deleted"}, **ERRORS}},
            },
            "/api/layers/{id}/data": {
                "put": {"summary": "Replace a layer's data (the previous data is kept for rollback)",
                        "security": bearer, "parameters": [layer_id],
                        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"], "properties": UPLOAD_FIELDS}}}},
                        "responses": {"200": {"description": "replaced"}, **UPLOAD_ERRORS}},
            },
            "/api/layers/{id}/rollback": {
                "post": {"summary": "Back to the previous data", "security": bearer, "parameters": [layer_id],
                         "responses": {"200": {"description": "rolled back"}, **ERRORS}},
            },
            "/api/layers/{id}/features": {
                "get": {"summary": "GeoJSON FeatureCollection (WGS84)", "parameters": [
                    layer_id, {"name": "bbox", "in": "query", "schema": {"type": "string"}},
                    {"name": "zoom", "in": "query", "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "GeoJSON"}, **ERRORS}},
            },
            "/api/layers/{id}/download.geojson": {
                "get": {"summary": "Download as GeoJSON", "parameters": [layer_id],
                        "responses": {"200": {"description": "GeoJSON file"}, "404": ERRORS["404"]}}},
            "/api/layers/{id}/download.csv": {
                "get": {"summary": "Download as CSV (UTF-8 with BOM; cells starting with = + - @ are neutralised)",
                        "parameters": [layer_id], "responses": {"200": {"description": "CSV file"},
                                                                "404": ERRORS["404"]}}},
            "/api/openapi.json": {"get": {"summary": "This description",
                                          "responses": {"200": {"description": "OpenAPI"}}}},
        },
    }


def audit_usage_paths(bearer: list) -> dict:
    """The audit log and usage per organisation (api/audit.py, api/usage.py)."""
    def q(name: str, desc: str, **schema) -> dict:
        return {"name": name, "in": "query", "schema": {"type": "string", **schema}, "description": desc}

    scope = {"401": _err("Missing or invalid Bearer token"),
             "403": _err("Not an admin or org_admin, or another organisation named by an org_admin"),
             "400": _err("Bad parameter (message says which)")}
    return {
        "/api/audit": {"get": {
            "summary": "Audit log entries, newest first (admins: all; org_admin: own organisation)",
            "security": bearer,
            "parameters": [q("organisation", "organisation code"),
                           q("action", "a kind (layer.delete) or a family (layer)"),
                           q("actor", "part of the e-mail of who acted"),
                           q("since", "ISO 8601; bare times and dates are JST"), q("until", "ISO 8601 or a JST date"),
                           q("limit", "1–1000 (default 100)", pattern=r"^\d+$"),
                           q("offset", "default 0", pattern=r"^\d+$")],
            "responses": {"200": {"description": "{entries: [{id, at, actor, actor_organisation, organisation, via, "
                                                 "address, action, target, target_name, changes, detail}], total, "
                                                 "limit, offset}"}, **scope}}},
        "/api/usage": {"get": {
            "summary": "Usage per organisation in a month (admins: all; other staff: own organisation only)",
            "security": bearer,
            "parameters": [q("month", "YYYY-MM (JST); default: this month", pattern=r"^20\d\d-(0[1-9]|1[0-2])$")],
            "responses": {"200": {"description": "{month, metrics, organisations: [{organisation, <metric>…}], "
                                                 "layers: [{organisation, layer, map_requests, api_requests}]}"},
                          **scope}}},
    }
