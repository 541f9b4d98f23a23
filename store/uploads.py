"""Uploaded layers: per-organisation layers of kind "uploaded", menu groups, kept versions.

Every function runs inside the caller's session (`with db.session() as s:`), which commits once at
the end or rolls everything back: a failed upload, replace or rollback leaves the store as it was.

- `create_uploaded_layer(s, staff, features, name_ja=..., ...)` -> Layer
- `replace_layer_data(s, staff, layer, features, source)`: the current data is kept as a version
- `rollback_layer(s, staff, layer)`: back to the newest kept version (the current data is kept in
  turn, so a rollback can be undone the same way)
- `layer_versions(s, layer_id)`, `update_layer_settings(s, layer, changes)`, `delete_layer(s, layer)`
- items: `update_feature`, `delete_feature`, `add_point`
- menu groups: `menu_groups(s)`, `create_menu_group(s, staff, label_ja, label_en)`, `group_labels(s)`

Permissions are checked by the callers with `store.users.may_edit_layer` (404 when not allowed);
these functions assume they were.
"""
from __future__ import annotations

import math
import re
import secrets
import zlib
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store import features as features_store, layers as layers_store
from store.db import Base, UTCDateTime, utcnow
from store.models import PRIVATE, PUBLIC, Feature, Layer, Organisation

if TYPE_CHECKING:  # store.models imports this module while store.users may be half-loaded
    from store.users import Staff

KIND = "uploaded"
KEEP_VERSIONS = 5
VISIBILITIES = (PUBLIC, PRIVATE)
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
SHAPES = ("circle", "square", "marker")
DEFAULT_COLOR = "#1d70b8"
TITLE_NAMES = ["名称", "name", "施設名", "名前", "title", "タイトル", "Name", "NAME"]


class MenuGroup(Base):
    __tablename__ = "menu_groups"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    label_ja: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=500)


class LayerVersion(Base):
    __tablename__ = "layer_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[str] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when it was replaced
    created_by: Mapped[str] = mapped_column(String(254), default="")
    source: Mapped[str] = mapped_column(String(300), default="")  # file name of that data
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[str] = mapped_column(String(4000), default="[]")  # JSON list of property names
    data: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(orjson([[fid, geometry text, props], ...]))


class EditError(ValueError):
    def __init__(self, message_key: str, **fmt):
        super().__init__(message_key)
        self.message_key, self.fmt = message_key, fmt


# --- layers ---

def default_popup(columns: list[str]) -> dict:
    title = next((c for c in TITLE_NAMES if c in columns), columns[0] if columns else "name")
    fields = [[c, c, c] for c in columns if c != title][:12]
    return {"title": title, "fields": fields}


def new_layer_id(s: Session) -> str:
    while True:
        layer_id = "u-" + secrets.token_hex(5)
        if s.get(Layer, layer_id) is None:
            return layer_id


def _check_group(s: Session, group: str, organisation_id: int | None, any_org: bool = False) -> str:
    """A menu group key for a layer of this organisation: a built-in group (one a layer uses that no
    organisation made), or a group the organisation made (`any_org`: admins, any organisation's).
    Another organisation's group answers like an unknown one."""
    group = (group or "").strip()
    if not group:
        raise EditError("layers.bad_group", group=group)
    made = s.get(MenuGroup, group)
    if made is not None:
        if any_org or made.organisation_id in (None, organisation_id):
            return group
        raise EditError("layers.bad_group", group=group)
    if s.scalar(select(Layer.id).where(Layer.group == group).limit(1)):
        return group
    # a label of a group the organisation may use is fine too (its own first)
    q = select(MenuGroup).where((MenuGroup.label_ja == group) | (MenuGroup.label_en == group))
    if not any_org:
        q = q.where(MenuGroup.organisation_id == organisation_id)
    matches = sorted(s.scalars(q), key=lambda g: (g.organisation_id != organisation_id, g.key))
    if matches:
        return matches[0].key
    raise EditError("layers.bad_group", group=group)


def create_uploaded_layer(s: Session, staff: Staff, features: list[dict], *, name_ja: str, name_en: str = "",
                          group: str, visibility: str = PRIVATE, columns: list[str] | None = None,
                          source: dict | None = None, organisation_id: int | None = None,
                          description_ja: str = "", description_en: str = "", license: str = "",
                          attribution_ja: str = "", attribution_en: str = "") -> Layer:
    name_ja = (name_ja or "").strip()
    if not name_ja:
        raise EditError("layers.need_name")
    if visibility not in VISIBILITIES:
        raise EditError("layers.bad_visibility")
    org_id = organisation_id if (organisation_id and staff.is_admin) else staff.organisation_id
    group = _check_group(s, group, org_id, any_org=staff.is_admin)
    columns = list(columns or [])
    layer = Layer(id=new_layer_id(s), kind=KIND, name_ja=name_ja[:200], name_en=(name_en or "").strip()[:200],
                  group=group, organisation_id=org_id, visibility=visibility,
                  description_ja=description_ja or "", description_en=description_en or "",
                  license=(license or "")[:200],
                  attribution_ja=attribution_ja or "", attribution_en=attribution_en or "",
                  options={"color": DEFAULT_COLOR, "shape": "circle", "columns": columns,
                           "popup": default_popup(columns), "source": source or {}, "created_by": staff.email},
                  default_visible=False, sort_order=200, feature_count=0, version=0)
    s.add(layer)
    s.flush()
    features_store.replace_features(s, layer, features)
    return layer


def _snapshot(s: Session, layer: Layer, staff: Staff) -> LayerVersion:
    rows = s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                     .where(Feature.layer_id == layer.id).order_by(Feature.id)).all()
    blob = zlib.compress(orjson.dumps([[fid, geom, props] for fid, geom, props in rows]), 6)
    filename = (layer.options or {}).get("source", {}).get("filename", "")
    version = LayerVersion(layer_id=layer.id, created_by=staff.email, source=filename[:300], feature_count=len(rows),
                           data=blob, columns=orjson.dumps((layer.options or {}).get("columns", [])).decode()[:4000])
    s.add(version)
    s.flush()
    old = s.scalars(select(LayerVersion.id).where(LayerVersion.layer_id == layer.id)
                    .order_by(LayerVersion.id.desc()).offset(KEEP_VERSIONS)).all()
    if old:
        s.execute(delete(LayerVersion).where(LayerVersion.id.in_(old)))
    return version


def _set_columns(layer: Layer, columns: list[str]) -> None:
    options = dict(layer.options or {})
    old_popup = options.get("popup") or {}
    options["columns"] = list(columns)
    # keep the chosen popup where its columns still exist
    kept = [f for f in old_popup.get("fields", []) if f[0] in columns]
    popup = default_popup(columns)
    if old_popup.get("title") in columns:
        popup["title"] = old_popup["title"]
    if kept:
        popup["fields"] = kept
    options["popup"] = popup
    layer.options = options


def replace_layer_data(s: Session, staff: Staff, layer: Layer, features: list[dict], columns: list[str],
                       source: dict | None = None) -> int:
    _snapshot(s, layer, staff)
    count = features_store.replace_features(s, layer, features)
    _set_columns(layer, columns)
    if source is not None:
        layer.options = {**layer.options, "source": source}
    return count


def layer_versions(s: Session, layer_id: str) -> list[LayerVersion]:
    return list(s.scalars(select(LayerVersion).where(LayerVersion.layer_id == layer_id)
                          .order_by(LayerVersion.id.desc())))


def rollback_layer(s: Session, staff: Staff, layer: Layer, version_id: int | None = None) -> int:
    versions = layer_versions(s, layer.id)
    target = next((v for v in versions if version_id in (None, v.id)), None)
    if target is None:
        raise EditError("layers.no_version")
    data, columns, source = target.data, orjson.loads(target.columns or "[]"), target.source
    s.delete(target)
    s.flush()
    _snapshot(s, layer, staff)
    count = features_store.replace_rows(s, layer, orjson.loads(zlib.decompress(data)))
    _set_columns(layer, columns)
    layer.options = {**layer.options, "source": {**layer.options.get("source", {}), "filename": source}}
    return count


SETTINGS_FIELDS = ("name_ja", "name_en", "group", "visibility", "description_ja", "description_en", "license",
                   "attribution_ja", "attribution_en", "color", "shape", "popup")


def update_layer_settings(s: Session, layer: Layer, changes: dict, staff: Staff | None = None) -> Layer:
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise EditError("layers.unknown_field", field=", ".join(sorted(unknown)))
    options = dict(layer.options or {})
    for key, value in changes.items():
        if key in ("name_ja",):
            value = str(value or "").strip()
            if not value:
                raise EditError("layers.need_name")
            layer.name_ja = value[:200]
        elif key == "visibility":
            if value not in VISIBILITIES:
                raise EditError("layers.bad_visibility")
            layer.visibility = value
        elif key == "group":
            if str(value or "").strip() != layer.group:
                layer.group = _check_group(s, str(value or ""), layer.organisation_id,
                                           any_org=bool(staff is not None and staff.is_admin))
        elif key == "color":
            if not isinstance(value, str) or not COLOR_RE.match(value):
                raise EditError("layers.bad_color")
            options["color"] = value.lower()
        elif key == "shape":
            if value not in SHAPES:
                raise EditError("layers.bad_shape")
            options["shape"] = value
        elif key == "popup":
            options["popup"] = _check_popup(value, options.get("columns", []))
        else:
            text = str(value or "")
            setattr(layer, key, text[:200] if key in ("name_en", "license") else text[:5000])
    layer.options = options
    layer.updated_at = utcnow()
    layer.version = (layer.version or 0) + 1  # the map spec (colour, popup) changed
    return layer


def _check_popup(value, columns: list[str]) -> dict:
    if not isinstance(value, dict):
        raise EditError("layers.bad_popup")
    title = value.get("title")
    fields = value.get("fields") or []
    if title not in columns and title is not None:
        raise EditError("layers.bad_popup")
    out = []
    for f in fields:
        if isinstance(f, str):
            f = [f, f, f]
        if not isinstance(f, (list, tuple)) or not f or f[0] not in columns:
            raise EditError("layers.bad_popup")
        key = f[0]
        ja = str(f[1]) if len(f) > 1 and f[1] else key
        en = str(f[2]) if len(f) > 2 and f[2] else ja
        out.append([key, ja[:100], en[:100]])
    return {"title": title or (columns[0] if columns else "name"), "fields": out[:40]}


def delete_layer(s: Session, layer: Layer) -> None:
    from store.grids import drop_grids

    drop_grids(s, layer.id)
    s.execute(delete(LayerVersion).where(LayerVersion.layer_id == layer.id))
    s.execute(delete(Feature).where(Feature.layer_id == layer.id))
    s.delete(layer)


def staff_layers(s: Session, staff: Staff) -> list[Layer]:
    """The uploaded layers a staff member manages: own organisation's, or all for admins."""
    q = select(Layer).where(Layer.kind == KIND)
    if not staff.is_admin:
        q = q.where(Layer.organisation_id == staff.organisation_id)
    return list(s.scalars(q.order_by(Layer.updated_at.desc())))


# --- items ---

def _feature(s: Session, layer: Layer, fid: str) -> Feature:
    feat = s.scalar(select(Feature).where(Feature.layer_id == layer.id, Feature.fid == str(fid)))
    if feat is None:
        raise EditError("layers.no_item", fid=fid)
    return feat


JAPAN = (122.0, 20.0, 154.0, 46.0)


def _check_lonlat(lon, lat) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise EditError("layers.bad_point") from None
    if not (math.isfinite(lon) and math.isfinite(lat)
            and JAPAN[0] <= lon <= JAPAN[2] and JAPAN[1] <= lat <= JAPAN[3]):
        raise EditError("layers.bad_point")
    return lon, lat


def update_feature(s: Session, layer: Layer, fid: str, properties: dict | None = None,
                   lon=None, lat=None) -> Feature:
    feat = _feature(s, layer, fid)
    if properties is not None:
        feat.properties = {str(k): (v if v is None or isinstance(v, (int, float, bool)) else str(v))
                           for k, v in properties.items()}
    if lon is not None or lat is not None:
        if not feat.geometry.startswith('{"type":"Point"'):
            raise EditError("layers.not_a_point")
        lon, lat = _check_lonlat(lon, lat)
        row = features_store.point_row(layer.id, feat.fid, lon, lat, {})
        feat.geometry, feat.minx, feat.miny, feat.maxx, feat.maxy = (row["geometry"], row["minx"], row["miny"],
                                                                     row["maxx"], row["maxy"])
    layers_store.touch_layer(s, layer)
    return feat


def delete_feature(s: Session, layer: Layer, fid: str) -> None:
    s.delete(_feature(s, layer, fid))
    s.flush()
    layers_store.touch_layer(s, layer, feature_count=max((layer.feature_count or 1) - 1, 0))


def add_point(s: Session, layer: Layer, lon, lat, properties: dict | None = None) -> Feature:
    lon, lat = _check_lonlat(lon, lat)
    fids = [f for f in s.scalars(select(Feature.fid).where(Feature.layer_id == layer.id))]
    nums = [int(f) for f in fids if f.isdigit()]
    fid = str(max(nums, default=len(fids)) + 1)
    while fid in set(fids):
        fid = str(int(fid) + 1)
    props = {c: "" for c in (layer.options or {}).get("columns", [])}
    props.update({str(k): str(v) for k, v in (properties or {}).items()})
    row = features_store.point_row(layer.id, fid, lon, lat, props)
    feat = Feature(**row)
    s.add(feat)
    s.flush()
    layers_store.touch_layer(s, layer, feature_count=(layer.feature_count or 0) + 1)
    return feat


# --- menu groups ---

def menu_groups(s: Session, staff: Staff | None = None) -> list[MenuGroup]:
    """Staff-made menu groups: every one (the public panel's labels), or those `staff` may use —
    their organisation's (admins: all)."""
    q = select(MenuGroup).order_by(MenuGroup.sort_order, MenuGroup.key)
    if staff is not None and not staff.is_admin:
        q = q.where(MenuGroup.organisation_id == staff.organisation_id)
    return list(s.scalars(q))


def group_labels(s: Session) -> dict[str, tuple[str, str]]:
    return {g.key: (g.label_ja, g.label_en or g.label_ja) for g in menu_groups(s)}


def create_menu_group(s: Session, staff: Staff, label_ja: str, label_en: str = "") -> MenuGroup:
    label_ja = (label_ja or "").strip()[:200]
    if not label_ja:
        raise EditError("layers.need_group_name")
    # the same name in another organisation is another group
    existing = s.scalar(select(MenuGroup).where(MenuGroup.label_ja == label_ja,
                                                MenuGroup.organisation_id == staff.organisation_id).limit(1))
    if existing is not None:
        return existing
    group = MenuGroup(key="g-" + secrets.token_hex(4), label_ja=label_ja, label_en=(label_en or "").strip()[:200],
                      organisation_id=staff.organisation_id)
    s.add(group)
    s.flush()
    return group


def update_menu_group(s: Session, staff: Staff, key: str, label_ja: str, label_en: str = "") -> MenuGroup:
    group = s.get(MenuGroup, key)
    if group is None or not staff.may_manage(group.organisation_id):
        raise EditError("layers.no_group")
    if not (label_ja or "").strip():
        raise EditError("layers.need_group_name")
    group.label_ja, group.label_en = label_ja.strip()[:200], (label_en or "").strip()[:200]
    return group


def delete_menu_group(s: Session, staff: Staff, key: str) -> None:
    """Only an empty group: a layer never loses its place in the panel by someone else's click."""
    group = s.get(MenuGroup, key)
    if group is None or not staff.may_manage(group.organisation_id):
        raise EditError("layers.no_group")
    used = s.scalar(select(Layer.id).where(Layer.group == key).limit(1))
    if used is not None:
        raise EditError("groups.in_use")
    s.delete(group)


def organisation_of(s: Session, layer: Layer) -> Organisation | None:
    return s.get(Organisation, layer.organisation_id) if layer.organisation_id else None
