"""Snow removal API: GPS fixes in, road status out; and the `load-roads` command.

POST /api/vehicles/fixes            staff API token; JSON array of {vehicle_id, lon, lat, time,
                                    speed?, heading?, work?} -> accepted / rejected counts and the
                                    reason of each rejected fix
GET  /api/snow/status?since=&at=&geometry=false
                                    per segment: last cleared time and work (GeoJSON, or JSON
                                    without geometry)
GET  /api/snow/live?since=&at=      the /snow page's live state: the delta from the state the
                                    browser holds to now (or a replayed moment), the same bytes for
                                    every viewer of a refresh interval (ETag, Cache-Control, gzip/br)
GET  /api/snow/network?v=           the road network as GeoJSON (the /snow page loads it once)
GET  /api/snow/report.csv?start=&end=&part=roads|vehicles&lang=
                                    the storm report as CSV (UTF-8 with BOM, JST; default: last
                                    night 18:00–08:00 JST)
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
import orjson
from flask import Blueprint, Response, current_app, request

from api import schemas as s
from api.contract import CSV, GEOJSON, JSON, Answer, contract
from api.errors import error
from auth import require_token  # staff API tokens (Authorization: Bearer)
from i18n import normalize_lang
from store.cache import cache
from store.db import get_db, utcnow
from timezones import JST

bp = Blueprint("snow_api", __name__)
MAX_FIXES = 10_000


@bp.post("/api/vehicles/fixes")
@contract("Post GPS fixes of snowplows", auth="token", body=s.Fixes | s.FixesWrapped, validate_body=False,
          description="Each refused fix is listed with its index and reason; the others are stored.",
          answers={200: Answer("what was accepted", s.FixesAccepted)})
def post_fixes():
    from layers.snow.vehicles import ingest_fixes

    require_token()  # any staff member's token: GPS units of every organisation push here
    try:
        items = orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError:
        return error(400, "bad_json", "snow.bad_json")
    if isinstance(items, dict) and isinstance(items.get("fixes"), list):
        items = items["fixes"]
    if not isinstance(items, list):
        return error(400, "bad_json", "snow.bad_json")
    if len(items) > MAX_FIXES:
        return error(413, "too_many", "snow.too_many", details=[{"max": MAX_FIXES}], max=MAX_FIXES)
    settings = current_app.extensions["ishikawa.settings"]
    result = ingest_fixes(get_db(), items, utcnow(), settings.data_path)
    from store.feeds import feed_ok

    if result.accepted:
        with get_db().session() as s:
            feed_ok(s, "vehicle-fixes", interval_s=60.0)
    return Response(orjson.dumps(result.as_json()), mimetype="application/json")


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.strip().replace(" ", "+").replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=JST)  # bare times are JST


def send_shared(shared) -> Response:
    """A shared answer as it is: the bytes compressed once, `ETag`, `Cache-Control: public` (a shared
    HTTP cache in front may answer the next viewers), 304 when the browser already holds it."""
    headers = {"ETag": shared.etag, "Cache-Control": f"public, max-age={shared.max_age}",
               "Vary": "Accept-Encoding"}
    if shared.etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers=headers)
    body, encoding = shared.encoded(request.headers.get("Accept-Encoding", ""))
    resp = Response(body, mimetype=shared.mimetype, headers=headers)
    if encoding:
        resp.headers["Content-Encoding"] = encoding  # Flask-Compress leaves an encoded answer alone
    return resp


@bp.get("/api/snow/status")
@contract("Per road segment: last cleared time and work", query=s.SnowStatusQuery,
          refuse=(400, "bad_time", "api.bad_time"),
          answers={200: Answer("GeoJSON, or JSON without geometry (geometry=false)", None, (GEOJSON, JSON))})
def snow_status():
    from layers.snow.snapshot import live_key, replay_key
    from layers.snow.status import status_body

    try:
        since = _parse_time(request.args.get("since"))
        at = _parse_time(request.args.get("at"))
    except ValueError:
        return error(400, "bad_time", "api.bad_time")
    geometry = request.args.get("geometry", "true").lower() not in ("false", "0", "no")
    now = utcnow()
    if at is not None and at > now:
        at = None
    key = replay_key(at.timestamp()) if at is not None else live_key(now.timestamp())
    return send_shared(status_body(get_db(), cache, key, since.timestamp() if since else None, at, geometry))


@bp.get("/api/snow/live")
@contract("The /snow page's live state: the delta from the state the browser holds (`since`) to now, or to a "
          "replayed moment (`at`, within 24 h)", query=s.SnowLiveQuery,
          refuse={"since": (400, "bad_since", "snowlive.bad_since"), "*": (400, "bad_time", "api.bad_time")},
          answers={200: Answer("JSON", {"type": "object"})})
def snow_live():
    """The /snow page's live state: the delta from the state the browser holds (`since`, the `key` of
    its last answer) to now, or to a replayed moment (`at`: epoch seconds or ISO 8601, within 24 h)."""
    from layers.snow.live import KEY_RE, live_body

    since = request.args.get("since") or None
    if since is not None and not KEY_RE.match(since):
        return error(400, "bad_since", "snowlive.bad_since")
    now = utcnow().timestamp()
    at = None
    text = (request.args.get("at") or "").strip()
    if text:
        try:
            at = float(text) if text.lstrip("-").replace(".", "", 1).isdigit() else _parse_time(text).timestamp()
        except (ValueError, OverflowError):
            return error(400, "bad_time", "api.bad_time")
        if at != at or at >= now:  # NaN or the future: live
            at = None
        else:
            at = max(at, now - 24 * 3600)
    return send_shared(live_body(get_db(), cache, since, now, at))


@bp.get("/api/snow/network")
@contract("The snow-removal road network as GeoJSON", query=s.NetworkQuery,
          answers={200: Answer("GeoJSON", None, GEOJSON)})
def snow_network():
    from store.snow import network, segments_collection_bytes

    db = get_db()
    with db.session() as s:
        net = network(s)
        version = net.version if net else 0
        key = f"snow:network:{db.url}:{version}"
        body = cache.get(key)
        if body is None:
            body = segments_collection_bytes(s)
            cache.set(key, body, timeout=3600)
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = ("public, max-age=86400, immutable" if request.args.get("v") == str(version)
                                     else "public, max-age=10")
    return resp


def register_cli(server) -> None:
    @server.cli.command("load-roads")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def load_roads(path: Path):
        """Replace the snow-removal road network by FILE (GeoJSON, GeoPackage, …)."""
        from layers.snow.network import load_network_file

        settings = server.extensions["ishikawa.settings"]
        count = load_network_file(server.extensions["ishikawa.db"], path, settings.data_path)
        click.echo(f"{count} road segments loaded from {path.name}")


@bp.get("/api/snow/report.csv")
@contract("The storm report as CSV (UTF-8 with BOM, JST)", query=s.SnowReportQuery,
          refuse=(400, "bad_part", "snow.report.bad_part"), answers={200: Answer("CSV file", None, CSV)})
def snow_report_csv():
    """The storm report as CSV: part=roads (total, areas, routes; default) or part=vehicles."""
    import csv
    import io

    from api.errors import refused, request_lang
    from csvcell import row as csv_row
    from i18n import t
    from layers.snow_report import csv_rows, parse_window, report
    from refusal import Refused

    part = request.args.get("part", "roads")
    if part not in ("roads", "vehicles"):
        current_app.logger.info("snow report csv: bad part %r", part[:40])
        return error(400, "bad_part", "snow.report.bad_part", details=[{"part": part[:40]}])
    try:
        start, end = parse_window(request.args.get("start"), request.args.get("end"), utcnow())
    except Refused as exc:
        current_app.logger.info("snow report csv: %s (%s)", exc.code, exc.details)
        return refused(exc)
    lang = normalize_lang(request.args.get("lang")) if request.args.get("lang") else request_lang()
    with get_db().session() as s:
        rep = report(s, start, end)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for values in csv_rows(rep, part, lambda key: t(f"snow.report.{key}", lang)):
        writer.writerow(csv_row(values))
    name = f"snow-report-{part}-{start.astimezone(JST):%Y%m%d-%H%M}-{end.astimezone(JST):%Y%m%d-%H%M}.csv"
    resp = Response("\ufeff" + buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
