"""What is near a point and what hazards lie there, address search, and the share QR code.

GET /api/nearby?lat=&lon=&kind=aed|shelters&limit=       nearest first, with distance and direction
GET /api/hazard-at?lat=&lon=                             the hazard overlays' classes at the point
GET /api/geocode?q=                                      GSI address search (503 where offline)
GET /api/share/qr.svg?path=/?lat=…                       a QR code (SVG) of a link to this app
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.errors import request_lang
from layers.hazard_point import hazard_at
from layers.nearby import nearest, parse_limit, parse_point
from refusal import Refused
from sources.geocode import GeocodeUnavailable, geocode
from store.db import get_db

bp = Blueprint("nearby_api", __name__)

MAX_SHARE_PATH = 2000


@bp.get("/api/nearby")
def nearby():
    lat, lon = parse_point(request.args.get("lat"), request.args.get("lon"))
    limit = parse_limit(request.args.get("limit"))
    lang = request_lang()
    kinds = [k for k in (request.args.get("kind") or "aed,shelters").split(",") if k]
    avoid = request.args.get("avoid", "")
    if avoid not in ("", "flood"):
        raise Refused(400, "bad_avoid", "nearby.bad_avoid")
    with get_db().session() as s:
        body = {"lat": lat, "lon": lon, **{k: nearest(s, lat, lon, k, limit, lang,
                                                      avoid_flood=avoid == "flood" and k == "shelters")
                                           for k in kinds[:2]}}
    return jsonify(body)


@bp.get("/api/hazard-at")
def hazard():
    lat, lon = parse_point(request.args.get("lat"), request.args.get("lon"))
    resp = jsonify(hazard_at(lat, lon, request_lang()))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/api/geocode")
def address_search():
    q = request.args.get("q", "")
    if not q.strip() or len(q) > 100:
        raise Refused(400, "bad_query", "nearby.bad_query")
    try:
        return jsonify({"results": geocode(q)})
    except GeocodeUnavailable:
        raise Refused(503, "geocoder_unavailable", "nearby.geocode_offline") from None


def share_url(path: str) -> str:
    """The absolute link for one of our own paths (never another site's)."""
    path = str(path or "/")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > MAX_SHARE_PATH \
            or any(ord(c) < 32 for c in path):
        raise Refused(400, "bad_path", "share.bad_path")
    base = current_app.extensions["ishikawa.settings"].public_base_url.rstrip("/")
    return base + path


def qr_svg(url: str) -> bytes:
    import io

    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                    title="QR", dark="#000", light="#fff")
    return buf.getvalue()


@bp.get("/api/share/qr.svg")
def share_qr():
    svg = qr_svg(share_url(request.args.get("path", "/")))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def openapi_paths() -> dict:
    """These routes in the OpenAPI description (api/openapi.py adds them)."""
    def err(desc):
        schema = {"$ref": "#/components/schemas/Error"}
        return {"description": desc, "content": {"application/json": {"schema": schema}}}

    point = [{"name": "lat", "in": "query", "required": True,
              "schema": {"type": "number", "minimum": -90, "maximum": 90}},
             {"name": "lon", "in": "query", "required": True,
              "schema": {"type": "number", "minimum": -180, "maximum": 180}},
             {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["ja", "en"]}}]
    return {
        "/api/nearby": {"get": {
            "summary": "The nearest public AEDs and shelters: distance (m), bearing and direction, nearest first",
            "parameters": [*point,
                           {"name": "kind", "in": "query", "schema": {"type": "string", "default": "aed,shelters"},
                            "description": "aed, shelters or both (comma separated)"},
                           {"name": "limit", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}},
                           {"name": "avoid", "in": "query", "schema": {"type": "string", "enum": ["flood"]},
                            "description": "flood: leave out shelters the flood overlay colours (each kept "
                                           "shelter says flood: none or unknown)"}],
            "responses": {"200": {"description": "{lat, lon, aed: [...], shelters: [...]}"},
                          "400": err("Bad lat/lon, limit or kind")}}},
        "/api/hazard-at": {"get": {
            "summary": "Hazard map classes at a point (flood depth, sediment warning area, tsunami depth, "
                       "storm surge), read from the hazard map portal's tiles; "
                       "status in / none / unknown (tiles unreachable)",
            "parameters": point,
            "responses": {"200": {"description": "{lat, lon, hazards: [{key, title, status, class, label, color, "
                                                 "caveat}], source, caveat}"},
                          "400": err("Bad lat/lon")}}},
        "/api/geocode": {"get": {
            "summary": "Address search through GSI (only where the server is online)",
            "parameters": [{"name": "q", "in": "query", "required": True,
                            "schema": {"type": "string", "maxLength": 100}}],
            "responses": {"200": {"description": "{results: [{name, lat, lon}]}"},
                          "400": err("Empty or too long"),
                          "503": err("`geocoder_unavailable`: no internet connection from the server")}}},
        "/api/share/qr.svg": {"get": {
            "summary": "A QR code (SVG) of a link to a path of this site (PUBLIC_BASE_URL + path)",
            "parameters": [{"name": "path", "in": "query", "schema": {"type": "string", "default": "/"}}],
            "responses": {"200": {"description": "SVG", "content": {"image/svg+xml": {}}},
                          "400": err("`bad_path`: not a path of this site")}}},
    }
