"""The sensor dashboard's chart: several sensors together, raw or min/max/mean per bucket, threshold lines."""
from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

COLORS = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#b58840", "#28a197", "#6f72af"]


def _naive_jst(t: datetime, jst) -> datetime:
    return t.astimezone(jst).replace(tzinfo=None)


def sensor_figure(series: dict, names: dict, agg_step: timedelta | None, aggregate, thresholds: list[dict],
                  x_title: str, y_title: str, labels: dict, jst, window: tuple[datetime, datetime]) -> go.Figure:
    """series: sensor id -> [(utc time, value)]; aggregate(points, step) -> buckets (start, min, max, mean)."""
    fig = go.Figure()
    fig.update_layout(margin=dict(l=56, r=20, t=30, b=40), height=420, template="plotly_white",
                      xaxis_title=x_title, yaxis_title=y_title, hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    for i, (sid, pts) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        name = names.get(sid, sid)
        if agg_step is None:
            trace = go.Scattergl if len(pts) > 5000 else go.Scatter  # WebGL for month-long raw series
            fig.add_trace(trace(x=[_naive_jst(t, jst) for t, _ in pts], y=[v for _, v in pts], mode="lines",
                                     name=name, line=dict(color=color, width=2)))
            continue
        buckets = aggregate(pts, agg_step)
        xs = [_naive_jst(b.start, jst) for b in buckets]
        fig.add_trace(go.Scatter(x=xs, y=[b.max for b in buckets], mode="lines", line=dict(width=0, color=color),
                                 name=f"{name} {labels['max']}", showlegend=False, legendgroup=sid))
        fig.add_trace(go.Scatter(x=xs, y=[b.min for b in buckets], mode="lines", line=dict(width=0, color=color),
                                 fill="tonexty", fillcolor=_alpha(color),
                                 name=f"{name} {labels['min']}–{labels['max']}",
                                 legendgroup=sid))
        fig.add_trace(go.Scatter(x=xs, y=[b.mean for b in buckets], mode="lines+markers",
                                 name=f"{name} {labels['mean']}",
                                 line=dict(color=color, width=2), legendgroup=sid))
    for line in thresholds:
        fig.add_hline(y=float(line["value"]), line=dict(color=line.get("color", "#b3261e"), dash="dash", width=1.5),
                      annotation_text=line.get("label", ""), annotation_position="top left")
    fig.update_xaxes(range=[_naive_jst(window[0], jst), _naive_jst(window[1], jst)])
    return fig


def _alpha(hex_color: str, a: float = 0.18) -> str:
    h = hex_color.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"rgba({r},{g},{b},{a})"
