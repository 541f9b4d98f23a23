"""The alert history as rows (staff page table and CSV export). Plain functions."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from alerts.mail import fmt_jst
from csvcell import cell
from i18n import t
from store import alerts as sa

COLUMNS = ("time", "type", "rule", "status", "place", "value", "threshold", "recipient", "attempts", "detail")
MAX_DAYS = 3660  # ten years: the longest "last N days" asked for
MAX_ID = 2 ** 63 - 1


def filters(days, rule, now: datetime) -> tuple[datetime | None, int | None]:
    """(since, rule id) from the history's query (days: a whole number or "all"; rule: an id).
    Raises Refused 400 for anything else (a 40-digit number included)."""
    from refusal import Refused

    days = "7" if days in (None, "") else str(days)
    if days == "all":
        since = None
    elif days.isdigit() and len(days) <= 6 and int(days) <= MAX_DAYS:
        since = now - timedelta(days=int(days))
    else:
        raise Refused(400, "bad_parameter", "alerts.hist.bad_days", max=MAX_DAYS)
    rule = "" if rule is None else str(rule)
    if rule and not (rule.isdigit() and len(rule) <= 19 and 0 < int(rule) <= MAX_ID):
        raise Refused(400, "bad_parameter", "alerts.hist.bad_rule")
    return since, int(rule) if rule else None


def rows(events: list[sa.AlertEvent], mails: list[sa.OutboxMail], lang: str) -> list[dict]:
    """Events and mails merged, newest first. Every value is plain text (the table escapes it)."""
    out = []
    for ev in events:
        place = ev.place or {}
        name = place.get("name_en") if lang == "en" and place.get("name_en") else place.get("name_ja", "")
        detail = t(f"alerts.note.{ev.note}", lang) if ev.note else ""
        if ev.duration_s is not None and ev.kind in ("cleared", "data_back", "repeat", "delayed"):
            from datetime import timedelta

            from alerts.mail import fmt_duration

            detail = " ".join(x for x in (t("alerts.mail.duration", lang) + ": " +
                                          fmt_duration(timedelta(seconds=ev.duration_s), lang), detail) if x)
        out.append({"_at": ev.at, "time": fmt_jst(ev.at), "type": t("alerts.hist.event", lang),
                    "rule": ev.rule_name, "status": t(f"alerts.mail.state.{ev.kind}", lang),
                    "place": name or ev.subject,
                    "value": "" if ev.value is None else f"{ev.value:g}",
                    "threshold": "" if ev.threshold is None else f"{ev.threshold:g}",
                    "recipient": "", "attempts": "",
                    "detail": detail or (t("alerts.hist.mailed", lang) if ev.mailed else "")})
    for m in mails:
        when = m.sent_at or m.created_at
        detail = m.last_error if m.status != sa.SENT else t("alerts.hist.sent_at", lang, at=fmt_jst(m.sent_at))
        if m.status == sa.QUEUED and m.attempts:
            detail = t("alerts.hist.retry_at", lang, at=fmt_jst(m.next_attempt_at)) + " — " + m.last_error
        out.append({"_at": when, "time": fmt_jst(m.created_at), "type": t("alerts.hist.mail", lang),
                    "rule": m.subject, "status": t(f"alerts.mailstatus.{m.status}", lang), "place": "",
                    "value": "", "threshold": "", "recipient": m.to_addr, "attempts": str(m.attempts),
                    "detail": detail})
    out.sort(key=lambda r: r["_at"], reverse=True)
    for r in out:
        r.pop("_at")
    return out


def to_csv(table: list[dict], lang: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([t(f"alerts.col.{c}", lang) for c in COLUMNS])
    for r in table:
        w.writerow([_cell(r[c]) for c in COLUMNS])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Japanese correctly


def _cell(value: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet (csvcell: one rule for all)."""
    return cell(value)
