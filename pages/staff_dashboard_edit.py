"""`/staff/dashboards/edit?slug=` — edit one dashboard: its settings, variables and panels.

The panels being edited live in a dcc.Store (`dbe-doc`), the settings and variables in their
fields: nothing is lost when a save is refused. Panels are laid out in list order, left to right
and top to bottom on the 12-column grid (`reflow`); 上へ/下へ, width and height rewrite x/y/w/h.
The panel form lists what exists for the staff member (dashboards/choices.py) and previews the
unsaved panel (dashboards.service.preview_panel). `?add_sensor=<id>` opens the form with a time
series of that sensor. Every callback asks who is logged in and lets the service decide.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import (
    ALL,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from auth import current_staff, login_url
from components.dashboard_forms import ok_box, refusal_box
from components.dashboard_panels import panel_frame
from components.dashboard_view import RANGES, REFRESHES
from components.read_only import viewer_sees_read_only
from components.staff import login_prompt, request_lang, staff_frame
from dashboards import choices, service
from dashboards.editing import (
    ALL_GROUPS,
    BYS,
    FNS,
    FORM,
    FORM_NAMES,
    GROUPS,
    MAX_FILTERS,
    MAX_STEPS,
    OPTION_GROUPS,
    STEP_COLORS,
    blank_form,
    build_doc,
    clean_panels,
    form_from_panel,
    in_grid_order,
    kinds_for,
    move,
    new_panel_id,
    panel_from_form,
    reflow,
    resize,
    variables_from_form,
)
from dashboards.model import GRID_COLUMNS, PANEL_TYPES, VARIABLE_TYPES
from dashboards.queries.alert_events import KINDS as EVENT_KINDS
from i18n import normalize_lang, t
from refusal import Refused
from store.db import get_db
from store.layers import organisations
from store.models import Sensor

PATH = "/staff/dashboards/edit"
VAR_FIELDS = ["name", "type", "label_ja", "label_en", "options", "default"]


def _title(**_):
    lang = request_lang()
    return f"{t('dash.edit.title', lang)} | {t('app.short', lang)}"


dash.register_page(__name__, path=PATH, title=_title)


# --- choices for the form ---------------------------------------------------------------------------

def _label(prefix: str, value: str, lang: str) -> str:
    key = f"{prefix}.{value}"
    text = t(key, lang)
    return value if text == key else text


def _opts(values, prefix: str, lang: str) -> list[dict]:
    return [{"label": _label(prefix, v, lang), "value": v} for v in values]


def var_choices(variables: list[dict], types: tuple[str, ...], lang: str) -> list[dict]:
    out = []
    for v in variables or []:
        if v.get("name") and v.get("type") in types:
            label = (v.get("label_en") if lang == "en" and v.get("label_en") else v.get("label_ja")) or v["name"]
            out.append({"label": t("dash.edit.variable_choice", lang, name=v["name"], label=label),
                        "value": f"${v['name']}"})
    return out


def form_choices(staff, lang: str, kind: str, variables: list[dict], layer: str | None, sensors: list) -> dict:
    """Options of every list in the panel form, for this staff member and query kind."""
    with get_db().session() as s:
        sensor_opts = [{"label": o["label"], "value": o["value"], "search": o["search"]}
                       for o in choices.sensors(s, staff, lang)]
        if kind == "sensor_latest":
            layer_opts = choices.layers(s, staff, lang, with_sensors=True)
        elif kind in ("layer_stats", "layer_items"):
            layer_opts = choices.layers(s, staff, lang, with_items=True)
        else:
            layer_opts = []
        map_layers = choices.layers(s, staff, lang)
        props = choices.properties(s, staff, layer or "")
        attrs = choices.attributes(s, staff, [x for x in sensors or [] if not str(x).startswith("$")])
        entities = choices.entity_types(s, staff)
        rules = choices.rules(s, staff)
    areas = [{"label": a, "value": a} for a in choices.area_names()]
    prop_opts = [{"label": p, "value": p} for p in props]
    return {
        "sensors": var_choices(variables, ("sensor", "custom"), lang) + sensor_opts,
        "layer": var_choices(variables, ("layer", "custom"), lang) + layer_opts,
        "layers": var_choices(variables, ("layer", "custom"), lang) + map_layers,
        "area": var_choices(variables, ("area", "custom"), lang) + areas,
        "attribute": [{"label": a, "value": a} for a in attrs],
        "entity": [{"label": e, "value": e} for e in entities],
        "propgroup": [{"label": t("dash.edit.by_area", lang), "value": "@area"}] + prop_opts,
        "value": prop_opts, "columns": prop_opts, "filterprop": prop_opts,
        "rule": [{"label": r["label"], "value": r["value"]} for r in rules],
    }


# --- layout -----------------------------------------------------------------------------------------

def _field(label: str, comp, group: str | None = None, hidden: bool = False, wide: bool = False):
    kids = [html.Label(label, htmlFor=comp.id) if getattr(comp, "id", None) and not isinstance(comp.id, dict)
            else html.Label(label), comp]
    extra = {"id": f"dbe-g-{group}"} if group else {}
    return html.Div(kids, className="staff-field" + (" wide" if wide else ""), hidden=hidden, **extra)


def panel_form(lang: str, f: dict, opts: dict, open_: bool):
    kind = f.get("kind") or "none"
    used = set(GROUPS.get(kind, []))
    ptype = f.get("type") or "timeseries"

    def dd(id_, options, value, **kw):
        return dcc.Dropdown(id=id_, options=options, value=value, **kw)

    filters = html.Div(id="dbe-g-filters", hidden="filters" not in used, className="staff-field wide", children=[
        html.Label(t("dash.edit.filters", lang)),
        *[html.Div(className="dbe-filter-row", children=[
            dd(f"dbe-p-f{i}-prop", opts["filterprop"], f.get(f"f{i}_prop"), placeholder=t("dash.edit.property", lang),
               className="dbe-filter-prop"),
            dd(f"dbe-p-f{i}-op", _opts(["eq", "ne", "contains", "gt", "lt"], "dash.edit.op", lang),
               f.get(f"f{i}_op") or "eq", clearable=False, className="dbe-filter-op"),
            dcc.Input(id=f"dbe-p-f{i}-value", value=f.get(f"f{i}_value"), className="staff-input dbe-filter-value",
                      placeholder=t("dash.edit.filter_value", lang), maxLength=200),
        ]) for i in range(MAX_FILTERS)],
    ])
    steps = html.Div(id="dbe-g-steps", hidden=ptype not in OPTION_GROUPS["steps"], className="staff-field wide",
                     children=[
        html.Label(t("dash.edit.steps", lang)),
        html.P(t("dash.edit.steps_hint", lang), className="staff-hint"),
        *[html.Div(className="dbe-step-row", children=[
            dcc.Input(id=f"dbe-p-s{i}-value", type="number", value=f.get(f"s{i}_value"), className="staff-input",
                      placeholder=t("dash.edit.step_from", lang)),
            dd(f"dbe-p-s{i}-color", [{"label": html.Span([html.Span(className="swatch swatch-square",
                                                                   style={"--swatch": c}), " ", c]), "value": c}
                                     for c in STEP_COLORS], f.get(f"s{i}_color") or STEP_COLORS[[0, 2, 3][i]],
               clearable=False, className="dbe-step-color"),
        ]) for i in range(MAX_STEPS)],
    ])
    return html.Section(id="dbe-form", className="staff-card dbe-form", hidden=not open_, children=[
        html.H3(t("dash.edit.panel_form", lang), id="dbe-form-title"),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.panel_type", lang), dd("dbe-p-type", _opts(PANEL_TYPES, "dash.edit.type", lang),
                                                       ptype, clearable=False, searchable=False)),
            _field(t("dash.edit.query_kind", lang), dd("dbe-p-kind", _opts(kinds_for(ptype), "dash.edit.kind", lang),
                                                       kind, clearable=False, searchable=False)),
        ]),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.panel_title_ja", lang), dcc.Input(id="dbe-p-title", value=f.get("title_ja"),
                                                                  maxLength=200, className="staff-input")),
            _field(t("dash.edit.panel_title_en", lang), dcc.Input(id="dbe-p-title-en", value=f.get("title_en"),
                                                                  maxLength=200, className="staff-input")),
        ]),
        html.H4(t("dash.edit.data", lang)),
        html.P(t("dash.edit.kind_hint." + kind, lang), className="staff-hint", id="dbe-kind-hint"),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.sensors", lang), dd("dbe-p-sensors", opts["sensors"], f.get("sensors") or [],
                                                    multi=True, searchable=True,
                                                    placeholder=t("dash.edit.sensors_search", lang)),
                   "sensors", "sensors" not in used, wide=True),
            _field(t("dash.edit.layer", lang), dd("dbe-p-layer", opts["layer"], f.get("layer"),
                                                  placeholder=t("dash.edit.choose", lang)),
                   "layer", "layer" not in used),
            _field(t("dash.edit.layers", lang), dd("dbe-p-layers", opts["layers"], f.get("layers") or [], multi=True,
                                                   placeholder=t("dash.edit.choose", lang)),
                   "layers", "layers" not in used, wide=True),
            _field(t("dash.edit.entity_type", lang), dd("dbe-p-entity", opts["entity"], f.get("entity_type"),
                                                        placeholder=t("dash.edit.any", lang)),
                   "entity", "entity" not in used),
            _field(t("dash.edit.area", lang), dd("dbe-p-area", opts["area"], f.get("area"),
                                                 placeholder=t("dash.edit.any_area", lang)),
                   "area", "area" not in used),
            _field(t("dash.edit.attribute", lang), dd("dbe-p-attribute", opts["attribute"], f.get("attribute"),
                                                      placeholder=t("dash.edit.attribute_default", lang)),
                   "attribute", "attribute" not in used),
            _field(t("dash.edit.group_by", lang),
                   dd("dbe-p-groupby", _opts(["sensor", "area"], "dash.edit.groupby", lang),
                      f.get("group_by") or "sensor", clearable=False, searchable=False),
                   "groupby", "groupby" not in used),
            _field(t("dash.edit.group_by", lang), dd("dbe-p-propgroup", opts["propgroup"], f.get("prop_group"),
                                                     placeholder=t("dash.edit.property", lang)),
                   "propgroup", "propgroup" not in used),
            _field(t("dash.edit.value_property", lang), dd("dbe-p-value", opts["value"], f.get("value"),
                                                           placeholder=t("dash.edit.count_only", lang)),
                   "value", "value" not in used),
            _field(t("dash.edit.agg", lang),
                   dd("dbe-p-agg", _opts(["raw", "10min", "hour", "day"], "dash.edit.agg", lang),
                      f.get("agg") or "hour", clearable=False, searchable=False),
                   "agg", "agg" not in used),
            _field(t("dash.edit.fn", lang), dd("dbe-p-fn", _opts(FNS.get(kind, ["avg"]), "dash.edit.fn", lang),
                                               f.get("fn") or (FNS.get(kind) or ["avg"])[0], clearable=False,
                                               searchable=False), "fn", "fn" not in used),
            _field(t("dash.edit.by", lang), dd("dbe-p-by", _opts(BYS.get(kind, ["area"]), "dash.edit.by", lang),
                                               f.get("by") or (BYS.get(kind) or ["area"])[0], clearable=False,
                                               searchable=False), "by", "by" not in used),
            _field(t("dash.edit.hours", lang), dcc.Input(id="dbe-p-hours", type="number", min=1, max=24, step=1,
                                                         value=f.get("hours"), className="staff-input"),
                   "hours", "hours" not in used),
            _field(t("dash.edit.rule", lang), dd("dbe-p-rule", opts["rule"], f.get("rule"),
                                                 placeholder=t("dash.edit.all_rules", lang)),
                   "rule", "rule" not in used),
            _field(t("dash.edit.event_kinds", lang), dd("dbe-p-kinds", _opts(EVENT_KINDS, "dash.edit.event", lang),
                                                        f.get("kinds") or ["fired"], multi=True),
                   "kinds", "kinds" not in used),
            _field(t("dash.edit.columns", lang),
                   dd("dbe-p-columns", opts["columns"], f.get("columns") or [], multi=True,
                      placeholder=t("dash.edit.columns_auto", lang)),
                   "columns", "columns" not in used, wide=True),
            filters,
            _field(t("dash.edit.limit", lang), dcc.Input(id="dbe-p-limit", type="number", min=1, max=1000, step=1,
                                                         value=f.get("limit"), className="staff-input",
                                                         placeholder=t("dash.edit.limit_default", lang)),
                   "limit", "limit" not in used),
        ]),
        html.H4(t("dash.edit.look", lang)),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.width", lang), dd("dbe-p-w", _size_opts(1, GRID_COLUMNS, lang, "w"), f.get("w") or 6,
                                                  clearable=False, searchable=False)),
            _field(t("dash.edit.height", lang), dd("dbe-p-h", _size_opts(2, 16, lang, "h"), f.get("h") or 4,
                                                   clearable=False, searchable=False)),
            _field(t("dash.edit.unit", lang), dcc.Input(id="dbe-p-unit", value=f.get("unit"), maxLength=20,
                                                        className="staff-input"), "unit",
                   ptype not in OPTION_GROUPS["unit"]),
            _field(t("dash.edit.unit_en", lang), dcc.Input(id="dbe-p-unit-en", value=f.get("unit_en"), maxLength=20,
                                                           className="staff-input"), "unit-en",
                   ptype not in OPTION_GROUPS["unit"]),
            _field(t("dash.edit.min", lang), dcc.Input(id="dbe-p-min", type="number", value=f.get("min"),
                                                       className="staff-input"), "min", ptype != "gauge"),
            _field(t("dash.edit.max", lang), dcc.Input(id="dbe-p-max", type="number", value=f.get("max"),
                                                       className="staff-input"), "max", ptype != "gauge"),
            steps,
            _field(t("dash.edit.markdown", lang), dcc.Textarea(id="dbe-p-md", value=f.get("markdown"),
                                                               className="staff-input dbe-md"),
                   "md", ptype != "text", wide=True),
            _field(t("dash.edit.markdown_en", lang), dcc.Textarea(id="dbe-p-md-en", value=f.get("markdown_en"),
                                                                  className="staff-input dbe-md"),
                   "md-en", ptype != "text", wide=True),
        ]),
        html.Div(className="staff-row dbe-form-buttons", children=[
            html.Button(t("dash.edit.preview", lang), id="dbe-preview", className="staff-button secondary"),
            html.Button(t("dash.edit.apply", lang), id="dbe-apply", className="staff-button"),
            html.Button(t("dash.edit.cancel", lang), id="dbe-cancel", className="staff-button secondary"),
        ]),
        html.Div(id="dbe-form-result", className="staff-result"),
        html.Div(id="dbe-preview-box", className="dbe-preview"),
    ])


def _size_opts(lo: int, hi: int, lang: str, which: str) -> list[dict]:
    return [{"label": t(f"dash.edit.size_{which}", lang, n=n), "value": n} for n in range(lo, hi + 1)]


def _type_label(ptype: str, lang: str) -> str:
    return _label("dash.edit.type", ptype, lang)


def panel_list(panels: list[dict], lang: str):
    if not panels:
        return html.P(t("dash.edit.no_panels", lang), className="staff-hint", id="dbe-no-panels")
    rows = []
    last = len(panels) - 1
    for i, p in enumerate(panels):
        g = p.get("grid") or {}
        title = (p.get("title_en") if lang == "en" and p.get("title_en") else p.get("title_ja")) or \
            t("dash.edit.untitled", lang)
        kind = (p.get("query") or {}).get("kind", "none")
        rows.append(html.Li(className="dbe-panel-row", id={"type": "dbe-row", "i": i}, children=[
            html.Div(className="dbe-panel-name", children=[
                html.Strong(title),
                html.Span(f"{_type_label(p.get('type', ''), lang)} · {_label('dash.edit.kind', kind, lang)}",
                          className="staff-meta")]),
            html.Div(className="dbe-panel-size", children=[
                dcc.Dropdown(id={"type": "dbe-w", "i": i}, options=_size_opts(1, GRID_COLUMNS, lang, "w"),
                             value=g.get("w", 6), clearable=False, searchable=False, className="dbe-size-dd"),
                dcc.Dropdown(id={"type": "dbe-h", "i": i}, options=_size_opts(2, 16, lang, "h"), value=g.get("h", 4),
                             clearable=False, searchable=False, className="dbe-size-dd"),
            ]),
            html.Div(className="dbe-panel-buttons", children=[
                html.Button("↑", id={"type": "dbe-up", "i": i}, disabled=i == 0,
                            className="staff-button secondary small",
                            title=t("dash.edit.up", lang), **{"aria-label": t("dash.edit.up", lang)}),
                html.Button("↓", id={"type": "dbe-down", "i": i}, disabled=i == last,
                            className="staff-button secondary small", title=t("dash.edit.down", lang),
                            **{"aria-label": t("dash.edit.down", lang)}),
                html.Button(t("dash.edit.edit_panel", lang), id={"type": "dbe-edit", "i": i},
                            className="staff-button secondary small"),
                html.Button(t("dash.edit.delete_panel", lang), id={"type": "dbe-del", "i": i},
                            className="staff-button danger small"),
            ]),
        ]))
    return html.Ol(rows, className="dbe-panel-list", id="dbe-panel-list")


def layout_sketch(panels: list[dict], lang: str):
    """The grid as small boxes: where each panel will be."""
    boxes = []
    for i, p in enumerate(panels):
        g = p.get("grid") or {}
        title = (p.get("title_en") if lang == "en" and p.get("title_en") else p.get("title_ja")) or \
            _type_label(p.get("type", ""), lang)
        boxes.append(html.Div(f"{i + 1}. {title}", className="dbe-sketch-box", title=title, style={
            "gridColumn": f"{g.get('x', 0) + 1} / span {g.get('w', 6)}",
            "gridRow": f"{g.get('y', 0) + 1} / span {g.get('h', 4)}"}))
    return html.Div(boxes, className="dbe-sketch", id="dbe-sketch", **{"aria-hidden": "true"})


def variable_rows(variables: list[dict], lang: str):
    rows = []
    for i, v in enumerate(variables):
        rows.append(html.Div(className="dbe-var-row", id={"type": "dbe-v-row", "i": i}, children=[
            _field(t("dash.edit.var_name", lang), dcc.Input(id={"type": "dbe-v-name", "i": i}, value=v.get("name"),
                                                            maxLength=30, className="staff-input")),
            _field(t("dash.edit.var_type", lang), dcc.Dropdown(
                id={"type": "dbe-v-type", "i": i}, options=_opts(VARIABLE_TYPES, "dash.edit.vartype", lang),
                value=v.get("type") or "area", clearable=False, searchable=False)),
            _field(t("dash.edit.var_label_ja", lang), dcc.Input(id={"type": "dbe-v-label_ja", "i": i},
                                                                value=v.get("label_ja"), maxLength=100,
                                                                className="staff-input")),
            _field(t("dash.edit.var_label_en", lang), dcc.Input(id={"type": "dbe-v-label_en", "i": i},
                                                                value=v.get("label_en"), maxLength=100,
                                                                className="staff-input")),
            _field(t("dash.edit.var_options", lang), dcc.Input(id={"type": "dbe-v-options", "i": i},
                                                               value=", ".join(v.get("options") or []),
                                                               className="staff-input",
                                                               placeholder=t("dash.edit.var_options_hint", lang))),
            _field(t("dash.edit.var_default", lang), dcc.Input(id={"type": "dbe-v-default", "i": i},
                                                               value=v.get("default"), maxLength=200,
                                                               className="staff-input")),
            html.Button(t("dash.edit.var_remove", lang), id={"type": "dbe-v-remove", "i": i},
                        className="staff-button danger small"),
        ]))
    if not rows:
        rows = [html.P(t("dash.edit.no_variables", lang), className="staff-hint")]
    return rows


def _settings_card(doc: dict, staff, lang: str, is_new: bool):
    time = doc.get("time") or {}
    relative = time.get("from") in RANGES and time.get("to") in ("now", "")
    rng = time.get("from") if relative else "custom"
    with get_db().session() as s:
        orgs = organisations(s)
    own = doc.get("organisation") or next((o.code for o in orgs.values() if o.id == staff.organisation_id), "")
    org_opts = [{"label": (o.name_en if lang == "en" else o.name_ja), "value": o.code}
                for o in sorted(orgs.values(), key=lambda o: o.id) if staff.is_admin or o.code == own]

    def inp(id_, value, **kw):
        return dcc.Input(id=id_, value=value, className="staff-input", **kw)

    return html.Section(className="staff-card", children=[
        html.H3(t("dash.edit.settings", lang)),
        html.Div(className="staff-row", children=[
            _field(t("dash.staff.title_ja", lang), inp("dbe-title", doc.get("title_ja", ""), maxLength=200)),
            _field(t("dash.staff.title_en", lang), inp("dbe-title-en", doc.get("title_en", ""), maxLength=200)),
            _field(t("dash.staff.slug", lang), inp("dbe-slug", doc.get("slug", ""), maxLength=60)),
            html.Div(className="staff-field", hidden=not staff.is_admin, children=[
                html.Label(t("dash.staff.organisation", lang), htmlFor="dbe-org"),
                dcc.Dropdown(id="dbe-org", options=org_opts, value=own, clearable=False)]),
        ]),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.description_ja", lang), dcc.Textarea(id="dbe-desc", value=doc.get("description_ja", ""),
                                                                     className="staff-input", maxLength=2000)),
            _field(t("dash.edit.description_en", lang), dcc.Textarea(id="dbe-desc-en",
                                                                     value=doc.get("description_en", ""),
                                                                     className="staff-input", maxLength=2000)),
        ]),
        html.Div(className="staff-row", children=[
            _field(t("dash.edit.visibility", lang), dcc.RadioItems(
                id="dbe-visibility", value=doc.get("visibility", "private"), inline=True, className="staff-radio",
                options=[{"label": t("staff.visibility.public", lang), "value": "public"},
                         {"label": t("staff.visibility.private", lang), "value": "private"}])),
            _field(t("dash.time_range", lang), dcc.Dropdown(
                id="dbe-range", value=rng, clearable=False, searchable=False,
                options=[{"label": t(f"dash.range.{r}", lang), "value": r} for r in RANGES]
                + [{"label": t("dash.range.custom", lang), "value": "custom"}])),
            html.Div(id="dbe-custom", className="staff-field dbe-custom", hidden=rng != "custom", children=[
                html.Label(t("dash.from", lang), htmlFor="dbe-from"),
                dcc.Input(id="dbe-from", type="datetime-local",
                          value="" if relative else str(time.get("from", ""))[:16],
                          className="staff-input"),
                html.Label(t("dash.to", lang), htmlFor="dbe-to"),
                dcc.Input(id="dbe-to", type="datetime-local",
                          value="" if relative or time.get("to") == "now" else str(time.get("to", ""))[:16],
                          className="staff-input"),
            ]),
            _field(t("dash.refresh", lang), dcc.Dropdown(
                id="dbe-refresh", value=doc.get("refresh", "off"), clearable=False, searchable=False,
                options=[{"label": t(f"dash.refresh.{r}", lang), "value": r} for r in REFRESHES])),
        ]),
        html.P(t("dash.edit.public_hint", lang), className="staff-hint"),
    ])


@viewer_sees_read_only("dbe")
def layout(slug: str | None = None, lang: str | None = None, add_sensor: str | None = None, **_query):
    lang = _lang(lang)
    staff = current_staff()
    slug = str(slug or "")[:60]
    add_sensor = str(add_sensor or "")[:120]
    if staff is None:
        q = urlencode({k: v for k, v in {"slug": slug, "add_sensor": add_sensor}.items() if v})
        return login_prompt(lang, login_url(PATH + (f"?{q}" if q else ""), lang), "dbe")
    is_new = not slug
    if is_new:
        doc = {"slug": "", "title_ja": "", "title_en": "", "visibility": "private",
               "time": {"from": "now-24h", "to": "now"}, "refresh": "off", "variables": [], "panels": []}
    else:
        try:
            meta = service.get_meta(get_db(), staff, slug)
            if not meta["editable"]:
                raise Refused(403, "forbidden", "dash.forbidden")
        except Refused as exc:
            return staff_frame(lang, "/staff/dashboards", staff, "dbe", [
                html.H2(t("dash.edit.title", lang)),
                html.P(t("dash.not_found" if exc.status == 404 else exc.message_key, lang), className="staff-error",
                       role="alert", id="dbe-refused"),
                html.A(t("dash.edit.back", lang), href=f"/staff/dashboards?lang={lang}")])
        doc = meta["doc"]
    panels = in_grid_order(doc.get("panels") or [])
    variables = doc.get("variables") or []
    form, open_ = blank_form(), False
    if add_sensor:
        with get_db().session() as s:
            visible = choices.visible_sensor_ids(s, staff, [add_sensor])
            sensor = s.get(Sensor, add_sensor) if visible else None
            names = (sensor.name_ja or sensor.id, sensor.name_en or "") if sensor else ("", "")
        if visible:
            form = blank_form("timeseries", "sensor_series")
            form.update(sensors=visible, title_ja=names[0], title_en=names[1], w=6, h=5)
            open_ = True
    opts = form_choices(staff, lang, form["kind"], variables, form.get("layer"), form.get("sensors"))
    view_href = f"/dashboards/{doc.get('slug')}?lang={lang}"
    return staff_frame(lang, "/staff/dashboards", staff, "dbe", [
        dcc.Store(id="dbe-lang", data=lang), dcc.Store(id="dbe-scroll"),
        dcc.Store(id="dbe-orig", data=doc.get("slug") if not is_new else ""),
        dcc.Store(id="dbe-base", data={k: v for k, v in doc.items() if k not in ("panels", "variables")}),
        dcc.Store(id="dbe-doc", data={"panels": panels}),
        dcc.Store(id="dbe-editing", data={"index": None, "id": new_panel_id(panels)} if open_ else None),
        html.Div(className="dbe-top", children=[
            html.H2(t("dash.edit.new_title" if is_new else "dash.edit.title", lang), id="dbe-heading"),
            html.Div(className="staff-links", children=[
                html.A(t("dash.edit.back", lang), href=f"/staff/dashboards?lang={lang}", className="staff-link"),
                html.A(t("dash.edit.open_view", lang), href=view_href, id="dbe-view-link", className="staff-link",
                       hidden=is_new, target="_blank"),
            ]),
        ]),
        _settings_card(doc, staff, lang, is_new),
        html.Section(className="staff-card", children=[
            html.H3(t("dash.edit.variables", lang)),
            html.P(t("dash.edit.variables_hint", lang), className="staff-hint"),
            html.Div(id="dbe-vars", children=variable_rows(variables, lang)),
            html.Button(t("dash.edit.var_add", lang), id="dbe-v-add", className="staff-button secondary"),
        ]),
        html.Section(className="staff-card", children=[
            html.H3(t("dash.edit.panels", lang)),
            html.P(t("dash.edit.panels_hint", lang), className="staff-hint"),
            html.Div(id="dbe-panels", children=panel_list(panels, lang)),
            html.Div(id="dbe-sketch-wrap", children=layout_sketch(panels, lang)),
            html.Button(t("dash.edit.add_panel", lang), id="dbe-add", className="staff-button"),
            html.Div(id="dbe-list-result", className="staff-result"),
        ]),
        panel_form(lang, form, opts, open_),
        html.Div(className="dbe-savebar", children=[
            html.Button(t("dash.edit.save", lang), id="dbe-save", className="staff-button"),
            html.Span(t("dash.edit.unsaved_hint", lang), className="staff-hint"),
            html.Div(id="dbe-save-result", className="staff-result"),
        ]),
    ], main_class="staff-main dbe-main")


# --- callbacks --------------------------------------------------------------------------------------

def _lang(value) -> str:
    return normalize_lang(value if isinstance(value, str) else None)


def _panels(store) -> list[dict]:
    return clean_panels(store.get("panels") if isinstance(store, dict) else None)


def _need_login(lang: str):
    return html.P(t("staff.need_login", lang), className="staff-error", role="alert")


def _clicked() -> dict | None:
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return None
    return trig


def _var_states():
    return [State({"type": f"dbe-v-{k}", "i": ALL}, "value") for k in VAR_FIELDS]


def _variables(values: list[list]) -> list[dict]:
    if not values or not all(isinstance(v, list) for v in values) or len({len(v) for v in values}) != 1:
        return []
    return variables_from_form(list(zip(*values)))


@callback(
    Output("dbe-vars", "children"),
    Input("dbe-v-add", "n_clicks"),
    Input({"type": "dbe-v-remove", "i": ALL}, "n_clicks"),
    *_var_states(),
    State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def change_variables(_add, _removes, *rest):
    *values, lang = rest
    lang = _lang(lang)
    if current_staff() is None:
        return _need_login(lang)
    variables = _variables(values)
    if ctx.triggered_id == "dbe-v-add":
        if len(variables) >= 10:
            raise PreventUpdate
        taken = {v["name"] for v in variables}
        n = 1
        while f"var{n}" in taken:
            n += 1
        variables.append({"name": "area" if "area" not in taken else f"var{n}", "type": "area",
                          "label_ja": "", "label_en": "", "options": [], "default": ""})
    else:
        clicked = _clicked()
        if clicked is None:
            raise PreventUpdate
        variables = [v for i, v in enumerate(variables) if i != clicked["i"]]
    return variable_rows(variables, lang)


@callback(Output("dbe-custom", "hidden"), Input("dbe-range", "value"))
def toggle_custom(rng):
    return rng != "custom"


@callback(
    Output("dbe-doc", "data"),
    Output("dbe-list-result", "children"),
    Input({"type": "dbe-up", "i": ALL}, "n_clicks"),
    Input({"type": "dbe-down", "i": ALL}, "n_clicks"),
    Input({"type": "dbe-del", "i": ALL}, "n_clicks"),
    Input({"type": "dbe-w", "i": ALL}, "value"),
    Input({"type": "dbe-h", "i": ALL}, "value"),
    State("dbe-doc", "data"), State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def change_panels(_ups, _downs, _dels, widths, heights, store, lang):
    lang = _lang(lang)
    if current_staff() is None:
        return no_update, _need_login(lang)
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not ctx.triggered:
        raise PreventUpdate
    panels = _panels(store)
    i = trig.get("i")
    if not isinstance(i, int) or not 0 <= i < len(panels):
        raise PreventUpdate
    kind = trig.get("type")
    value = ctx.triggered[0].get("value")
    if kind in ("dbe-w", "dbe-h"):
        g = panels[i].get("grid") or {}
        key = "w" if kind == "dbe-w" else "h"
        if not isinstance(value, int) or value == g.get(key):
            raise PreventUpdate  # a list drawn again, not a change
        panels = resize(panels, i, **{key: value})
    elif not value:
        raise PreventUpdate
    elif kind == "dbe-up":
        panels = move(panels, i, -1)
    elif kind == "dbe-down":
        panels = move(panels, i, 1)
    elif kind == "dbe-del":
        panels = reflow([p for j, p in enumerate(panels) if j != i])
    return {"panels": panels}, ""


@callback(
    Output("dbe-panels", "children"),
    Output("dbe-sketch-wrap", "children"),
    Input("dbe-doc", "data"),
    State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def draw_panels(store, lang):
    lang = _lang(lang)
    if current_staff() is None:
        raise PreventUpdate
    panels = _panels(store)
    return panel_list(panels, lang), layout_sketch(panels, lang)


FORM_OUTPUTS = [Output(FORM[name], "value", allow_duplicate=True) for name in FORM_NAMES]
FORM_STATES = [State(FORM[name], "value") for name in FORM_NAMES]
CHOICE_OUTPUTS = [Output("dbe-p-sensors", "options"), Output("dbe-p-layer", "options"),
                  Output("dbe-p-layers", "options"), Output("dbe-p-area", "options"),
                  Output("dbe-p-entity", "options"), Output("dbe-p-rule", "options")]


def _choice_values(opts: dict) -> list:
    return [opts["sensors"], opts["layer"], opts["layers"], opts["area"], opts["entity"], opts["rule"]]


@callback(
    Output("dbe-form", "hidden"),
    Output("dbe-editing", "data"),
    Output("dbe-form-result", "children"),
    Output("dbe-preview-box", "children"),
    Output("dbe-list-result", "children", allow_duplicate=True),
    *FORM_OUTPUTS,
    *[Output(o.component_id, o.component_property, allow_duplicate=True) for o in CHOICE_OUTPUTS],
    Input("dbe-add", "n_clicks"),
    Input({"type": "dbe-edit", "i": ALL}, "n_clicks"),
    Input("dbe-cancel", "n_clicks"),
    State("dbe-doc", "data"), *_var_states(), State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def open_form(_add, _edits, _cancel, store, *rest):
    *values, lang = rest
    lang = _lang(lang)
    staff = current_staff()
    if staff is None:
        raise PreventUpdate
    keep = [no_update] * (len(FORM_NAMES) + len(CHOICE_OUTPUTS))
    if ctx.triggered_id == "dbe-cancel":
        return (True, None, "", "", no_update, *keep)
    panels = _panels(store)
    if ctx.triggered_id == "dbe-add":
        if not _add:
            raise PreventUpdate
        form, editing = blank_form(), {"index": None, "id": new_panel_id(panels)}
    else:
        clicked = _clicked()
        if clicked is None or not isinstance(clicked.get("i"), int) or not 0 <= clicked["i"] < len(panels):
            raise PreventUpdate
        panel = panels[clicked["i"]]
        form, editing = form_from_panel(panel), {"index": clicked["i"], "id": panel.get("id")}
    opts = form_choices(staff, lang, form["kind"], _variables(values), form.get("layer"), form.get("sensors"))
    return (False, editing, "", "", "", *[form[name] for name in FORM_NAMES], *_choice_values(opts))


# the form opens below the list: bring it into view (and the list back when it closes)
clientside_callback(
    """function (editing) {
        var el = document.getElementById(editing ? "dbe-form" : "dbe-panels");
        if (el && (editing || window.__dbeFormWasOpen)) {
            setTimeout(function () { el.scrollIntoView({behavior: "smooth", block: "start"}); }, 50);
        }
        window.__dbeFormWasOpen = !!editing;
        return window.dash_clientside.no_update;
    }""",
    Output("dbe-scroll", "data"),
    Input("dbe-editing", "data"),
)


# a preview appears below the form's buttons: show it; a renamed dashboard keeps its address
clientside_callback(
    """function (preview, problems) {
        var id = window.dash_clientside.callback_context.triggered_id;
        var el = document.getElementById(id);
        if (el && (id === "dbe-preview-box" ? preview : problems)) {
            setTimeout(function () { el.scrollIntoView({behavior: "smooth", block: "center"}); }, 50);
        }
        return window.dash_clientside.no_update;
    }""",
    Output("dbe-scroll", "data", allow_duplicate=True),
    Input("dbe-preview-box", "children"),
    Input("dbe-form-result", "children"),
    prevent_initial_call=True,
)
clientside_callback(
    """function (slug) {
        if (slug) {
            var q = new URLSearchParams(window.location.search);
            if (q.get("slug") !== slug) {
                q.set("slug", slug); q.delete("add_sensor");
                window.history.replaceState(null, "", window.location.pathname + "?" + q.toString());
            }
        }
        return window.dash_clientside.no_update;
    }""",
    Output("dbe-scroll", "data", allow_duplicate=True),
    Input("dbe-orig", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("dbe-p-kind", "options"),
    Output("dbe-p-kind", "value"),
    Output("dbe-g-unit", "hidden"), Output("dbe-g-unit-en", "hidden"), Output("dbe-g-min", "hidden"),
    Output("dbe-g-max", "hidden"), Output("dbe-g-steps", "hidden"), Output("dbe-g-md", "hidden"),
    Output("dbe-g-md-en", "hidden"),
    Input("dbe-p-type", "value"),
    State("dbe-p-kind", "value"), State("dbe-lang", "data"),
)
def type_changed(ptype, kind, lang):
    lang = _lang(lang)
    allowed = kinds_for(ptype or "")
    if not allowed:
        raise PreventUpdate
    unit = ptype not in OPTION_GROUPS["unit"]
    minmax = ptype not in OPTION_GROUPS["minmax"]
    md = ptype not in OPTION_GROUPS["markdown"]
    return (_opts(allowed, "dash.edit.kind", lang), kind if kind in allowed else allowed[0], unit, unit, minmax, minmax,
            ptype not in OPTION_GROUPS["steps"], md, md)


@callback(
    *[Output(f"dbe-g-{g}", "hidden") for g in ALL_GROUPS],
    Output("dbe-p-fn", "options"), Output("dbe-p-fn", "value"),
    Output("dbe-p-by", "options"), Output("dbe-p-by", "value"),
    Output("dbe-p-layer", "options"),
    Output("dbe-kind-hint", "children"),
    Input("dbe-p-kind", "value"),
    State("dbe-p-fn", "value"), State("dbe-p-by", "value"), *_var_states(), State("dbe-lang", "data"),
)
def kind_changed(kind, fn, by, *rest):
    *values, lang = rest
    lang = _lang(lang)
    staff = current_staff()
    if staff is None or not isinstance(kind, str) or kind not in GROUPS:
        raise PreventUpdate
    used = set(GROUPS[kind])
    fns, bys = FNS.get(kind, ["avg"]), BYS.get(kind, ["area"])
    variables = _variables(values)
    with get_db().session() as s:
        if kind == "sensor_latest":
            layer_opts = choices.layers(s, staff, lang, with_sensors=True)
        elif kind in ("layer_stats", "layer_items"):
            layer_opts = choices.layers(s, staff, lang, with_items=True)
        else:
            layer_opts = []
    layer_opts = var_choices(variables, ("layer", "custom"), lang) + layer_opts
    return (*[g not in used for g in ALL_GROUPS], _opts(fns, "dash.edit.fn", lang), fn if fn in fns else fns[0],
            _opts(bys, "dash.edit.by", lang), by if by in bys else bys[0], layer_opts,
            t(f"dash.edit.kind_hint.{kind}", lang))


@callback(
    Output("dbe-p-propgroup", "options"), Output("dbe-p-value", "options"), Output("dbe-p-columns", "options"),
    *[Output(f"dbe-p-f{i}-prop", "options") for i in range(MAX_FILTERS)],
    Input("dbe-p-layer", "value"),
    State("dbe-lang", "data"),
)
def layer_changed(layer, lang):
    lang = _lang(lang)
    staff = current_staff()
    if staff is None:
        raise PreventUpdate
    with get_db().session() as s:
        props = [{"label": p, "value": p} for p in choices.properties(s, staff, layer or "")]
    return ([{"label": t("dash.edit.by_area", lang), "value": "@area"}] + props, props, props,
            *[props for _ in range(MAX_FILTERS)])


@callback(
    Output("dbe-p-attribute", "options"),
    Input("dbe-p-sensors", "value"),
)
def sensors_changed(sensors):
    staff = current_staff()
    if staff is None:
        raise PreventUpdate
    ids = [x for x in sensors if isinstance(x, str) and not x.startswith("$")] if isinstance(sensors, list) else []
    with get_db().session() as s:
        return [{"label": a, "value": a} for a in choices.attributes(s, staff, ids)]


def _form_values(values) -> dict:
    return dict(zip(FORM_NAMES, values))


def settings_of(values: list) -> dict:
    keys = ["slug", "title_ja", "title_en", "description_ja", "description_en", "visibility", "range", "from", "to",
            "refresh", "organisation"]
    return dict(zip(keys, values))


SETTINGS_STATES = [State("dbe-slug", "value"), State("dbe-title", "value"), State("dbe-title-en", "value"),
                   State("dbe-desc", "value"), State("dbe-desc-en", "value"), State("dbe-visibility", "value"),
                   State("dbe-range", "value"), State("dbe-from", "value"), State("dbe-to", "value"),
                   State("dbe-refresh", "value"), State("dbe-org", "value")]


def _form_panel(editing, store, values) -> dict:
    panels = _panels(store)
    editing = editing if isinstance(editing, dict) else {}
    index = editing.get("index")
    grid = panels[index].get("grid") if isinstance(index, int) and 0 <= index < len(panels) else None
    return panel_from_form(_form_values(values), str(editing.get("id") or new_panel_id(panels)), grid)


@callback(
    Output("dbe-preview-box", "children", allow_duplicate=True),
    Input("dbe-preview", "n_clicks"),
    State("dbe-editing", "data"), State("dbe-doc", "data"), State("dbe-base", "data"), *SETTINGS_STATES,
    *FORM_STATES, *_var_states(), State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def preview(n, editing, store, base, *rest):
    lang = _lang(rest[-1])
    settings = settings_of(rest[:len(SETTINGS_STATES)])
    form_values = rest[len(SETTINGS_STATES):len(SETTINGS_STATES) + len(FORM_NAMES)]
    var_values = list(rest[len(SETTINGS_STATES) + len(FORM_NAMES):-1])
    staff = current_staff()
    if staff is None:
        return _need_login(lang)
    if not n:
        raise PreventUpdate
    panel = _form_panel(editing, store, form_values)
    panel["grid"] = {"x": 0, "y": 0, "w": panel["grid"].get("w", 6), "h": panel["grid"].get("h", 4)}
    doc = build_doc(base or {}, settings, _variables(var_values), [])
    try:
        answer = service.preview_panel(get_db(), staff, doc, panel, service.ViewParams(lang=lang))
    except Refused as exc:
        return refusal_box(exc, lang, None, "dbe-preview-error", panel=True)
    return html.Div(className="dash-grid dbe-preview-grid", id="dbe-preview-grid",
                    children=[panel_frame("", panel, answer, lang, {}, csv_links=False)])


@callback(
    Output("dbe-doc", "data", allow_duplicate=True),
    Output("dbe-form-result", "children", allow_duplicate=True),
    Output("dbe-form", "hidden", allow_duplicate=True),
    Output("dbe-editing", "data", allow_duplicate=True),
    Output("dbe-preview-box", "children", allow_duplicate=True),
    Output("dbe-list-result", "children", allow_duplicate=True),
    Input("dbe-apply", "n_clicks"),
    State("dbe-editing", "data"), State("dbe-doc", "data"), *FORM_STATES, *_var_states(), State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def apply_panel(n, editing, store, *rest):
    lang = _lang(rest[-1])
    form_values = rest[:len(FORM_NAMES)]
    var_values = list(rest[len(FORM_NAMES):-1])
    staff = current_staff()
    if staff is None:
        return no_update, _need_login(lang), no_update, no_update, no_update, no_update
    if not n:
        raise PreventUpdate
    from pydantic import ValidationError

    from dashboards.model import Panel, parse_query, problems_of

    panel = _form_panel(editing, store, form_values)
    try:
        try:
            Panel.model_validate(panel)
        except ValidationError as exc:
            raise Refused(400, "invalid_dashboard", "dash.err.invalid_doc", problems_of(exc)) from None
        names = {v["name"] for v in _variables(var_values) if v["name"]}
        panel["query"] = parse_query(panel["type"], panel["query"], names)
    except Refused as exc:
        return (no_update, refusal_box(exc, lang, None, "dbe-form-error", panel=True), no_update, no_update, no_update,
                no_update)
    panels = _panels(store)
    index = editing.get("index") if isinstance(editing, dict) else None
    if isinstance(index, int) and 0 <= index < len(panels):
        old = panels[index].get("grid") or {}
        panels[index] = panel
        if (old.get("w"), old.get("h")) != (panel["grid"].get("w"), panel["grid"].get("h")):
            panels = reflow(panels)
    else:
        panels = reflow(panels + [panel])
    return ({"panels": panels}, "", True, None, "", ok_box(t("dash.edit.applied", lang)))


@callback(
    Output("dbe-save-result", "children"),
    Output("dbe-orig", "data"),
    Output("dbe-view-link", "href"),
    Output("dbe-view-link", "hidden"),
    Input("dbe-save", "n_clicks"),
    State("dbe-orig", "data"), State("dbe-doc", "data"), State("dbe-base", "data"), *SETTINGS_STATES,
    *_var_states(), State("dbe-lang", "data"),
    prevent_initial_call=True,
)
def save(n, orig, store, base, *rest):
    lang = _lang(rest[-1])
    settings = settings_of(rest[:len(SETTINGS_STATES)])
    var_values = list(rest[len(SETTINGS_STATES):-1])
    staff = current_staff()
    if staff is None:
        return _need_login(lang), no_update, no_update, no_update
    if not n:
        raise PreventUpdate
    doc = build_doc(base or {}, settings, _variables(var_values), _panels(store))
    try:
        saved = service.replace(get_db(), staff, str(orig), doc) if orig else service.create(get_db(), staff, doc)
    except Refused as exc:
        return refusal_box(exc, lang, doc, "dbe-save-error"), no_update, no_update, no_update
    href = f"/dashboards/{saved['slug']}?lang={lang}"
    return (ok_box(t("dash.edit.saved", lang), html.A(t("dash.edit.open_view", lang), href=href, id="dbe-saved-link")),
            saved["slug"], href, False)
