"""Menu groups of the public layer panel: built-in ones (a group a shipped layer uses) and those an
organisation's staff made; the same name in another organisation is another group.
`check_group` is the rule for which group a layer of an organisation may use."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base
from store.edit_error import EditError
from store.models import Layer

if TYPE_CHECKING:  # store.models imports this module while store.users may be half-loaded
    from store.users import Staff


class MenuGroup(Base):
    __tablename__ = "menu_groups"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    label_ja: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=500)


def check_group(s: Session, group: str, organisation_id: int | None, any_org: bool = False) -> str:
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
