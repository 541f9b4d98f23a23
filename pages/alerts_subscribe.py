"""`/alerts/subscribe` — residents subscribe to public alerts with their e-mail address
(double opt-in: a confirmation mail first; rate-limited per client address and per mailbox)."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import request

from alerts.config import config_of
from alerts.forms import condition_text, target_text
from alerts.subscriptions import RateLimited, public_rules, request_subscription
from components.header import header
from components.shell import page_title
from i18n import normalize_lang, t
from store.db import get_db

dash.register_page(__name__, path="/alerts/subscribe", title=page_title("alerts.subpage.title"))


def rule_options(lang: str) -> list[dict]:
    with get_db().session() as s:
        return [{"label": f"{r.name} — {target_text(s, r, lang)} ({condition_text(r, lang)})", "value": r.id}
                for r in public_rules(s)]


def layout(lang: str | None = None, rule: str | None = None, **_query):
    lang = normalize_lang(lang)
    options = rule_options(lang)
    chosen = int(rule) if rule and rule.isdigit() and any(o["value"] == int(rule) for o in options) else None
    return html.Div(className="page alerts-page", lang=lang, children=[
        header(lang, "/alerts/subscribe", {}, "subscribe"),
        html.Main(className="page-body", children=[
            html.A(t("sensors.back", lang), href=f"/?lang={lang}"),
            html.H2(t("alerts.subpage.title", lang)),
            html.P(t("alerts.subpage.lead", lang)),
            dcc.Store(id="subscribe-lang", data=lang),
            html.Div(className="card", children=[
                html.Div(className="form-row", children=[
                    html.Label(t("alerts.subpage.rule", lang), htmlFor="subscribe-rule"),
                    dcc.Dropdown(id="subscribe-rule", options=options, value=chosen,
                                 placeholder=t("alerts.form.pick", lang)),
                ]),
                html.Div(className="form-row", children=[
                    html.Label(t("alerts.subpage.email", lang), htmlFor="subscribe-email"),
                    dcc.Input(id="subscribe-email", type="email", value="", className="form-input",
                              autoComplete="email"),
                ]),
                html.Button(t("alerts.subpage.submit", lang), id="subscribe-submit", className="btn btn-primary"),
                html.P(id="subscribe-message", role="status", className="form-message"),
                html.P(t("alerts.subpage.note", lang), className="muted"),
            ]),
        ]),
    ])


@callback(
    Output("subscribe-message", "children"),
    Input("subscribe-submit", "n_clicks"),
    State("subscribe-rule", "value"),
    State("subscribe-email", "value"),
    State("subscribe-lang", "data"),
    prevent_initial_call=True,
)
def subscribe(_n, rule_id, email, lang):
    lang = normalize_lang(lang)
    if not rule_id:
        raise PreventUpdate
    db = get_db()
    client = request.remote_addr or ""  # behind a proxy: set TRUSTED_PROXIES (auth.core.trust_proxies)
    try:
        with db.session() as s:
            request_subscription(s, config_of(db), int(rule_id), email or "", lang, client)
    except RateLimited:
        return t("alerts.sub.limited", lang)
    except ValueError as exc:
        return t(str(exc), lang)
    # the same answer whether or not the address was already subscribed (no address probing)
    return t("alerts.subpage.sent", lang)
