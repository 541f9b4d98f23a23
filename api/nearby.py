"""What is near a point and what hazards lie there, address search, and the share QR code.

GET /api/nearby?lat=&lon=&kind=aed|shelters&limit=       nearest first, with distance and direction
GET /api/hazard-at?lat=&lon=                             the hazard overlays' classes at the point
GET /api/geocode?q=                                      GSI address search (503 where offline)
GET /api/share/qr.svg?path=/?lat=…                       a QR code (SVG) of a link to this app
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import request_lang
from layers.hazard_point import hazard_at
from layers.nearby import nearest, parse_limit, parse_point
from refusal import Refused
from sources.geocode import GeocodeUnavailable, geocode
from store.db import get_db

bp = Blueprint("nearby_api", __name__)

MAX_SHARE_PATH = 2000
BAD_POINT = (400, "bad_point", "nearby.bad_point")


@bp.get("/api/nearby")
@contract("The nearest public AEDs and shelters: distance (m), bearing and direction, nearest first",
          query=s.NearbyQuery, refuse={"lat": BAD_POINT, "lon": BAD_POINT,
                                       "avoid": (400, "bad_avoid", "nearby.bad_avoid"),
                                       "limit": (400, "bad_limit", "contract.invalid_request"),
                                       "kind": (400, "bad_kind", "contract.invalid_request")},
          answers={200: Answer("{lat, lon, aed: [...], shelters: [...]}", s.Nearby)})
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
@contract("Hazard map classes at a point (flood depth, sediment warning area, tsunami depth, storm surge), "
          "read from the hazard map portal's tiles; status in / none / unknown (tiles unreachable)",
          query=s.PointQuery, refuse=BAD_POINT, answers={200: Answer("the classes at the point", s.HazardAt)})
def hazard():
    lat, lon = parse_point(request.args.get("lat"), request.args.get("lon"))
    resp = jsonify(hazard_at(lat, lon, request_lang()))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/api/geocode")
@contract("Address search through GSI (only where the server is online)", query=s.GeocodeQuery,
          refuse=(400, "bad_query", "nearby.bad_query"), errors=(503,),
          answers={200: Answer("{results: [{name, lat, lon}]}", s.GeocodeResults)})
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
@contract("A QR code (SVG) of a link to a path of this site (PUBLIC_BASE_URL + path)", query=s.ShareQuery,
          refuse=(400, "bad_path", "share.bad_path"), answers={200: Answer("SVG", None, "image/svg+xml")})
def share_qr():
    svg = qr_svg(share_url(request.args.get("path", "/")))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

