"""Usage per organisation and month — shared by `/staff/usage` (page, chart, CSV) and `GET /api/usage`.

No Flask, no Dash. Admins see every organisation; other staff (org_admin, editor, viewer) their
own, in the page, its CSV and the API alike: another organisation's rows are never returned.
"""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from csvcell import cell
from i18n import t
from refusal import Refused
from store import usage
from store.models import Layer, Organisation


def scope_of(staff) -> int | None:
    """None: every organisation (admins); else the staff member's own organisation."""
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    from store.permissions import ALL_ORGANISATIONS, can

    return None if can(staff, ALL_ORGANISATIONS) else staff.organisation_id


def check_month(month: str | None) -> str:
    month = (month or "").strip() or usage.month_of()
    if not usage.valid_month(month):
        raise Refused(400, "bad_request", "usage.err.month", value=month[:20])
    return month


def _org_label(org: Organisation | None, lang: str) -> str:
    if org is None:
        return t("usage.no_org", lang)
    return (org.name_en or org.name_ja) if lang == "en" else org.name_ja


def report(db, staff, month: str | None, lang: str = "ja", scope: int | None | bool = False) -> dict:
    """{"month", "months", "rows": [{"organisation", "name", metric…}], "layers": [{"organisation", "name",
    "layer", "layer_name", "map_requests", "api_requests"}]}; counts in memory are written first."""
    scope = scope_of(staff) if scope is False else scope
    month = check_month(month)
    usage.flush(db)
    with db.session() as s:
        data = usage.report(s, month, scope)
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        layer_ids = [lid for per in data["layers"].values() for lid in per]
        names = dict(s.execute(select(Layer.id, Layer.name_en if lang == "en" else Layer.name_ja)
                               .where(Layer.id.in_(layer_ids[:5000]))).all()) if layer_ids else {}
        months = usage.months(s)
    shown = dict(data["totals"])
    for org_id in ([scope] if scope is not None else orgs):  # every organisation, with zeros when idle
        shown.setdefault(org_id, dict.fromkeys(usage.METRICS, 0))
    rows = []
    for org_id in sorted(shown, key=lambda o: (o == usage.NO_ORG, o)):
        org = orgs.get(org_id)
        rows.append({"organisation": org.code if org else "", "name": _org_label(org, lang),
                     **{m: int(shown[org_id].get(m, 0)) for m in usage.METRICS}})
    layers = []
    for org_id, per in data["layers"].items():
        org = orgs.get(org_id)
        for lid, counts in sorted(per.items(), key=lambda kv: -(kv[1]["map_requests"] + kv[1]["api_requests"])):
            layers.append({"organisation": org.code if org else "", "name": _org_label(org, lang), "layer": lid,
                           "layer_name": names.get(lid) or lid, **counts})
    return {"month": month, "months": months, "rows": rows, "layers": layers}


def api_report(db, staff, month: str | None) -> dict:
    data = report(db, staff, month, "en")
    return {"month": data["month"], "metrics": list(usage.METRICS),
            "organisations": [{"organisation": r["organisation"] or None,
                               **{m: r[m] for m in usage.METRICS}} for r in data["rows"]],
            "layers": [{"organisation": r["organisation"] or None, "layer": r["layer"],
                        "map_requests": r["map_requests"], "api_requests": r["api_requests"]}
                       for r in data["layers"]]}


def csv_bytes(db, staff, month: str | None, lang: str) -> bytes:
    """The month's table, then the requests per layer (UTF-8 with BOM; csvcell cells)."""
    data = report(db, staff, month, lang)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([cell(x) for x in (t("usage.col.month", lang), t("usage.col.organisation", lang),
                                   *(t(f"usage.metric.{m}", lang) for m in usage.METRICS))])
    for r in data["rows"]:
        w.writerow([cell(x) for x in (data["month"], r["name"], *(r[m] for m in usage.METRICS))])
    if data["layers"]:
        w.writerow([])
        w.writerow([cell(x) for x in (t("usage.col.month", lang), t("usage.col.organisation", lang),
                                       t("usage.col.layer", lang), t("usage.metric.map_requests", lang),
                                       t("usage.metric.api_requests", lang))])
        for r in data["layers"]:
            w.writerow([cell(x) for x in (data["month"], r["name"], r["layer_name"], r["map_requests"],
                                           r["api_requests"])])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def periodic_jobs(settings, db) -> list[tuple[str, float, object]]:
    """(name, interval in seconds, function) of the periodic jobs of the audit log and of usage:
    `audit-purge` deletes entries older than AUDIT_RETENTION_DAYS; `usage` writes this process's
    counts and measures the current month."""
    from layers.audit_log import purge

    return [("audit-purge", 3600.0, lambda: purge(db, settings.audit_retention_days)),
            ("usage", 300.0, lambda: usage.refresh(db))]
