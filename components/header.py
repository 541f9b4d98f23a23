"""Top bar for the simple pages (the map page has its own, with the panel toggle)."""
from __future__ import annotations

from urllib.parse import urlencode

from dash import html

from i18n import t


def header(lang: str, path: str, query: dict, id_prefix: str) -> html.Header:
    other = "en" if lang == "ja" else "ja"
    q = {k: v for k, v in query.items() if isinstance(v, str)}
    q["lang"] = other
    return html.Header(className="topbar", children=[
        html.A(t("app.short", lang), href=f"/?lang={lang}", className="lang-switch"),
        html.H1(t("app.title", lang), className="app-title"),
        html.A(t("lang.switch", lang), id=f"{id_prefix}-lang-link", className="lang-switch",
               href=f"{path}?{urlencode(q)}", title=t("lang.switch.title", lang)),
    ])
