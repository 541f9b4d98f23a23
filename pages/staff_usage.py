"""`/staff/usage` — what each organisation holds and uses per month: a table, a chart and CSV,
then the requests served per layer. Admins see every organisation, other staff their own
(layers/usage_report.py, shared with `GET /api/usage`)."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from components.shell import page_title
from components.staff import login_prompt, staff_frame
from i18n import normalize_lang, t
from layers import usage_report
from refusal import Refused
from store import usage
from store.db import get_db

dash.register_page(__name__, path="/staff/usage", title=page_title("usage.title"))

P = "staff-usage"
CHART_METRICS = ("map_requests", "api_requests", "portal_views", "features", "storage_bytes", "readings",
                 "source_requests", "dashboard_views", "alert_mails", "layers", "staff_accounts")


def _staff():
    from auth import current_staff

    return current_staff()


def _scroll(child):
    return html.Div(style={"overflowX": "auto"}, children=child)


def message(text: str):
    return html.P(text, className="auth-error", role="alert") if text else ""


def totals_table(rows: list[dict], lang: str):
    head = html.Tr([html.Th(t("usage.col.organisation", lang)),
                    *(html.Th(t(f"usage.metric.{m}", lang)) for m in usage.METRICS)])
    body = [html.Tr(className="usage-row", **{"data-org": r["organisation"]}, children=[
        html.Td(r["name"]), *(html.Td(f"{r[m]:,}", style={"textAlign": "right"}) for m in usage.METRICS)])
        for r in rows]
    return _scroll(html.Table(className="staff-table", id=f"{P}-table", style={"minWidth": "960px"},
                              children=[html.Thead(head), html.Tbody(body)]))


def layers_table(rows: list[dict], lang: str):
    if not rows:
        return html.P(t("usage.layers_none", lang), id=f"{P}-layers-none")
    head = html.Tr([html.Th(t(k, lang)) for k in ("usage.col.organisation", "usage.col.layer",
                                                  "usage.metric.map_requests", "usage.metric.api_requests")])
    body = [html.Tr(className="usage-layer-row", children=[
        html.Td(r["name"]), html.Td(r["layer_name"]),
        html.Td(f"{r['map_requests']:,}", style={"textAlign": "right"}),
        html.Td(f"{r['api_requests']:,}", style={"textAlign": "right"})]) for r in rows[:500]]
    return _scroll(html.Table(className="staff-table", id=f"{P}-layers", children=[html.Thead(head),
                                                                                    html.Tbody(body)]))


def chart(rows: list[dict], metric: str, month: str, lang: str) -> go.Figure:
    label = t(f"usage.metric.{metric}", lang)
    fig = go.Figure(go.Bar(x=[r["name"] for r in rows], y=[r[metric] for r in rows], marker_color="#1f6fb2",
                           hovertemplate="%{x}: %{y:,}<extra></extra>"))
    fig.update_layout(title=t("usage.chart_title", lang, metric=label, month=month),
                      margin=dict(l=50, r=10, t=40, b=80), height=320,
                      yaxis=dict(title=label, rangemode="tozero"), xaxis=dict(tickangle=-30),
                      paper_bgcolor="#fff", plot_bgcolor="#fff")
    return fig


def view(staff, month: str | None, metric: str | None, lang: str):
    """(table, chart, per-layer table, CSV link, message) of a month."""
    metric = metric if metric in usage.METRICS else CHART_METRICS[0]
    try:
        data = usage_report.report(get_db(), staff, month, lang)
    except Refused as exc:
        return no_update, no_update, no_update, no_update, message(t(exc.message_key, lang, **exc.fmt))
    csv_href = "/staff/usage.csv?" + urlencode({"month": data["month"], "lang": lang})
    return (totals_table(data["rows"], lang), chart(data["rows"], metric, data["month"], lang),
            layers_table(data["layers"], lang), csv_href, "")


def layout(lang: str | None = None, month: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/usage", lang), P)
    month = month if usage.valid_month(month) else usage.month_of()
    with get_db().session() as s:
        months = usage.months(s)
    if month not in months:
        months = sorted({*months, month}, reverse=True)
    table, fig, layers, csv_href, msg = view(staff, month, CHART_METRICS[0], lang)
    field = lambda key, comp: html.Div([html.Label(t(key, lang), htmlFor=comp.id), comp])  # noqa: E731
    return staff_frame(lang, "/staff/usage", staff, P, [
        html.H2(t("usage.title", lang)),
        html.P(t("usage.intro", lang)),
        dcc.Store(id=f"{P}-lang", data=lang),
        html.Div(className="staff-card", children=[
            html.Div(style={"display": "flex", "flexWrap": "wrap", "gap": "8px 16px", "alignItems": "flex-end"},
                     children=[
                field("usage.f.month", dcc.Dropdown(id=f"{P}-month", options=months, value=month, clearable=False,
                                                    style={"minWidth": "140px"})),
                field("usage.f.metric", dcc.Dropdown(id=f"{P}-metric", clearable=False, value=CHART_METRICS[0],
                                                     options=[{"label": t(f"usage.metric.{m}", lang), "value": m}
                                                              for m in CHART_METRICS],
                                                     style={"minWidth": "240px"})),
                html.A(t("usage.csv", lang), id=f"{P}-csv", href=csv_href, className="staff-button", download=""),
            ]),
        ]),
        html.Div(id=f"{P}-message", children=msg),
        html.Div(id=f"{P}-body", children=table),
        dcc.Graph(id=f"{P}-chart", figure=fig, config={"displaylogo": False, "responsive": True}),
        html.H3(t("usage.layers_title", lang)),
        html.Div(id=f"{P}-layers-body", children=layers),
        html.P(t("usage.note", lang), className="staff-hint"),
    ])


@callback(
    Output(f"{P}-body", "children"),
    Output(f"{P}-chart", "figure"),
    Output(f"{P}-layers-body", "children"),
    Output(f"{P}-csv", "href"),
    Output(f"{P}-message", "children"),
    Input(f"{P}-month", "value"),
    Input(f"{P}-metric", "value"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def refresh(month, metric, lang):
    lang = normalize_lang(lang)
    staff = _staff()  # anyone may post to the callback: the reader is checked here
    if staff is None:
        return no_update, no_update, no_update, no_update, message(t("staff.need_login", lang))
    return view(staff, month if isinstance(month, str) else None, metric if isinstance(metric, str) else None, lang)
