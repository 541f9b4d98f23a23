"""Usage per organisation: `GET /api/usage?month=YYYY-MM` (Bearer token: admins every organisation,
every other role their own organisation only, as /staff/usage), `/staff/usage.csv` (log-in), and
the counting of requests served.

Counting (`install`): after each answer, a request for a layer's data (the map's versioned
`/api/layers/<id>/features?v=…`, or the API: features without `v`, features.csv, OGC API items)
or for a dashboard (`/dashboards/<slug>`, `/embed/dashboards/<slug>`, `GET /api/dashboards/<slug>`)
or a page load of an organisation's portal (`/o/<code>`) adds one to a counter in memory
(store.usage); nothing touches the database on the request.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import request_lang
from layers import usage_report
from store import usage
from store.db import get_db, utcnow

bp = Blueprint("usage_api", __name__)

# endpoint -> the view argument naming the layer
LAYER_ENDPOINTS = {"public_api.layer_features": "layer_id", "opendata.layer_csv": "layer_id",
                   "ogcapi.items": "layer_id", "ogcapi.item": "layer_id"}
DASHBOARD_PREFIXES = ("/dashboards/", "/embed/dashboards/")
PORTAL_PREFIX = "/o/"  # an organisation's portal page, /o/<code>


def request_counter(db):
    """The after-request hook counting answered requests (200 or 304) for a layer or a dashboard
    into the counters of `db`. Kept cheap: one context lookup, plain attribute reads, a dict add."""
    add = usage.counters_of(db).add

    def count_request(resp):
        if resp.status_code not in (200, 304):
            return resp
        req = request._get_current_object()
        if req.method != "GET":
            return resp
        endpoint = req.endpoint
        arg = LAYER_ENDPOINTS.get(endpoint)
        if arg is not None:
            metric = "map_requests" if endpoint == "public_api.layer_features" and "v" in req.args else "api_requests"
            add(metric, str((req.view_args or {}).get(arg, ""))[:120], None)
        elif endpoint == "dashboards_api.get_dashboard":
            add("dashboard_views", str((req.view_args or {}).get("slug", ""))[:120], None)
        elif req.path.startswith(DASHBOARD_PREFIXES) and resp.mimetype == "text/html":
            slug = req.path.rstrip("/").rsplit("/", 1)[-1]
            if slug and slug != "dashboards":
                add("dashboard_views", slug[:120], None)
        elif req.path.startswith(PORTAL_PREFIX) and resp.mimetype == "text/html":
            code = req.path[len(PORTAL_PREFIX):].strip("/")
            if code and "/" not in code:  # an unknown code is dropped when the counts are written
                add("portal_views", code[:120], None)
        return resp

    return count_request


def install(server) -> None:
    server.register_blueprint(bp)
    hook = request_counter(server.extensions["ishikawa.db"])
    server.extensions["ishikawa.usage_hook"] = hook  # bench/usage_overhead.py takes it out and puts it back
    server.after_request(hook)


@bp.get("/api/usage")
@contract("Requests served per organisation and layer in a month (admins: all; org_admins: their own)",
          auth="token", query=s.UsageQuery, refuse=(400, "bad_request", "contract.invalid_request"),
          errors=(403,), answers={200: Answer("the month's counts", {"type": "object"})})
def usage_json():
    from auth import require_token

    staff = require_token()
    return jsonify(usage_report.api_report(get_db(), staff, request.args.get("month")))


@bp.get("/staff/usage.csv")
def usage_csv():
    from auth import current_staff

    lang = request_lang()
    body = usage_report.csv_bytes(get_db(), current_staff(), request.args.get("month"), lang)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="usage-{stamp}.csv"',
                             "Cache-Control": "no-store"})
