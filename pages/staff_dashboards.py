"""`/staff/dashboards` — the dashboards a staff member may change (their organisation's; admins:
all): create one, open it in the editor, duplicate, delete (with confirmation), export as JSON,
import from JSON, and the version history with restore. `?add_sensor=<id>` (from /staff/explore):
pick the dashboard a time-series panel of that sensor goes to.

The rules live in dashboards/service.py; every callback asks who is logged in itself and lets the
service decide (another organisation's private dashboard is "not found")."""
from __future__ import annotations

import base64
import binascii
import json
import re
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
from components.read_only import viewer_sees_read_only
from components.staff import login_prompt, request_lang, staff_frame
from dashboards import service
from i18n import normalize_lang, t
from layers.snow_depth import JST
from refusal import Refused
from store.db import get_db
from store.layers import organisations

PATH = "/staff/dashboards"
MAX_IMPORT_BYTES = 2 * 1024 * 1024

dash.register_page(__name__, path=PATH, title=lambda **_: f"{t('dash.staff.title', request_lang())} | "
                   f"{t('app.short', request_lang())}")


# --- plain helpers (tested directly) ---------------------------------------------------------------

def suggest_slug(title_en: str | None, title_ja: str | None) -> str:
    """A URL name from the English title (Japanese titles have no spelling in a-z): lower case,
    hyphens; "" when nothing usable remains."""
    for text in (title_en, title_ja):
        slug = re.sub(r"[^a-z0-9]+", "-", str(text or "").lower()).strip("-")[:50].strip("-")
        if len(slug) >= 2:
            return slug
    return ""


def read_upload(contents: str | None) -> object:
    """The JSON of a dcc.Upload data URL; Refused 400 when it is not JSON."""
    if not contents or "," not in str(contents):
        raise Refused(400, "bad_request", "dash.staff.import_not_json")
    try:
        raw = base64.b64decode(str(contents).split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        raise Refused(400, "bad_request", "dash.staff.import_not_json") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise Refused(413, "too_large", "dash.staff.import_too_large")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "bad_request", "dash.staff.import_not_json") from None


def import_document(db, staff, data) -> dict:
    """Create a dashboard from exported JSON. An editor's import always lands in their own
    organisation (an export names the organisation it came from)."""
    if staff is None:
        raise Refused(401, "unauthorized", "dash.err.login")
    if isinstance(data, dict) and not staff.is_admin:
        data = {**data, "organisation": ""}
    return service.create(db, staff, data)


def new_document(title_ja, title_en, slug, organisation) -> dict:
    text = lambda v: v.strip() if isinstance(v, str) else ""  # noqa: E731 - anything else counts as empty
    return {"slug": text(slug) or suggest_slug(text(title_en), text(title_ja)), "title_ja": text(title_ja),
            "title_en": text(title_en), "organisation": text(organisation), "visibility": "private", "panels": []}


# --- layout ----------------------------------------------------------------------------------------

def _time(dt) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt else ""


def dashboard_table(staff, lang: str, add_sensor: str = ""):
    items = service.list_dashboards(get_db(), staff, mine=True)
    if not items:
        return html.P(t("dash.staff.none", lang), className="staff-hint", id="sdash-none")
    head = html.Tr([html.Th(t(f"dash.staff.col.{k}", lang)) for k in ("title", "org", "visibility", "panels",
                                                                       "updated", "actions")])
    rows = []
    for d in items:
        org = d.organisation_name_en if lang == "en" and d.organisation_name_en else d.organisation_name_ja
        edit_q = {"slug": d.slug, "lang": lang, **({"add_sensor": add_sensor} if add_sensor else {})}
        edit = html.A(t("dash.staff.add_here" if add_sensor else "dash.staff.edit", lang),
                      href=f"/staff/dashboards/edit?{urlencode(edit_q)}", className="staff-button small",
                      id={"type": "sdash-edit", "slug": d.slug})
        rows.append(html.Tr(id={"type": "sdash-row", "slug": d.slug}, children=[
            html.Td([html.A(d.title(lang), href=f"/dashboards/{d.slug}?lang={lang}", className="sdash-title"),
                     html.Div(f"/dashboards/{d.slug}", className="staff-meta")]),
            html.Td(org),
            html.Td(html.Span(t(f"staff.visibility.{d.visibility}", lang), className=f"staff-badge {d.visibility}")),
            html.Td(t("dash.panel_count", lang, n=d.panels), className="num"),
            html.Td([_time(d.updated_at),
                     html.Div(t("dash.staff.version", lang, n=d.version), className="staff-meta")]),
            html.Td(className="sdash-actions", children=[
                edit,
                html.Button(t("dash.staff.duplicate", lang), id={"type": "sdash-dup", "slug": d.slug},
                            className="staff-button secondary small"),
                html.Button(t("dash.staff.export", lang), id={"type": "sdash-export", "slug": d.slug},
                            className="staff-button secondary small"),
                html.Button(t("dash.staff.history", lang), id={"type": "sdash-history", "slug": d.slug},
                            className="staff-button secondary small"),
                html.Button(t("dash.staff.delete", lang), id={"type": "sdash-delete", "slug": d.slug},
                            className="staff-button danger small"),
            ]),
        ]))
    return html.Div(className="staff-table-scroll", children=html.Table(
        className="staff-table sdash-table", id="sdash-table", children=[html.Thead(head), html.Tbody(rows)]))


def _org_field(staff, lang: str):
    """Admins choose the organisation; editors' dashboards always belong to their own (the field is
    there, hidden, so the callback's State exists on every page)."""
    with get_db().session() as s:
        orgs = organisations(s)
        own = next((o.code for o in orgs.values() if o.id == staff.organisation_id), "")
        options = [{"label": (o.name_en if lang == "en" else o.name_ja), "value": o.code}
                   for o in sorted(orgs.values(), key=lambda o: o.id) if staff.is_admin or o.code == own]
    return html.Div(className="staff-field", hidden=not staff.is_admin, children=[
        html.Label(t("dash.staff.organisation", lang), htmlFor="sdash-new-org"),
        dcc.Dropdown(id="sdash-new-org", options=options, value=own, clearable=False)])


@viewer_sees_read_only("sdash")
def layout(lang: str | None = None, add_sensor: str | None = None, **_query):
    lang = _lang(lang)
    staff = current_staff()
    add_sensor = str(add_sensor or "")[:120]
    if staff is None:
        nxt = PATH + (f"?{urlencode({'add_sensor': add_sensor})}" if add_sensor else "")
        return login_prompt(lang, login_url(nxt, lang), "sdash")

    def field(key, comp):
        return html.Div(className="staff-field", children=[html.Label(t(key, lang), htmlFor=comp.id), comp])

    intro = [html.H2(t("dash.staff.title", lang)), html.P(t("dash.staff.intro", lang), className="staff-hint")]
    if add_sensor:
        intro.append(html.P(t("dash.staff.pick_for_sensor", lang, sensor=add_sensor), className="staff-warning",
                            id="sdash-add-sensor-note"))
    return staff_frame(lang, PATH, staff, "sdash", [
        dcc.Store(id="sdash-lang", data=lang),
        dcc.Store(id="sdash-add-sensor", data=add_sensor),
        dcc.Store(id="sdash-pending"), dcc.Store(id="sdash-scroll"),
        dcc.Location(id="sdash-go", refresh=True),
        dcc.Download(id="sdash-download"),
        dcc.ConfirmDialog(id="sdash-confirm"),
        *intro,
        html.Div(className="staff-links", children=[
            html.A(t("dash.staff.public_list", lang), href=f"/dashboards?lang={lang}", className="staff-link")]),
        html.Section(className="staff-card", children=[
            html.H3(t("dash.staff.new", lang)),
            html.Div(className="staff-row", children=[
                field("dash.staff.title_ja", dcc.Input(id="sdash-new-title", maxLength=200, className="staff-input")),
                field("dash.staff.title_en",
                      dcc.Input(id="sdash-new-title-en", maxLength=200, className="staff-input")),
            ]),
            html.Div(className="staff-row", children=[
                field("dash.staff.slug", dcc.Input(id="sdash-new-slug", maxLength=60, className="staff-input",
                                                   placeholder="")),
                _org_field(staff, lang),
            ]),
            html.P(t("dash.staff.slug_hint", lang), className="staff-hint"),
            html.Button(t("dash.staff.create", lang), id="sdash-create", className="staff-button"),
            html.Div(id="sdash-create-result", className="staff-result"),
        ]),
        html.Section(className="staff-card", children=[
            html.H3(t("dash.staff.mine", lang)),
            html.Div(id="sdash-message", className="staff-result"),
            html.Div(id="sdash-list", children=dashboard_table(staff, lang, add_sensor)),
        ]),
        html.Section(className="staff-card", id="sdash-history-card", children=[
            html.H3(t("dash.staff.history_title", lang)),
            html.Div(id="sdash-history", children=html.P(t("dash.staff.history_pick", lang), className="staff-hint")),
        ]),
        html.Section(className="staff-card", children=[
            html.H3(t("dash.staff.import", lang)),
            html.P(t("dash.staff.import_hint", lang), className="staff-hint"),
            dcc.Upload(id="sdash-upload", accept=".json,application/json", max_size=MAX_IMPORT_BYTES,
                       className="sdash-upload", children=html.Div(t("dash.staff.import_drop", lang))),
            html.Div(id="sdash-import-result", className="staff-result"),
        ]),
    ])


# --- callbacks -------------------------------------------------------------------------------------

# the history appears below the list: bring it into view (on a phone it is far down)
clientside_callback(
    """function (history) {
        var el = document.getElementById("sdash-history-card");
        if (history && el) {
            setTimeout(function () { el.scrollIntoView({behavior: "smooth", block: "nearest"}); }, 50);
        }
        return window.dash_clientside.no_update;
    }""",
    Output("sdash-scroll", "data"),
    Input("sdash-history", "children"),
    prevent_initial_call=True,
)

def _lang(value) -> str:
    return normalize_lang(value if isinstance(value, str) else None)


def _need_login(lang: str):
    return html.P(t("staff.need_login", lang), className="staff-error", role="alert")


def _clicked() -> dict | None:
    """The pattern-matching button that was really clicked (a re-drawn list fires with None)."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return None
    return trig


@callback(Output("sdash-new-slug", "placeholder"), Input("sdash-new-title", "value"),
          Input("sdash-new-title-en", "value"))
def slug_suggestion(title_ja, title_en):
    return suggest_slug(title_en, title_ja) or "my-dashboard"


@callback(
    Output("sdash-create-result", "children"),
    Output("sdash-go", "href"),
    Input("sdash-create", "n_clicks"),
    State("sdash-new-title", "value"), State("sdash-new-title-en", "value"), State("sdash-new-slug", "value"),
    State("sdash-new-org", "value"), State("sdash-lang", "data"),
    State("sdash-add-sensor", "data"),
    prevent_initial_call=True,
)
def create(n, title_ja, title_en, slug, org, lang, add_sensor):
    lang = _lang(lang)
    staff = current_staff()
    if staff is None:
        return _need_login(lang), no_update
    if not n:
        raise PreventUpdate
    doc = new_document(title_ja, title_en, slug, org if isinstance(org, str) else "")
    try:
        made = service.create(get_db(), staff, doc)
    except Refused as exc:
        return refusal_box(exc, lang, doc, "sdash-create-error"), no_update
    q = {"slug": made["slug"], "lang": lang, **({"add_sensor": add_sensor} if add_sensor else {})}
    return ok_box(t("dash.staff.created", lang)), f"/staff/dashboards/edit?{urlencode(q)}"


@callback(
    Output("sdash-list", "children"),
    Output("sdash-message", "children"),
    Output("sdash-history", "children", allow_duplicate=True),
    Input({"type": "sdash-dup", "slug": ALL}, "n_clicks"),
    Input("sdash-confirm", "submit_n_clicks"),
    Input({"type": "sdash-restore", "slug": ALL, "v": ALL}, "n_clicks"),
    State("sdash-pending", "data"), State("sdash-lang", "data"), State("sdash-add-sensor", "data"),
    prevent_initial_call=True,
)
def act(_dups, confirmed, _restores, pending, lang, add_sensor):
    lang = _lang(lang)
    staff = current_staff()
    if staff is None:
        return no_update, _need_login(lang), no_update
    db = get_db()
    trig = ctx.triggered_id
    history = no_update
    try:
        if trig == "sdash-confirm":
            if not confirmed or not pending:
                raise PreventUpdate
            service.delete(db, staff, str(pending))
            msg = ok_box(t("dash.staff.deleted", lang))
            history = html.P(t("dash.staff.history_pick", lang), className="staff-hint")
        else:
            clicked = _clicked()
            if clicked is None:
                raise PreventUpdate
            if clicked["type"] == "sdash-dup":
                copy = service.duplicate(db, staff, str(clicked["slug"]))
                msg = ok_box(t("dash.staff.duplicated", lang, title=copy["title_ja"] if lang == "ja"
                               else (copy.get("title_en") or copy["title_ja"])))
            else:
                doc = service.restore(db, staff, str(clicked["slug"]), int(clicked["v"]))
                msg = ok_box(t("dash.staff.restored", lang, v=int(clicked["v"])))
                history = history_list(staff, doc["slug"], lang)
    except Refused as exc:
        return no_update, refusal_box(exc, lang), no_update
    except (TypeError, ValueError):
        raise PreventUpdate from None
    return dashboard_table(staff, lang, add_sensor or ""), msg, history


@callback(
    Output("sdash-import-result", "children"),
    Output("sdash-list", "children", allow_duplicate=True),
    Input("sdash-upload", "contents"),
    State("sdash-upload", "filename"), State("sdash-lang", "data"), State("sdash-add-sensor", "data"),
    prevent_initial_call=True,
)
def import_json(contents, filename, lang, add_sensor):
    lang = _lang(lang)
    staff = current_staff()
    if staff is None:
        return _need_login(lang), no_update
    if not contents:
        raise PreventUpdate
    data = None
    try:
        data = read_upload(contents)
        made = import_document(get_db(), staff, data)
    except Refused as exc:
        return refusal_box(exc, lang, data if isinstance(data, dict) else None, "sdash-import-error"), no_update
    title = made["title_en"] if lang == "en" and made.get("title_en") else made["title_ja"]
    link = html.A(t("dash.staff.edit", lang), href=f"/staff/dashboards/edit?slug={made['slug']}&lang={lang}")
    return ok_box(t("dash.staff.imported", lang, title=title), link), dashboard_table(staff, lang, add_sensor or "")


@callback(
    Output("sdash-pending", "data"),
    Output("sdash-confirm", "displayed"),
    Output("sdash-confirm", "message"),
    Input({"type": "sdash-delete", "slug": ALL}, "n_clicks"),
    State("sdash-lang", "data"),
    prevent_initial_call=True,
)
def ask_delete(_n, lang):
    lang = _lang(lang)
    clicked = _clicked()
    staff = current_staff()
    if clicked is None or staff is None:
        raise PreventUpdate
    try:
        meta = service.get_meta(get_db(), staff, str(clicked["slug"]))
    except Refused:
        raise PreventUpdate from None
    doc = meta["doc"]
    title = doc["title_en"] if lang == "en" and doc.get("title_en") else doc["title_ja"]
    return doc["slug"], True, t("dash.staff.delete_confirm", lang, title=title)


@callback(
    Output("sdash-download", "data"),
    Output("sdash-message", "children", allow_duplicate=True),
    Input({"type": "sdash-export", "slug": ALL}, "n_clicks"),
    State("sdash-lang", "data"),
    prevent_initial_call=True,
)
def export_json(_n, lang):
    lang = _lang(lang)
    clicked = _clicked()
    staff = current_staff()
    if clicked is None:
        raise PreventUpdate
    if staff is None:
        return no_update, _need_login(lang)
    try:
        meta = service.get_meta(get_db(), staff, str(clicked["slug"]))
        if not meta["editable"]:
            raise Refused(403, "forbidden", "dash.forbidden")
    except Refused as exc:
        return no_update, refusal_box(exc, lang)
    doc = meta["doc"]
    return {"content": json.dumps(doc, ensure_ascii=False, indent=2), "filename": f"{doc['slug']}.json",
            "type": "application/json"}, no_update


def history_list(staff, slug: str, lang: str):
    try:
        meta = service.get_meta(get_db(), staff, slug)
        rows = service.versions(get_db(), staff, slug)
    except Refused as exc:
        return refusal_box(exc, lang)
    doc = meta["doc"]
    title = doc["title_en"] if lang == "en" and doc.get("title_en") else doc["title_ja"]
    items = []
    for v in rows:
        label = t("dash.staff.version_item", lang, v=v["version"], at=_time(v["saved_at"]), by=v["saved_by"] or "-")
        if v["current"]:
            items.append(html.Li([label, " ", html.Strong(t("dash.staff.current", lang))]))
        else:
            items.append(html.Li([label, " ", html.Button(
                t("dash.staff.restore", lang), className="staff-button secondary small",
                id={"type": "sdash-restore", "slug": slug, "v": v["version"]})]))
    return html.Div([html.H4(title), html.Ul(items, className="sdash-versions", id="sdash-versions")])


@callback(
    Output("sdash-history", "children"),
    Input({"type": "sdash-history", "slug": ALL}, "n_clicks"),
    State("sdash-lang", "data"),
    prevent_initial_call=True,
)
def show_history(_n, lang):
    lang = _lang(lang)
    clicked = _clicked()
    staff = current_staff()
    if clicked is None:
        raise PreventUpdate
    if staff is None:
        return _need_login(lang)
    return history_list(staff, str(clicked["slug"]), lang)
