"""`/staff/cameras` — staff register their organisation's cameras (admins: all) and delete them
with a confirmation. The rules live in layers/cameras_manage.py; this page only shows them."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import labelled, login_prompt, staff_frame
from components.staff_list import (
    delete_asked,
    delete_button,
    jst_text,
    login_needed,
    name_text,
    refusal_message,
    staff_list,
    visibility_choice,
    visibility_text,
)
from i18n import normalize_lang, t
from layers.cameras_manage import manageable, register, remove
from refusal import Refused
from store.db import get_db

dash.register_page(__name__, path="/staff/cameras", title=page_title("camera.staff.title"))


def _staff():
    from auth import current_staff

    return current_staff()


def _settings():
    from flask import current_app

    return current_app.extensions["ishikawa.settings"]


def cameras_table(staff, lang: str):
    rows = manageable(get_db(), staff)
    if not rows:
        return html.P(t("camera.staff.none", lang), id="staff-cameras-none")
    cols = ("name", "org", "visibility", "interval", "last", "error", "actions")
    return staff_list("staff-cameras-table", [f"camera.staff.col.{k}" for k in cols], [
        ({"type": "staff-cameras-row", "id": c["id"]}, [
            name_text(c, lang), c["organisation"] or "", visibility_text(c["visibility"], lang), str(c["interval_s"]),
            jst_text(c["latest"]["taken_at"] if c["latest"] else None, t("camera.staff.never", lang))
            + (f" ({t('camera.popup.stale', lang)})" if c["stale"] else ""),
            c.get("last_error") or "",
            delete_button("staff-cameras-delete", c["id"], lang)]) for c in rows], lang)


@viewer_sees_read_only("staff-cameras")
def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/cameras", lang), "staff-cameras")
    field = lambda key, comp: labelled(f"camera.staff.{key}", comp, lang)  # noqa: E731
    return staff_frame(lang, "/staff/cameras", staff, "staff-cameras", [
        html.H2(t("camera.staff.title", lang)),
        html.P(t("camera.staff.intro", lang)),
        html.P(html.A(t("roadinfo.staff.link", lang), href=f"/staff/road-info?lang={lang}",
                      id="staff-cameras-roadinfo-link")),
        dcc.Store(id="staff-cameras-lang", data=lang),
        dcc.Store(id="staff-cameras-pending"),
        dcc.ConfirmDialog(id="staff-cameras-confirm", message=t("camera.staff.delete_confirm", lang)),
        html.Div(id="staff-cameras-message", role="status"),
        html.Div(className="staff-card", children=[
            html.H3(t("camera.staff.new", lang)),
            field("name", dcc.Input(id="staff-cameras-name", type="text", maxLength=200)),
            field("name_en", dcc.Input(id="staff-cameras-name-en", type="text", maxLength=200)),
            field("lon", dcc.Input(id="staff-cameras-lon", type="number", min=-180, max=180, step="any")),
            field("lat", dcc.Input(id="staff-cameras-lat", type="number", min=-90, max=90, step="any")),
            field("url", dcc.Input(id="staff-cameras-url", type="url", maxLength=2000)),
            field("interval", dcc.Input(id="staff-cameras-interval", type="number", min=30, step=1, value=300)),
            visibility_choice("staff-cameras-visibility", lang),
            html.Button(t("camera.staff.submit", lang), id="staff-cameras-submit", className="staff-button"),
        ]),
        html.Div(id="staff-cameras-list", className="staff-card", children=cameras_table(staff, lang)),
    ])


def _number(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@callback(
    Output("staff-cameras-list", "children", allow_duplicate=True),
    Output("staff-cameras-message", "children", allow_duplicate=True),
    Input("staff-cameras-submit", "n_clicks"),
    State("staff-cameras-name", "value"),
    State("staff-cameras-name-en", "value"),
    State("staff-cameras-lon", "value"),
    State("staff-cameras-lat", "value"),
    State("staff-cameras-url", "value"),
    State("staff-cameras-interval", "value"),
    State("staff-cameras-visibility", "value"),
    State("staff-cameras-lang", "data"),
    prevent_initial_call=True,
)
def create(n, name, name_en, lon, lat, url, interval, visibility, lang):
    lang = normalize_lang(lang)
    staff = _staff()  # anyone can POST to a callback: check who it is here
    if staff is None:
        return no_update, login_needed(lang)
    if not n:
        return no_update, no_update
    from sources.cameras import fetch_soon, parse_hosts
    from store.cameras import cameras_folder

    settings = _settings()
    hosts = parse_hosts(settings.source_hosts)
    body = {"name": name or "", "name_en": name_en or "", "lon": lon, "lat": lat, "url": url or "",
            "interval_s": _number(interval), "visibility": visibility}
    try:
        cam = register(get_db(), staff, body, lang, hosts)
    except Refused as exc:
        return no_update, refusal_message(exc, lang)
    fetch_soon(get_db(), cameras_folder(settings.instance_path), cam["id"], hosts)
    return cameras_table(staff, lang), html.P(t("camera.staff.registered", lang), className="staff-ok", role="status")


@callback(
    Output("staff-cameras-confirm", "displayed"),
    Output("staff-cameras-pending", "data"),
    Input({"type": "staff-cameras-delete", "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask(_clicks):
    return delete_asked()


@callback(
    Output("staff-cameras-list", "children"),
    Output("staff-cameras-message", "children"),
    Input("staff-cameras-confirm", "submit_n_clicks"),
    State("staff-cameras-pending", "data"),
    State("staff-cameras-lang", "data"),
    prevent_initial_call=True,
)
def delete(n, camera_id, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, login_needed(lang)
    if not n or not camera_id:
        return no_update, no_update
    try:
        remove(get_db(), staff, str(camera_id), _settings().instance_path)
    except Refused as exc:
        return no_update, refusal_message(exc, lang)
    return cameras_table(staff, lang), html.P(t("camera.staff.deleted", lang), className="staff-ok", role="status")
