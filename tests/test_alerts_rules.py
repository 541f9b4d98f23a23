"""alerts/rules.py: the rule-saving workflow the API and the staff page share, called directly."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts import rules
from alerts.rules_json import RuleError
from refusal import Refused
from store import alerts as sa
from store.layers import upsert_layer
from store.models import PRIVATE, Sensor
from store.sensors import add_reading, upsert_sensor
from tests.alert_helpers import T0


@pytest.fixture
def world(alerts_world):
    """conftest's alerts_world, with a public snow-depth layer and sensor (a reading of 30 cm a minute
    before T0) and a private sensor of 羽咋市: (db, cfg, staff)."""
    db, cfg, clock, staff = alerts_world
    orgs = {k: v.organisation_id for k, v in staff.items()}
    with db.session() as s:
        upsert_layer(s, "snow-depth", kind="snow_depth", name_ja="積雪深", group="yuki", organisation_id=orgs["admin"])
        upsert_layer(s, "sensors-hakui", kind="snow_depth", name_ja="羽咋 センサー", group="yuki",
                     organisation_id=orgs["hakui"], visibility=PRIVATE)
        upsert_sensor(s, "pub-1", layer_id="snow-depth", name_ja="公開 観測点", lon=136.5, lat=36.4)
        upsert_sensor(s, "hakui-priv", layer_id="sensors-hakui", name_ja="羽咋 非公開", lon=136.77, lat=36.89)
    with db.session() as s:
        add_reading(s, s.get(Sensor, "pub-1"), 30.0, T0 - timedelta(minutes=1))
    return db, cfg, staff


def body(**over) -> dict:
    b = {"name": "積雪 20cm", "sensor_id": "pub-1", "op": ">", "threshold": 20, "clear_threshold": 15,
         "recipients": ["duty@kaga.example.jp"]}
    b.update(over)
    return b


def test_create_evaluates_at_once_and_keeps_the_owner(world):
    db, cfg, staff = world
    with db.session() as s:
        rule = rules.create(s, staff["kaga"], body(), cfg)
        rid = rule.id
        assert (rule.organisation_id, rule.owner) == (staff["kaga"].organisation_id, "k@kaga.example.jp")
    with db.session() as s:
        events = list(s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rid)))
        assert [(e.kind, e.subject, e.value) for e in events] == [("fired", "pub-1", 30.0)]


def test_invalid_rules_are_refused_with_field_details(world):
    db, cfg, staff = world
    with db.session() as s:
        with pytest.raises(Refused) as exc:
            rules.create(s, staff["kaga"], body(threshold="lots", sensor_id="nope"), cfg)
        assert isinstance(exc.value, RuleError) and exc.value.status == 400 and exc.value.code == "invalid_rule"
        assert {d["field"] for d in exc.value.details} == {"threshold", "sensor_id"}
        with pytest.raises(Refused) as exc:
            rules.create(s, None, body(), cfg)
        assert exc.value.status == 401
        assert not list(s.scalars(select(sa.AlertRule)))


def test_find_update_delete_stay_within_the_organisation(world):
    db, cfg, staff = world
    with db.session() as s:
        rid = rules.create(s, staff["kaga"], body(), cfg).id
    with db.session() as s:
        for who in ("hakui",):
            for call in (lambda who=who: rules.find(s, staff[who], rid),
                         lambda who=who: rules.update(s, staff[who], rid, {"threshold": 1}, cfg),
                         lambda who=who: rules.set_paused(s, staff[who], rid, True),
                         lambda who=who: rules.delete(s, staff[who], rid)):
                with pytest.raises(Refused) as exc:
                    call()
                assert (exc.value.status, exc.value.code) == (404, "not_found")
        for bad in (10 ** 22, -1, 0, "abc", None, 2 ** 63):
            with pytest.raises(Refused) as exc:
                rules.find(s, staff["kaga"], bad)
            assert exc.value.status == 404
        assert rules.find(s, staff["admin"], rid).id == rid
    with db.session() as s:
        assert s.get(sa.AlertRule, rid).threshold == 20
        # a partial change keeps everything else; the states start afresh and are evaluated again
        rule = rules.update(s, staff["kaga"], rid, {"threshold": 25}, cfg)
        assert (rule.threshold, rule.sensor_id, rule.recipients) == (25, "pub-1", ["duty@kaga.example.jp"])
        states = list(s.scalars(select(sa.AlertState).where(sa.AlertState.rule_id == rid)))
        assert [x.status for x in states] == ["firing"]
        rules.set_paused(s, staff["kaga"], rid, True)
    with db.session() as s:
        # the page's whole form: missing keys are not kept, but paused and the owner are
        rule = rules.update(s, staff["admin"], rid, body(name="置き換え", threshold=40, recipients=[]),
                            cfg, replace=True)
        assert (rule.name, rule.threshold, rule.clear_threshold, rule.recipients) == ("置き換え", 40, 15, [])
        assert rule.paused is True and rule.owner == "k@kaga.example.jp"
        assert rule.organisation_id == staff["kaga"].organisation_id
    with db.session() as s:
        assert rules.delete(s, staff["kaga"], rid) == "置き換え"
    with db.session() as s:
        assert s.get(sa.AlertRule, rid) is None
        assert list(s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id.is_(None))))  # history stays


def test_a_changed_rule_keeps_its_owners_view(world):
    """An admin changing 加賀市's rule cannot point it at 羽咋市's private sensor: the rule sees
    what its owner sees, whoever edits it; 羽咋市's own rule may."""
    db, cfg, staff = world
    with db.session() as s:
        rid = rules.create(s, staff["kaga"], body(), cfg).id
    with db.session() as s:
        with pytest.raises(Refused) as exc:
            rules.update(s, staff["admin"], rid, {"sensor_id": "hakui-priv"}, cfg)
        assert exc.value.details[0]["field"] == "sensor_id"
        assert rules.create(s, staff["hakui"], body(sensor_id="hakui-priv"), cfg).sensor_id == "hakui-priv"
        assert rules.create(s, staff["admin"], body(sensor_id="hakui-priv"), cfg).sensor_id == "hakui-priv"


def test_draft_is_never_stored_and_carries_the_saved_rules_owner(world):
    db, cfg, staff = world
    with db.session() as s:
        rid = rules.create(s, staff["kaga"], body(), cfg).id
    with db.session() as s:
        d = rules.draft(s, staff["admin"], body(name="下書き", threshold=99), rid)
        assert (d.id, d.owner, d.threshold) == (rid, "k@kaga.example.jp", 99) and d not in s
        fresh = rules.draft(s, staff["hakui"], body(name="新規"))
        assert fresh.id is None and fresh.owner == "h@hakui.example.jp" and fresh not in s
        with pytest.raises(Refused) as exc:
            rules.draft(s, staff["hakui"], body(), rid)
        assert exc.value.status == 404
    with db.session() as s:
        assert s.get(sa.AlertRule, rid).threshold == 20 and s.get(sa.AlertRule, rid).name == "積雪 20cm"


def test_the_service_imports_neither_flask_nor_dash():
    out = subprocess.run([sys.executable, "-c", "import sys, alerts.rules; "
                          "print(sorted(m for m in ('flask', 'dash') if m in sys.modules))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_lazy_visibility_check_is_the_scope_rule(world):
    """store.alerts.rule_sees (the ingest path's shortcut) answers exactly as rule_scope + scope_sees."""
    from types import SimpleNamespace

    from store.models import Layer

    db, _cfg, staff = world
    with db.session() as s:
        layers = [s.get(Layer, "snow-depth"), s.get(Layer, "sensors-hakui"), None]
        owners = [(staff[w].organisation_id, staff[w].email) for w in ("kaga", "hakui", "admin")] + [(None, "")]
        seen = set()
        for org, owner in owners:
            for public in (False, True):
                rule = SimpleNamespace(public=public, organisation_id=org, owner=owner)
                for layer in layers:
                    lazy = sa.rule_sees(s, rule, layer, {})
                    assert lazy == sa.scope_sees(sa.rule_scope(s, rule), layer), (org, owner, public, layer)
                    seen.add((owner, public, getattr(layer, "id", None), lazy))
    assert ("h@hakui.example.jp", False, "sensors-hakui", True) in seen
    assert ("a@pref.example.jp", False, "sensors-hakui", True) in seen
    assert ("a@pref.example.jp", True, "sensors-hakui", False) in seen
    assert ("k@kaga.example.jp", False, "sensors-hakui", False) in seen
