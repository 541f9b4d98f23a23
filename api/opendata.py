"""Open data out: CSV download of a public layer (the catalog links it next to GeoJSON)."""
from __future__ import annotations

from flask import Blueprint, Response

from api import schemas as s
from api.contract import CSV, Answer, contract
from api.errors import error
from layers.catalog import features_csv, public_features
from store.db import get_db

bp = Blueprint("opendata", __name__)


@bp.get("/api/layers/<layer_id>/features.csv")
@contract("A public layer's features as CSV (UTF-8 with BOM)", answers={200: Answer("CSV file", None, CSV)})
def layer_csv(layer_id: str):
    with get_db().session() as s:
        found = public_features(s, layer_id)
        if found is None:
            return error(404, "not_found", "api.not_found")
        layer, feats = found
        version = layer.version
    # UTF-8 with BOM: Excel on Japanese Windows opens it without mojibake
    resp = Response("\ufeff" + features_csv(feats), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{layer_id}.csv"'
    resp.headers["ETag"] = f'"{layer_id}-{version}-csv"'
    return resp


@bp.get("/api/sensors/export.csv")
@contract("The /sensors table as CSV (times in JST); public sensors only", query=s.SensorsCsvQuery,
          errors=(404,), answers={200: Answer("CSV file", None, CSV)})
def sensors_csv():
    """The /sensors dashboard's table as CSV (same query as its permalink); public sensors only."""
    from flask import request

    from layers import sensor_history as sh
    from store.db import utcnow

    with get_db().session() as s:
        public = sh.public_sensors(s)
        known = {x.id: x for x in public}
        sel = sh.parse_selection(request.args.to_dict(), sh.addresses(public))  # posted ids (or keys)
        if not sel.sensors:
            return error(404, "not_found", "api.sensor_not_found")
        attribute = sel.attribute or known[sel.sensors[0]].attribute
        since, until = sh.time_window(sel, utcnow())
        series = sh.history(s, sel.sensors, attribute, since, until, sel.agg)
        names = {sid: known[sid].name_en if sel.lang == "en" and known[sid].name_en else known[sid].name_ja
                 for sid in sel.sensors}
    shown = dict(zip(sel.sensors, sh.shown_ids(sel)))
    body = sh.rows_csv(sh.table_rows(series, names, sel.agg, shown), sel.agg)
    resp = Response("\ufeff" + body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="sensors-{attribute}.csv"'
    return resp
