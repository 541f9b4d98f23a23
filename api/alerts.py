"""Alert rules, sensors and readings over the API (staff token), and the residents' mail links.

GET/POST /api/alert-rules, GET/PATCH/DELETE /api/alert-rules/<id>, GET /api/sensors,
POST /api/readings; /alerts/confirm and /alerts/unsubscribe (links in mails);
/staff/alerts/history.csv (CSV export of the history page).
"""
from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy import select

from alerts import access, rules
from alerts.config import config_of
from alerts.history import filters as history_filters, rows as history_rows, to_csv
from alerts.rules_json import rule_to_json
from alerts.subscriptions import confirm_subscription, unsubscribe
from api import schemas as s
from api.contract import Answer, contract, problems
from api.errors import error, request_lang
from api.schemas import Reading as ReadingShape
from i18n import t
from layers import melters_manage
from refusal import Refused
from sources.observed import finite, parse_time, time_problem
from store import alerts as sa
from store.db import get_db, utcnow
from store.layers import upsert_layer
from store.models import PRIVATE, Layer, Organisation, Sensor
from store.permissions import visible_sql
from store.sensors import add_reading, new_sensor_key, posted_sensor, shown_id, upsert_sensor

bp = Blueprint("alerts_api", __name__)
MAX_READINGS = 10000


def _config():
    return config_of(get_db())


def _refused(exc: Refused):
    """A rules service refusal as our JSON error, the details' messages in the request's language."""
    lang = request_lang()
    details = [dict(field=d["field"], message=t(d["message_key"], lang),
                    **({"values": d["values"]} if "values" in d else {}))
               if isinstance(d, dict) and "message_key" in d else d for d in exc.details]
    return error(exc.status, exc.code, exc.message_key, details, **exc.fmt)


@bp.get("/api/alert-rules")
@contract("Alert rules of the token's organisation (admins: all)", auth="token",
          answers={200: Answer("rules", list[s.AlertRuleOut])})
def list_rules():
    staff = access.token_staff()
    org_id, all_orgs = access.scope(staff)
    with get_db().session() as s:
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        return jsonify([rule_to_json(r, orgs.get(r.organisation_id)) for r in sa.rules(s, org_id, all_orgs)])


@bp.post("/api/alert-rules")
@contract("Create an alert rule", auth="token", body=s.AlertRule, validate_body=False, errors=(403,),
          answers={201: Answer("created", s.AlertRuleOut)})
def create_rule():
    staff = access.token_staff()
    data = request.get_json(silent=True)
    with get_db().session() as s:
        try:
            rule = rules.create(s, staff, data, _config())
        except Refused as exc:
            s.rollback()
            return _refused(exc)
        body = rule_to_json(rule, s.get(Organisation, rule.organisation_id))
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = f"/api/alert-rules/{body['id']}"
    return resp


@bp.get("/api/alert-rules/<int:rule_id>")
@contract("One alert rule", auth="token", answers={200: Answer("the rule", s.AlertRuleOut)})
def get_rule(rule_id: int):
    staff = access.token_staff()
    with get_db().session() as s:
        try:
            rule = rules.find(s, staff, rule_id)
        except Refused as exc:
            return _refused(exc)
        return jsonify(rule_to_json(rule, s.get(Organisation, rule.organisation_id)))


@bp.patch("/api/alert-rules/<int:rule_id>")
@contract("Change an alert rule", auth="token", body=s.AlertRule, validate_body=False,
          answers={200: Answer("the rule", s.AlertRuleOut)})
def patch_rule(rule_id: int):
    staff = access.token_staff()
    data = request.get_json(silent=True)
    with get_db().session() as s:
        try:
            rule = rules.update(s, staff, rule_id, data, _config())
        except Refused as exc:
            s.rollback()
            return _refused(exc)
        return jsonify(rule_to_json(rule, s.get(Organisation, rule.organisation_id)))


@bp.delete("/api/alert-rules/<int:rule_id>")
@contract("Delete an alert rule", auth="token", answers={204: Answer("deleted", media=None)})
def delete_rule(rule_id: int):
    staff = access.token_staff()
    with get_db().session() as s:
        try:
            rules.delete(s, staff, rule_id)
        except Refused as exc:
            return _refused(exc)
    return Response(status=204)


def _visible_sensors(s, staff) -> list[tuple[Sensor, Layer]]:
    q = select(Sensor, Layer).join(Layer, Layer.id == Sensor.layer_id).order_by(Sensor.id)
    q = q.where(visible_sql(staff, Layer.organisation_id, Layer.visibility))
    return list(s.execute(q).all())


@bp.get("/api/sensors")
@contract("Sensors with their latest reading (public, plus the token's organisation's)", auth="optional",
          answers={200: Answer("sensors", list[s.SensorOut])})
def list_sensors():
    """Sensors with their latest reading: public ones for everyone, plus the token's organisation's."""
    staff = access.staff()
    with get_db().session() as s:
        return jsonify([{
            "id": shown_id(x), "layer_id": x.layer_id, "name": {"ja": x.name_ja, "en": x.name_en},
            "lon": x.lon, "lat": x.lat, "attribute": x.attribute, "unit": x.unit,
            "visibility": layer.visibility,
            "latest": ({"value": x.last_value, "time": x.last_observed_at.isoformat()}
                       if x.last_observed_at is not None else None),
        } for x, layer in _visible_sensors(s, staff)])


def _org_sensor_layer(s, staff) -> Layer:
    org = s.get(Organisation, staff.organisation_id)
    layer_id = f"sensors-{org.code}"
    layer = s.get(Layer, layer_id)
    if layer is None:
        layer = upsert_layer(s, layer_id, kind="snow_depth", name_ja=f"{org.name_ja} センサー",
                             name_en=f"{org.name_en} sensors", group="yuki", organisation_id=org.id,
                             visibility=PRIVATE)
    return layer


@bp.post("/api/readings")
@contract("Post readings (all or nothing)", auth="token", body=s.Readings, validate_body=False,
          description="A refused item is named by its `index` (and `reason`: not_finite, too_old, future).",
          answers={200: Answer("stored", s.ReadingsAccepted)})
def post_readings():
    """A JSON array of {sensor_id, attribute, value, time}; a new sensor_id with lon/lat (and
    optionally name, unit) creates that sensor in the poster's organisation. An item with `state`
    (稼働中 / 停止 / 故障, running / stopped / fault) instead of `value` is a snow-melting device's
    report (a new id with lon/lat creates the device, private unless `visibility` says). All or nothing."""
    staff = access.token_staff()
    items = request.get_json(silent=True)
    if not isinstance(items, list) or not items or len(items) > MAX_READINGS:
        return error(400, "invalid_readings", "alerts.err.readings_array", max=MAX_READINGS)
    details, written, duplicates, created = [], 0, 0, []
    now = utcnow()
    mine: dict[str, Sensor] = {}  # the poster's sensors named so far (a batch names few, many times)
    with get_db().session() as s:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                details.append({"index": i, "message": t("alerts.err.object", request_lang())})
                continue
            if melters_manage.is_state_item(item):  # a snow-melting device's state (稼働中 / 停止 / 故障)
                outcome, problem = melters_manage.reading_item(s, staff, item, now, request_lang())
                if problem:
                    details.append({"index": i, **problem})
                elif outcome == "duplicate":
                    duplicates += 1
                else:
                    written += 1
                    created += [item["sensor_id"]] if outcome == "created" else []
                continue
            try:  # the declared shape of one reading (api/schemas.Reading); values and times are judged below
                ReadingShape.model_validate(item)
            except ValidationError as exc:
                details.extend({"index": i, **d} for d in problems(exc, "", request_lang())[:5])
                continue
            sid = str(item.get("sensor_id") or "").strip()[:120]
            value, at = item.get("value"), parse_time(item.get("time"))
            if not sid or isinstance(value, bool) or not isinstance(value, (int, float)) or at is None:
                details.append({"index": i, "message": t("alerts.err.reading", request_lang())})
                continue
            # refused at the door: a value that is no finite number, a time no observation can have
            reason = "not_finite" if not finite(value) else time_problem(at, now)
            if reason:
                details.append({"index": i, "reason": reason,
                                "message": t(f"alerts.err.reading_{reason}", request_lang())})
                continue
            # only the poster's own organisation's sensors answer to its ids: another organisation's
            # id, public or private, is free for it (its own sensor, shown by the id it posted)
            sensor = mine.get(sid) or posted_sensor(s, sid, staff.organisation_id)
            if sensor is None:
                lon, lat = item.get("lon"), item.get("lat")
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat)) \
                        or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    details.append({"index": i, "message": t("alerts.err.new_sensor", request_lang())})
                    continue
                if not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
                    details.append({"index": i, "message": t("alerts.err.sensor_forbidden", request_lang())})
                    continue
                layer = _org_sensor_layer(s, staff)
                key = new_sensor_key(s, s.get(Organisation, staff.organisation_id).code, sid)
                sensor = upsert_sensor(s, key, ref=sid, layer_id=layer.id, name_ja=str(item.get("name") or sid)[:200],
                                       name_en=str(item.get("name_en") or item.get("name") or sid)[:200],
                                       lon=round(float(lon), 6), lat=round(float(lat), 6),
                                       attribute=str(item.get("attribute") or "snowDepth")[:60],
                                       unit=str(item.get("unit") or "cm")[:20])
                created.append(sid)
                mine[sid] = sensor
            else:
                layer = s.get(Layer, sensor.layer_id)
                if not staff.may_manage(layer.organisation_id):
                    details.append({"index": i, "message": t("alerts.err.sensor_forbidden", request_lang())})
                    continue
                mine[sid] = sensor
            if add_reading(s, sensor, float(value), at, str(item.get("attribute") or sensor.attribute)[:60]):
                written += 1
            else:
                duplicates += 1
        if details:
            s.rollback()
            return error(400, "invalid_readings", "alerts.err.readings", details)
    return jsonify({"accepted": written, "duplicates": duplicates, "created_sensors": created})


# --- links in mails (no log-in) -------------------------------------------------------------------

def _page(title: str, message: str, lang: str, status: int = 200, extra: str = "") -> Response:
    body = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/assets/style.css"></head>'
            f'<body><div class="page"><header class="topbar"><h1 class="app-title">{html.escape(t("app.title", lang))}'
            f'</h1></header><main class="page-body"><h2>{html.escape(title)}</h2><p id="alerts-result">'
            f'{html.escape(message)}</p>{extra}'
            f'<p><a href="/?lang={lang}">{html.escape(t("sensors.back", lang))}</a></p>'
            f'</main></div></body></html>')
    return Response(body, status=status, mimetype="text/html")


@bp.route("/alerts/confirm", methods=["GET", "POST"])
def confirm():
    """GET (the link in the mail) asks; the button POSTs. A mail scanner that opens the link must
    not complete a subscription someone else asked for in this address's name."""
    lang = request_lang()
    act = request.method == "POST"
    with get_db().session() as s:
        sub = confirm_subscription(s, request.args.get("token", ""), utcnow(), apply=act)
        if sub is None:
            return _page(t("alerts.sub.bad_link_title", lang), t("alerts.sub.bad_link", lang), lang, 404)
        rule = s.get(sa.AlertRule, sub.rule_id)
        lang = sub.language or lang
        if act or sub.confirmed_at is not None:
            return _page(t("alerts.sub.confirmed_title", lang), t("alerts.sub.confirmed", lang, rule=rule.name), lang)
        rule_name = rule.name
    return _page(t("alerts.sub.confirm_title", lang), t("alerts.sub.confirm_ask", lang, rule=rule_name), lang,
                 extra=_button_form("/alerts/confirm", "alerts-confirm-button", t("alerts.sub.confirm_button", lang)))


def _button_form(path: str, button_id: str, label: str) -> str:
    """A form that POSTs back to path with this request's query (the link's token) and confirm=1."""
    query = html.escape(request.query_string.decode("utf-8", "replace"), quote=True)
    return (f'<form method="post" action="{path}?{query}"><input type="hidden" name="confirm" value="1">'
            f'<button type="submit" id="{button_id}" class="staff-button">{html.escape(label)}</button></form>')


@bp.route("/alerts/unsubscribe", methods=["GET", "POST"])
def unsubscribe_link():
    """GET (the link in the mail) asks first: mail scanners open links, and must not unsubscribe
    anybody. The page's button POSTs back with confirm=1; a mail client's RFC 8058 one-click POST
    acts at once and gets a plain answer."""
    lang = request_lang()
    token, signed = request.args.get("token", ""), request.args.get("s", "")
    act = request.method == "POST"
    with get_db().session() as s:
        ok = unsubscribe(s, _config(), utcnow(), token=token, signed=signed, apply=act)
    if act and not request.form.get("confirm"):
        return Response("ok\n" if ok else "unknown\n", status=200 if ok else 404, mimetype="text/plain")
    if not ok:
        return _page(t("alerts.sub.bad_link_title", lang), t("alerts.sub.bad_link", lang), lang, 404)
    if act:
        return _page(t("alerts.sub.unsubscribed_title", lang), t("alerts.sub.unsubscribed", lang), lang)
    return _page(t("alerts.sub.unsubscribe_title", lang), t("alerts.sub.unsubscribe_ask", lang), lang,
                 extra=_button_form("/alerts/unsubscribe", "alerts-unsubscribe-confirm",
                                    t("alerts.sub.unsubscribe_button", lang)))


@bp.get("/staff/alerts/history.csv")
def history_csv():
    staff = access.staff()
    lang = request_lang()
    if staff is None:
        return error(401, "unauthorized", "alerts.err.login")
    org_id, all_orgs = access.scope(staff)
    try:
        since, rule_id = history_filters(request.args.get("days", "7"), request.args.get("rule"), utcnow())
    except Refused as exc:
        return _refused(exc)
    kind = request.args.get("kind") or None
    with get_db().session() as s:
        events, mails = sa.history(s, org_id, all_orgs, since=since, rule_id=rule_id, limit=100000,
                                   kinds=[kind] if kind and kind != "mail" else None)
        if kind == "mail":
            events = []
        elif kind:
            mails = []
        table = history_rows(events, mails, lang)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(to_csv(table, lang), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="alert-history-{stamp}.csv"'})
