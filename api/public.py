"""The public read API: layer list, features by bbox, sensor readings, health."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from api import schemas as s
from api.contract import GEOJSON, Answer, contract
from api.errors import error
from auth import current_staff, same_for_everyone
from layers.base import kind_of
from layers.shared_bytes import AnonMemo, BytesMemo, features_body, layers_generation
from store.cache import cache
from store.db import get_db, utcnow
from store.feeds import feed_states
from store.layers import get_visible_layer, organisations, visible_layer_rows
from store.models import PUBLIC, Layer
from store.sensors import find_sensor, readings, shown_id
from timezones import JST

log = logging.getLogger(__name__)
bp = Blueprint("public_api", __name__)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """'minLon,minLat,maxLon,maxLat' -> tuple; ValueError with a message key when bad."""
    if text is None or text.strip() == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("api.bad_bbox")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise ValueError("api.bad_bbox") from None
    if any(v != v for v in (minx, miny, maxx, maxy)):
        raise ValueError("api.bad_bbox")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("api.bad_bbox_range")
    return minx, miny, maxx, maxy


def layer_summary(layer: Layer, orgs: dict) -> dict:
    org = orgs.get(layer.organisation_id)
    kind = kind_of(layer)
    out = {
        "id": layer.id,
        "name": {"ja": layer.name_ja, "en": layer.name_en},
        "kind": layer.kind,
        "group": layer.group,
        "organisation": {"code": org.code, "name": {"ja": org.name_ja, "en": org.name_en}} if org else None,
        "feature_count": layer.feature_count,
        "updated_at": layer.updated_at.isoformat() if layer.updated_at else None,
        "license": layer.license,
        "attribution": {"ja": layer.attribution_ja, "en": layer.attribution_en},
        "visibility": layer.visibility,
    }
    if kind.has_features:
        out["features_url"] = f"/api/layers/{layer.id}/features"
    if hasattr(kind, "tile_urls"):
        out["tiles"] = kind.tile_urls(layer)
    return out


@bp.get("/api/layers")
@contract("Public layers (plus the private ones the logged-in staff member may see)", auth="optional",
          answers={200: Answer("layers", s.LayerList)})
def list_layers():
    db = get_db()
    staff = current_staff()  # logged-in staff also see the private layers they may see
    with db.session() as s:
        layers = visible_layer_rows(s, staff)
        orgs = organisations(s)
        body = [layer_summary(layer, orgs) for layer in layers]
    return jsonify({"layers": body})


@bp.get("/api/layers/<layer_id>/features")
@contract("A layer's features as GeoJSON (WGS84)", auth="optional", query=s.FeaturesQuery,
          refuse={"bbox": (400, "bad_bbox", "api.bad_bbox"), "zoom": (400, "bad_zoom", "api.bad_zoom")},
          answers={200: Answer("GeoJSON FeatureCollection", None, GEOJSON)})
def layer_features(layer_id: str):
    try:
        bbox = parse_bbox(request.args.get("bbox"))
    except ValueError as exc:
        return error(400, "bad_bbox", str(exc), details=[{"bbox": request.args.get("bbox")}])
    zoom_text = request.args.get("zoom")
    zoom = None
    if zoom_text not in (None, ""):
        if not zoom_text.isdigit() or not 0 <= int(zoom_text) <= 24:
            return error(400, "bad_zoom", "api.bad_zoom", details=[{"zoom": zoom_text}])
        zoom = int(zoom_text)
    staff = current_staff()
    anon_name = f"{layer_id}:{bbox}:{zoom}"
    if staff is None:  # a visitor without a session: most likely an answer decided a moment ago
        hit = _anon_memo().get(anon_name)
        if hit is not None:
            return _send_features(hit.body, hit.version, public=True)
    generation = layers_generation()
    db = get_db()
    with db.session() as s:
        # private layers: only for staff allowed to see them; everyone else gets the same 404
        layer = get_visible_layer(s, layer_id, staff)
        if layer is None:
            return error(404, "not_found", "api.not_found")
        public = layer.visibility == PUBLIC
        kind = kind_of(layer)
        if not kind.has_features:
            return error(404, "not_found", "api.not_found",
                         details=[{"tiles": getattr(kind, "tile_urls", lambda _l: [])(layer)}])
        per_viewer = getattr(kind, "per_viewer", False)  # features differ by viewer (cameras): never shared
        if per_viewer:
            body = kind.features(s, layer, bbox, zoom=zoom, viewer=staff)
        else:  # the same bytes for everyone who may see it: built and compressed once per data version
            shared = features_body(_features_memo(), cache, s, layer, kind, bbox, zoom)
        version = layer.version
    if per_viewer:
        resp = Response(body, mimetype="application/geo+json")
        resp.headers["Cache-Control"] = "private, no-cache"
        resp.headers["Vary"] = "Cookie, Authorization"
        return resp
    if public and staff is None:
        _anon_memo().put(anon_name, shared, version, generation)
    return _send_features(shared, version, public)


def _send_features(shared, version: int, public: bool) -> Response:
    headers = {"ETag": shared.etag, "Vary": "Accept-Encoding",
               # a versioned URL (?v=) never changes content; the bare URL is revalidated by the browser
               # each time (a cheap 304 by ETag), so a layer made private is never served from a
               # browser's cache (shared caches in front keep their own short time, deploy/nginx.conf)
               "Cache-Control": ("public, max-age=86400, immutable" if request.args.get("v") == str(version)
                                 else "public, no-cache")}
    if not public:  # never kept by shared caches; the browser revalidates
        headers["Cache-Control"] = "private, no-cache"
        headers["Vary"] = "Cookie, Authorization, Accept-Encoding"
    if shared.etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        resp = Response(status=304, headers=headers)
    else:
        data, encoding = shared.encoded(request.headers.get("Accept-Encoding", ""))
        resp = Response(data, mimetype=shared.mimetype, headers=headers)
        if encoding:
            resp.headers["Content-Encoding"] = encoding  # compressed once; Flask-Compress leaves it alone
    if public:
        same_for_everyone(resp)  # one copy in a shared cache, whoever asked first
    return resp


def _anon_memo() -> AnonMemo:
    """This app's short memory of public answers for visitors without a session."""
    memo = current_app.extensions.get("ishikawa.features_anon")
    if memo is None:
        memo = current_app.extensions.setdefault("ishikawa.features_anon", AnonMemo())
    return memo


def _features_memo() -> BytesMemo:
    """This app's memory of features answers (one per app: tests build several apps in one process)."""
    memo = current_app.extensions.get("ishikawa.features_memo")
    if memo is None:
        memo = current_app.extensions.setdefault("ishikawa.features_memo", BytesMemo())
    return memo


def parse_time(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=JST)  # bare times are JST


@bp.get("/api/sensors/<sensor_id>/readings")
@contract("Readings of a public sensor", query=s.TimeRange, refuse=(400, "bad_time", "api.bad_time"),
          answers={200: Answer("the sensor and its readings", s.SensorReadings)})
def sensor_readings(sensor_id: str):
    now = utcnow()
    try:
        since = parse_time(request.args.get("since"), now - timedelta(hours=24))
        until = parse_time(request.args.get("until"), now)
    except ValueError:
        return error(400, "bad_time", "api.bad_time")
    db = get_db()
    with db.session() as s:
        sensor = find_sensor(s, sensor_id, Layer.visibility == PUBLIC)  # by the id it is shown by
        if sensor is None:
            return error(404, "not_found", "api.sensor_not_found")
        rows = readings(s, sensor.id, since, until)
        body = {
            "sensor": {"id": shown_id(sensor), "name": {"ja": sensor.name_ja, "en": sensor.name_en},
                       "lon": sensor.lon, "lat": sensor.lat, "attribute": sensor.attribute, "unit": sensor.unit},
            "readings": [{"time": r.observed_at.isoformat(), "value": r.value, "attribute": r.attribute}
                         for r in rows],
        }
    return jsonify(body)


@bp.get("/healthz")
def healthz():
    db = get_db()
    ok, err = db.ping()
    body = {"status": "ok" if ok else "error",
            "database": {"ok": ok, "backend": db.backend, **({"error": err} if err else {})},
            "feeds": {}, "jobs": {}}
    if ok:
        try:
            from store.jobs import job_states

            with db.session() as s:
                body["feeds"] = feed_states(s)  # each with its last_error
                body["jobs"] = job_states(s)  # each periodic job's last success, wherever it ran
        except Exception as exc:
            log.warning("healthz could not read feeds: %s", exc)
            body["database"] = {"ok": False, "backend": db.backend, "error": type(exc).__name__}
            body["status"] = "error"
    from sources.virus_scan import ping as scanner_ping

    scanner = scanner_ping(current_app.extensions.get("ishikawa.settings"))
    if scanner is not None:  # CLAMD_URL set: uploads wait for it (503 while it is down)
        body["virus_scan"] = {"ok": scanner}
    if current_app.config.get("ISHIKAWA_DEMO_FEED") and "demo-snow" not in body["feeds"]:
        body["feeds"]["demo-snow"] = {"status": "starting", "last_ok_at": None, "age_seconds": None}
    return jsonify(body), (200 if body["status"] == "ok" else 503)
