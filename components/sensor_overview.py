"""The `/sensors` overview: one row per sensor (level, name, latest value, when, basis, sparkline),
each row a link to that sensor's chart."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from dash import dcc, html

from i18n import t
from layers.sensor_overview import spark_svg
from timezones import JST

LEVEL_COLORS = {"alert": "#b3261e", "watch": "#8a4b00", "high": "#6b3fa0", "normal": "#2e6b30",
                "unjudged": "#505a5f", "nodata": "#505a5f"}


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}".rstrip("0").rstrip(".")


def spark_img(svg: str, alt: str) -> html.Img:
    return html.Img(src="data:image/svg+xml;charset=utf-8," + quote(svg), alt=alt, className="sensor-spark",
                    width=120, height=28)


def overview_row(row, lang: str) -> html.Li:
    value = f"{_num(row.value)} {row.unit}" if row.value is not None else "–"
    when = "" if row.observed_at is None else f"{row.observed_at.astimezone(JST):%m/%d %H:%M}"
    if row.stale:
        when += t("sensors.old", lang)
    if row.basis == "rule":
        basis = t("sensors.basis.rule", lang).format(rule=row.rule_name, op=row.op,
                                                     threshold=f"{_num(row.threshold)} {row.unit}")
    elif row.basis == "range":
        basis = t("sensors.basis.range", lang).format(low=_num(row.low), high=f"{_num(row.high)} {row.unit}")
    else:
        basis = ""
    alt = (t("sensors.spark_alt", lang).format(low=_num(min(row.spark)), high=f"{_num(max(row.spark))} {row.unit}")
           if row.spark else t("sensors.spark_none", lang))
    name = row.name(lang) + (t("layers.private_suffix", lang) if row.private else "")
    href = "/sensors?" + urlencode({"sensor": row.address or row.id, "lang": lang})
    return html.Li(className=f"sensor-row level-{row.level}", children=dcc.Link(
        href=href, className="sensor-row-link", id={"type": "sensors-row", "id": row.address or row.id}, children=[
            html.Span(t(f"sensors.level.{row.level}", lang), className="sensor-level",
                      style={"backgroundColor": LEVEL_COLORS[row.level]}),
            html.Span(name, className="sensor-name"),
            html.Span(value, className="sensor-value"),
            html.Span(className="sensor-meta", children=[html.Span(when, className="sensor-when"),
                                                          html.Span(basis, className="sensor-basis")]),
            spark_img(spark_svg(row.spark, color=LEVEL_COLORS[row.level]), alt),
        ]))


def overview_list(rows: list, lang: str, capped: int | None) -> html.Div:
    children = [html.P(t("sensors.overview.basis", lang), className="legend-note")]
    if capped:
        children.append(html.P(t("sensors.overview.more", lang).format(n=capped), className="legend-note"))
    if not rows:
        children.append(html.P(t("sensors.overview.none", lang)))
    children.append(html.Ul([overview_row(r, lang) for r in rows], className="sensor-overview",
                            id="sensors-overview-list"))
    return html.Div(children, id="sensors-overview")
