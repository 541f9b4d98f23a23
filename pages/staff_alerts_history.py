"""`/staff/alerts/history` — every alert event and every mail (queued, sent, failed, retried),
filterable, exportable as CSV. Without SMTP_URL the queued mails are readable here."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app

from alerts import access
from alerts.history import COLUMNS, filters as history_filters, rows as history_rows
from components.header import header
from components.shell import page_title
from components.staff import staff_top
from i18n import normalize_lang, t
from refusal import Refused
from store import alerts as sa
from store.db import get_db, utcnow

dash.register_page(__name__, path="/staff/alerts/history", title=page_title("alerts.hist.title"))

DAYS = ("1", "7", "30", "all")
KINDS = ("fired", "cleared", "repeat", "delayed", "nodata", "data_back", "test", "mail")


def history_view(staff, days: str, rule_id, kind, lang: str):
    org_id, all_orgs = access.scope(staff)
    try:
        since, rule_id = history_filters(days, rule_id, utcnow())
    except Refused as exc:  # a crafted callback (the dropdowns offer good values only)
        return html.P(t(exc.message_key, lang, **exc.fmt), className="form-message"), "", []
    with get_db().session() as s:
        events, mails = sa.history(s, org_id, all_orgs, since=since, rule_id=rule_id or None,
                                   kinds=[kind] if kind and kind != "mail" else None, limit=500)
        if kind == "mail":
            events = []
        elif kind:
            mails = []
        table = history_rows(events, mails, lang)
        mail_options = [{"label": f"#{m.id} {m.to_addr} — {m.subject}"[:140], "value": m.id} for m in mails[:100]]
    if not table:
        body = html.P(t("alerts.hist.empty", lang), className="muted", id="staff-history-empty")
    else:
        body = html.Table(className="data-table", id="staff-history-table", children=[
            html.Thead(html.Tr([html.Th(t(f"alerts.col.{c}", lang)) for c in COLUMNS])),
            html.Tbody([html.Tr([html.Td(r[c]) for c in COLUMNS], className="hist-row") for r in table]),
        ])
    q = {"days": days or "7", "lang": lang}
    if rule_id:
        q["rule"] = rule_id
    if kind:
        q["kind"] = kind
    return body, f"/staff/alerts/history.csv?{urlencode(q)}", mail_options


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = access.staff()
    top = header(lang, "/staff/alerts/history", {}, "staff-history")
    if staff is None:
        return html.Div(className="page alerts-page", lang=lang,
                        children=[top, html.Main(className="page-body", children=[
            html.H2(t("alerts.hist.title", lang)),
            html.P(t("alerts.page.login_needed", lang), id="staff-history-login"),
            html.A(t("alerts.page.login", lang), href=access.login_url("/staff/alerts/history", lang), className="btn"),
        ])])
    org_id, all_orgs = access.scope(staff)
    with get_db().session() as s:
        rule_opts = [{"label": r.name, "value": r.id} for r in sa.rules(s, org_id, all_orgs)]
        counts = sa.outbox_counts(s)
    settings = current_app.extensions["ishikawa.settings"]
    body, csv_url, mail_options = history_view(staff, "7", None, None, lang)
    notice = []
    if not settings.smtp_url:
        notice = [html.P(t("alerts.hist.no_smtp", lang, n=counts.get(sa.QUEUED, 0)), className="notice",
                         id="staff-history-no-smtp")]
    top = staff_top(lang, "/staff/alerts/history", staff, "staff-history")  # logged in: the staff bar and menu
    return html.Div(className="page alerts-page", lang=lang,
                    children=[top, html.Main(className="page-body page-wide", children=[
        dcc.Store(id="staff-history-lang", data=lang),
        html.Div(className="page-head", children=[
            html.H2(t("alerts.hist.title", lang)),
            html.A(t("alerts.hist.back", lang), href=f"/staff/alerts?lang={lang}"),
        ]),
        *notice,
        html.P(" · ".join(f"{t('alerts.mailstatus.' + k, lang)}: {counts.get(k, 0)}"
                          for k in (sa.QUEUED, sa.SENDING, sa.SENT, sa.FAILED)), id="staff-history-counts",
               className="muted"),
        html.Div(className="filters", children=[
            html.Label(t("alerts.hist.period", lang), htmlFor="staff-history-days"),
            dcc.Dropdown(id="staff-history-days", value="7", clearable=False, className="filter-dd",
                         options=[{"label": t(f"alerts.hist.days.{d}", lang), "value": d} for d in DAYS]),
            html.Label(t("alerts.hist.rule", lang), htmlFor="staff-history-rule"),
            dcc.Dropdown(id="staff-history-rule", options=rule_opts, placeholder=t("alerts.hist.all", lang),
                         className="filter-dd"),
            html.Label(t("alerts.hist.kind", lang), htmlFor="staff-history-kind"),
            dcc.Dropdown(id="staff-history-kind", placeholder=t("alerts.hist.all", lang), className="filter-dd",
                         options=[{"label": t("alerts.hist.mail", lang) if k == "mail" else
                                   t(f"alerts.mail.state.{k}", lang), "value": k} for k in KINDS]),
            html.A(t("alerts.hist.csv", lang), id="staff-history-csv", href=csv_url, className="btn",
                   download=""),
        ]),
        html.Div(id="staff-history-body", children=body),
        html.Div(className="card", children=[
            html.H3(t("alerts.hist.read_mail", lang)),
            dcc.Dropdown(id="staff-history-mail", options=mail_options, placeholder=t("alerts.hist.pick_mail", lang)),
            html.Pre(id="staff-history-mail-head", className="mail-head"),
            html.Iframe(id="staff-history-mail-frame", className="preview-frame", sandbox="",
                        title=t("alerts.hist.read_mail", lang)),
        ]),
    ])])


@callback(
    Output("staff-history-body", "children"),
    Output("staff-history-csv", "href"),
    Output("staff-history-mail", "options"),
    Input("staff-history-days", "value"),
    Input("staff-history-rule", "value"),
    Input("staff-history-kind", "value"),
    State("staff-history-lang", "data"),
    prevent_initial_call=True,
)
def filter_history(days, rule_id, kind, lang):
    staff = access.staff()
    if staff is None:
        raise PreventUpdate
    return history_view(staff, days, rule_id, kind, normalize_lang(lang))


@callback(
    Output("staff-history-mail-head", "children"),
    Output("staff-history-mail-frame", "srcDoc"),
    Input("staff-history-mail", "value"),
    State("staff-history-lang", "data"),
    prevent_initial_call=True,
)
def read_mail(mail_id, lang):
    staff = access.staff()
    if staff is None or not mail_id:
        raise PreventUpdate
    lang = normalize_lang(lang)
    with get_db().session() as s:
        m = s.get(sa.OutboxMail, mail_id)
        if m is None or not staff.may_see(m.organisation_id):
            raise PreventUpdate
        head = "\n".join([f"To: {m.to_addr}", f"Subject: {m.subject}", f"Message-ID: {m.message_id}",
                          f"{t('alerts.col.status', lang)}: {t('alerts.mailstatus.' + m.status, lang)}"])
        return head, m.body_html
