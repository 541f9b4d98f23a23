"""`/dashboards` — the public dashboards (and, for logged-in staff, their organisation's)."""
from __future__ import annotations

import dash
from dash import html

from auth import current_staff
from components.header import header
from components.shell import page_title
from dashboards import service
from i18n import normalize_lang, t
from store.db import get_db
from timezones import JST

dash.register_page(__name__, path="/dashboards", title=page_title("dash.list_title"))


def card(d: service.Summary, lang: str, staff) -> html.Article:
    org = d.organisation_name_en if lang == "en" and d.organisation_name_en else d.organisation_name_ja
    return html.Article(className="dash-card", id={"type": "dash-card", "slug": d.slug}, children=[
        html.H3(html.A(d.title(lang), href=f"/dashboards/{d.slug}?lang={lang}")),
        html.P([html.Span(org, className="dash-card-org"),
                html.Span(t(f"staff.visibility.{d.visibility}", lang), className=f"staff-badge {d.visibility}"),
                html.Span(t("dash.panel_count", lang, n=d.panels), className="dash-card-meta"),
                html.Span(t("dash.updated", lang, time=d.updated_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")),
                          className="dash-card-meta")]),
    ])


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = current_staff()
    items = service.list_dashboards(get_db(), staff)
    body = [html.A(t("sensors.back", lang), href=f"/?lang={lang}"), html.H2(t("dash.list_title", lang)),
            html.P(t("dash.list_intro", lang), className="dash-intro")]
    if staff is not None:
        body.append(html.A(t("dash.manage", lang), href=f"/staff/dashboards?lang={lang}", className="dash-manage-link"))
    body.append(html.Div([card(d, lang, staff) for d in items], className="dash-cards") if items
                else html.P(t("dash.none", lang)))
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/dashboards", {}, "dashl"), html.Main(body, className="page-body")])
