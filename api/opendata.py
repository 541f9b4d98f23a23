"""Open data out: CSV download of a public layer (the catalog links it next to GeoJSON)."""
from __future__ import annotations

from flask import Blueprint, Response

from api.errors import error
from layers.catalog import features_csv, public_features
from store.db import get_db

bp = Blueprint("opendata", __name__)


@bp.get("/api/layers/<layer_id>/features.csv")
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
