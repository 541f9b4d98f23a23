"""What people do with dashboards, shared by the API (api/dashboards.py) and the pages.

No Flask, no Dash: plain functions taking a Database and a `store.users.Staff` (None = anonymous).
Failures raise `refusal.Refused`. One permission rule:
- see: public dashboards for everyone; private ones for staff of the owning organisation and
  admins. Anyone else gets 404 (existence not leaked).
- change (save, delete, restore): staff of the owning organisation and admins; a public dashboard
  of another organisation is 403.
Data in panels is seen with the eyes of `scope_of(dashboard, viewer)`: a public dashboard shows
what anyone may see, whoever looks (so one cached answer serves all its viewers); a private one
what its viewer may see. Saving checks every sensor, layer and rule a panel names: unknown or
not visible to the saver is a 400 naming the field; private data in a public dashboard a 422.
"""
from __future__ import annotations

import copy
import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select

from auth.permissions import EDIT, PRIVATE, VIEW, can
from csvcell import cell
from dashboards import areas
from dashboards.model import REFRESH, parse_dashboard, time_window
from dashboards.queries.base import Context, Denied, sensor_name
from keylock import key_lock
from refusal import Refused
from registry import QUERY_KINDS
from store import audit, dashboards as sd
from store.db import utcnow
from store.layers import visible_clause
from store.models import PUBLIC, Layer, Organisation, Sensor
from store.sensors import find_sensor, shown_id
from store.users import Staff

log = logging.getLogger(__name__)

DEFAULT_TTL = 30  # seconds one computed panel answer is served when the dashboard does not refresh
COMPUTATIONS = {"panels": 0}  # how many panel answers were computed (the benchmark reads it)


# --- permission rule ------------------------------------------------------------------------------

def may_see(viewer: Staff | None, dash: sd.Dashboard | None) -> bool:
    if dash is None:
        return False
    return can(viewer, VIEW, dash.organisation_id, dash.visibility)


def may_edit(viewer: Staff | None, dash: sd.Dashboard) -> bool:
    return can(viewer, EDIT, dash.organisation_id)


def scope_of(dash: sd.Dashboard, viewer: Staff | None) -> Staff | None:
    return None if dash.visibility == PUBLIC else viewer


def _visible(s, viewer: Staff | None, slug: str) -> sd.Dashboard:
    dash = sd.by_slug(s, slug) if isinstance(slug, str) and len(slug) <= 60 else None
    if not may_see(viewer, dash):
        raise Refused(404, "not_found", "api.not_found")
    return dash


def _editable(s, staff: Staff, slug: str) -> sd.Dashboard:
    dash = _visible(s, staff, slug)
    if not may_edit(staff, dash):
        raise Refused(403, "forbidden", "dash.forbidden")
    return dash


# --- documents ------------------------------------------------------------------------------------

def document(s, dash: sd.Dashboard) -> dict:
    """The stored document with the columns that are the truth (slug, organisation, visibility)."""
    org = s.get(Organisation, dash.organisation_id)
    doc = copy.deepcopy(dash.doc)
    doc.update(slug=dash.slug, organisation=org.code if org else "", visibility=dash.visibility,
               title_ja=dash.title_ja, title_en=dash.title_en)
    return doc


@dataclass
class Summary:
    slug: str
    title_ja: str
    title_en: str
    organisation: str
    organisation_name_ja: str
    organisation_name_en: str
    visibility: str
    panels: int
    version: int
    updated_at: datetime

    def as_json(self) -> dict:
        return {"slug": self.slug, "title_ja": self.title_ja, "title_en": self.title_en,
                "organisation": self.organisation, "visibility": self.visibility, "panels": self.panels,
                "version": self.version, "updated_at": self.updated_at.isoformat().replace("+00:00", "Z")}

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_ja


def list_dashboards(db, viewer: Staff | None, mine: bool = False) -> list[Summary]:
    """Public dashboards and the viewer's organisation's (admins: all); `mine`: only those the
    viewer may change."""
    with db.session() as s:
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        out = []
        for d in sd.listed(s, viewer):
            if mine and not may_edit(viewer, d):
                continue
            org = orgs.get(d.organisation_id)
            out.append(Summary(d.slug, d.title_ja, d.title_en, org.code if org else "", org.name_ja if org else "",
                               org.name_en if org else "", d.visibility, len((d.doc or {}).get("panels", [])),
                               d.version, d.updated_at))
        return out


def get_document(db, viewer: Staff | None, slug: str, shown: bool = False) -> dict:
    """The document; `shown`: its sensors by the ids their organisations posted (the API's answer;
    pages and panel data keep the store keys their pickers and queries use)."""
    with db.session() as s:
        doc = document(s, _visible(s, viewer, slug))
        if shown:
            _map_sensor_refs(doc, lambda x: (lambda sensor: shown_id(sensor) if sensor else x)(s.get(Sensor, x)))
        return doc


def _map_sensor_refs(doc: dict, fn) -> None:
    """Apply fn to every sensor a panel's query names (not `$variables`), in place."""
    for panel in doc.get("panels") or []:
        query = panel.get("query") if isinstance(panel, dict) else None
        if isinstance(query, dict) and isinstance(query.get("sensors"), list):
            query["sensors"] = [fn(x) if isinstance(x, str) and not x.startswith("$") else x
                                for x in query["sensors"]]


def _sensor_keys(s, staff: Staff, org: Organisation, doc: dict) -> None:
    """Sensors named by the id their organisation posted become store keys (store.sensors.find_sensor:
    the dashboard's organisation's own sensor first); unknown ones stay, for check_refs to refuse."""
    def key(x: str) -> str:
        sensor = find_sensor(s, x, visible_clause(staff), org.id)
        return sensor.id if sensor is not None else x
    _map_sensor_refs(doc, key)


def get_meta(db, viewer: Staff | None, slug: str) -> dict:
    """The document plus what pages need: whether the viewer may change it, its version."""
    with db.session() as s:
        dash = _visible(s, viewer, slug)
        return {"doc": document(s, dash), "editable": may_edit(viewer, dash), "version": dash.version,
                "updated_at": dash.updated_at}


def _organisation(s, staff: Staff, code: str) -> Organisation:
    if not code:
        org = s.get(Organisation, staff.organisation_id)
    else:
        org = s.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            raise Refused(400, "invalid_dashboard", "dash.err.invalid_doc",
                          [{"field": "organisation", "message_key": "dash.err.choice"}])
    if not staff.may_manage(org.id):
        raise Refused(403, "forbidden", "dash.forbidden_org")
    return org


def check_refs(s, staff: Staff, doc: dict) -> None:
    """Every sensor, layer and alert rule a panel names must be visible to the saver (else 400, as
    if unknown); a public dashboard may name only public ones (else 422 naming the panel)."""
    from store.alerts import AlertRule

    unknown, private = [], []
    public = doc["visibility"] == PUBLIC
    for i, panel in enumerate(doc["panels"]):
        refs = QUERY_KINDS[panel["query"]["kind"]].refs(panel["query"])
        where = f"panels.{i}.query"
        if refs.sensors:
            rows = s.execute(select(Sensor.id, Layer.visibility).join(Layer, Layer.id == Sensor.layer_id)
                             .where(Sensor.id.in_(refs.sensors), visible_clause(staff))).all()
            seen = {sid: vis for sid, vis in rows}
            unknown += [(f"{where}.sensors", x) for x in sorted(refs.sensors - set(seen))]
            private += [(f"{where}.sensors", x) for x, vis in seen.items() if public and vis != PUBLIC]
        if refs.layers:
            rows = s.execute(select(Layer.id, Layer.visibility).where(Layer.id.in_(refs.layers),
                                                                       visible_clause(staff))).all()
            seen = {lid: vis for lid, vis in rows}
            unknown += [(f"{where}.layers", x) for x in sorted(refs.layers - set(seen))]
            private += [(f"{where}.layers", x) for x, vis in seen.items() if public and vis != PUBLIC]
        for rule_id in refs.rules:
            rule = s.get(AlertRule, rule_id)
            if rule is None or not can(staff, VIEW, rule.organisation_id, PUBLIC if rule.public else PRIVATE):
                unknown.append((f"{where}.rule", str(rule_id)))
            elif public and not rule.public:
                private.append((f"{where}.rule", str(rule_id)))
    for i, var in enumerate(doc.get("variables", [])):
        if var["type"] == "custom" and public:
            # custom values may stand for sensors or layers: the same rule applies to them
            hidden = set(var["options"]) & _private_ids(s)
            private += [(f"variables.{i}.options", x) for x in sorted(hidden)]
    if unknown:
        raise Refused(400, "invalid_dashboard", "dash.err.invalid_doc",
                      [{"field": f, "message_key": "dash.err.unknown_ref", "value": v} for f, v in unknown])
    if private:
        raise Refused(422, "private_data", "dash.err.private_in_public",
                      [{"field": f, "message_key": "dash.err.private_ref", "value": v} for f, v in private])


def _private_ids(s) -> set[str]:
    layers = set(s.scalars(select(Layer.id).where(Layer.visibility != PUBLIC)))
    sensors = set(s.scalars(select(Sensor.id).join(Layer, Layer.id == Sensor.layer_id)
                            .where(Layer.visibility != PUBLIC)))
    return layers | sensors


def _audited(doc: dict) -> dict:
    """What the audit log keeps of a dashboard before and after a change."""
    out = {k: doc.get(k) for k in ("slug", "title_ja", "title_en", "organisation", "visibility", "refresh", "time")}
    out["panels"] = [f"{p.get('id')}:{p.get('type')}" for p in doc.get("panels", [])]
    out["variables"] = [v.get("name") for v in doc.get("variables", [])]
    return out


def _audit(s, staff: Staff, action: str, dash: sd.Dashboard, before: dict | None, after: dict | None) -> None:
    changes = audit.diff(_audited(before), _audited(after)) if before is not None and after is not None else None
    audit.record(s, staff, action, f"dashboard:{dash.slug}", dash.title_ja, dash.organisation_id, changes=changes,
                 detail={"version": dash.version})


def _slug_taken() -> Refused:
    return Refused(409, "slug_taken", "dash.err.slug_taken", [{"field": "slug", "message_key": "dash.err.slug_taken"}])


def create(db, staff: Staff, data) -> dict:
    doc = parse_dashboard(data)
    with db.session() as s:
        org = _organisation(s, staff, doc.get("organisation", ""))
        if sd.by_slug(s, doc["slug"]) is not None:
            raise _slug_taken()
        _sensor_keys(s, staff, org, doc)
        check_refs(s, staff, doc)
        doc["organisation"] = org.code
        dash = sd.save(s, None, doc, org.id, staff.email)
        log.info("dashboard %s created by %s", dash.slug, staff.email)
        after = document(s, dash)
        _audit(s, staff, "dashboard.create", dash, {}, after)
        return after


def replace(db, staff: Staff, slug: str, data, action: str = "dashboard.update") -> dict:
    doc = parse_dashboard(data)
    with db.session() as s:
        dash = _editable(s, staff, slug)
        before = document(s, dash)
        org = _organisation(s, staff, doc.get("organisation", ""))
        if doc["slug"] != dash.slug and sd.by_slug(s, doc["slug"]) is not None:
            raise _slug_taken()
        _sensor_keys(s, staff, org, doc)
        check_refs(s, staff, doc)
        doc["organisation"] = org.code
        sd.save(s, dash, doc, org.id, staff.email)
        log.info("dashboard %s saved by %s (version %d)", dash.slug, staff.email, dash.version)
        after = document(s, dash)
        _audit(s, staff, action, dash, before, after)
        return after


def delete(db, staff: Staff, slug: str) -> None:
    with db.session() as s:
        dash = _editable(s, staff, slug)
        _audit(s, staff, "dashboard.delete", dash, None, None)
        sd.remove(s, dash)
        log.info("dashboard %s deleted by %s", slug, staff.email)


def free_slug(s, base: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:50] or "dashboard"
    if len(base) < 2:
        base = f"{base}-d"
    slug, n = base, 1
    while sd.by_slug(s, slug) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def duplicate(db, staff: Staff, slug: str) -> dict:
    """A private copy in the staff member's organisation (a public dashboard of another city may be
    copied too: it holds only public data)."""
    with db.session() as s:
        doc = document(s, _visible(s, staff, slug))
        doc.update(slug=free_slug(s, f"{slug}-copy"), visibility="private", organisation="",
                   title_ja=(doc["title_ja"] + "（コピー）")[:200],
                   title_en=(doc.get("title_en") + " (copy)")[:200] if doc.get("title_en") else "")
    return create(db, staff, doc)


def versions(db, staff: Staff, slug: str) -> list[dict]:
    with db.session() as s:
        dash = _editable(s, staff, slug)
        out = [{"version": dash.version, "saved_at": dash.updated_at, "saved_by": dash.updated_by, "current": True}]
        out += [{"version": v.version, "saved_at": v.saved_at, "saved_by": v.saved_by, "current": False}
                for v in sd.versions(s, dash)]
        return out


def restore(db, staff: Staff, slug: str, version: int) -> dict:
    """Save an earlier version as the newest one (so a restore can itself be undone)."""
    with db.session() as s:
        dash = _editable(s, staff, slug)
        old = sd.version_doc(s, dash, version) if isinstance(version, int) and 0 < version < 2**31 else None
        if old is None:
            raise Refused(404, "not_found", "dash.err.no_version")
        old = {**old, "slug": dash.slug}
    return replace(db, staff, slug, old, action="dashboard.restore")


# --- variables ------------------------------------------------------------------------------------

def variable_options(db, viewer: Staff | None, doc: dict, lang: str = "ja") -> dict[str, list[dict]]:
    """name -> [{"value", "label"}] of each variable, seen with the dashboard's eyes."""
    out: dict[str, list[dict]] = {}
    with db.session() as s:
        dash = sd.by_slug(s, doc.get("slug", ""))
        scope = scope_of(dash, viewer) if dash is not None else (None if doc.get("visibility") == PUBLIC else viewer)
        for var in doc.get("variables", []):
            out[var["name"]] = _options(s, scope, var, lang)
    return out


def _options(s, scope, var: dict, lang: str) -> list[dict]:
    kind = var["type"]
    if kind == "area":
        return [{"value": a, "label": a} for a in areas.area_names()]
    if kind == "sensor":
        rows = s.scalars(select(Sensor).join(Layer, Layer.id == Sensor.layer_id).where(visible_clause(scope))
                         .order_by(Sensor.name_ja, Sensor.id).limit(2000))
        return [{"value": x.id, "label": sensor_name(x, lang)} for x in rows]
    if kind == "layer":
        rows = s.scalars(select(Layer).where(visible_clause(scope), Layer.kind != "hazard_tiles")
                         .order_by(Layer.sort_order, Layer.id))
        return [{"value": x.id, "label": (x.name_en if lang == "en" and x.name_en else x.name_ja)} for x in rows]
    return [{"value": v, "label": v} for v in var.get("options", [])]


def resolve_variables(doc: dict, options: dict[str, list[dict]], given: dict[str, str]) -> dict[str, str]:
    """The value of each variable: the URL's when it is one of the options, else the default, else
    the first option."""
    out = {}
    for var in doc.get("variables", []):
        allowed = [o["value"] for o in options.get(var["name"], [])]
        want = given.get(var["name"])
        if want in allowed:
            out[var["name"]] = want
        elif var.get("default") in allowed:
            out[var["name"]] = var["default"]
        else:
            out[var["name"]] = allowed[0] if allowed else ""
    return out


def substitute(query: dict, values: dict[str, str]) -> dict:
    def one(v):
        if isinstance(v, str) and v.startswith("$"):
            return values.get(v[1:], "")
        if isinstance(v, list):
            return [x for x in (one(x) for x in v) if x != ""]
        return v
    return {k: one(v) for k, v in query.items()}


# --- panel data -----------------------------------------------------------------------------------

@dataclass
class ViewParams:
    time_from: str = ""
    time_to: str = ""
    variables: dict | None = None
    lang: str = "ja"


def _ttl(doc: dict) -> int:
    return REFRESH.get(doc.get("refresh", "off"), 0) or DEFAULT_TTL


def panel_data(db, viewer: Staff | None, slug: str, panel_id: str, params: ViewParams,
               now: datetime | None = None, cache=None) -> dict:
    """One panel's answer: {"panel", "type", "from", "to", "data"} or with "denied": true.

    Answers are computed once per refresh interval for everyone who sees the dashboard with the
    same eyes (all viewers of a public dashboard) and kept in `cache` (flask-caching or None)."""
    with db.session() as s:
        dash = _visible(s, viewer, slug)
        doc = document(s, dash)
        version, scope = dash.version, scope_of(dash, viewer)
    panel = next((p for p in doc["panels"] if p["id"] == panel_id), None)
    if panel is None:
        raise Refused(404, "not_found", "api.not_found")
    options = variable_options(db, viewer, doc, params.lang)
    values = resolve_variables(doc, options, params.variables or {})
    ttl = _ttl(doc)
    now = now or utcnow()
    tick = datetime.fromtimestamp(int(now.timestamp() // ttl) * ttl, tz=now.tzinfo)
    time_from = params.time_from or doc["time"]["from"]
    time_to = params.time_to or doc["time"]["to"]
    since, until = time_window(time_from, time_to, tick)
    scope_key = "public" if scope is None else ("admin" if scope.is_admin else f"org{scope.organisation_id}")
    key = "dash:" + orjson.dumps([slug, version, panel_id, scope_key, params.lang, since.isoformat(),
                                  until.isoformat(), values]).decode()
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    with key_lock(key):
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        answer = _compute(db, scope, panel, values, since, until, tick, params.lang)
        if cache is not None:
            cache.set(key, answer, timeout=ttl)
    return answer


def _compute(db, scope, panel: dict, values: dict, since: datetime, until: datetime, now: datetime,
             lang: str) -> dict:
    COMPUTATIONS["panels"] += 1
    query = substitute(panel["query"], values)
    head = {"panel": panel["id"], "type": panel["type"], "from": since.isoformat().replace("+00:00", "Z"),
            "to": until.isoformat().replace("+00:00", "Z"), "variables": values}
    kind = QUERY_KINDS[query["kind"]]
    try:
        with db.session() as s:
            data = kind.run(Context(s, scope, since, until, now, lang), query)
    except Denied:
        return {**head, "denied": True, "data": {}}
    except Exception:  # one broken panel must not take the dashboard down
        log.exception("dashboard panel %s (%s) failed", panel["id"], query["kind"])
        return {**head, "error": "panel_failed", "data": {}}
    if panel["type"] == "text":
        data = {"markdown": str(panel.get("options", {}).get("markdown", ""))}
    return {**head, "data": data}


def all_panels(db, viewer: Staff | None, slug: str, params: ViewParams, now: datetime | None = None,
               cache=None) -> dict[str, dict]:
    doc = get_document(db, viewer, slug)
    return {p["id"]: panel_data(db, viewer, slug, p["id"], params, now, cache) for p in doc["panels"]}


# --- CSV ------------------------------------------------------------------------------------------

def _jst(text: str | None) -> str:
    if not text:
        return ""
    from timezones import JST

    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def panel_rows(answer: dict) -> tuple[list[str], list[list]]:
    """The panel's data as a table: (header, rows); times in JST."""
    data = answer.get("data") or {}
    if answer.get("denied") or answer.get("error"):
        return ["message"], []
    if "series" in data:
        rows = [[s["key"], s["name"], _jst(t), v] for s in data["series"] for t, v in s["points"]]
        return ["sensor_id", "sensor", "time_jst", "value"], rows
    if data.get("rows") and isinstance(data["rows"][0], dict):
        cols = list(data.get("columns") or data["rows"][0].keys())
        rows = [[_jst(r.get(c)) if c == "time" else r.get(c) for c in cols] for r in data["rows"]]
        return [("time_jst" if c == "time" else c) for c in cols], rows
    if "bars" in data:
        return ["label", "value"], [[b["label"], b["value"]] for b in data["bars"]]
    if "layers" in data:
        return ["layer_id", "name"], [[x["id"], x["name"]] for x in data["layers"]]
    if "markdown" in data:
        return ["text"], [[data["markdown"]]]
    return ["value"], []


def panel_csv(answer: dict) -> bytes:
    """UTF-8 with BOM (Excel), formula-looking cells neutralised."""
    header, rows = panel_rows(answer)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([cell(c) for c in header])
    for row in rows:
        w.writerow([cell(c) for c in row])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


# --- preview (the editor) -------------------------------------------------------------------------

def preview_panel(db, staff: Staff | None, doc: dict, panel, params: ViewParams,
                  now: datetime | None = None) -> dict:
    """The answer of a panel that is not saved yet, for the editor's preview: validated like a saved
    one (`parse_query`), its sensors, layers and rules checked with the same rule as saving
    (`check_refs`: what the staff member may not see is refused as unknown; private data in a public
    dashboard is refused), then computed with the staff member's own eyes and never cached.
    Problems name the panel's own fields ("query.sensors", "type", …)."""
    from pydantic import ValidationError

    from dashboards.model import Panel, Variable, parse_query, problems_of

    if staff is None:
        raise Refused(401, "unauthorized", "dash.err.login")
    doc = doc if isinstance(doc, dict) else {}
    if not isinstance(panel, dict):
        raise Refused(400, "invalid_dashboard", "dash.err.invalid_doc",
                      [{"field": "", "message_key": "dash.err.object"}])
    try:
        checked = Panel.model_validate(panel).model_dump()
    except ValidationError as exc:
        raise Refused(400, "invalid_dashboard", "dash.err.invalid_doc", problems_of(exc)) from None
    variables = []
    for var in doc.get("variables") or []:
        try:
            variables.append(Variable.model_validate(var).model_dump())
        except ValidationError:
            continue  # a variable still being typed: panels cannot use it yet
    checked["query"] = parse_query(checked["type"], checked["query"], {v["name"] for v in variables})
    visibility = PUBLIC if doc.get("visibility") == PUBLIC else "private"
    with db.session() as s:
        try:
            check_refs(s, staff, {"visibility": visibility, "panels": [checked], "variables": variables})
        except Refused as exc:
            exc.details = [{**d, "field": d["field"].removeprefix("panels.0.")} for d in exc.details]
            raise
        values = resolve_variables({"variables": variables},
                                   {v["name"]: _options(s, staff, v, params.lang) for v in variables},
                                   params.variables or {})
    now = now or utcnow()
    time = doc.get("time") if isinstance(doc.get("time"), dict) else {}
    since, until = time_window(str(params.time_from or time.get("from") or "now-24h"),
                               str(params.time_to or time.get("to") or "now"), now)
    return _compute(db, staff, checked, values, since, until, now, params.lang)
