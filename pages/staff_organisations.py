"""`/staff/organisations` — prefecture admins add organisations (code, names, municipal boundary),
invite each one's first administrator by e-mail, deactivate one (its public data kept or
unpublished) or bring it back, and download everything it holds as one archive. The rules live in
auth/organisations.py (store/permissions.py); every callback asks who is logged in itself."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from flask import current_app

from auth.organisations import (
    MailConfig,
    add_organisation,
    invite,
    org_rows,
    set_organisation_active,
)
from auth.permissions import EXPORT, MANAGE_ORGANISATIONS, ORG_ADMIN, can, grantable_roles
from components.shell import page_title
from components.staff import labelled, login_prompt, staff_frame
from i18n import normalize_lang, t
from refusal import Refused
from store.db import get_db
from store.organisations import boundary_names

dash.register_page(__name__, path="/staff/organisations", title=page_title("orgs.title"))

P = "staff-orgs"


def _staff():
    from auth import current_staff

    return current_staff()


def _msg(text: str, ok: bool, id_: str | None = None):
    return html.P(text, className="staff-ok" if ok else "staff-error", role="status" if ok else "alert",
                  **({"id": id_} if id_ else {}))


def _refused(exc: Refused, lang: str):
    fields = [d.get("field") for d in exc.details if isinstance(d, dict) and d.get("field")]
    text = t(exc.message_key, lang, **exc.fmt)
    if fields:
        text += " (" + ", ".join(t(f"orgs.field.{f}", lang) for f in fields) + ")"
    return _msg(text, False)


def _name(row: dict, lang: str) -> str:
    return (row["name_en"] or row["name_ja"]) if lang == "en" else row["name_ja"]


def org_table(staff, lang: str):
    rows = org_rows(get_db(), staff)
    head = html.Tr([html.Th(t(f"orgs.col.{k}", lang)) for k in
                    ("code", "name", "boundary", "state", "users", "layers", "invites", "links")])
    body = []
    for r in rows:
        links = [html.A(t("orgs.portal", lang), href=f"/o/{r['code']}?lang={lang}", id=f"{P}-portal-{r['code']}")]
        if can(staff, EXPORT, r["id"]):
            links += [" · ", html.A(t("orgs.export", lang), href=f"/api/organisations/{r['code']}/export.zip",
                                    id=f"{P}-export-{r['code']}", download=f"{r['code']}.zip")]
        body.append(html.Tr(className="" if r["active"] else "inactive", children=[
            html.Td(html.Code(r["code"])),
            html.Td(_name(r, lang)),
            html.Td(r["boundary"] or t("orgs.boundary.all", lang)),
            html.Td(t("orgs.state.active" if r["active"] else "orgs.state.inactive", lang)),
            html.Td(str(r["users"])),
            html.Td(str(r["layers"])),
            html.Td(", ".join(r["invites"]) or "—"),
            html.Td(links),
        ]))
    return html.Table(className="staff-table", id=f"{P}-table", children=[html.Thead(head), html.Tbody(body)])


def _org_options(staff, lang: str) -> list[dict]:
    return [{"label": f"{_name(r, lang)} ({r['code']})", "value": r["code"]} for r in org_rows(get_db(), staff)]


def _boundary_options(lang: str) -> list[dict]:
    return [{"label": t("orgs.boundary.all", lang), "value": ""}] + [{"label": n, "value": n} for n in boundary_names()]


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/organisations", lang), P)
    if not can(staff, MANAGE_ORGANISATIONS):
        return staff_frame(lang, "/staff/organisations", staff, P, [
            html.H2(t("orgs.title", lang)),
            html.Div(className="staff-card", id=f"{P}-forbidden", children=[
                html.P(t("orgs.admins_only", lang)),
                *([html.P(html.A(t("orgs.export_own", lang), href=f"/api/organisations/{staff.organisation_code}"
                                                                   "/export.zip", id=f"{P}-export-own"))]
                  if can(staff, EXPORT, staff.organisation_id) else []),
            ]),
        ])
    orgs = _org_options(staff, lang)
    return staff_frame(lang, "/staff/organisations", staff, P, [
        html.H2(t("orgs.title", lang)),
        html.P(t("orgs.intro", lang)),
        dcc.Store(id=f"{P}-lang", data=lang),
        html.Div(className="staff-card", children=[
            html.Div(id=f"{P}-list", className="staff-table-wrap", style={"overflowX": "auto"},
                     children=org_table(staff, lang)),
        ]),
        html.Div(className="staff-card", id=f"{P}-add-card", children=[
            html.H3(t("orgs.add.title", lang)),
            html.P(t("orgs.add.intro", lang)),
            html.Div(className="staff-form", children=[
                labelled("orgs.field.code", dcc.Input(id=f"{P}-code", type="text", maxLength=40,
                                                      placeholder="nanao", autoComplete="off"), lang),
                labelled("orgs.field.name_ja", dcc.Input(id=f"{P}-name-ja", type="text", maxLength=200,
                                                         placeholder="七尾市"), lang),
                labelled("orgs.field.name_en", dcc.Input(id=f"{P}-name-en", type="text", maxLength=200,
                                                         placeholder="Nanao City"), lang),
                labelled("orgs.field.boundary", dcc.Dropdown(id=f"{P}-boundary", value="", clearable=False,
                                                             options=_boundary_options(lang)), lang),
            ]),
            html.Button(t("orgs.add.button", lang), id=f"{P}-add", className="staff-button"),
            html.Div(id=f"{P}-add-message", role="status"),
        ]),
        html.Div(className="staff-card", id=f"{P}-invite-card", children=[
            html.H3(t("orgs.invite.title_card", lang)),
            html.P(t("orgs.invite.intro", lang)),
            html.Div(className="staff-form", children=[
                labelled("orgs.field.organisation", dcc.Dropdown(id=f"{P}-invite-org", options=orgs,
                                                                 clearable=False), lang),
                labelled("auth.email", dcc.Input(id=f"{P}-invite-email", type="email", autoComplete="off"), lang),
                labelled("account.users.col.role", dcc.Dropdown(
                    id=f"{P}-invite-role", value=ORG_ADMIN, clearable=False,
                    options=[{"label": t(f"account.role.{r}", lang), "value": r} for r in grantable_roles(staff)]),
                    lang),
            ]),
            html.Button(t("orgs.invite.button", lang), id=f"{P}-invite", className="staff-button"),
            html.Div(id=f"{P}-invite-message", role="status"),
        ]),
        html.Div(className="staff-card", id=f"{P}-leave-card", children=[
            html.H3(t("orgs.leave.title", lang)),
            html.P(t("orgs.leave.intro", lang)),
            html.Div(className="staff-form", children=[
                labelled("orgs.field.organisation", dcc.Dropdown(id=f"{P}-leave-org", options=orgs,
                                                                 clearable=False), lang),
                html.Fieldset(className="staff-fieldset", children=[
                    html.Legend(t("orgs.leave.public_data", lang)),
                    dcc.RadioItems(id=f"{P}-leave-data", value="keep", options=[
                        {"label": t("orgs.leave.keep", lang), "value": "keep"},
                        {"label": t("orgs.leave.unpublish", lang), "value": "unpublish"}]),
                ]),
            ]),
            html.Button(t("orgs.leave.deactivate", lang), id=f"{P}-deactivate", className="staff-button danger"),
            " ",
            html.Button(t("orgs.leave.reactivate", lang), id=f"{P}-reactivate", className="staff-button"),
            html.Div(id=f"{P}-leave-message", role="status"),
        ]),
    ])


def _mail_config() -> MailConfig:
    return MailConfig.from_settings(current_app.extensions["ishikawa.settings"])


@callback(
    Output(f"{P}-list", "children", allow_duplicate=True),
    Output(f"{P}-add-message", "children"),
    Output(f"{P}-invite-org", "options"),
    Output(f"{P}-leave-org", "options"),
    Output(f"{P}-invite-org", "value"),
    Input(f"{P}-add", "n_clicks"),
    State(f"{P}-code", "value"),
    State(f"{P}-name-ja", "value"),
    State(f"{P}-name-en", "value"),
    State(f"{P}-boundary", "value"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def add(n, code, name_ja, name_en, boundary, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None or not n:
        return no_update, _msg(t("staff_sources.login_needed", lang), False), no_update, no_update, no_update
    try:
        code = add_organisation(get_db(), staff, str(code or ""), str(name_ja or ""), str(name_en or ""),
                                str(boundary or ""))
    except Refused as exc:
        return no_update, _refused(exc, lang), no_update, no_update, no_update
    options = _org_options(staff, lang)
    return (org_table(staff, lang), _msg(t("orgs.add.done", lang, code=code), True, f"{P}-added"),
            options, options, code)


@callback(
    Output(f"{P}-list", "children", allow_duplicate=True),
    Output(f"{P}-invite-message", "children"),
    Output(f"{P}-invite-email", "value"),
    Input(f"{P}-invite", "n_clicks"),
    State(f"{P}-invite-org", "value"),
    State(f"{P}-invite-email", "value"),
    State(f"{P}-invite-role", "value"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def send_invite(n, org_code, email, role, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None or not n:
        return no_update, _msg(t("staff_sources.login_needed", lang), False), no_update
    if not org_code:
        return no_update, _msg(t("orgs.err.pick", lang), False), no_update
    try:
        invite(get_db(), staff, str(org_code), str(email or ""), _mail_config(), str(role or ORG_ADMIN), lang)
    except Refused as exc:
        return no_update, _refused(exc, lang), no_update
    return (org_table(staff, lang), _msg(t("orgs.invite.sent", lang, email=str(email).strip()), True, f"{P}-invited"),
            "")


@callback(
    Output(f"{P}-list", "children", allow_duplicate=True),
    Output(f"{P}-leave-message", "children"),
    Input(f"{P}-deactivate", "n_clicks"),
    Input(f"{P}-reactivate", "n_clicks"),
    State(f"{P}-leave-org", "value"),
    State(f"{P}-leave-data", "value"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def leave(_off, _on, org_code, data, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, _msg(t("staff_sources.login_needed", lang), False)
    trig = dash.callback_context.triggered_id
    if not dash.callback_context.triggered or not dash.callback_context.triggered[0]["value"]:
        return no_update, no_update
    if not org_code:
        return no_update, _msg(t("orgs.err.pick", lang), False)
    active = trig == f"{P}-reactivate"
    try:
        changed = set_organisation_active(get_db(), staff, str(org_code), active, unpublish=(data == "unpublish"))
    except Refused as exc:
        return no_update, _refused(exc, lang)
    if active:
        text = t("orgs.leave.reactivated", lang, code=org_code)
    else:
        text = t("orgs.leave.deactivated", lang, code=org_code, layers=changed["layers"],
                 dashboards=changed["dashboards"], rules=changed["rules"], cameras=changed["cameras"])
    return org_table(staff, lang), _msg(text, True, f"{P}-left")
