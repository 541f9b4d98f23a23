"""Uploaded layers: per-organisation layers of kind "uploaded" — create, replace the data, roll
back, change settings, list, delete. Their kept versions are in store/layer_versions.py, their
menu groups in store/menu_groups.py, item edits in store/layer_items.py, and every write of their
data goes through store.features.replace_features.

Every function runs inside the caller's session (`with db.session() as s:`), which commits once at
the end or rolls everything back: a failed upload, replace or rollback leaves the store as it was.

- `create_uploaded_layer(s, staff, features, name_ja=..., ...)` -> Layer
- `replace_layer_data(s, staff, layer, features, source)`: the current data is kept as a version
- `rollback_layer(s, staff, layer)`: back to the newest kept version (the current data is kept in
  turn, so a rollback can be undone the same way)
- `update_layer_settings(s, layer, changes)`, `delete_layer(s, layer)`, `staff_layers(s, staff)`

Permissions are checked by the callers with `store.users.may_edit_layer` (404 when not allowed);
these functions assume they were.
"""
from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store import features as features_store
from store.db import utcnow
from store.edit_error import EditError
from store.layer_versions import drop_versions, keep_version, take_version
from store.menu_groups import check_group
from store.models import PRIVATE, PUBLIC, Feature, Layer

if TYPE_CHECKING:  # store.models imports this module while store.users may be half-loaded
    from store.users import Staff

KIND = "uploaded"
VISIBILITIES = (PUBLIC, PRIVATE)
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
SHAPES = ("circle", "square", "marker")
DEFAULT_COLOR = "#1d70b8"
TITLE_NAMES = ["名称", "name", "施設名", "名前", "title", "タイトル", "Name", "NAME"]


def default_popup(columns: list[str]) -> dict:
    title = next((c for c in TITLE_NAMES if c in columns), columns[0] if columns else "name")
    fields = [[c, c, c] for c in columns if c != title][:12]
    return {"title": title, "fields": fields}


def new_layer_id(s: Session) -> str:
    while True:
        layer_id = "u-" + secrets.token_hex(5)
        if s.get(Layer, layer_id) is None:
            return layer_id


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
    group = check_group(s, group, org_id, any_org=staff.is_admin)
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
    keep_version(s, layer, staff)
    count = features_store.replace_features(s, layer, features)
    _set_columns(layer, columns)
    if source is not None:
        layer.options = {**layer.options, "source": source}
    return count


def rollback_layer(s: Session, staff: Staff, layer: Layer, version_id: int | None = None) -> int:
    rows, columns, source = take_version(s, layer.id, version_id)
    keep_version(s, layer, staff)
    count = features_store.replace_rows(s, layer, rows)
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
                layer.group = check_group(s, str(value or ""), layer.organisation_id,
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
    drop_versions(s, layer.id)
    s.execute(delete(Feature).where(Feature.layer_id == layer.id))
    s.delete(layer)


def staff_layers(s: Session, staff: Staff) -> list[Layer]:
    """The uploaded layers a staff member manages: own organisation's, or all for admins."""
    q = select(Layer).where(Layer.kind == KIND)
    if not staff.is_admin:
        q = q.where(Layer.organisation_id == staff.organisation_id)
    return list(s.scalars(q.order_by(Layer.updated_at.desc())))
