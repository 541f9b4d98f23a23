"""`/staff/sources` — an organisation's staff register FIWARE Orion (and CKAN) sources and see
their state. Every callback checks the logged-in staff member itself (anyone can POST to
/_dash-update-component); the same checks as `/api/sources` (sources.source_config)."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from flask import current_app

from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import labelled, login_prompt, staff_header
from i18n import normalize_lang, t
from layers.feed_status import age_text
from sources.source_config import audit_source, clean_source, source_json
from store.brokers import TARGETS, Source, sources
from store.db import get_db
from store.feeds import feed_states

dash.register_page(__name__, path="/staff/sources", title=page_title("staff_sources.title"))


def staff_for_sources():
    """The one permission check of this page: the logged-in staff member, or None."""
    from auth import current_staff

    return current_staff()


def source_rows(staff, lang: str) -> list[dict]:
    base_url = current_app.extensions["ishikawa.settings"].public_base_url
    with get_db().session() as s:
        states = feed_states(s)
        return [source_json(src, states, base_url) for src in sources(s) if staff.may_manage(src.organisation_id)]


def sources_table(rows: list[dict], lang: str) -> html.Table | html.P:
    if not rows:
        return html.P(t("staff_sources.none", lang))
    head = html.Tr([html.Th(t(f"staff_sources.col.{k}", lang)) for k in
                    ("name", "broker", "type", "target", "status", "notify", "actions")])
    body = []
    for r in rows:
        st = r["status"]
        known = st["status"] in ("ok", "error", "stale", "starting")
        status = t(f"staff_sources.status.{st['status']}", lang) if known else st["status"]
        if st.get("age_seconds") is not None:
            status += f"（{age_text(st['age_seconds'], lang)}）"
        body.append(html.Tr([
            html.Td(r["name"]),
            html.Td([html.Code(r["base_url"]), html.Br(), html.Small(f"{r['service'] or '-'} {r['servicepath']}")]),
            html.Td(r["entity_type"] or "*"),
            html.Td(t(f"staff_sources.target.{r['target']}", lang)),
            html.Td(status, className=f"status-{st['status']}", title=st.get("last_error") or ""),
            html.Td([html.Code(r["notify_url"], style={"fontSize": "11px"}), html.Br(),
                     *[html.Small([f"{name}: ", html.Code(value, style={"fontSize": "11px"})])
                       for name, value in r["notify_headers"].items()]]),
            html.Td([html.Button(t("staff_sources.poll", lang), id={"type": "staff-sources-poll", "id": r["id"]}),
                     " ",
                     *([html.Button(t("staff_sources.subscribe", lang),
                                    id={"type": "staff-sources-sub", "id": r["id"]}),
                        " "] if r["kind"] == "orion" and not r["subscription_id"] else []),
                     html.Button(t("staff_sources.delete", lang), id={"type": "staff-sources-delete", "id": r["id"]})
                     if not r["from_env"] else html.Small(t("staff_sources.from_env", lang))]),
        ]))
    return html.Table(className="staff-table", children=[html.Thead(head), html.Tbody(body)])


@viewer_sees_read_only("staff-sources")
def layout(lang: str | None = None, **query):
    lang = normalize_lang(lang)
    staff = staff_for_sources()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url("/staff/sources", lang), "staff-sources")
    from auth import csrf_token

    return html.Div(className="staff-page", lang=lang, children=[
        staff_header(lang, "/staff/sources", staff.email, csrf_token(), "staff-sources"),
        html.Main(className="staff-main", children=[
            html.H2(t("staff_sources.title", lang)),
            html.P(t("staff_sources.intro", lang)),
            dcc.Store(id="staff-sources-lang", data=lang),
            html.Div(id="staff-sources-list", className="staff-card",
                     children=sources_table(source_rows(staff, lang), lang)),
            html.Div(className="staff-card", children=[
            html.H3(t("staff_sources.add", lang)),
            html.Div(className="staff-form", children=[
                labelled("staff_sources.f.name", dcc.Input(id="staff-sources-name", type="text"), lang),
                labelled("staff_sources.f.kind", dcc.Dropdown(
                    id="staff-sources-kind", value="orion", clearable=False,
                    options=[{"label": t(f"staff_sources.kind.{k}", lang), "value": k}
                             for k in ("orion", "ckan")]), lang),
                labelled("staff_sources.f.base_url", dcc.Input(id="staff-sources-url", type="url",
                                                             placeholder="http://orion.example.jp:1026"), lang),
                labelled("staff_sources.f.service", dcc.Input(id="staff-sources-service", type="text"), lang),
                labelled("staff_sources.f.servicepath",
                         dcc.Input(id="staff-sources-servicepath", type="text", value="/"), lang),
                labelled("staff_sources.f.entity_type", dcc.Input(id="staff-sources-type", type="text",
                                                                placeholder="WeatherObserved"), lang),
                labelled("staff_sources.f.q", dcc.Input(id="staff-sources-q", type="text"), lang),
                labelled("staff_sources.f.ckan_dataset", dcc.Input(id="staff-sources-ckan", type="text"), lang),
                labelled("staff_sources.f.attrs", dcc.Input(id="staff-sources-attrs", type="text"), lang),
                labelled("staff_sources.f.token", dcc.Input(id="staff-sources-token", type="password"), lang),
                labelled("staff_sources.f.interval",
                         dcc.Input(id="staff-sources-interval", type="number", value=60, min=10), lang),
                labelled("staff_sources.f.target", dcc.Dropdown(
                    id="staff-sources-target", value="auto", clearable=False,
                    options=[{"label": t(f"staff_sources.target.{k}", lang), "value": k} for k in TARGETS]), lang),
                labelled("staff_sources.f.visibility", dcc.Dropdown(
                    id="staff-sources-visibility", value="public", clearable=False,
                    options=[{"label": t(f"staff_sources.vis.{k}", lang), "value": k}
                             for k in ("public", "private")]), lang),
            ]),
            html.Button(t("staff_sources.save", lang), id="staff-sources-save", className="staff-button"),
            html.Div(id="staff-sources-message", role="status"),
            ]),
        ]),
    ])


@callback(
    Output("staff-sources-list", "children"),
    Output("staff-sources-message", "children"),
    Input("staff-sources-save", "n_clicks"),
    Input({"type": "staff-sources-poll", "id": ALL}, "n_clicks"),
    Input({"type": "staff-sources-delete", "id": ALL}, "n_clicks"),
    Input({"type": "staff-sources-sub", "id": ALL}, "n_clicks"),
    State("staff-sources-name", "value"),
    State("staff-sources-kind", "value"),
    State("staff-sources-ckan", "value"),
    State("staff-sources-url", "value"),
    State("staff-sources-service", "value"),
    State("staff-sources-servicepath", "value"),
    State("staff-sources-type", "value"),
    State("staff-sources-q", "value"),
    State("staff-sources-attrs", "value"),
    State("staff-sources-token", "value"),
    State("staff-sources-interval", "value"),
    State("staff-sources-target", "value"),
    State("staff-sources-visibility", "value"),
    State("staff-sources-lang", "data"),
    prevent_initial_call=True,
)
def act(_save, polls, deletes, subs, name, kind, ckan_dataset, url, service, servicepath, etype, q, attrs, token,
        interval, target, visibility, lang):
    lang = normalize_lang(lang)
    staff = staff_for_sources()
    if staff is None:  # the session ended, or someone posts without one
        return no_update, t("staff_sources.login_needed", lang)
    trig = dash.callback_context.triggered_id
    message = ""
    if trig == "staff-sources-save":
        data = {"name": name or "", "kind": kind or "orion", "ckan_dataset": ckan_dataset or "", "base_url": url or "",
                "service": service or "", "servicepath": servicepath or "/",
                "entity_type": etype or "", "q": q or "", "attrs": attrs or "", "token": token or "",
                "interval_s": interval if interval is not None else 60, "target": target or "auto",
                "visibility": visibility or "public"}
        values, errors = clean_source(data)
        if errors:
            return no_update, html.Ul(className="auth-error", children=[
                html.Li(f"{t('staff_sources.f.' + _label(e['field']), lang)}: {e['message']}") for e in errors])
        if not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
            return no_update, t("perm.forbidden", lang)
        with get_db().session() as s:
            s.add(src := Source(organisation_id=staff.organisation_id, **values))
            s.flush()
            audit_source(s, staff, "source.create", src, {})
        message = t("staff_sources.saved", lang)
    elif isinstance(trig, dict) and dash.callback_context.triggered[0]["value"]:
        sid = trig["id"]
        with get_db().session() as s:
            src = s.get(Source, sid)
            if src is None or not staff.may_manage(src.organisation_id):
                return no_update, t("sources.not_found", lang)
            if trig["type"] == "staff-sources-delete" and not src.from_env:
                from sources.source_config import forget_source

                audit_source(s, staff, "source.delete", src)
                forget_source(s, src)
                message = t("staff_sources.deleted", lang)
        if trig["type"] == "staff-sources-sub":
            message = subscribe(sid, lang, staff)
        if trig["type"] == "staff-sources-poll":
            from sources.broker_poll import client_for, poll_source

            result = poll_source(get_db(), sid, make_client=lambda src: client_for(src, retries=1))
            message = (t("staff_sources.poll_failed", lang, error=result["error"]) if "error" in result
                       else t("staff_sources.polled", lang, n=result.get("entities", 0)))
    else:
        return no_update, no_update
    return sources_table(source_rows(staff, lang), lang), message


def subscribe(source_id: int, lang: str, staff=None) -> str:
    """Create an Orion subscription that pushes this source's entities to our notify URL."""
    from sources.ngsi import NgsiError
    from sources.source_config import subscribe_source

    try:
        body = subscribe_source(get_db(), source_id, current_app.extensions["ishikawa.settings"].public_base_url, staff)
    except NgsiError as exc:
        return t("staff_sources.poll_failed", lang, error=str(exc))
    return t("staff_sources.subscribed", lang, id=body["subscription_id"])


def _label(field: str) -> str:
    return {"base_url": "base_url", "interval_s": "interval", "entity_type": "entity_type"}.get(
        field, field if field in ("name", "service", "servicepath", "q", "attrs", "token", "target", "visibility",
                                  "kind", "ckan_dataset") else "name")
