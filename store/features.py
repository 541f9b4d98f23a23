"""Features of vector layers: the one way a layer's data is written, and reading it back by bbox.

`replace_features(s, layer, features)` replaces all features of a layer in the caller's
transaction (an error half-way leaves the old data in place): GeoJSON Feature dicts in WGS84, or
the column form of a CSV's points (`sources.readers.PointRows`, recognised by its `lons`), which is
written in parts without a dict per row. Rows go in bulk (COPY on PostgreSQL, executemany on
SQLite), coordinates rounded to 6 decimals; the layer's version and count move, and a big point
layer gets its clusters (`store/grids.py`) in the same transaction. `replace_rows` does the same
for rows as the store keeps them (a kept version coming back). Every writer of layer data — the
shipped layers, uploads, CKAN and broker sources — goes through these two.
"""
from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat

import numpy as np
import orjson
from shapely.geometry import mapping, shape
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from store import grids, layers as layers_store
from store.models import Feature, Layer

DECIMALS = 6  # ~0.1 m; more only inflates what the browser downloads
COLUMNS = ("layer_id", "fid", "geometry", "properties", "minx", "miny", "maxx", "maxy")
POINT_PART = 100_000  # rows of a CSV turned into SQL rows at a time: bounds the memory of a big upload


def _round_coords(obj, nd=DECIMALS):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(v, nd) for v in obj]
    return obj


def normalize_geometry(geometry: dict) -> tuple[str, tuple[float, float, float, float]]:
    """GeoJSON geometry dict -> (compact JSON text with rounded coordinates, bounds)."""
    geom = shape(geometry)
    if geom.is_empty:
        raise ValueError("empty geometry")
    minx, miny, maxx, maxy = geom.bounds
    gj = mapping(geom)
    gj = {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"])}
    return orjson.dumps(gj).decode(), (minx, miny, maxx, maxy)


def point_row(layer_id: str, fid: str, lon: float, lat: float, props: dict) -> dict:
    """One point as a features row (a dict for the ORM), rounded like every other write."""
    lon, lat = round(float(lon), DECIMALS), round(float(lat), DECIMALS)
    return dict(layer_id=layer_id, fid=fid, geometry=_point_text(lon, lat), properties=props,
                minx=lon, miny=lat, maxx=lon, maxy=lat)


def _point_text(lon: float, lat: float) -> str:
    """GeoJSON text of a point already rounded: each number in its shortest form, as orjson writes it."""
    return f'{{"type":"Point","coordinates":[{lon!r},{lat!r}]}}'


def replace_features(s: Session, layer: Layer, features: Iterable[dict]) -> int:
    """Replace all features of a layer (see the module's docstring); returns their number."""
    s.execute(delete(Feature).where(Feature.layer_id == layer.id))
    if hasattr(features, "lons"):  # PointRows (CSV): columns at hand, written in parts
        count = len(features)
        for start in range(0, count, POINT_PART):
            _insert(s, _point_rows(layer.id, features.part(start, start + POINT_PART)))
        _analyze_after(s, count)
        layers_store.touch_layer(s, layer, feature_count=count)
        _point_grids(s, layer, np.round(features.lons, DECIMALS), np.round(features.lats, DECIMALS),
                     features.fids if features.numbers is None else features.numbers)
        return count
    return _write(s, layer, feature_rows(layer.id, features))


def replace_rows(s: Session, layer: Layer, stored: Iterable[tuple[str, str, dict]]) -> int:
    """Replace all features of a layer with rows as the store keeps them: (fid, geometry JSON text,
    properties), e.g. a kept version of the layer's data."""
    s.execute(delete(Feature).where(Feature.layer_id == layer.id))
    rows = [(layer.id, fid, geom, orjson.dumps(props).decode(), *_bounds(geom)) for fid, geom, props in stored]
    return _write(s, layer, rows)


def _write(s: Session, layer: Layer, rows: list[tuple]) -> int:
    _insert(s, rows)
    _analyze_after(s, len(rows))
    layers_store.touch_layer(s, layer, feature_count=len(rows))
    grids.grids_for_rows(s, layer.id, layer.version, [r[1] for r in rows], [r[4] for r in rows], [r[5] for r in rows],
                   [r[6] for r in rows], [r[7] for r in rows])
    return len(rows)


def _bounds(geom_text: str) -> tuple[float, float, float, float]:
    import shapely

    return tuple(shapely.from_geojson(geom_text).bounds)


def feature_rows(layer_id: str, features) -> list[tuple]:
    """Rows for the features table as tuples in COLUMNS order, properties already JSON text."""
    dumps = orjson.dumps
    rows = []
    append = rows.append
    for i, feat in enumerate(features, start=1):
        geom = feat["geometry"]
        fid = feat.get("id")
        fid = str(fid)[:120] if fid not in (None, "") else str(i)
        props = dumps(feat.get("properties") or {}).decode()
        if geom["type"] == "Point":
            lon, lat = (round(float(v), DECIMALS) for v in geom["coordinates"][:2])
            append((layer_id, fid, _point_text(lon, lat), props, lon, lat, lon, lat))
        else:
            geom_text, (minx, miny, maxx, maxy) = normalize_geometry(geom)
            append((layer_id, fid, geom_text, props, minx, miny, maxx, maxy))
    return rows


def _point_rows(layer_id: str, points):
    """The rows of a PointRows part, as an iterator of tuples (nothing built per row beyond them).
    Its fids are spreadsheet row numbers: short, no need to cut them."""
    geometry, lons, lats = points.geometry_json(DECIMALS)
    return zip(repeat(layer_id), points.fids, geometry, points.properties_json(), lons, lats, lons, lats)


def _insert(s: Session, rows, chunk: int = 50000) -> None:
    """Bulk insert inside the session's transaction: COPY on PostgreSQL, executemany on SQLite
    (several times faster than going through the ORM). rows: tuples in COLUMNS order (a list from
    feature_rows, or an iterator from _point_rows)."""
    if isinstance(rows, list) and not rows:
        return
    conn = s.connection()
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            with cur.copy(f"COPY features ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        return
    if conn.dialect.name != "sqlite":
        rows = list(rows)
        table = Feature.__table__
        for i in range(0, len(rows), chunk):
            s.execute(table.insert(), [dict(zip(COLUMNS, r), properties=orjson.loads(r[3]))
                                       for r in rows[i:i + chunk]])
        return
    sql = f"INSERT INTO features ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    cur = raw.cursor()
    try:
        cur.execute("PRAGMA cache_size=-262144")  # 256 MB of page cache: the (layer, fid) index grows fast
        if isinstance(rows, list):
            for i in range(0, len(rows), chunk):
                cur.executemany(sql, rows[i:i + chunk])
        else:
            cur.executemany(sql, rows)
    finally:
        cur.close()


def _analyze_after(s: Session, count: int) -> None:
    """PostgreSQL plans by its statistics, which a fresh million rows leave behind until autovacuum
    comes by: without them a close-up view took 0.7 s instead of 0.1 s (bench/upload.py)."""
    if count > grids.BIG_LAYER and s.connection().dialect.name == "postgresql":
        s.execute(text("ANALYZE features"))


def _point_grids(s: Session, layer: Layer, lons, lats, fids) -> None:
    """A CSV's points (all points, short fids or their numbers)."""
    if len(fids) > grids.BIG_LAYER:
        grids.write_grids(s, layer.id, layer.version, lons, lats, fids)
    else:
        grids.drop_grids(s, layer.id)


def feature_collection_bytes(s: Session, layer_id: str,
                             bbox: tuple[float, float, float, float] | None = None,
                             fids: list[str] | None = None) -> bytes:
    """A GeoJSON FeatureCollection as bytes, built from stored JSON without re-parsing geometry.

    fids: only these features (a big layer's grid index names the candidates of a bbox)."""
    q = select(Feature.id, Feature.fid, Feature.geometry, Feature.properties).where(Feature.layer_id == layer_id)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        q = q.where(Feature.maxx >= minx, Feature.minx <= maxx, Feature.maxy >= miny, Feature.miny <= maxy)
    if fids is None:
        rows = s.execute(q.order_by(Feature.id)).all()
    else:
        rows = []
        for i in range(0, len(fids), 500):  # bound the statement's parameters
            rows.extend(s.execute(q.where(Feature.fid.in_(fids[i:i + 500]))).all())
        rows.sort(key=lambda r: r[0])
    parts = [
        b'{"type":"Feature","id":' + orjson.dumps(fid) + b',"geometry":' + geom.encode()
        + b',"properties":' + orjson.dumps(props) + b"}"
        for _id, fid, geom, props in rows
    ]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"
