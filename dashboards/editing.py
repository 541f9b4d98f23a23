"""The dashboard editor's model, without Dash: panels laid out in list order on the 12-column grid
(`reflow`, `move`, `resize`), the panel form's values to a panel and back (`panel_from_form`,
`form_from_panel`), variables and settings fields to the document (`build_doc`). The page
(pages/staff_dashboard_edit.py) only moves values between these functions and its components."""
from __future__ import annotations

import re

from dashboards.model import GRID_COLUMNS, RELATIVE
from registry import QUERY_KINDS

MAX_FILTERS = 3
MAX_STEPS = 3
STEP_COLORS = ["#00703c", "#1d70b8", "#f47738", "#d4351c", "#4c2c92", "#505a5f", "#b58840", "#0b0c0c"]
DEFAULT_SIZE = {"stat": (3, 4), "gauge": (3, 4), "text": (6, 3), "map": (6, 6), "table": (6, 6),
                "timeseries": (6, 5), "bar": (6, 5)}
FNS = {"sensor_series": ["avg", "min", "max", "sum", "count", "last"],
       "sensor_latest": ["avg", "min", "max", "sum", "count"],
       "layer_stats": ["count", "sum", "avg", "min", "max"]}
BYS = {"snow_progress": ["area", "route"], "alert_events": ["day", "rule", "kind", "list"]}
# which groups of the panel form each query kind uses
GROUPS = {
    "sensor_series": ["sensors", "attribute", "agg", "fn"],
    "sensor_latest": ["sensors", "layer", "entity", "area", "attribute", "groupby", "fn", "limit"],
    "layer_stats": ["layer", "propgroup", "value", "fn", "limit"],
    "layer_items": ["layer", "columns", "filters", "limit"],
    "snow_progress": ["by", "hours"],
    "alert_events": ["rule", "by", "kinds", "limit"],
    "map_layers": ["layers", "area"],
    "none": [],
}
ALL_GROUPS = ["sensors", "attribute", "agg", "fn", "layer", "layers", "entity", "area", "groupby", "propgroup",
              "value", "columns", "filters", "limit", "by", "hours", "rule", "kinds"]
OPTION_GROUPS = {"unit": ("stat", "gauge", "bar"), "minmax": ("gauge",), "steps": ("stat", "gauge"),
                 "markdown": ("text",)}
# the panel form: field name -> component id (its value)
FORM = {
    "type": "dbe-p-type", "kind": "dbe-p-kind", "title_ja": "dbe-p-title", "title_en": "dbe-p-title-en",
    "sensors": "dbe-p-sensors", "attribute": "dbe-p-attribute", "agg": "dbe-p-agg", "fn": "dbe-p-fn",
    "layer": "dbe-p-layer", "layers": "dbe-p-layers", "entity_type": "dbe-p-entity", "area": "dbe-p-area",
    "group_by": "dbe-p-groupby", "prop_group": "dbe-p-propgroup", "value": "dbe-p-value",
    "columns": "dbe-p-columns", "limit": "dbe-p-limit", "by": "dbe-p-by", "hours": "dbe-p-hours",
    "rule": "dbe-p-rule", "kinds": "dbe-p-kinds", "unit": "dbe-p-unit", "unit_en": "dbe-p-unit-en",
    "min": "dbe-p-min", "max": "dbe-p-max", "markdown": "dbe-p-md", "markdown_en": "dbe-p-md-en",
    "w": "dbe-p-w", "h": "dbe-p-h",
    **{f"f{i}_{k}": f"dbe-p-f{i}-{k}" for i in range(MAX_FILTERS) for k in ("prop", "op", "value")},
    **{f"s{i}_{k}": f"dbe-p-s{i}-{k}" for i in range(MAX_STEPS) for k in ("value", "color")},
}
FORM_NAMES = list(FORM)

def in_grid_order(panels: list[dict]) -> list[dict]:
    return sorted(panels, key=lambda p: ((p.get("grid") or {}).get("y", 0), (p.get("grid") or {}).get("x", 0)))


def _text(value) -> str:
    """A text field's value (anything else the browser might send counts as empty)."""
    return value.strip() if isinstance(value, str) else ""


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def clean_panels(panels) -> list[dict]:
    """The panels of the editor's store as the page may use them: dicts with a grid of numbers."""
    out = []
    for p in panels if isinstance(panels, list) else []:
        if isinstance(p, dict):
            g = p.get("grid") if isinstance(p.get("grid"), dict) else {}
            out.append({**p, "grid": {k: _int(g.get(k), d) for k, d in (("x", 0), ("y", 0), ("w", 6), ("h", 4))}})
    return out


def reflow(panels: list[dict]) -> list[dict]:
    """Place the panels in list order left to right, top to bottom: a panel that does not fit in
    the rest of the row starts a new row below the tallest panel of the row. No overlaps."""
    out, x, y, bottom = [], 0, 0, 0
    for p in panels:
        g = p.get("grid") if isinstance(p.get("grid"), dict) else {}
        w = max(1, min(GRID_COLUMNS, _int(g.get("w"), 6) or 6))
        h = max(2, min(16, _int(g.get("h"), 4) or 4))
        if x + w > GRID_COLUMNS:
            x, y = 0, bottom
        out.append({**p, "grid": {"x": x, "y": y, "w": w, "h": h}})
        x += w
        bottom = max(bottom, y + h)
    return out


def move(panels: list[dict], index: int, step: int) -> list[dict]:
    j = index + step
    if not (0 <= index < len(panels) and 0 <= j < len(panels)):
        return panels
    panels = list(panels)
    panels[index], panels[j] = panels[j], panels[index]
    return reflow(panels)


def resize(panels: list[dict], index: int, w=None, h=None) -> list[dict]:
    if not 0 <= index < len(panels):
        return panels
    panels = [dict(p) for p in panels]
    g = dict(panels[index].get("grid") or {})
    if w is not None:
        g["w"] = w
    if h is not None:
        g["h"] = h
    panels[index]["grid"] = g
    return reflow(panels)


def new_panel_id(panels: list[dict]) -> str:
    taken = {p.get("id") for p in panels}
    n = len(panels) + 1
    while f"p{n}" in taken:
        n += 1
    return f"p{n}"


def _num(v):
    if v in (None, ""):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v  # the schema names it
    return int(f) if f.is_integer() else f


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, "", [])}


def query_from_form(f: dict) -> dict:
    """The query of the panel form's values (empty fields left out, so the schema's defaults apply)."""
    kind = f.get("kind") or "none"
    if kind == "sensor_series":
        q = {"sensors": f.get("sensors") or [], "attribute": f.get("attribute"), "agg": f.get("agg"), "fn": f.get("fn")}
        q = {**_clean(q), "sensors": f.get("sensors") or []}
    elif kind == "sensor_latest":
        q = _clean({"sensors": f.get("sensors"), "layer": f.get("layer"), "entity_type": f.get("entity_type"),
                    "area": f.get("area"), "attribute": f.get("attribute"), "group_by": f.get("group_by"),
                    "fn": f.get("fn"), "limit": _num(f.get("limit"))})
    elif kind == "layer_stats":
        q = _clean({"layer": f.get("layer"), "group_by": f.get("prop_group"), "value": f.get("value"),
                    "fn": f.get("fn"), "limit": _num(f.get("limit"))})
        q.setdefault("layer", "")
        q.setdefault("group_by", "")
    elif kind == "layer_items":
        filters = []
        for i in range(MAX_FILTERS):
            prop = f.get(f"f{i}_prop")
            if prop:
                value = f.get(f"f{i}_value")
                filters.append({"property": prop, "op": f.get(f"f{i}_op") or "eq",
                                "value": "" if value is None else value})
        q = _clean({"layer": f.get("layer"), "columns": f.get("columns"), "filters": filters,
                    "limit": _num(f.get("limit"))})
        q.setdefault("layer", "")
    elif kind == "snow_progress":
        q = _clean({"by": f.get("by"), "hours": _num(f.get("hours"))})
    elif kind == "alert_events":
        q = _clean({"rule": _num(f.get("rule")), "by": f.get("by"), "kinds": f.get("kinds"),
                    "limit": _num(f.get("limit"))})
    elif kind == "map_layers":
        q = _clean({"layers": f.get("layers"), "area": f.get("area")})
        q.setdefault("layers", [])
    else:
        q = {}
    return {"kind": kind, **q}


def options_from_form(f: dict) -> dict:
    ptype = f.get("type")
    opts = {}
    if ptype in OPTION_GROUPS["unit"]:
        opts.update(_clean({"unit": _text(f.get("unit")), "unit_en": _text(f.get("unit_en"))}))
    if ptype in OPTION_GROUPS["minmax"]:
        opts.update(_clean({"min": _num(f.get("min")), "max": _num(f.get("max"))}))
    if ptype in OPTION_GROUPS["steps"]:
        steps = [{"value": _num(f.get(f"s{i}_value")), "color": f.get(f"s{i}_color") or STEP_COLORS[i]}
                 for i in range(MAX_STEPS) if f.get(f"s{i}_value") not in (None, "")]
        if steps:
            opts["steps"] = steps
    if ptype in OPTION_GROUPS["markdown"]:
        opts.update(_clean({"markdown": f.get("markdown") or "", "markdown_en": f.get("markdown_en") or ""}))
    return opts


def panel_from_form(f: dict, panel_id: str, grid: dict | None = None) -> dict:
    g = dict(grid or {"x": 0, "y": 0})
    for k in ("w", "h"):
        if _num(f.get(k)) is not None:
            g[k] = _num(f.get(k))
    return {"id": panel_id, "type": f.get("type") or "", "title_ja": _text(f.get("title_ja")),
            "title_en": _text(f.get("title_en")), "query": query_from_form(f),
            "options": options_from_form(f), "grid": g}


def form_from_panel(panel: dict) -> dict:
    """The panel form's values for a stored panel (the inverse of panel_from_form)."""
    q = dict(panel.get("query") or {})
    o = dict(panel.get("options") or {})
    g = panel.get("grid") or {}
    kind = q.get("kind", "none")
    f = {name: None for name in FORM_NAMES}
    f.update(type=panel.get("type"), kind=kind, title_ja=panel.get("title_ja", ""), title_en=panel.get("title_en", ""),
             w=g.get("w", 6), h=g.get("h", 4), sensors=q.get("sensors") or [], attribute=q.get("attribute") or None,
             agg=q.get("agg"), fn=q.get("fn"), layers=q.get("layers") or [], entity_type=q.get("entity_type") or None,
             area=q.get("area") or None, by=q.get("by"), hours=q.get("hours"), rule=q.get("rule"),
             kinds=q.get("kinds") or [], columns=q.get("columns") or [], limit=q.get("limit"),
             unit=o.get("unit", ""), unit_en=o.get("unit_en", ""), min=o.get("min"), max=o.get("max"),
             markdown=o.get("markdown", ""), markdown_en=o.get("markdown_en", ""))
    f["layer"] = q.get("layer") or None
    if kind == "layer_stats":
        f["prop_group"] = q.get("group_by")
        f["value"] = q.get("value") or None
    else:
        f["group_by"] = q.get("group_by")
    for i, flt in enumerate((q.get("filters") or [])[:MAX_FILTERS]):
        f[f"f{i}_prop"], f[f"f{i}_op"], f[f"f{i}_value"] = flt.get("property"), flt.get("op"), flt.get("value")
    for i, step in enumerate((o.get("steps") or [])[:MAX_STEPS]):
        if isinstance(step, dict):
            f[f"s{i}_value"], f[f"s{i}_color"] = step.get("value"), step.get("color")
    return f


def blank_form(ptype: str = "timeseries", kind: str | None = None) -> dict:
    f = {name: None for name in FORM_NAMES}
    w, h = DEFAULT_SIZE.get(ptype, (6, 4))
    kind = kind or kinds_for(ptype)[0]
    f.update(type=ptype, kind=kind, title_ja="", title_en="", w=w, h=h, sensors=[], layers=[], kinds=["fired"],
             columns=[], agg="hour", fn=(FNS.get(kind) or [None])[0], by=(BYS.get(kind) or [None])[0],
             hours=3 if kind == "snow_progress" else None, group_by="sensor", unit="", unit_en="", markdown="",
             markdown_en="")
    for i in range(MAX_FILTERS):
        f[f"f{i}_op"] = "eq"
    return f


def kinds_for(ptype: str) -> list[str]:
    return [name for name, kind in QUERY_KINDS.items() if ptype in kind.panel_types]


def variables_from_form(rows: list[list]) -> list[dict]:
    """Variable rows (name, type, label ja, label en, options "a, b", default) as the document has them."""
    out = []
    for name, vtype, label_ja, label_en, options, default in rows:
        opts = [x.strip() for x in re.split(r"[,、\n]", str(options or "")) if x.strip()]
        vtype = vtype if isinstance(vtype, str) else "custom"
        out.append({"name": _text(name), "type": vtype or "custom", "label_ja": _text(label_ja),
                    "label_en": _text(label_en), "options": opts if vtype == "custom" else [],
                    "default": _text(default)})
    return out


def build_doc(base: dict, settings: dict, variables: list[dict], panels: list[dict]) -> dict:
    """The whole document from the stored one, the settings fields, variables and panels."""
    doc = {k: v for k, v in (base if isinstance(base, dict) else {}).items() if k not in ("panels", "variables")}
    rng, custom_from, custom_to = (_text(settings.get(k)) for k in ("range", "from", "to"))
    if rng == "custom":
        time = {"from": str(custom_from or "")[:16], "to": str(custom_to or "")[:16] or "now"}
    else:
        time = {"from": rng if rng in RELATIVE else "now-24h", "to": "now"}
    doc.update(slug=_text(settings.get("slug")), title_ja=_text(settings.get("title_ja")),
               title_en=_text(settings.get("title_en")),
               description_ja=_text(settings.get("description_ja")),
               description_en=_text(settings.get("description_en")),
               visibility=_text(settings.get("visibility")) or "private",
               refresh=_text(settings.get("refresh")) or "off",
               time=time, variables=variables, panels=panels)
    if _text(settings.get("organisation")):
        doc["organisation"] = _text(settings["organisation"])
    return doc
