"""`/staff/account` — one's own password and API tokens; for admins also everyone's accounts, for
org_admins their own organisation's. The rules live in auth/accounts.py (store/permissions.py:
editors and viewers change only themselves; nobody can lock themself out); every callback asks who
is logged in itself."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from auth.accounts import (
    AccountError,
    add_user,
    change_password,
    change_user,
    drop_token,
    may_manage_users,
    my_tokens,
    new_token,
    organisation_options,
    role_options,
    users,
)
from components.shell import page_title
from components.staff import labelled, login_prompt, staff_frame
from i18n import normalize_lang, t
from layers.snow_depth import to_jst
from store.db import get_db
from store.users import EDITOR, MIN_PASSWORD

dash.register_page(__name__, path="/staff/account", title=page_title("account.title"))


def _staff():
    from auth import current_staff

    return current_staff()


def _msg(text: str, ok: bool):
    return html.P(text, className="staff-ok" if ok else "staff-error", role="status" if ok else "alert")


def _refused(exc: AccountError, lang: str):
    return _msg(t(exc.message_key, lang, **exc.fmt), False)


def tokens_table(staff, lang: str):
    rows = my_tokens(get_db(), staff)
    if not rows:
        return html.P(t("account.tokens.none", lang), id="staff-account-no-tokens")
    head = html.Tr([html.Th(t(f"account.tokens.col.{k}", lang)) for k in ("name", "created", "used", "actions")])
    body = [html.Tr([html.Td(r["name"] or "—"), html.Td(to_jst(r["created_at"])),
                     html.Td(to_jst(r["last_used_at"]) or t("account.never", lang)),
                     html.Td(html.Button(t("account.tokens.revoke", lang),
                                         id={"type": "staff-account-revoke", "id": r["id"]}))]) for r in rows]
    return html.Table(className="staff-table", id="staff-account-tokens-table",
                      children=[html.Thead(head), html.Tbody(body)])


def users_table(staff, lang: str):
    rows = users(get_db(), staff)
    head = html.Tr([html.Th(t(f"account.users.col.{k}", lang)) for k in
                    ("email", "org", "role", "active", "login", "actions")])
    body = []
    for u in rows:
        uid = u["id"]
        grantable = role_options(staff)
        actions = [] if (u["me"] or u["role"] not in grantable) else [
            html.Button(t("account.users.deactivate" if u["active"] else "account.users.activate", lang),
                        id={"type": "staff-account-active", "id": uid}), " ",
            dcc.Dropdown(id={"type": "staff-account-role", "id": uid}, value=u["role"], clearable=False,
                         searchable=False, className="staff-account-role",
                         options=[{"label": t(f"account.role.{r}", lang), "value": r} for r in grantable]), " "]
        actions += [dcc.Input(id={"type": "staff-account-newpw", "id": uid}, type="password", placeholder=t(
                        "account.users.new_password", lang), autoComplete="new-password", size="14"),
                    html.Button(t("account.users.reset", lang), id={"type": "staff-account-reset", "id": uid})]
        body.append(html.Tr([
            html.Td(u["email"] + (t("account.users.me", lang) if u["me"] else "")),
            html.Td(u["organisation_en"] if lang == "en" else u["organisation_ja"]),
            html.Td(t(f"account.role.{u['role']}", lang)),
            html.Td(t("account.users.yes" if u["active"] else "account.users.no", lang)),
            html.Td(to_jst(u["last_login_at"]) or t("account.never", lang)),
            html.Td(actions),
        ], className="" if u["active"] else "inactive"))
    return html.Table(className="staff-table", id="staff-account-users-table",
                      children=[html.Thead(head), html.Tbody(body)])


def _admin_card(staff, lang: str):
    return html.Div(className="staff-card", id="staff-account-admin", children=[
        html.H3(t("account.users.title", lang)),
        html.P(t("account.users.intro", lang)),
        html.Div(id="staff-account-users", style={"overflowX": "auto"}, children=users_table(staff, lang)),
        html.H4(t("account.users.add", lang)),
        html.Div(className="staff-form", children=[
            labelled("auth.email", dcc.Input(id="staff-account-new-email", type="email", autoComplete="off"), lang),
            labelled("account.users.col.org", dcc.Dropdown(id="staff-account-new-org", clearable=False,
                                                         options=organisation_options(get_db(), lang, staff),
                                                         value=staff.organisation_code), lang),
            labelled("account.users.col.role", dcc.Dropdown(id="staff-account-new-role", clearable=False, value=EDITOR,
                                                          options=[{"label": t(f"account.role.{r}", lang), "value": r}
                                                                   for r in role_options(staff)]), lang),
            labelled("account.users.initial_password", dcc.Input(id="staff-account-new-password", type="password",
                                                               autoComplete="new-password"), lang),
        ]),
        html.Button(t("account.users.add_button", lang), id="staff-account-add", className="staff-button"), " ",
        html.Button(t("orgs.account.invite_button", lang), id="staff-account-invite", className="staff-button",
                    title=t("orgs.account.invite_hint", lang)),
        html.Div(id="staff-account-users-message", role="status"),
        html.Div(id="staff-account-invite-message", role="status"),
    ])


def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/account", lang), "staff-account")
    with get_db().session() as s:
        from store.models import Organisation

        org = s.get(Organisation, staff.organisation_id)
        org_name = (org.name_en or org.name_ja) if (org and lang == "en") else (org.name_ja if org else "")
    return staff_frame(lang, "/staff/account", staff, "staff-account", [
        html.H2(t("account.title", lang)),
        dcc.Store(id="staff-account-lang", data=lang),
        html.Div(className="staff-card", children=[
            html.H3(t("account.me", lang)),
            html.Dl(className="staff-dl", children=[
                html.Dt(t("auth.email", lang)), html.Dd(staff.email, id="staff-account-email"),
                html.Dt(t("account.users.col.org", lang)), html.Dd(org_name),
                html.Dt(t("account.users.col.role", lang)), html.Dd(t(f"account.role.{staff.role}", lang)),
            ]),
        ]),
        html.Div(className="staff-card", children=[
            html.H3(t("account.password.title", lang)),
            html.Div(className="staff-form", children=[
                labelled("account.password.current", dcc.Input(id="staff-account-current", type="password",
                                                             autoComplete="current-password"), lang),
                labelled("account.password.new", dcc.Input(id="staff-account-new", type="password",
                                                         autoComplete="new-password"), lang),
                labelled("account.password.confirm", dcc.Input(id="staff-account-confirm", type="password",
                                                             autoComplete="new-password"), lang),
            ]),
            html.Button(t("account.password.save", lang), id="staff-account-password-save", className="staff-button"),
            html.Div(id="staff-account-password-message", role="status"),
        ]),
        html.Div(className="staff-card", children=[
            html.H3(t("account.tokens.title", lang)),
            html.P(t("account.tokens.intro", lang)),
            html.Div(id="staff-account-tokens", children=tokens_table(staff, lang)),
            html.Div(className="staff-form", children=[
                labelled("account.tokens.name", dcc.Input(id="staff-account-token-name", type="text", maxLength=100,
                                                        placeholder=t("account.tokens.name_hint", lang)), lang),
            ]),
            html.Button(t("account.tokens.create", lang), id="staff-account-token-create", className="staff-button"),
            html.Div(id="staff-account-token-message", role="status"),
        ]),
        *([_admin_card(staff, lang)] if may_manage_users(staff) else []),
    ])


@callback(
    Output("staff-account-password-message", "children"),
    Output("staff-account-current", "value"),
    Output("staff-account-new", "value"),
    Output("staff-account-confirm", "value"),
    Input("staff-account-password-save", "n_clicks"),
    State("staff-account-current", "value"),
    State("staff-account-new", "value"),
    State("staff-account-confirm", "value"),
    State("staff-account-lang", "data"),
    prevent_initial_call=True,
)
def save_password(_n, current, new, confirm, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return _msg(t("staff_sources.login_needed", lang), False), no_update, no_update, no_update
    try:
        fresh = change_password(get_db(), staff, current or "", new or "", confirm or "")
    except AccountError as exc:
        return _refused(exc, lang), no_update, no_update, no_update
    from flask_login import login_user

    from auth.core import StaffUser

    login_user(StaffUser(fresh))  # this session goes on; every other one ends (new nonce)
    return _msg(t("account.password.saved", lang), True), "", "", ""


@callback(
    Output("staff-account-tokens", "children"),
    Output("staff-account-token-message", "children"),
    Output("staff-account-token-name", "value"),
    Input("staff-account-token-create", "n_clicks"),
    Input({"type": "staff-account-revoke", "id": ALL}, "n_clicks"),
    State("staff-account-token-name", "value"),
    State("staff-account-lang", "data"),
    prevent_initial_call=True,
)
def tokens(_create, _revokes, name, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, _msg(t("staff_sources.login_needed", lang), False), no_update
    trig = dash.callback_context.triggered_id
    if not dash.callback_context.triggered or not dash.callback_context.triggered[0]["value"]:
        return no_update, no_update, no_update
    try:
        if trig == "staff-account-token-create":
            token = new_token(get_db(), staff, name or "")
            shown = html.Div(className="staff-ok", role="status", children=[
                html.P(t("account.tokens.created", lang)),
                html.Pre(token, id="staff-account-new-token", className="token-once"),
            ])
            return tokens_table(staff, lang), shown, ""
        if isinstance(trig, dict):
            drop_token(get_db(), staff, trig.get("id"))
            return tokens_table(staff, lang), _msg(t("account.tokens.revoked", lang), True), no_update
    except AccountError as exc:
        return no_update, _refused(exc, lang), no_update
    return no_update, no_update, no_update


@callback(
    Output("staff-account-users", "children"),
    Output("staff-account-users-message", "children"),
    Output("staff-account-new-email", "value"),
    Output("staff-account-new-password", "value"),
    Input("staff-account-add", "n_clicks"),
    Input({"type": "staff-account-active", "id": ALL}, "n_clicks"),
    Input({"type": "staff-account-role", "id": ALL}, "value"),
    Input({"type": "staff-account-reset", "id": ALL}, "n_clicks"),
    State("staff-account-new-email", "value"),
    State("staff-account-new-org", "value"),
    State("staff-account-new-role", "value"),
    State("staff-account-new-password", "value"),
    State({"type": "staff-account-newpw", "id": ALL}, "value"),
    State({"type": "staff-account-newpw", "id": ALL}, "id"),
    State("staff-account-lang", "data"),
    prevent_initial_call=True,
)
def manage_users(_add, _active, _role, _reset, email, org, role, password, new_passwords, pw_ids, lang):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        return no_update, _msg(t("staff_sources.login_needed", lang), False), no_update, no_update
    trig = dash.callback_context.triggered_id
    if not dash.callback_context.triggered or not dash.callback_context.triggered[0]["value"]:
        return no_update, no_update, no_update, no_update
    db = get_db()
    cleared = (no_update, no_update)
    try:
        if trig == "staff-account-add":
            add_user(db, staff, (email or "").strip(), org or "", role or EDITOR, password or "")
            done = t("account.users.added", lang, email=(email or "").strip())
            cleared = ("", "")
        elif isinstance(trig, dict):
            uid = trig.get("id")
            current = {u["id"]: u for u in users(db, staff)}.get(uid)  # only the accounts they manage
            if current is None:
                raise AccountError("account.no_user")
            if trig["type"] == "staff-account-active":
                change_user(db, staff, uid, active=not current["active"])
            elif trig["type"] == "staff-account-role":
                role = dash.callback_context.triggered[0]["value"]
                if role == current["role"]:
                    return no_update, no_update, no_update, no_update
                change_user(db, staff, uid, role=str(role))
            else:
                by_id = {(i or {}).get("id"): v for i, v in zip(pw_ids or [], new_passwords or [])}
                if not by_id.get(uid):
                    raise AccountError("account.password_short", n=MIN_PASSWORD)
                change_user(db, staff, uid, password=by_id[uid])
            done = t("account.users.changed", lang, email=current["email"])
        else:
            return no_update, no_update, no_update, no_update
    except AccountError as exc:
        return no_update, _refused(exc, lang), no_update, no_update
    return users_table(staff, lang), _msg(done, True), *cleared


@callback(
    Output("staff-account-invite-message", "children"),
    Input("staff-account-invite", "n_clicks"),
    State("staff-account-new-email", "value"),
    State("staff-account-new-org", "value"),
    State("staff-account-new-role", "value"),
    State("staff-account-lang", "data"),
    prevent_initial_call=True,
)
def invite_user(n, email, org, role, lang):
    """Instead of an initial password: an invite mail whose link lets the person set their own."""
    from flask import current_app

    from auth.organisations import MailConfig, invite
    from refusal import Refused

    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None or not n:
        return _msg(t("staff_sources.login_needed", lang), False)
    email = str(email or "").strip()
    try:
        invite(get_db(), staff, str(org or staff.organisation_code), email,
               MailConfig.from_settings(current_app.extensions["ishikawa.settings"]), str(role or EDITOR), lang)
    except Refused as exc:
        return _msg(t(exc.message_key, lang, **exc.fmt), False)
    return _msg(t("orgs.invite.sent", lang, email=email), True)
