"""`/staff/alerts` — alert rules of the staff member's organisation (admin: all): create, edit,
pause, delete; recipient groups; mail preview; send a test mail. Every callback checks the staff
member itself (anyone can POST to /_dash-update-component)."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from alerts import access, rules
from alerts.config import config_of
from alerts.devices import DEVICE_CONDITIONS
from alerts.forms import (
    EMPTY_FORM,
    FORM_FIELDS,
    device_options,
    form_to_json,
    layer_options,
    op_options,
    rule_rows,
    rule_to_form,
    sensor_options,
)
from alerts.notification import preview, send_test_mail
from alerts.rules_json import EMAIL
from components.header import header
from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import staff_top
from i18n import normalize_lang, t
from refusal import Refused
from store import alerts as sa, audit
from store.db import get_db

dash.register_page(__name__, path="/staff/alerts", title=page_title("alerts.page.title"))

FIELD_IDS = {k: f"staff-alerts-{k.replace('_', '-')}" for k in FORM_FIELDS}
TARGETS = ("sensor", "layer", "area", "property", "device")


def _field(label: str, control, field_id: str, hint: str = "", row_id: str | None = None):
    return html.Div(className="form-row", id=row_id or f"{field_id}-row", children=[
        html.Label(label, htmlFor=field_id), control] + ([html.Small(hint, className="form-hint")] if hint else []))


def _num(key: str, value=None, step="any"):
    return dcc.Input(id=FIELD_IDS[key], type="number", value=value, step=step, debounce=False, className="form-input")


def rule_table(rows: list[dict], lang: str):
    if not rows:
        return html.P(t("alerts.page.no_rules", lang), className="muted", id="staff-alerts-empty")
    head = html.Thead(html.Tr([html.Th(t(f"alerts.list.{c}", lang)) for c in
                               ("name", "target", "condition", "state", "owner", "actions")]))
    body = []
    for r in rows:
        body.append(html.Tr(className=f"rule-row rule-{r['state']}", children=[
            html.Td(r["name"], className="rule-name"), html.Td(r["target"]), html.Td(r["condition"]),
            html.Td(html.Span(r["state_text"], className=f"state-badge state-{r['state']}")),
            html.Td(" / ".join(x for x in (r["organisation"], r["owner"]) if x)),
            html.Td(className="rule-actions", children=[
                html.Button(t("alerts.btn.edit", lang), id={"type": "staff-alerts-edit", "id": r["id"]},
                            className="btn btn-small"),
                html.Button(t("alerts.btn.resume" if r["paused"] else "alerts.btn.pause", lang),
                            id={"type": "staff-alerts-pause", "id": r["id"]}, className="btn btn-small"),
                html.Button(t("alerts.btn.delete", lang), id={"type": "staff-alerts-delete", "id": r["id"]},
                            className="btn btn-small btn-danger"),
            ]),
        ]))
    return html.Table([head, html.Tbody(body)], className="data-table", id="staff-alerts-table")


def _lists(staff, lang):
    with get_db().session() as s:
        return (rule_rows(s, staff, lang), sensor_options(s, staff, lang), layer_options(s, staff, lang),
                [{"label": f"{g.name} ({len(g.emails or [])})", "value": g.id}
                 for g in sa.groups_of(s, staff.organisation_id)], device_options(s, staff, lang))


@viewer_sees_read_only("staff-alerts")
def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = access.staff()
    top = header(lang, "/staff/alerts", {}, "staff-alerts")
    if staff is None:
        return html.Div(className="page alerts-page", lang=lang,
                        children=[top, html.Main(className="page-body", children=[
            html.H2(t("alerts.page.title", lang)),
            html.P(t("alerts.page.login_needed", lang), id="staff-alerts-login"),
            html.A(t("alerts.page.login", lang), href=access.login_url("/staff/alerts", lang), className="btn"),
        ])])
    rows, sensors, layers, groups, devices = _lists(staff, lang)
    f = EMPTY_FORM
    form = html.Div(className="card", id="staff-alerts-form", children=[
        html.H3(t("alerts.form.title", lang), id="staff-alerts-form-title"),
        _field(t("alerts.form.name", lang), dcc.Input(id=FIELD_IDS["name"], value="", className="form-input",
                                                       maxLength=200), FIELD_IDS["name"]),
        _field(t("alerts.form.target", lang), dcc.RadioItems(
            id=FIELD_IDS["target"], value=f["target"], inline=True, className="radio-inline",
            options=[{"label": t(f"alerts.target.{k}", lang), "value": k} for k in TARGETS]), FIELD_IDS["target"]),
        _field(t("alerts.form.sensor", lang), dcc.Dropdown(id=FIELD_IDS["sensor_id"], options=sensors,
                                                           placeholder=t("alerts.form.pick", lang)),
               FIELD_IDS["sensor_id"]),
        _field(t("alerts.form.layer", lang), dcc.Dropdown(id=FIELD_IDS["layer_id"], options=layers,
                                                          placeholder=t("alerts.form.pick", lang)),
               FIELD_IDS["layer_id"]),
        _field(t("alerts.form.property", lang), dcc.Input(id=FIELD_IDS["property"], value="", className="form-input"),
               FIELD_IDS["property"], t("alerts.form.property_hint", lang)),
        _field(t("alerts.form.device_id", lang), dcc.Dropdown(id=FIELD_IDS["device_id"], options=devices,
                                                              placeholder=t("alerts.form.device_all", lang)),
               FIELD_IDS["device_id"], t("alerts.form.device_hint", lang)),
        _field(t("alerts.form.area", lang), dcc.Input(id=FIELD_IDS["area"], value="", className="form-input",
                                                      placeholder="136.70, 36.85, 136.85, 36.95"),
               FIELD_IDS["area"], t("alerts.form.area_hint", lang)),
        _field(t("alerts.form.device_condition", lang), dcc.RadioItems(
            id=FIELD_IDS["device_condition"], value=f["device_condition"], className="radio-inline",
            options=[{"label": t(f"alerts.cond.{k}", lang), "value": k} for k in DEVICE_CONDITIONS]),
            FIELD_IDS["device_condition"]),
        html.Div(className="form-grid", id="staff-alerts-snow-fields", children=[
            _field(t("alerts.form.depth_over", lang), _num("depth_over", step=1), FIELD_IDS["depth_over"]),
            _field(t("alerts.form.within_m", lang), _num("within_m", f["within_m"], step=100), FIELD_IDS["within_m"],
                   t("alerts.form.within_hint", lang)),
        ]),
        html.Div(className="form-grid", children=[
            _field(t("alerts.form.attribute", lang), dcc.Input(id=FIELD_IDS["attribute"], value="snowDepth",
                                                               className="form-input"), FIELD_IDS["attribute"]),
            _field(t("alerts.form.op", lang), dcc.Dropdown(id=FIELD_IDS["op"], options=op_options(), value=">",
                                                           clearable=False), FIELD_IDS["op"]),
            _field(t("alerts.form.threshold", lang), _num("threshold"), FIELD_IDS["threshold"]),
            _field(t("alerts.form.clear_threshold", lang), _num("clear_threshold"), FIELD_IDS["clear_threshold"],
                   t("alerts.form.clear_hint", lang)),
            _field(t("alerts.form.for_minutes", lang), _num("for_minutes", 0), FIELD_IDS["for_minutes"]),
            _field(t("alerts.form.repeat_minutes", lang), _num("repeat_minutes", 0), FIELD_IDS["repeat_minutes"],
                   t("alerts.form.repeat_hint", lang)),
            _field(t("alerts.form.no_data_minutes", lang), _num("no_data_minutes", 0), FIELD_IDS["no_data_minutes"],
                   t("alerts.form.no_data_hint", lang)),
            _field(t("alerts.form.quiet_start", lang), dcc.Input(id=FIELD_IDS["quiet_start"], value="", type="text",
                                                                 placeholder="22:00", className="form-input"),
                   FIELD_IDS["quiet_start"]),
            _field(t("alerts.form.quiet_end", lang), dcc.Input(id=FIELD_IDS["quiet_end"], value="", type="text",
                                                               placeholder="06:00", className="form-input"),
                   FIELD_IDS["quiet_end"], t("alerts.form.quiet_hint", lang)),
        ]),
        _field(t("alerts.form.recipients", lang), dcc.Textarea(id=FIELD_IDS["recipients"], value="",
                                                               className="form-input", rows=3),
               FIELD_IDS["recipients"], t("alerts.form.recipients_hint", lang)),
        _field(t("alerts.form.groups", lang), dcc.Checklist(id=FIELD_IDS["groups"], options=groups, value=[],
                                                            className="radio-inline"), FIELD_IDS["groups"],
               t("alerts.form.groups_hint", lang)),
        _field(t("alerts.form.language", lang), dcc.RadioItems(id=FIELD_IDS["language"], value="ja", inline=True,
                                                               className="radio-inline",
                                                               options=[{"label": "日本語", "value": "ja"},
                                                                        {"label": "English", "value": "en"}]),
               FIELD_IDS["language"]),
        _field("", dcc.Checklist(id=FIELD_IDS["public"], value=[], className="radio-inline",
                                 options=[{"label": t("alerts.form.public", lang), "value": "public"}]),
               FIELD_IDS["public"]),
        html.Div(className="form-actions", children=[
            html.Button(t("alerts.btn.save", lang), id="staff-alerts-save", className="btn btn-primary"),
            html.Button(t("alerts.btn.new", lang), id="staff-alerts-new", className="btn"),
            html.Button(t("alerts.btn.preview", lang), id="staff-alerts-preview", className="btn"),
        ]),
        html.Div(className="form-actions", children=[
            html.Label(t("alerts.form.test_to", lang), htmlFor="staff-alerts-test-to"),
            dcc.Input(id="staff-alerts-test-to", value=staff.email, type="email", className="form-input"),
            html.Button(t("alerts.btn.test", lang), id="staff-alerts-test", className="btn"),
        ]),
        html.P(id="staff-alerts-message", role="status", className="form-message"),
    ])
    groups_card = html.Div(className="card", children=[
        html.H3(t("alerts.groups.title", lang)),
        _field(t("alerts.groups.name", lang), dcc.Input(id="staff-alerts-group-name", value="", className="form-input"),
               "staff-alerts-group-name"),
        _field(t("alerts.groups.emails", lang), dcc.Textarea(id="staff-alerts-group-emails", value="", rows=3,
                                                             className="form-input"), "staff-alerts-group-emails"),
        html.Button(t("alerts.btn.save_group", lang), id="staff-alerts-group-save", className="btn"),
        html.P(id="staff-alerts-group-message", role="status", className="form-message"),
    ])
    top = staff_top(lang, "/staff/alerts", staff, "staff-alerts")  # logged in: the staff bar and menu
    return html.Div(className="page alerts-page", lang=lang,
                    children=[top, html.Main(className="page-body page-wide", children=[
        dcc.Store(id="staff-alerts-lang", data=lang),
        dcc.Store(id="staff-alerts-editing", data=None),
        html.Div(className="page-head", children=[
            html.H2(t("alerts.page.title", lang)),
            html.A(t("alerts.page.history_link", lang), href=f"/staff/alerts/history?lang={lang}",
                   id="staff-alerts-history-link"),
        ]),
        html.Div(id="staff-alerts-list", children=rule_table(rows, lang)),
        html.Div(className="two-col", children=[
            html.Div([form, groups_card]),
            html.Div(className="card", children=[
                html.H3(t("alerts.preview.title", lang)),
                html.P(id="staff-alerts-preview-subject", className="preview-subject"),
                html.Iframe(id="staff-alerts-preview-frame", className="preview-frame", sandbox="",
                            title=t("alerts.preview.title", lang),
                            srcDoc='<p style="font-family:sans-serif;color:#52606d">'
                                   f'{t("alerts.preview.empty", lang)}</p>'),
            ]),
        ]),
    ])])


FORM_STATES = [State(FIELD_IDS[k], "value") for k in FORM_FIELDS]
FORM_OUTPUTS = [Output(FIELD_IDS[k], "value") for k in FORM_FIELDS]


def _errors_text(exc: Refused, lang: str) -> str:
    return t(exc.message_key, lang, **exc.fmt) + " " + " ".join(
        f"[{t('alerts.form.' + d['field'], lang) if d.get('field') else ''}] {t(d['message_key'], lang)}"
        for d in exc.details if isinstance(d, dict) and "message_key" in d)


@callback(
    Output("staff-alerts-list", "children"),
    Output("staff-alerts-editing", "data"),
    Output("staff-alerts-message", "children"),
    Output("staff-alerts-form-title", "children"),
    *FORM_OUTPUTS,
    Input("staff-alerts-save", "n_clicks"),
    Input("staff-alerts-new", "n_clicks"),
    Input({"type": "staff-alerts-edit", "id": ALL}, "n_clicks"),
    Input({"type": "staff-alerts-pause", "id": ALL}, "n_clicks"),
    Input({"type": "staff-alerts-delete", "id": ALL}, "n_clicks"),
    State("staff-alerts-editing", "data"),
    State("staff-alerts-lang", "data"),
    *FORM_STATES,
    prevent_initial_call=True,
)
def rule_actions(_save, _new, edit_clicks, pause_clicks, delete_clicks, editing, lang, *values):
    staff = access.staff()
    if staff is None:
        raise PreventUpdate
    trig = ctx.triggered_id
    if isinstance(trig, dict) and not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate  # a list re-render, not a click
    lang = normalize_lang(lang)
    keep = [no_update] * len(FORM_FIELDS)
    new_title = t("alerts.form.title", lang)
    with get_db().session() as s:
        if trig == "staff-alerts-new":
            return no_update, None, "", new_title, *[EMPTY_FORM[k] for k in FORM_FIELDS]
        if trig == "staff-alerts-save":
            data = form_to_json(dict(zip(FORM_FIELDS, values)))
            try:
                rule = (rules.update(s, staff, editing, data, config_of(get_db()), replace=True) if editing
                        else rules.create(s, staff, data, config_of(get_db())))
            except Refused as exc:
                s.rollback()
                if exc.status == 404:
                    raise PreventUpdate from None
                return no_update, no_update, _errors_text(exc, lang), no_update, *keep
            msg = t("alerts.msg.saved", lang, name=rule.name)
            return (rule_table(rule_rows(s, staff, lang), lang), rule.id, msg,
                    t("alerts.form.editing", lang, name=rule.name), *keep)
        if not isinstance(trig, dict):
            raise PreventUpdate
        try:
            if trig["type"] == "staff-alerts-edit":
                rule = rules.find(s, staff, trig.get("id"))
                form = rule_to_form(rule)
                return (no_update, rule.id, "", t("alerts.form.editing", lang, name=rule.name),
                        *[form[k] for k in FORM_FIELDS])
            if trig["type"] == "staff-alerts-pause":
                rule = rules.find(s, staff, trig.get("id"))
                rules.set_paused(s, staff, rule.id, not rule.paused)
                msg = t("alerts.msg.paused" if rule.paused else "alerts.msg.resumed", lang, name=rule.name)
                return rule_table(rule_rows(s, staff, lang), lang), no_update, msg, no_update, *keep
            name = rules.delete(s, staff, trig.get("id"))
        except Refused:
            raise PreventUpdate from None
        s.flush()
        out_editing = None if editing == trig["id"] else no_update
        return (rule_table(rule_rows(s, staff, lang), lang), out_editing, t("alerts.msg.deleted", lang, name=name),
                new_title if out_editing is None else no_update, *keep)


@callback(
    Output("staff-alerts-preview-subject", "children"),
    Output("staff-alerts-preview-frame", "srcDoc"),
    Output("staff-alerts-message", "children", allow_duplicate=True),
    Input("staff-alerts-preview", "n_clicks"),
    Input("staff-alerts-test", "n_clicks"),
    State("staff-alerts-test-to", "value"),
    State("staff-alerts-editing", "data"),
    State("staff-alerts-lang", "data"),
    *FORM_STATES,
    prevent_initial_call=True,
)
def preview_or_test(_preview, _test, test_to, editing, lang, *values):
    staff = access.staff()
    if staff is None:
        raise PreventUpdate
    lang = normalize_lang(lang)
    config = config_of(get_db())
    with get_db().session() as s:
        try:
            # the form as it stands (saved or not), never added to the session
            rule = rules.draft(s, staff, form_to_json(dict(zip(FORM_FIELDS, values))), editing)
        except Refused as exc:
            if exc.status == 404:
                raise PreventUpdate from None
            return no_update, no_update, _errors_text(exc, lang)
        if ctx.triggered_id == "staff-alerts-test":
            to = (test_to or "").strip()
            if not EMAIL.fullmatch(to):
                return no_update, no_update, t("alerts.sub.bad_email", lang)
            send_test_mail(s, config, rule, to=to)
            subject, _text, body = preview(s, config, rule, "test")
            return subject, body, t("alerts.msg.test_queued", lang, to=to)
        subject, _text, body = preview(s, config, rule, "fired")
        return subject, body, no_update


@callback(
    Output("staff-alerts-group-message", "children"),
    Output(FIELD_IDS["groups"], "options"),
    Input("staff-alerts-group-save", "n_clicks"),
    State("staff-alerts-group-name", "value"),
    State("staff-alerts-group-emails", "value"),
    State("staff-alerts-lang", "data"),
    prevent_initial_call=True,
)
def save_group(_n, name, emails, lang):
    import re

    staff = access.staff()
    if staff is None or not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
        raise PreventUpdate
    lang = normalize_lang(lang)
    name = (name or "").strip()[:200]
    addrs = [a for a in re.split(r"[\s,;]+", emails or "") if a]
    if not name or not addrs or any(not EMAIL.fullmatch(a) for a in addrs):
        return t("alerts.groups.invalid", lang), no_update
    with get_db().session() as s:
        existing = next((g for g in sa.groups_of(s, staff.organisation_id) if g.name == name), None)
        before = {"emails": list(existing.emails or []) if existing else []}
        sa.save_group(s, staff.organisation_id, name, addrs, existing.id if existing else None)
        audit.record(s, staff, "rule.recipients", f"recipients:{name}", name,
                     changes=audit.diff(before, {"emails": addrs}))
        options = [{"label": f"{g.name} ({len(g.emails or [])})", "value": g.id}
                   for g in sa.groups_of(s, staff.organisation_id)]
    return t("alerts.groups.saved", lang, name=name), options


NUMBER_FIELDS = ("attribute", "op", "threshold", "clear_threshold")


@callback(
    *[Output(f"{FIELD_IDS[k]}-row", "style") for k in ("sensor_id", "layer_id", "property", "area", "device_id",
                                                          "device_condition", *NUMBER_FIELDS)],
    Output("staff-alerts-snow-fields", "style"),
    Input(FIELD_IDS["target"], "value"),
    Input(FIELD_IDS["device_id"], "value"),
    Input(FIELD_IDS["device_condition"], "value"),
)
def show_target_fields(target, device_id, condition):
    show, hide = {}, {"display": "none"}
    device = target == "device"
    return (show if target == "sensor" else hide,
            show if target in ("layer", "property", "area") else hide,
            show if target == "property" else hide,
            show if target == "area" or (device and not device_id) else hide,
            show if device else hide,
            show if device else hide,
            *[hide if device else show for _ in NUMBER_FIELDS],
            show if device and condition == "stopped_while_snow" else hide)
