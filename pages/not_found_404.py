"""Unknown paths."""
import dash
from dash import html

from components.header import header
from components.shell import page_title
from i18n import normalize_lang, t

dash.register_page(__name__, title=page_title("notfound.title"))


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    return html.Div(className="page", children=[
        header(lang, "/", {}, "notfound"),
        html.Main(className="page-body", children=[
            html.H2(t("notfound.title", lang)),
            html.P([t("notfound.body", lang), " ", html.A(t("sensors.back", lang), href=f"/?lang={lang}")]),
        ]),
    ])
