"""The list of placed things staff manage — cameras (/staff/cameras), snow-melting devices and road
restrictions (/staff/road-info) — and the pieces those pages share: a table with its headers in the
reader's language that scrolls sideways on phones, one row per thing with a 削除 button (a pattern id
the page's confirm callback listens to), times in JST, 公開 / 非公開, and a refusal as a message."""
from __future__ import annotations

from dash import callback_context, dcc, html, no_update

from i18n import t
from refusal import Refused


def jst_text(iso: str | None, empty: str = "—") -> str:
    """An ISO 8601 time as `YYYY-MM-DD HH:MM` in Japan time; `empty` when there is none."""
    if not iso:
        return empty
    from datetime import datetime

    from timezones import JST

    return datetime.fromisoformat(iso).astimezone(JST).strftime("%Y-%m-%d %H:%M")


def name_text(item: dict, lang: str) -> str:
    """A thing's name in the reader's language (the Japanese one when it has no English name)."""
    return (item.get("name_en") or item["name"]) if lang == "en" else item["name"]


def visibility_text(visibility: str, lang: str) -> str:
    return t(f"camera.staff.{visibility}", lang)


def visibility_choice(id_: str, lang: str, value: str = "public") -> html.Div:
    """公開 / 非公開 radio buttons under a 公開範囲 label."""
    return html.Div([html.Span(t("camera.staff.visibility", lang) + " "),
                     dcc.RadioItems(id=id_, value=value, inline=True, options=[
                         {"label": t("camera.staff.public", lang), "value": "public"},
                         {"label": t("camera.staff.private", lang), "value": "private"}])])


def delete_button(button_type: str, item_id: str, lang: str) -> html.Button:
    return html.Button(t("camera.staff.delete", lang), id={"type": button_type, "id": item_id})


def delete_asked() -> tuple:
    """For a page's callback on its 削除 buttons: (True, the row's id) to open the confirm dialog with,
    or (no_update, no_update) when no button was really clicked (a list redrawn)."""
    trig = callback_context.triggered_id
    if not isinstance(trig, dict) or not callback_context.triggered[0]["value"]:
        return no_update, no_update
    return True, str(trig.get("id", ""))


def staff_list(table_id: str, columns: list[str], rows: list[tuple[dict | None, list]], lang: str) -> html.Div:
    """A table: `columns` are i18n keys of the headers; each row is (its id or None, its cells), a
    cell being text, a component or an `html.Td` of its own (to give it a class)."""
    head = html.Tr([html.Th(t(key, lang)) for key in columns])
    body = []
    for row_id, cells in rows:
        tds = [c if isinstance(c, html.Td) else html.Td(c) for c in cells]
        body.append(html.Tr(tds, id=row_id) if row_id is not None else html.Tr(tds))
    return html.Div(className="staff-table-wrap staff-list-scroll", children=html.Table(
        className="staff-table", id=table_id, children=[html.Thead(head), html.Tbody(body)]))


def refusal_message(exc: Refused, lang: str, most: int = 20) -> html.Div:
    """What a service refused, with one line per bad field (or file row)."""
    lines = [html.Li(f"{d.get('field', d.get('row', ''))}: {d.get('message', '')}")
             for d in exc.details[:most] if isinstance(d, dict)]
    return html.Div(className="staff-error", role="alert",
                    children=[html.P(t(exc.message_key, lang, **exc.fmt)), html.Ul(lines) if lines else None])


def login_needed(lang: str) -> html.P:
    """The answer of a callback to someone whose session has ended."""
    return html.P(t("staff_sources.login_needed", lang), className="staff-error", role="alert")
