"""The view of one dashboard, shared by `/dashboards/<slug>` and `/embed/dashboards/<slug>`:
time range, auto-refresh and variables as controls above a 12-column grid of panels (one column
on a phone). Data in (the document, variable options, panel answers), components out."""
from __future__ import annotations

from dash import dcc, html

from components.dashboard_panels import panel_frame
from i18n import t

RANGES = ["now-1h", "now-6h", "now-24h", "now-7d", "now-30d", "now-90d", "now-1y"]
REFRESHES = ["off", "30s", "1m", "5m"]


def doc_title(doc: dict, lang: str) -> str:
    return (doc.get("title_en") if lang == "en" and doc.get("title_en") else doc.get("title_ja")) or ""


def controls(doc: dict, options: dict, values: dict, time_from: str, time_to: str, refresh: str, lang: str):
    relative = time_from in RANGES and time_to in ("now", "")
    range_value = time_from if relative else "custom"
    range_opts = [{"label": t(f"dash.range.{r}", lang), "value": r} for r in RANGES]
    range_opts.append({"label": t("dash.range.custom", lang), "value": "custom"})
    custom_style = {} if range_value == "custom" else {"display": "none"}
    items = [
        html.Label([t("dash.time_range", lang),
                    dcc.Dropdown(id="dashv-range", options=range_opts, value=range_value, clearable=False,
                                 searchable=False, className="dash-control-dd")], className="dash-control"),
        html.Div(id="dashv-custom", style=custom_style, className="dash-control dash-custom", children=[
            html.Label([t("dash.from", lang), dcc.Input(id="dashv-from", type="datetime-local",
                                                        value="" if relative else time_from[:16], debounce=True)]),
            html.Label([t("dash.to", lang), dcc.Input(id="dashv-to", type="datetime-local",
                                                      value="" if relative or time_to == "now" else time_to[:16],
                                                      debounce=True)]),
        ]),
        html.Label([t("dash.refresh", lang),
                    dcc.Dropdown(id="dashv-refresh", value=refresh, clearable=False, searchable=False,
                                 options=[{"label": t(f"dash.refresh.{r}", lang), "value": r} for r in REFRESHES],
                                 className="dash-control-dd")], className="dash-control"),
    ]
    for var in doc.get("variables", []):
        label = (var.get("label_en") if lang == "en" and var.get("label_en") else var.get("label_ja")) or var["name"]
        items.append(html.Label([label, dcc.Dropdown(
            id={"type": "dashv-var", "name": var["name"]}, options=[
                {"label": o["label"], "value": o["value"]} for o in options.get(var["name"], [])],
            value=values.get(var["name"]), clearable=False, className="dash-control-dd dash-var")],
            className="dash-control"))
    return html.Div(items, className="dash-controls", role="group", **{"aria-label": t("dash.controls", lang)})


def grid(slug: str, doc: dict, answers: dict, lang: str, query: dict):
    panels = sorted(doc.get("panels", []), key=lambda p: (p["grid"]["y"], p["grid"]["x"]))
    if not panels:
        return html.P(t("dash.no_panels", lang), className="dash-empty")
    return [panel_frame(slug, p, answers.get(p["id"]), lang, query) for p in panels]


def view_query(time_from: str, time_to: str, values: dict) -> dict:
    """What the URL carries: the time range and each variable's value."""
    q = {"from": time_from, "to": time_to}
    q.update({f"var-{k}": v for k, v in values.items() if v})
    return q
