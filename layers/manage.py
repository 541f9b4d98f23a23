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

import gcpause
from csvcell import cell
from refusal import Refused
from sources import virus_scan
from sources.readers import ReadResult, UploadError, read_upload
from store import audit
from store.grids import refresh_grids
from store.models import Feature, Layer
from store.permissions import EDIT, can
from store.uploads import (
    KIND,
    EditError,
    create_uploaded_layer,
    delete_layer,
    replace_layer_data,
    rollback_layer,
    update_layer_settings,
)
from store.users import Staff, may_edit_layer, may_see_layer


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


def check_file(raw: bytes, filename: str, max_bytes: int, clamd_url: str = "", who: str = "") -> None:
    """What every uploaded file passes before it is read or kept: its size, then a virus scan by clamd
    when `clamd_url` (the CLAMD_URL setting) is given (422 naming the signature, 503 when clamd
    cannot answer)."""
    if len(raw) > max_bytes:
        raise Refused(413, "too_large", "upload.too_large", limit=max_bytes // (1024 * 1024))
    try:
        virus_scan.scan(raw, clamd_url, name=filename, who=who)
    except UploadError as exc:
        raise Refused(exc.status, exc.code, exc.message_key, exc.details, **exc.fmt) from None


def read_file(raw: bytes, filename: str, opts: UploadOptions, max_bytes: int, clamd_url: str = "",
              who: str = "") -> ReadResult:
    """Check (`check_file`) and read an uploaded file with the reader of its format."""
    check_file(raw, filename, max_bytes, clamd_url, who)
    try:
        with gcpause.paused():
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
            max_bytes: int, lang: str = "ja", clamd_url: str = "") -> Outcome:
    """Read a file and create a new layer from it (settings: name_ja, name_en, group, visibility, …)."""
    result = read_file(raw, filename, opts, max_bytes, clamd_url, who=staff.email)
    _check_problems(result, opts, lang)
    return publish_result(db, staff, result, filename, settings, lang)


def require_edit(staff: Staff | None, organisation_id: int | None) -> None:
    """403 unless this person may change things of that organisation (store/permissions.py)."""
    if not can(staff, EDIT, organisation_id):
        raise Refused(403, "forbidden", "perm.forbidden")


def publish_result(db, staff: Staff, result: ReadResult, filename: str, settings: dict, lang: str = "ja") -> Outcome:
    require_edit(staff, settings.get("organisation_id") or staff.organisation_id)
    try:
        with gcpause.paused(), db.session() as s:
            layer = create_uploaded_layer(
                s, staff, result.features, columns=result.columns, source=source_info(result, filename),
                name_ja=settings.get("name_ja") or "", name_en=settings.get("name_en") or "",
                group=settings.get("group") or "", visibility=settings.get("visibility") or "private",
                organisation_id=settings.get("organisation_id"),
                description_ja=settings.get("description_ja") or "", license=settings.get("license") or "",
                attribution_ja=settings.get("attribution_ja") or "")
            layer.options = {**layer.options, "geometry_types": result.geometry_types}
            audit.record(s, staff, "layer.upload", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                         detail={"features": layer.feature_count, "file": filename, "visibility": layer.visibility})
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
            lang: str = "ja", clamd_url: str = "") -> Outcome:
    with db.session() as s:  # permission first: a refused person learns nothing about the file
        layer_for_edit(s, staff, layer_id)
    result = read_file(raw, filename, opts, max_bytes, clamd_url, who=staff.email)
    _check_problems(result, opts, lang)
    return replace_result(db, staff, layer_id, result, filename, lang)


def replace_result(db, staff: Staff, layer_id: str, result: ReadResult, filename: str, lang: str = "ja") -> Outcome:
    with gcpause.paused(), db.session() as s:
        layer = layer_for_edit(s, staff, layer_id)
        count = replace_layer_data(s, staff, layer, result.features, result.columns, source_info(result, filename))
        layer.options = {**layer.options, "geometry_types": result.geometry_types}
        audit.record(s, staff, "layer.replace", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                     detail={"features": count, "file": filename, "version": layer.version})
        return Outcome(layer.id, count, result, [p.as_dict(lang) for p in result.problems])


def change_settings(db, staff: Staff, layer_id: str, changes: dict) -> dict:
    try:
        with db.session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            before = _audited_settings(layer)
            update_layer_settings(s, layer, changes, staff)
            audit_settings(s, staff, layer, before)
            return layer_info(layer)
    except EditError as exc:
        raise _refuse_edit(exc) from None


def remove(db, staff: Staff, layer_id: str) -> None:
    with db.session() as s:
        layer = layer_for_edit(s, staff, layer_id)
        audit.record(s, staff, "layer.delete", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                     detail={"features": layer.feature_count})
        delete_layer(s, layer)


def roll_back(db, staff: Staff, layer_id: str, version_id: int | None = None) -> int:
    try:
        with gcpause.paused(), db.session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            restored = rollback_layer(s, staff, layer, version_id)
            audit.record(s, staff, "layer.rollback", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                         detail={"restored": restored, "version": version_id})
            return restored
    except EditError as exc:
        raise Refused(409 if exc.message_key == "layers.no_version" else 400, "no_version", exc.message_key) from None


AUDITED_SETTINGS = ("name", "group", "visibility", "organisation_id", "description", "license", "attribution",
                    "color", "shape", "popup")


def _audited_settings(layer: Layer) -> dict:
    info = layer_info(layer)
    return {k: info[k] for k in AUDITED_SETTINGS}


def audit_settings(s, staff: Staff, layer: Layer, before: dict) -> None:
    """The audit entry of a settings change (before → after); a change of 公開/非公開 is its own kind."""
    changes = audit.diff(before, _audited_settings(layer))
    if changes:
        action = "layer.visibility" if "visibility" in changes else "layer.settings"
        audit.record(s, staff, action, f"layer:{layer.id}", layer.name_ja, layer.organisation_id, changes=changes)


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

def neutralise(value) -> str:
    """A CSV cell that spreadsheet software will not run as a formula (csvcell: one rule for all)."""
    return cell(value)


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


# --- previews for the staff pages (plain data; the pages turn it into components) ---

PREVIEW_FEATURES = 2000
PREVIEW_PROBLEMS = 200


def preview(result: ReadResult, lang: str = "ja") -> dict:
    from i18n import t

    rows = []
    for f in result.features[:20]:
        row = {"#": f["id"], **{k: _cell(v) for k, v in f["properties"].items()}}
        if f["geometry"]["type"] == "Point":
            row["経度 / lon"], row["緯度 / lat"] = (round(c, 6) for c in f["geometry"]["coordinates"][:2])
        rows.append(row)
    columns = ["#", *result.columns] + (["経度 / lon", "緯度 / lat"] if result.geometry_types == ["Point"] else [])
    return {
        "format": result.format, "encoding": result.encoding, "count": len(result.features), "total": result.total,
        "crs": f"EPSG:{result.crs}" if result.crs else "", "crs_from": result.crs_from,
        "lat_column": result.lat_column, "lon_column": result.lon_column, "coord_columns": result.coord_columns,
        "columns": columns, "rows": rows, "geometry_types": result.geometry_types,
        "problem_count": result.problem_count,
        "problems": [{"row": p.row, "message": p.text(lang)} for p in result.problems[:PREVIEW_PROBLEMS]],
        "warnings": [t(key, lang, **fmt) for key, fmt in result.warnings],
        "geojson": {"type": "FeatureCollection", "features": result.features[:PREVIEW_FEATURES]},
        "bounds": result.bounds(),
    }


def _cell(value):
    return value if value is None or isinstance(value, (int, float, bool)) else str(value)[:300]


def map_link(layer_id: str, bounds, lang: str) -> str:
    """The public map showing a layer, framed on its data (bounds = lon/lat box, or None)."""
    import math

    url = f"/?layers={layer_id}&lang={lang}"
    if not bounds:
        return url
    west, south, east, north = bounds
    lat, lon = (south + north) / 2, (west + east) / 2
    # the largest zoom at which the box fits a 900×600 px view (256-px tiles), within 8..16
    span_x = max(east - west, 1e-6) / 360.0
    span_y = max(north - south, 1e-6) / 360.0 / max(math.cos(math.radians(lat)), 0.1)
    zoom = int(math.floor(min(math.log2(900 / 256 / span_x), math.log2(600 / 256 / span_y))))
    return f"{url}&lat={lat:.5f}&lon={lon:.5f}&z={min(max(zoom, 8), 16)}"


def group_options(s, lang: str, staff: Staff) -> list[dict]:
    """Menu groups this staff member can put a layer in: the built-in ones, then those their
    organisation created (admins: every organisation's)."""
    from i18n import t
    from layers.builtin import GROUP_LABELS, GROUPS
    from store.menu_groups import menu_groups

    out = [{"label": t(GROUP_LABELS[g], lang), "value": g} for g in GROUPS]
    out += [{"label": (g.label_en if lang == "en" and g.label_en else g.label_ja), "value": g.key}
            for g in menu_groups(s, staff)]
    return out


def resolve_group(db, staff: Staff, group: str | None, new_ja: str | None, new_en: str | None) -> str:
    """The chosen group key, or a new group made from the typed names."""
    from store.menu_groups import create_menu_group

    if group == "__new__":
        require_edit(staff, staff.organisation_id)
        try:
            with db.session() as s:
                made = create_menu_group(s, staff, new_ja or "", new_en or "")
                audit.record(s, staff, "group.create", f"group:{made.key}", made.label_ja, made.organisation_id)
                return made.key
        except EditError as exc:
            raise _refuse_edit(exc) from None
    return group or ""


def groups_for(db, staff: Staff, lang: str) -> list[dict]:
    """The menu groups staff created that this person may rename or delete (admins: all), with
    the number of layers in each."""
    from sqlalchemy import func

    from store.menu_groups import menu_groups
    from store.models import Organisation

    with db.session() as s:
        counts = dict(s.execute(select(Layer.group, func.count()).group_by(Layer.group)).all())
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        out = []
        for g in menu_groups(s):
            if not staff.may_manage(g.organisation_id):
                continue
            org = orgs.get(g.organisation_id)
            out.append({"key": g.key, "label_ja": g.label_ja, "label_en": g.label_en, "layers": counts.get(g.key, 0),
                        "organisation": ((org.name_en or org.name_ja) if lang == "en" else org.name_ja) if org else ""})
        return out


def rename_group(db, staff: Staff, key: str, label_ja: str, label_en: str) -> None:
    from store.menu_groups import update_menu_group

    try:
        with db.session() as s:
            from store.menu_groups import MenuGroup

            old = s.get(MenuGroup, key)
            before = audit.snapshot(old, ("label_ja", "label_en")) if old is not None else {}
            group = update_menu_group(s, staff, key, label_ja, label_en)
            audit.record(s, staff, "group.rename", f"group:{key}", group.label_ja, group.organisation_id,
                         changes=audit.diff(before, audit.snapshot(group, ("label_ja", "label_en"))))
    except EditError as exc:
        raise _refuse_edit(exc) from None


def remove_group(db, staff: Staff, key: str) -> None:
    from store.menu_groups import delete_menu_group

    try:
        with db.session() as s:
            from store.menu_groups import MenuGroup

            group = s.get(MenuGroup, key)
            delete_menu_group(s, staff, key)
            audit.record(s, staff, "group.delete", f"group:{key}", group.label_ja, group.organisation_id)
    except EditError as exc:
        raise _refuse_edit(exc) from None


# --- items in a table (staff pages) ---

ITEM_ID = "_fid"
LON, LAT = "経度 / lon", "緯度 / lat"
TABLE_LIMIT = 1000


def _item_rows(s, layer: Layer, text: str = "", fids: list[str] | None = None, limit: int | None = None):
    """The layer's items in file order: all, those whose id or any value contains text, or these fids."""
    from sqlalchemy import Text, cast, or_

    q = select(Feature.fid, Feature.geometry, Feature.properties).where(Feature.layer_id == layer.id)
    text = (text or "").strip()
    if text:
        # properties are stored as JSON text without \u escapes (orjson), so a LIKE finds Japanese too;
        # a quote or backslash in the search would be escaped in that text: look for it escaped
        needle = orjson.dumps(text).decode()[1:-1]
        q = q.where(or_(Feature.fid == text, cast(Feature.properties, Text).contains(needle, autoescape=True)))
    if fids is not None:
        rows = []
        for i in range(0, len(fids), 500):
            rows.extend(s.execute(q.where(Feature.fid.in_(fids[i:i + 500])).order_by(Feature.id)).all())
        return rows
    # LIMIT in SQL: a session's result is read whole before fetchmany ever sees it
    return s.execute(q.order_by(Feature.id).limit(limit)).all()


def items_table(s, layer: Layer, limit: int = TABLE_LIMIT, text: str = "") -> tuple[list[str], list[dict]]:
    """(columns, rows) for the item table, the first `limit` items (matching text, when given);
    points carry editable lon/lat columns."""
    columns = list((layer.options or {}).get("columns") or [])
    rows = []
    has_point = False
    for fid, geom, props in _item_rows(s, layer, text, limit=limit):
        row = {ITEM_ID: fid, **{k: _cell(v) for k, v in props.items()}}
        for k in props:
            if k not in columns:
                columns.append(k)
        if geom.startswith('{"type":"Point"'):
            lon, lat = orjson.loads(geom)["coordinates"][:2]
            row[LON], row[LAT] = lon, lat
            has_point = True
        rows.append(row)
    return [ITEM_ID, *columns, *([LON, LAT] if has_point else [])], rows


def save_items(db, staff: Staff, layer_id: str, shown: list[str], rows: list[dict]) -> dict:
    """Apply the edited table: changed values, moved points, deleted rows (among those shown)."""
    from store.layer_items import delete_feature, update_feature

    changed = deleted = 0
    try:
        with db.session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            # only the rows that were shown (a big layer has a million others)
            stored = {fid: (geom, props) for fid, geom, props in _item_rows(s, layer, fids=list(set(shown)))}
            kept = set()
            for row in rows or []:
                fid = str(row.get(ITEM_ID, ""))
                if fid not in stored:
                    continue
                kept.add(fid)
                geom, props = stored[fid]
                new_props = {k: ("" if v is None else v) for k, v in row.items() if k not in (ITEM_ID, LON, LAT)}
                new_props = {k: v for k, v in new_props.items() if k in props or v not in ("", None)}
                lon = lat = None
                if LON in row and geom.startswith('{"type":"Point"'):
                    old = orjson.loads(geom)["coordinates"][:2]
                    if [_num(row.get(LON)), _num(row.get(LAT))] != [round(old[0], 6), round(old[1], 6)]:
                        lon, lat = row.get(LON), row.get(LAT)
                props_changed = {k: _cell(v) for k, v in props.items()} != new_props
                if props_changed or lon is not None:
                    update_feature(s, layer, fid, new_props if props_changed else None, lon, lat)
                    changed += 1
            for fid in set(stored) - kept:
                delete_feature(s, layer, fid)
                deleted += 1
            if changed or deleted:
                refresh_grids(s, layer)  # a big layer's clusters follow the edit at once
                audit.record(s, staff, "layer.items", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                             detail={"changed": changed, "deleted": deleted})
    except EditError as exc:
        raise _refuse_edit(exc) from None
    return {"changed": changed, "deleted": deleted}


def _num(value):
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return value


def add_item(db, staff: Staff, layer_id: str, lon, lat, properties: dict | None = None) -> str:
    from store.layer_items import add_point

    try:
        with db.session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            fid = add_point(s, layer, lon, lat, properties).fid
            refresh_grids(s, layer)
            audit.record(s, staff, "layer.item_add", f"layer:{layer.id}", layer.name_ja, layer.organisation_id,
                         detail={"fid": fid, "lon": lon, "lat": lat})
            return fid
    except EditError as exc:
        raise _refuse_edit(exc) from None
