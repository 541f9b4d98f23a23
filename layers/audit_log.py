"""Reading the audit log — shared by `/staff/audit` (page and CSV) and `GET /api/audit`.

No Flask, no Dash. Who may read: admins every organisation, an `org_admin` their own organisation
(entries about it, or made by its staff); everyone else is refused (403). Naming another
organisation in the filter is 403 for an org_admin; an unknown organisation or action is 400.
Times in filters are ISO 8601; a time without a zone, or a bare date, is JST (`until` as a date
means the end of that day).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from csvcell import cell
from i18n import t
from refusal import Refused
from store import audit
from store.models import Organisation
from timezones import JST

PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
CSV_LIMIT = 100_000
COLUMNS = ("at", "actor", "actor_organisation", "organisation", "via", "action", "target", "changes")


def families() -> list[str]:
    return sorted({a.split(".")[0] for a in audit.ACTIONS})


def parse_time(text: str | None, end_of_day: bool = False) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:  # a date
            day = datetime.fromisoformat(text).replace(tzinfo=JST)
            return day + timedelta(days=1) if end_of_day else day
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(400, "bad_request", "audit.err.time", value=text[:40]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


@dataclass
class Query:
    scope: int | None
    filters: audit.Filters


def query(s, staff, organisation: str | None = None, action: str | None = None, actor: str | None = None,
          since: str | None = None, until: str | None = None) -> Query:
    """The reader's scope and the checked filters (Refused 401/403/400)."""
    scope = audit.scope_of(staff)
    f = audit.Filters(actor=(actor or "").strip()[:254], since=parse_time(since), until=parse_time(until, True))
    code = (organisation or "").strip()
    if code:
        org = s.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            raise Refused(400, "bad_request", "audit.err.organisation", value=code[:40])
        if scope is not None and org.id != scope:
            raise Refused(403, "forbidden", "audit.err.other_org")
        f.organisation_id = org.id
    action = (action or "").strip()
    if action:
        if action not in audit.ACTIONS and action not in families():
            raise Refused(400, "bad_request", "audit.err.action", value=action[:40])
        f.action = action
    return Query(scope, f)


def organisations(s) -> dict:
    return {o.id: o for o in s.scalars(select(Organisation))}


def org_name(orgs: dict, org_id, lang: str) -> str:
    org = orgs.get(org_id)
    if org is None:
        return ""
    return (org.name_en or org.name_ja) if lang == "en" else org.name_ja


def action_label(action: str, lang: str) -> str:
    key = f"audit.action.{action}"
    text = t(key, lang)
    return action if text == key else text


def changes_text(changes: dict) -> str:
    """`field: before → after` per changed field, one per line."""
    def show(v):
        if v is None or v == "":
            return "—"
        if isinstance(v, (dict, list)):
            import orjson

            return orjson.dumps(v).decode()[:300]
        return str(v)[:300]

    return "\n".join(f"{k}: {show(b)} → {show(a)}" for k, (b, a) in (changes or {}).items())


def display_row(e: audit.AuditEntry, orgs: dict, lang: str) -> dict:
    detail = ", ".join(f"{k}={v}" for k, v in (e.detail or {}).items() if v not in (None, ""))
    target = " ".join(x for x in (e.target, f"({e.target_name})" if e.target_name else "") if x)
    return {"id": e.id, "at": e.at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S") if e.at else "",
            "actor": e.actor_email, "actor_organisation": org_name(orgs, e.actor_organisation_id, lang),
            "organisation": org_name(orgs, e.organisation_id, lang),
            "via": t(f"audit.via.{e.via}", lang) if e.via else "", "action": action_label(e.action, lang),
            "target": target, "changes": "\n".join(x for x in (changes_text(e.changes), detail) if x)}


def page(db, staff, lang: str, page_no: int = 1, per_page: int = PAGE_SIZE, **filters) -> dict:
    """One page of entries for the staff page, newest first, times in JST."""
    per_page = max(1, min(int(per_page or PAGE_SIZE), MAX_PAGE_SIZE))
    with db.session() as s:
        q = query(s, staff, **filters)
        total = audit.search(s, q.scope, q.filters, limit=0)[1]
        pages = max(1, -(-total // per_page))
        page_no = max(1, min(int(page_no or 1), pages))
        rows, _ = audit.search(s, q.scope, q.filters, limit=per_page, offset=(page_no - 1) * per_page)
        orgs = organisations(s)
        return {"rows": [display_row(e, orgs, lang) for e in rows], "total": total, "page": page_no, "pages": pages}


def entries_json(db, staff, limit: int = 100, offset: int = 0, **filters) -> dict:
    """The API's answer: entries with UTC times and organisation codes."""
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise Refused(400, "bad_request", "audit.err.paging") from None
    if not (1 <= limit <= MAX_PAGE_SIZE and 0 <= offset <= 10**9):
        raise Refused(400, "bad_request", "audit.err.paging")
    with db.session() as s:
        q = query(s, staff, **filters)
        rows, total = audit.search(s, q.scope, q.filters, limit=limit, offset=offset)
        orgs = organisations(s)
        return {"entries": [audit.entry_json(e, orgs) for e in rows], "total": total, "limit": limit,
                "offset": offset}


def csv_bytes(db, staff, lang: str, **filters) -> bytes:
    """The filtered log as CSV (UTF-8 with BOM, JST; cells neutralised by csvcell)."""
    with db.session() as s:
        q = query(s, staff, **filters)
        rows, _ = audit.search(s, q.scope, q.filters, limit=CSV_LIMIT)
        orgs = organisations(s)
        out = [display_row(e, orgs, lang) for e in rows]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([cell(t(f"audit.col.{c}", lang)) for c in COLUMNS])
    for r in out:
        w.writerow([cell(r[c]) for c in COLUMNS])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def purge(db, days: int, now: datetime | None = None) -> int:
    """The retention job: entries older than `days` (AUDIT_RETENTION_DAYS) go."""
    with db.session() as s:
        return audit.purge(s, now, days)
