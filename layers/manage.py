"""What staff do with uploaded layers, shared by the API (api/staff.py) and the staff pages.

No Flask, no Dash: plain functions taking a Database and a `store.users.Staff`. Failures raise
`Refused(status, code, message_key, details, **fmt)`, which both callers turn into their own form
(JSON error / message on the page). Each write is one transaction: on any error nothing changes.

Permission rule (one place): a layer a person may not see is "not found" (404, existence not
leaked); a layer they may see but not change (another organisation's public layer) is 403.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import orjson
from sqlalchemy import select

from sources.upload import ReadResult, UploadError, read_upload
from store.models import Feature, Layer
from store.uploads import (KIND, EditError, create_uploaded_layer, delete_layer, replace_layer_data,
                           rollback_layer, update_layer_settings)
from store.users import Staff, may_edit_layer, may_see_layer


class Refused(Exception):
    def __init__(self, status: int, code: str, message_key: str, details: list | None = None, **fmt):
        super().__init__(message_key)
        self.status, self.code, self.message_key, self.details, self.fmt = status, code, message_key, details or [], fmt


@dataclass
class UploadOptions:
    crs: str | None = None
    lat_column: str | None = None
    lon_column: str | None = None
    skip_invalid: bool = False  # on_invalid=skip: publish the placeable rows


@dataclass
class Outcome:
    layer_id: str
    feature_count: int
    result: ReadResult
    skipped: list = field(default_factory=list)


def read_file(raw: bytes, filename: str, opts: UploadOptions, max_bytes: int) -> ReadResult:
    if len(raw) > max_bytes:
        raise Refused(413, "too_large", "upload.too_large", limit=max_bytes // (1024 * 1024))
    try:
        return read_upload(raw, filename, crs=opts.crs, lat_column=opts.lat_column, lon_column=opts.lon_column)
    except UploadError as exc:
        raise Refused(exc.status, exc.code, exc.message_key, exc.details, **exc.fmt) from None


def _check_problems(result: ReadResult, opts: UploadOptions, lang: str) -> None:
    if result.problem_count and not opts.skip_invalid:
        raise Refused(422, "unplaceable_rows", "upload.unplaceable", [p.as_dict(lang) for p in result.problems],
                      count=result.problem_count)
    if not result.features:
        raise Refused(422, "no_features", "upload.no_features", [p.as_dict(lang) for p in result.problems])


def source_info(result: ReadResult, filename: str) -> dict:
    return {"filename": (filename or "")[:200], "format": result.format, "encoding": result.encoding,
            "crs": f"EPSG:{result.crs}" if result.crs else "", "lat_column": result.lat_column,
            "lon_column": result.lon_column}


def _refuse_edit(exc: EditError):
    return Refused(400, "bad_request", exc.message_key, **exc.fmt)


def publish(db, staff: Staff, raw: bytes, filename: str, opts: UploadOptions, settings: dict,
            max_bytes: int, lang: str = "ja") -> Outcome:
    """Read a file and create a new layer from it (settings: name_ja, name_en, group, visibility, …)."""
    result = read_file(raw, filename, opts, max_bytes)
    _check_problems(result, opts, lang)
    return publish_result(db, staff, result, filename, settings, lang)


def publish_result(db, staff: Staff, result: ReadResult, filename: str, settings: dict, lang: str = "ja") -> Outcome:
    try:
        with db.session() as s:
            layer = create_uploaded_layer(
                s, staff, result.features, columns=result.columns, source=source_info(result, filename),
                name_ja=settings.get("name_ja") or "", name_en=settings.get("name_en") or "",
                group=settings.get("group") or "", visibility=settings.get("visibility") or "private",
                organisation_id=settings.get("organisation_id"),
                description_ja=settings.get("description_ja") or "", license=settings.get("license") or "",
                attribution_ja=settings.get("attribution_ja") or "")
            layer.options = {**layer.options, "geometry_types": result.geometry_types}
            return Outcome(layer.id, layer.feature_count, result, [p.as_dict(lang) for p in result.problems])
    except EditError as exc:
        raise _refuse_edit(exc) from None


def layer_for_edit(s, staff: Staff, layer_id: str) -> Layer:
    layer = s.get(Layer, layer_id)
    if not may_see_layer(staff, layer):
        raise Refused(404, "not_found", "api.not_found")
    if layer.kind != KIND or not may_edit_layer(staff, layer):
        raise Refused(403, "forbidden", "layers.forbidden")
    return layer


def replace(db, staff: Staff, layer_id: str, raw: bytes, filename: str, opts: UploadOptions, max_bytes: int,
            lang: str = "ja") -> Outcome:
    with db.session() as s:  # permission first: a refused person learns nothing about the file
        layer_for_edit(s, staff, layer_id)
    result = read_file(raw, filename, opts, max_bytes)
    _check_problems(result, opts, lang)
    return replace_result(db, staff, layer_id, result, filename, lang)


def replace_result(db, staff: Staff, layer_id: str, result: ReadResult, filename: str, lang: str = "ja") -> Outcome:
    with db.session() as s:
        layer = layer_for_edit(s, staff, layer_id)
        count = replace_layer_data(s, staff, layer, result.features, result.columns, source_info(result, filename))
        layer.options = {**layer.options, "geometry_types": result.geometry_types}
        return Outcome(layer.id, count, result, [p.as_dict(lang) for p in result.problems])


def change_settings(db, staff: Staff, layer_id: str, changes: dict) -> dict:
    try:
        with db.session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            update_layer_settings(s, layer, changes)
            return layer_info(layer)
    except EditError as exc:
        raise _refuse_edit(exc) from None


def remove(db, staff: Staff, layer_id: str) -> None:
    with db.session() as s:
        delete_layer(s, layer_for_edit(s, staff, layer_id))


def roll_back(db, staff: Staff, layer_id: str, version_id: int | None = None) -> int:
    try:
        with db.session() as s:
            return rollback_layer(s, staff, layer_for_edit(s, staff, layer_id), version_id)
    except EditError as exc:
        raise Refused(409 if exc.message_key == "layers.no_version" else 400, "no_version", exc.message_key) from None


def layer_info(layer: Layer) -> dict:
    opts = layer.options or {}
    return {"id": layer.id, "kind": layer.kind, "name": {"ja": layer.name_ja, "en": layer.name_en},
            "group": layer.group, "visibility": layer.visibility, "organisation_id": layer.organisation_id,
            "feature_count": layer.feature_count, "version": layer.version,
            "updated_at": layer.updated_at.isoformat() if layer.updated_at else None,
            "description": {"ja": layer.description_ja, "en": layer.description_en}, "license": layer.license,
            "attribution": {"ja": layer.attribution_ja, "en": layer.attribution_en},
            "color": opts.get("color"), "shape": opts.get("shape"), "popup": opts.get("popup"),
            "columns": opts.get("columns", []), "source": opts.get("source", {})}


# --- downloads ---

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """A CSV cell that spreadsheet software will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS_START) else text


def download_rows(s, layer: Layer):
    return s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                     .where(Feature.layer_id == layer.id).order_by(Feature.id))


def layer_csv(s, layer: Layer) -> bytes:
    """UTF-8 with BOM (Excel opens it), one row per feature; points get 緯度/経度, others WKT."""
    import shapely

    columns = list((layer.options or {}).get("columns") or [])
    rows = download_rows(s, layer).all()
    for _fid, _g, props in rows:
        for k in props:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    all_points = all(g.startswith('{"type":"Point"') for _f, g, _p in rows)
    geo_cols = ["緯度", "経度"] if all_points else ["WKT"]
    w.writerow([neutralise(c) for c in ["id", *columns, *geo_cols]])
    for fid, geom, props in rows:
        if all_points:
            lon, lat = orjson.loads(geom)["coordinates"][:2]
            geo = [repr(lat), repr(lon)]
        else:
            geo = [shapely.to_wkt(shapely.from_geojson(geom), rounding_precision=6)]
        w.writerow([neutralise(fid), *(neutralise(props.get(c, "")) for c in columns), *geo])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")
