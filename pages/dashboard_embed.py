"""`/embed/dashboards/<slug>` — a dashboard without the header, to sit in an iframe on a city's own
web pages. Only the origins in EMBED_ORIGINS may frame it (api/frames.py sets frame-ancestors)."""
from __future__ import annotations

import dash

from pages.dashboard_view import _title, view

dash.register_page(__name__, path_template="/embed/dashboards/<slug>", title=_title)


def layout(slug: str | None = None, lang: str | None = None, **query):
    return view(slug, lang, query, embed=True)
