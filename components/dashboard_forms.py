"""Pieces shared by the staff pages of dashboards: a refusal from dashboards.service shown as one
line "field: message" per problem, in the page's language, with the field path in words."""
from __future__ import annotations

from dash import html

from i18n import t
from refusal import Refused


def field_name(field: str, lang: str, doc: dict | None = None) -> str:
    """A problem's field path ("panels.2.query.sensors") in words of the page's language."""
    if not field:
        return t("dash.field.document", lang)
    parts = field.split(".")
    words = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part in ("panels", "variables") and i + 1 < len(parts) and parts[i + 1].isdigit():
            n = int(parts[i + 1])
            label = t(f"dash.field.{part}_n", lang, n=n + 1)
            items = (doc or {}).get(part) if isinstance(doc, dict) else None
            if isinstance(items, list) and n < len(items) and isinstance(items[n], dict):
                name = items[n].get("title_en" if lang == "en" else "title_ja") or items[n].get("title_ja") \
                    or items[n].get("name") or ""
                if name:
                    label += f"「{name}」" if lang == "ja" else f" “{name}”"
            words.append(label)
            i += 2
            continue
        if part == "query":
            i += 1
            continue
        key = f"dash.field.{part}"
        text = t(key, lang)
        words.append(part if text == key else text)
        i += 1
    return " › ".join(words)


def problem_lines(exc: Refused, lang: str, doc: dict | None = None) -> list[str]:
    """One line "field: message" per problem the service named."""
    lines = []
    for d in exc.details or []:
        if not isinstance(d, dict):
            continue
        line = f"{field_name(str(d.get('field', '')), lang, doc)}: {t(str(d.get('message_key', '')), lang)}"
        if d.get("value") not in (None, ""):
            line += f" ({d['value']})"
        lines.append(line)
    return lines


def refusal_box(exc: Refused, lang: str, doc: dict | None = None, id_: str | None = None, panel: bool = False):
    lines = problem_lines(exc, lang, doc)
    key = "dash.not_found" if exc.message_key == "api.not_found" else exc.message_key  # "No such layer" otherwise
    if panel and key == "dash.err.invalid_doc":
        key = "dash.edit.panel_errors"
    kids = [html.P(t(key, lang, **exc.fmt))]
    if lines:
        kids.append(html.Ul([html.Li(x) for x in lines]))
    return html.Div(kids, className="staff-error", role="alert", **({"id": id_} if id_ else {}))


def ok_box(text: str, *extra):
    return html.Div([html.P(text), *extra], className="staff-ok", role="status")
