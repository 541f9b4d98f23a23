"""`/catalog` — every public dataset, who publishes it, under which license, and how to get it."""
from __future__ import annotations

import dash
from dash import html

from components.header import header
from components.shell import page_title
from dashboards.service import list_dashboards
from i18n import normalize_lang, t
from layers.catalog import Dataset, datasets
from layers.snow_depth import to_jst
from store.db import get_db

dash.register_page(__name__, path="/catalog", title=page_title("catalog.title"))


def catalog_entries(lang: str) -> list[Dataset]:
    with get_db().session() as s:
        return datasets(s, lang)


def _row(label: str, value) -> html.Div:
    return html.Div(className="catalog-row", children=[html.Dt(label), html.Dd(value)])


def dataset_card(ds: Dataset, lang: str) -> html.Article:
    links = []
    for label, url in [("GeoJSON", ds.geojson_url), ("CSV", ds.csv_url), ("API", ds.api_url),
                       (t("catalog.ogc", lang), ds.ogc_url)]:
        if url:
            links.append(html.A(label, href=url, className="catalog-link",
                                **({"download": f"{ds.id}.csv"} if label == "CSV" else {})))
    if ds.ogc_url:
        links.append(html.A(t("catalog.ogc_html", lang), href=f"{ds.ogc_url}/items?f=html&lang={lang}",
                            className="catalog-link"))
    if ds.tiles:
        links.append(html.Span(t("catalog.tiles", lang), className="catalog-note"))
    return html.Article(className="catalog-card", id={"type": "catalog-dataset", "id": ds.id}, children=[
        html.H3([ds.name, html.Span(t(f"catalog.origin.{ds.origin}", lang), className=f"catalog-badge {ds.origin}")]),
        html.P(ds.description or t("catalog.no_description", lang), className="catalog-desc"),
        html.Dl(className="catalog-meta", children=[
            _row(t("catalog.organisation", lang), ds.organisation or "—"),
            _row(t("catalog.license", lang), ds.license or "—"),
            _row(t("catalog.attribution", lang), ds.attribution or "—"),
            _row(t("catalog.updated", lang), (to_jst(ds.updated_at) + " JST") if ds.updated_at else "—"),
            _row(t("catalog.count", lang),
                 f"{ds.feature_count:,}" if ds.has_features else t("catalog.tiles_only", lang)),
            _row("ID", html.Code(ds.id)),
        ]),
        html.Div(className="catalog-links", children=links),
        *([html.Ul(className="catalog-tiles", children=[html.Li(html.Code(u)) for u in ds.tiles])] if ds.tiles else []),
    ])


def dashboards_section(lang: str) -> list:
    """The public dashboards, with their JSON (the same as export)."""
    items = list_dashboards(get_db(), None)
    if not items:
        return []
    return [html.H2(t("catalog.dashboards", lang), id="catalog-dashboards"),
            html.Ul(className="catalog-dashboards", children=[html.Li([
                html.A(d.title(lang), href=f"/dashboards/{d.slug}?lang={lang}"), " · ",
                html.A("JSON", href=f"/api/dashboards/{d.slug}", className="catalog-link")]) for d in items])]


def layout(lang: str | None = None, **query):
    lang = normalize_lang(lang)
    entries = catalog_entries(lang)
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/catalog", {}, "catalog"),
        html.Main(className="page-body", children=[
            html.A(t("sensors.back", lang), href=f"/?lang={lang}"),
            html.H2(t("catalog.title", lang)),
            html.P(t("catalog.intro", lang)),
            html.P(className="catalog-apis", children=[
                html.A(t("catalog.ogc_landing", lang), href=f"/ogcapi?f=html&lang={lang}"), " · ",
                html.A(t("catalog.api_list", lang), href="/api/layers"), " · ",
                html.A(t("catalog.sensors", lang), href=f"/sensors?lang={lang}"),
            ]),
            html.P(t("catalog.count_total", lang, n=len(entries)), id="catalog-count"),
            html.Div(id="catalog-list", className="catalog-list",
                     children=[dataset_card(ds, lang) for ds in entries]),
            *dashboards_section(lang),
        ]),
    ])
