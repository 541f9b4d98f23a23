"""The frame every page sits in, and the browser-tab title of a page in the page's language."""
from __future__ import annotations

from collections.abc import Callable

import dash
from dash import html

from i18n import t


def shell():
    return html.Div(id="app-shell", children=[dash.page_container])


def page_title(key: str, with_app: bool = True) -> Callable[..., str]:
    """A page's tab title for `dash.register_page`: the text of `key` in the language of the
    request (`?lang=`, also when Dash swaps pages in the browser), then the short app name."""
    from components.staff import request_lang

    def title(**_path) -> str:
        lang = request_lang()
        return f"{t(key, lang)} | {t('app.short', lang)}" if with_app else t(key, lang)

    return title
