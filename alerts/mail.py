"""Composing alert mails: subject, plain text and HTML, in the rule's language (Japanese default).

Everything a reader needs without opening the site: what crossed, the value, the threshold, the
time in JST, the place (name and coordinates), a link to the map at that place, the rule's name
and owner; recovery mails also say how long it lasted. Text from data (place and rule names) is
escaped in the HTML part.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

from i18n import normalize_lang, t
from timezones import JST

OP_TEXT = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}
_WIRE = compat32.clone(max_line_length=998, linesep="\r\n")
MAP_ZOOM = 15


@dataclass
class MailFacts:
    kind: str  # fired | cleared | repeat | delayed | nodata | data_back | test
    rule_name: str
    owner: str  # organisation and person
    attribute: str  # label, e.g. 積雪深
    op: str
    threshold: float
    clear_threshold: float | None
    unit: str
    value: float | None
    at: datetime  # when the event happened (UTC)
    place_name: str
    lon: float | None
    lat: float | None
    duration: timedelta | None = None
    peak: float | None = None
    no_data_minutes: float = 0
    extra_links: list[tuple[str, str]] = field(default_factory=list)  # (label key, url)
    value_text: str = ""  # instead of the number (a device's state)
    condition_text: str = ""  # instead of "attribute op threshold" (a device rule's condition)
    extra_rows: list[tuple[str, str]] = field(default_factory=list)  # (label key, text) after the place


def fmt_num(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:g}"


def fmt_jst(dt: datetime | None) -> str:
    """JST text; a time at the very edge of what a datetime holds (9999-12-31 in UTC is already
    year 10000 in JST) is shown in UTC rather than failing."""
    if not dt:
        return "—"
    try:
        return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") + " JST"
    except (OverflowError, ValueError):
        return dt.strftime("%Y-%m-%d %H:%M") + (" UTC" if dt.utcoffset() == timedelta(0) else "")


def fmt_duration(d: timedelta | None, lang: str) -> str:
    if d is None:
        return "—"
    minutes = max(int(d.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(t("alerts.dur.days", lang, n=days))
    if hours:
        parts.append(t("alerts.dur.hours", lang, n=hours))
    if mins or not parts:
        parts.append(t("alerts.dur.minutes", lang, n=mins))
    return (" " if lang == "en" else "").join(parts)


def map_link(base_url: str, lon: float | None, lat: float | None, lang: str) -> str:
    """The public map centred on the place — the URL format of components.map_state.to_query."""
    if lon is None or lat is None:
        return f"{base_url}/?lang={lang}"
    return f"{base_url}/?lat={lat:.5f}&lon={lon:.5f}&z={MAP_ZOOM}&lang={lang}"


def compose(f: MailFacts, lang: str, base_url: str, unsubscribe_url: str = "") -> tuple[str, str, str]:
    """(subject, text, html). Subjects start with the app tag, the state and the rule name, so a
    mail client sorting by subject groups each rule's alerts and recoveries together."""
    lang = normalize_lang(lang)
    u = f.unit or ""
    cond = f.condition_text or f"{f.attribute} {OP_TEXT.get(f.op, f.op)} {fmt_num(f.threshold)}{u}"
    state = t(f"alerts.mail.state.{f.kind}", lang)
    if f.kind in ("nodata",):
        headline_value = t("alerts.mail.nodata_for", lang, n=fmt_num(f.no_data_minutes))
    else:
        headline_value = f.value_text or f"{fmt_num(f.value)}{u}"
    subject = f"[{t('app.short', lang)}][{state}][{f.rule_name}] {f.place_name}: {headline_value}"
    if f.kind not in ("nodata", "data_back"):
        subject += f" ({cond})"
    link = map_link(base_url, f.lon, f.lat, lang)
    coords = (f"{f.lat:.5f}, {f.lon:.5f}" if f.lat is not None and f.lon is not None else "—")
    rows: list[tuple[str, str]] = [
        (t("alerts.mail.what", lang), t(f"alerts.mail.lead.{f.kind}", lang)),
        (t("alerts.mail.value", lang), headline_value if f.kind != "nodata" else
         t("alerts.mail.last_value", lang, v=f"{fmt_num(f.value)}{u}")),
        (t("alerts.mail.threshold", lang), cond),
    ]
    if f.clear_threshold is not None and not f.condition_text:
        rows.append((t("alerts.mail.clear_threshold", lang), f"{fmt_num(f.clear_threshold)}{u}"))
    rows.append((t("alerts.mail.time", lang), fmt_jst(f.at)))
    if f.kind in ("cleared", "data_back", "repeat", "delayed") and f.duration is not None:
        rows.append((t("alerts.mail.duration", lang), fmt_duration(f.duration, lang)))
    if f.kind == "cleared" and f.peak is not None and not f.value_text:
        rows.append((t("alerts.mail.peak", lang), f"{fmt_num(f.peak)}{u}"))
    rows += [
        (t("alerts.mail.place", lang), f.place_name),
        *[(t(k, lang), v) for k, v in f.extra_rows],
        (t("alerts.mail.coords", lang), coords),
        (t("alerts.mail.map", lang), link),
        (t("alerts.mail.rule", lang), f.rule_name),
        (t("alerts.mail.owner", lang), f.owner),
    ]
    for key, url in f.extra_links:
        rows.append((t(key, lang), url))
    width = max(len(k) for k, _ in rows)
    text_lines = [t(f"alerts.mail.lead.{f.kind}", lang), ""]
    text_lines += [f"{k.ljust(width)} : {v}" for k, v in rows[1:]]
    text_lines += ["", "-- ", t("alerts.mail.footer", lang)]
    if unsubscribe_url:
        text_lines.append(f"{t('alerts.mail.unsubscribe', lang)}: {unsubscribe_url}")
    text = "\n".join(text_lines) + "\n"

    e = html.escape
    colour = {"fired": "#b10e1e", "repeat": "#b10e1e", "delayed": "#b10e1e", "nodata": "#8a5a00"}.get(f.kind, "#00703c")

    def cell(k: str, v: str) -> str:
        if v.startswith("http://") or v.startswith("https://"):
            v_html = f'<a href="{e(v)}">{e(v)}</a>'
        else:
            v_html = e(v)
        return (f'<tr><th style="text-align:left;padding:4px 12px 4px 0;color:#52606d;font-weight:normal">'
                f'{e(k)}</th><td style="padding:4px 0">{v_html}</td></tr>')

    body_html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(subject)}</title></head>'
        f'<body style="font-family:sans-serif;color:#1f2933">'
        f'<p style="font-size:18px;font-weight:bold;color:{colour};margin:0 0 12px">'
        f'{e(state)}: {e(t(f"alerts.mail.lead.{f.kind}", lang))}</p>'
        f'<table style="border-collapse:collapse;font-size:14px">{"".join(cell(k, v) for k, v in rows[1:])}</table>'
        f'<p><a href="{e(link)}" style="display:inline-block;padding:8px 14px;background:#1d70b8;color:#fff;'
        f'text-decoration:none;border-radius:4px">{e(t("alerts.mail.open_map", lang))}</a></p>'
        f'<hr><p style="font-size:12px;color:#52606d">{e(t("alerts.mail.footer", lang))}'
        + (f'<br><a href="{e(unsubscribe_url)}">{e(t("alerts.mail.unsubscribe", lang))}</a>' if unsubscribe_url else "")
        + '</p></body></html>')
    return subject, text, body_html


def build_message(mail_from: str, to_addr: str, subject: str, text: str, body_html: str,
                  message_id: str, created_at: datetime, unsubscribe_url: str = "") -> MIMEMultipart:
    """A multipart/alternative message (text + HTML), UTF-8, with List-Unsubscribe (RFC 2369/8058).

    Built with the compat32 classes: about six times faster than EmailMessage with the default
    policy, which matters when a burst of alerts goes out."""
    msg = MIMEMultipart("alternative")
    name, addr = parseaddr(mail_from)
    msg["From"] = formataddr((name, addr), charset="utf-8") if name and addr else mail_from
    msg["To"] = to_addr
    msg["Subject"] = Header(subject, "utf-8")
    msg["Date"] = format_datetime(created_at)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.attach(MIMEText(text, "plain", "utf-8"))
    msg.attach(MIMEText(body_html, "html", "utf-8"))
    return msg


def message_bytes(msg: MIMEMultipart) -> bytes:
    """The wire form; long lines allowed (RFC 5322: 998), so List-Unsubscribe stays one line."""
    return msg.as_bytes(policy=_WIRE)
