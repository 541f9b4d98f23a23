"""`/staff/groups` — rename or delete the menu groups of the public layer panel that staff created.
An editor sees and changes only their organisation's groups, an admin all; a group
that still holds a layer cannot be deleted. New groups are made where a layer is placed
(upload or layer settings). The rules live in layers/manage.py; this page only shows them."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import login_prompt, staff_frame
from i18n import normalize_lang, t
from layers.manage import Refused, groups_for, remove_group, rename_group
from store.db import get_db

dash.register_page(__name__, path="/staff/groups", title=page_title("groups.title"))


def _staff():
    from auth import current_staff

    return current_staff()


def groups_table(staff, lang: str):
    rows = groups_for(get_db(), staff, lang)
    if not rows:
        return html.P(t("groups.none", lang), id="staff-groups-none")
    head = html.Tr([html.Th(t(f"groups.col.{k}", lang)) for k in ("ja", "en", "org", "layers", "actions")])
    body = [html.Tr([
        html.Td(dcc.Input(id={"type": "staff-groups-ja", "key": g["key"]}, value=g["label_ja"], type="text",
                          maxLength=200)),
        html.Td(dcc.Input(id={"type": "staff-groups-en", "key": g["key"]}, value=g["label_en"], type="text",
                          maxLength=200)),
        html.Td(g["organisation"]),
        html.Td(str(g["layers"])),
        html.Td([html.Button(t("groups.save", lang), id={"type": "staff-groups-save", "key": g["key"]}), " ",
                 html.Button(t("groups.delete", lang), id={"type": "staff-groups-delete", "key": g["key"]},
                             disabled=g["layers"] > 0,
                             title=t("groups.delete_blocked", lang) if g["layers"] else "")]),
    ]) for g in rows]
    return html.Table(className="staff-table", id="staff-groups-table", children=[html.Thead(head), html.Tbody(body)])


@viewer_sees_read_only("staff-groups")
def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/groups", lang), "staff-groups")
    return staff_frame(lang, "/staff/groups", staff, "staff-groups", [
        html.H2(t("groups.title", lang)),
        html.P(t("groups.intro", lang)),
        dcc.Store(id="staff-groups-lang", data=lang),
        html.Div(id="staff-groups-message", role="status"),
        html.Div(id="staff-groups-list", className="staff-card", children=groups_table(staff, lang)),
    ])


@callback(
    Output("staff-groups-list", "children"),
    Output("staff-groups-message", "children"),
    Input({"type": "staff-groups-save", "key": ALL}, "n_clicks"),
    Input({"type": "staff-groups-delete", "key": ALL}, "n_clicks"),
    State({"type": "staff-groups-ja", "key": ALL}, "value"),
    State({"type": "staff-groups-en", "key": ALL}, "value"),
    State({"type": "staff-groups-ja", "key": ALL}, "id"),
    State("staff-groups-lang", "data"),
    prevent_initial_call=True,
)
def act(_saves, _deletes, labels_ja, labels_en, ids, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, html.P(t("staff_sources.login_needed", lang), className="staff-error", role="alert")
    trig = dash.callback_context.triggered_id
    if not isinstance(trig, dict) or not dash.callback_context.triggered[0]["value"]:
        return no_update, no_update
    key = str(trig.get("key", ""))
    try:
        if trig["type"] == "staff-groups-save":
            keys = [i.get("key") if isinstance(i, dict) else None for i in ids or []]
            at = keys.index(key) if key in keys else None
            ja = (labels_ja or [])[at] if at is not None and at < len(labels_ja or []) else ""
            en = (labels_en or [])[at] if at is not None and at < len(labels_en or []) else ""
            rename_group(get_db(), staff, key, ja or "", en or "")
            done = t("groups.saved", lang)
        else:
            remove_group(get_db(), staff, key)
            done = t("groups.deleted", lang)
    except Refused as exc:
        return no_update, html.P(t(exc.message_key, lang, **exc.fmt), className="staff-error", role="alert")
    return groups_table(staff, lang), html.P(done, className="staff-ok", role="status")
