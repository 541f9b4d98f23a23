"""`/staff/audit` — the audit log: who changed what and when, with filters, pages and CSV.
Admins read every organisation's entries, org_admins their own; the rules live in
layers/audit_log.py (shared with `GET /api/audit`)."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from components.shell import page_title
from components.staff import login_prompt, staff_frame
from i18n import normalize_lang, t
from layers import audit_log
from refusal import Refused
from store import audit
from store.db import get_db

dash.register_page(__name__, path="/staff/audit", title=page_title("audit.title"))

P = "staff-audit"


def _staff():
    from auth import current_staff

    return current_staff()


def _org_options(staff, lang: str) -> list[dict]:
    with get_db().session() as s:
        orgs = audit_log.organisations(s)
    scope = audit.scope_of(staff)
    return [{"label": audit_log.org_name(orgs, o.id, lang), "value": o.code}
            for o in sorted(orgs.values(), key=lambda o: o.id) if scope is None or o.id == scope]


def _action_options(lang: str) -> list[dict]:
    out = []
    for family in audit_log.families():
        out.append({"label": t(f"audit.family.{family}", lang), "value": family})
        out += [{"label": "　" + audit_log.action_label(a, lang), "value": a}
                for a in audit.ACTIONS if a.startswith(family + ".")]
    return out


def message(text: str):
    return html.P(text, className="auth-error", role="alert") if text else ""


def table(rows: list[dict], lang: str):
    if not rows:
        return html.P(t("audit.empty", lang), id=f"{P}-empty")
    head = html.Tr([html.Th(t(f"audit.col.{c}", lang)) for c in audit_log.COLUMNS])
    body = [html.Tr(className="audit-row", children=[
        html.Td(r[c], style={"whiteSpace": "pre-wrap"} if c == "changes" else None) for c in audit_log.COLUMNS])
        for r in rows]
    return html.Div(style={"overflowX": "auto"}, children=html.Table(
        className="staff-table", id=f"{P}-table", style={"minWidth": "900px"},
        children=[html.Thead(head), html.Tbody(body)]))


def view(staff, lang: str, page_no: int, organisation, action, actor, since, until):
    """(table, paging text, CSV link, page number, message) for the filters."""
    filters = {"organisation": organisation, "action": action, "actor": actor, "since": since, "until": until}
    try:
        result = audit_log.page(get_db(), staff, lang, page_no, **filters)
    except Refused as exc:
        return no_update, "", no_update, page_no, message(t(exc.message_key, lang, **exc.fmt))
    q = {k: v for k, v in filters.items() if v}
    csv_href = "/staff/audit.csv?" + urlencode({**q, "lang": lang})
    paging = t("audit.paging", lang, page=result["page"], pages=result["pages"], total=result["total"])
    return table(result["rows"], lang), paging, csv_href, result["page"], ""


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/audit", lang), P)
    try:
        scope = audit.scope_of(staff)
    except Refused as exc:
        return staff_frame(lang, "/staff/audit", staff, P, [
            html.H2(t("audit.title", lang)),
            html.P(t(exc.message_key, lang), id=f"{P}-forbidden", className="auth-error", role="alert"),
        ])
    from flask import current_app

    days = current_app.extensions["ishikawa.settings"].audit_retention_days
    rows, paging, csv_href, page_no, msg = view(staff, lang, 1, None, None, None, None, None)
    intro = [html.P(t("audit.intro", lang))]
    if scope is not None:
        intro.append(html.P(t("audit.intro_org", lang, org=_org_options(staff, lang)[0]["label"]), id=f"{P}-scope"))
    field = lambda key, comp: html.Div([html.Label(t(key, lang), htmlFor=comp.id), comp])  # noqa: E731
    return staff_frame(lang, "/staff/audit", staff, P, [
        html.H2(t("audit.title", lang)),
        *intro,
        dcc.Store(id=f"{P}-lang", data=lang),
        dcc.Store(id=f"{P}-page", data=page_no),
        html.Div(className="staff-card", children=[
            html.Div(style={"display": "flex", "flexWrap": "wrap", "gap": "8px 16px", "alignItems": "flex-end"},
                     children=[
                field("audit.f.organisation", dcc.Dropdown(id=f"{P}-org", options=_org_options(staff, lang),
                                                           placeholder=t("audit.f.all", lang),
                                                           style={"minWidth": "180px"})),
                field("audit.f.action", dcc.Dropdown(id=f"{P}-action", options=_action_options(lang),
                                                     placeholder=t("audit.f.all", lang), style={"minWidth": "240px"})),
                field("audit.f.actor", dcc.Input(id=f"{P}-actor", type="text", maxLength=254, debounce=True)),
                field("audit.f.since", dcc.Input(id=f"{P}-since", type="date", debounce=True,
                                                 style={"minWidth": "150px"})),
                field("audit.f.until", dcc.Input(id=f"{P}-until", type="date", debounce=True,
                                                 style={"minWidth": "150px"})),
                html.A(t("audit.csv", lang), id=f"{P}-csv", href=csv_href, className="staff-button", download=""),
            ]),
        ]),
        html.Div(id=f"{P}-message", children=msg),
        html.Div(style={"display": "flex", "gap": "12px", "alignItems": "center"}, children=[
            html.Button(t("audit.prev", lang), id=f"{P}-prev"),
            html.Span(paging, id=f"{P}-paging", role="status"),
            html.Button(t("audit.next", lang), id=f"{P}-next"),
        ]),
        html.Div(id=f"{P}-body", children=rows),
        html.P(t("audit.retention", lang, days=days), className="staff-hint"),
    ])


@callback(
    Output(f"{P}-body", "children"),
    Output(f"{P}-paging", "children"),
    Output(f"{P}-csv", "href"),
    Output(f"{P}-page", "data"),
    Output(f"{P}-message", "children"),
    Input(f"{P}-org", "value"),
    Input(f"{P}-action", "value"),
    Input(f"{P}-actor", "value"),
    Input(f"{P}-since", "value"),
    Input(f"{P}-until", "value"),
    Input(f"{P}-prev", "n_clicks"),
    Input(f"{P}-next", "n_clicks"),
    State(f"{P}-page", "data"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def refresh(organisation, action, actor, since, until, _prev, _next, page_no, lang):
    lang = normalize_lang(lang)
    staff = _staff()  # anyone may post to the callback: the reader is checked here, as on the page
    if staff is None:
        return no_update, "", no_update, no_update, message(t("staff.need_login", lang))
    try:
        page_no = int(page_no or 1)
    except (TypeError, ValueError):
        page_no = 1
    trig = ctx.triggered_id
    page_no = page_no - 1 if trig == f"{P}-prev" else page_no + 1 if trig == f"{P}-next" else 1
    return view(staff, lang, max(page_no, 1), *(v if isinstance(v, str) else None
                                                 for v in (organisation, action, actor, since, until)))
