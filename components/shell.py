"""The frame every page sits in."""
import dash
from dash import html


def shell():
    return html.Div(id="app-shell", children=[dash.page_container])
