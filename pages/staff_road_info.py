"""`/staff/road-info` — staff upload their organisation's snow-melting device lists and road
restriction lists (CSV / GeoJSON / KML), and see and delete what they have (admins: all). The rules
live in layers/melters_manage.py and layers/restrictions_manage.py; this page only shows them."""
from __future__ import annotations

import base64
import binascii

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import login_prompt, staff_frame
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
from layers import melters_manage, restrictions_manage
from refusal import Refused
from store.db import get_db

PATH = "/staff/road-info"
dash.register_page(__name__, path=PATH, title=page_title("roadinfo.staff.title"))


def _staff():
    from auth import current_staff

    return current_staff()


def melters_table(staff, lang: str):
    rows = melters_manage.manageable(get_db(), staff)
    if not rows:
        return html.P(t("roadinfo.staff.no_devices", lang), id="staff-roadinfo-no-devices")

    def state(d):
        text = t(f"melter.state.{d['state']}", lang) if d["state"] else t("melter.state.unknown", lang)
        if d["stale"]:
            text += f" ({t('melter.popup.stale', lang)})"
        return html.Td(text, className=f"melter-cell-{d['state'] or 'unknown'}")

    cols = ("name", "road", "state", "since", "reported", "visibility", "actions")
    return staff_list("staff-roadinfo-devices", [f"roadinfo.staff.col.{k}" for k in cols], [
        (None, [name_text(d, lang), d["road"] or "", state(d), jst_text(d["state_since"]), jst_text(d["reported_at"]),
                visibility_text(d["visibility"], lang),
                # whose device: an admin's list may show two organisations' devices by one id
                delete_button("staff-roadinfo-delete", f"melter:{d['organisation']}/{d['id']}", lang)])
        for d in rows], lang)


def restrictions_table(staff, lang: str):
    rows = restrictions_manage.manageable(get_db(), staff)
    if not rows:
        return html.P(t("roadinfo.staff.no_restrictions", lang), id="staff-roadinfo-no-restrictions")
    open_ = t("restriction.popup.open", lang)

    def kind(r):
        label = t(f"restriction.kind.{r['type']}", lang)
        same = r["type_text"] in ("", t(f"restriction.kind.{r['type']}", "ja"))
        return label if same else f"{label}（{r['type_text']}）"

    cols = ("type", "road", "section", "period", "in_force", "visibility", "actions")
    return staff_list("staff-roadinfo-restrictions", [f"roadinfo.staff.col.{k}" for k in cols], [
        (None, [kind(r), r["road"], r["section"], f"{jst_text(r['start'], open_)} 〜 {jst_text(r['end'], open_)}",
                t("roadinfo.staff.yes", lang) if r["in_force"] else "", visibility_text(r["visibility"], lang),
                delete_button("staff-roadinfo-delete", f"restriction:{r['id']}", lang)]) for r in rows], lang)


def _upload(id_: str, lang: str):
    return dcc.Upload(id=id_, className="staff-upload-drop", max_size=20 * 1024 * 1024,
                      children=html.Div(t("roadinfo.staff.drop", lang)))


@viewer_sees_read_only("staff-roadinfo")
def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url(PATH, lang), "staff-roadinfo")
    return staff_frame(lang, PATH, staff, "staff-roadinfo", [
        html.H2(t("roadinfo.staff.title", lang)),
        html.P(html.A(t("roadinfo.staff.back", lang), href=f"/staff/cameras?lang={lang}")),
        dcc.Store(id="staff-roadinfo-lang", data=lang),
        dcc.Store(id="staff-roadinfo-pending"),
        dcc.ConfirmDialog(id="staff-roadinfo-confirm", message=t("roadinfo.staff.delete_confirm", lang)),
        html.Div(id="staff-roadinfo-message", role="status"),
        html.Div(className="staff-card", children=[
            html.H3(t("melter.layer", lang)),
            html.P(t("roadinfo.staff.devices_intro", lang)),
            visibility_choice("staff-roadinfo-melter-visibility", lang),
            _upload("staff-roadinfo-melter-upload", lang),
            html.Div(id="staff-roadinfo-melter-list", children=melters_table(staff, lang)),
        ]),
        html.Div(className="staff-card", children=[
            html.H3(t("restriction.layer", lang)),
            html.P(t("roadinfo.staff.restrictions_intro", lang)),
            visibility_choice("staff-roadinfo-restriction-visibility", lang),
            _upload("staff-roadinfo-restriction-upload", lang),
            html.Div(id="staff-roadinfo-restriction-list", children=restrictions_table(staff, lang)),
        ]),
    ])


def _problems(result: dict, lang: str):
    if not result.get("problem_count"):
        return None
    items = [html.Li(t("roadinfo.staff.row", lang, row=p["row"], message=p["message"]))
             for p in result["problems"][:20]]
    return html.Div([html.P(t("roadinfo.staff.skipped", lang, n=result["problem_count"])), html.Ul(items)])


def _decode(contents: str | None) -> bytes | None:
    if not contents or "," not in contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return None


@callback(
    Output("staff-roadinfo-melter-list", "children"),
    Output("staff-roadinfo-message", "children", allow_duplicate=True),
    Input("staff-roadinfo-melter-upload", "contents"),
    State("staff-roadinfo-melter-upload", "filename"),
    State("staff-roadinfo-melter-visibility", "value"),
    State("staff-roadinfo-lang", "data"),
    prevent_initial_call=True,
)
def upload_devices(contents, filename, visibility, lang):
    lang = normalize_lang(lang)
    staff = _staff()  # anyone can POST to a callback: check who it is here
    if staff is None:
        return no_update, login_needed(lang)
    raw = _decode(contents)
    if raw is None:
        return no_update, no_update
    try:
        result = melters_manage.upload_devices(get_db(), staff, raw, str(filename or "")[:200], visibility, lang)
    except Refused as exc:
        return no_update, refusal_message(exc, lang)
    msg = t("roadinfo.staff.devices_done", lang, added=result["added"], updated=result["updated"])
    return melters_table(staff, lang), html.Div(className="staff-ok", role="status",
                                                children=[html.P(msg), _problems(result, lang)])


@callback(
    Output("staff-roadinfo-restriction-list", "children"),
    Output("staff-roadinfo-message", "children", allow_duplicate=True),
    Input("staff-roadinfo-restriction-upload", "contents"),
    State("staff-roadinfo-restriction-upload", "filename"),
    State("staff-roadinfo-restriction-visibility", "value"),
    State("staff-roadinfo-lang", "data"),
    prevent_initial_call=True,
)
def upload_restrictions(contents, filename, visibility, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, login_needed(lang)
    raw = _decode(contents)
    if raw is None:
        return no_update, no_update
    try:
        result = restrictions_manage.upload(get_db(), staff, raw, str(filename or "upload")[:200], visibility,
                                            True, lang)
    except Refused as exc:
        return no_update, refusal_message(exc, lang)
    msg = t("roadinfo.staff.restrictions_done", lang, stored=result["stored"], in_force=result["in_force"])
    return restrictions_table(staff, lang), html.Div(className="staff-ok", role="status",
                                                     children=[html.P(msg), _problems(result, lang)])


@callback(
    Output("staff-roadinfo-confirm", "displayed"),
    Output("staff-roadinfo-pending", "data"),
    Input({"type": "staff-roadinfo-delete", "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask(_clicks):
    return delete_asked()


@callback(
    Output("staff-roadinfo-melter-list", "children", allow_duplicate=True),
    Output("staff-roadinfo-restriction-list", "children", allow_duplicate=True),
    Output("staff-roadinfo-message", "children"),
    Input("staff-roadinfo-confirm", "submit_n_clicks"),
    State("staff-roadinfo-pending", "data"),
    State("staff-roadinfo-lang", "data"),
    prevent_initial_call=True,
)
def delete(n, pending, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, no_update, login_needed(lang)
    what, _, item_id = str(pending or "").partition(":")
    if not n or not item_id or what not in ("melter", "restriction"):
        return no_update, no_update, no_update
    try:
        if what == "melter":
            org, _, device_id = item_id.partition("/")
            melters_manage.remove(get_db(), staff, device_id, organisation=org)
        else:
            restrictions_manage.remove(get_db(), staff, item_id)
    except Refused as exc:
        return no_update, no_update, refusal_message(exc, lang)
    return (melters_table(staff, lang), restrictions_table(staff, lang),
            html.P(t("camera.staff.deleted", lang), className="staff-ok", role="status"))
