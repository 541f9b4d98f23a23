"""Every public dataset with how to get it: for /catalog, the OGC API collections and CSV export.

Plain functions (no Dash, no Flask), so the page, the API and the tests share them.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from csvcell import row as csv_row
from i18n import STRINGS, t
from layers.base import kind_of, layer_attribution, layer_name
from store.layers import get_public_layer, organisations, public_layers
from store.models import Layer


@dataclass
class Dataset:
    id: str
    name: str
    description: str
    organisation: str
    license: str
    attribution: str
    updated_at: datetime | None
    feature_count: int
    origin: str  # "builtin" / "broker" / "ckan" / "upload"
    kind: str
    has_features: bool
    tiles: list[str]
    geojson_url: str = ""
    csv_url: str = ""
    api_url: str = ""
    ogc_url: str = ""


def origin_of(layer: Layer) -> str:
    opts = layer.options or {}
    if opts.get("source_id") is not None:
        return opts.get("origin", "broker")
    if opts.get("upload") or layer.kind == "uploaded":
        return "upload"
    return "builtin"


def description(layer: Layer, lang: str) -> str:
    """The layer's own description, else a sentence about its kind."""
    text = (layer.description_en if lang == "en" and layer.description_en else layer.description_ja) or ""
    key = f"catalog.kind.{layer.kind}"
    return text or (t(key, lang) if key in STRINGS else "")


# the licences of the shipped layers, as stored (Japanese), and their string keys: shown in the
# page's language; a licence staff typed for their own layer is shown as typed
SHIPPED_LICENSES = {
    "国土数値情報利用約款（出典明示）": "license.nlni",
    "ハザードマップポータルサイト利用規約（出典明示）": "license.hazard_portal",
    "国土地理院コンテンツ利用規約": "license.gsi",
    "各カメラの設置者 / デモカメラはデモ画像": "license.cameras",
    "白山市オープンデータ（ライセンス未表記・サンプル）": "license.hakusan_aed",
    "デモデータ": "license.demo",
    "各装置の管理者 / デモ装置の状態はデモデータ": "license.melters",
    "各道路管理者 / デモの規制はデモデータ（国土数値情報の道路を加工）": "license.restrictions",
    "国土数値情報（緊急輸送道路・半島循環道路）非商用 / 除雪車位置はデモデータ": "license.snow_roads",
}


def license_text(text: str, lang: str) -> str:
    key = SHIPPED_LICENSES.get(text or "")
    return t(key, lang) if key else (text or "")


def datasets(s: Session, lang: str) -> list[Dataset]:
    orgs = organisations(s)
    out = []
    for layer in public_layers(s):
        kind = kind_of(layer)
        org = orgs.get(layer.organisation_id)
        ds = Dataset(
            id=layer.id, name=layer_name(layer, lang), description=description(layer, lang),
            organisation=(org.name_en if lang == "en" else org.name_ja) if org else "",
            license=license_text(layer.license, lang), attribution=layer_attribution(layer, lang),
            updated_at=layer.updated_at, feature_count=layer.feature_count or 0, origin=origin_of(layer),
            kind=layer.kind, has_features=kind.has_features,
            tiles=list(getattr(kind, "tile_urls", lambda _l: [])(layer)))
        if kind.has_features:
            ds.geojson_url = f"/api/layers/{layer.id}/features"
            ds.csv_url = f"/api/layers/{layer.id}/features.csv"
            ds.api_url = f"/api/layers/{layer.id}/features"
            ds.ogc_url = f"/ogcapi/collections/{layer.id}"
        out.append(ds)
    return out


def features_of(s: Session, layer: Layer, bbox=None) -> list[dict]:
    body = kind_of(layer).features(s, layer, bbox)
    return orjson.loads(body)["features"] if body else []


def public_features(s: Session, layer_id: str) -> tuple[Layer, list[dict]] | None:
    layer = get_public_layer(s, layer_id)
    if layer is None or not kind_of(layer).has_features:
        return None
    return layer, features_of(s, layer)


def features_csv(features: list[dict]) -> str:
    """CSV: id, lon, lat (points; the representative point otherwise), wkt for non-points, properties."""
    from shapely.geometry import shape

    keys: list[str] = []
    for f in features:
        for k in (f.get("properties") or {}):
            if k not in keys:
                keys.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    # every cell through csvcell (header cells and ids too): no formula runs in a spreadsheet
    w.writerow(csv_row(["id", "lon", "lat", "wkt", *keys]))
    for f in features:
        g = shape(f["geometry"])
        p = g if g.geom_type == "Point" else g.representative_point()
        props = f.get("properties") or {}
        w.writerow(csv_row([f.get("id", ""), round(p.x, 6), round(p.y, 6), "" if g.geom_type == "Point" else g.wkt,
                            *[props.get(k) for k in keys]]))
    return buf.getvalue()
