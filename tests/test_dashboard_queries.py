"""Panel query kinds against hand-computed answers, on SQLite and on PostgreSQL, and what each
shows to the public, to its own organisation and to another one."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.queries.base import Context, Denied
from registry import QUERY_KINDS
from store.alerts import AlertEvent, AlertRule
from store.layers import ensure_organisation, upsert_layer
from store.models import PRIVATE, PUBLIC, Feature
from store.sensors import add_reading, upsert_sensor
from store.users import ADMIN, EDITOR, Staff

NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    """Two cities; a public and a private layer of items; public and private sensors; rules and events."""
    with db.session() as s:
        kaga = ensure_organisation(s, "kaga", "加賀市", "Kaga")
        hakui = ensure_organisation(s, "hakui", "羽咋市", "Hakui")
        upsert_layer(s, "items", kind="uploaded", name_ja="品目", group="x", organisation_id=kaga.id, visibility=PUBLIC)
        upsert_layer(s, "secret-items", kind="uploaded", name_ja="秘密", group="x", organisation_id=kaga.id,
                     visibility=PRIVATE)
        rows = [("a1", {"kind": "A", "n": 3, "name": "東"}), ("a2", {"kind": "A", "n": "4", "name": "西=1"}),
                ("b1", {"kind": "B", "n": "x", "name": "南"}), ("b2", {"kind": "B", "name": "北"}),
                ("c1", {"n": "12.5", "name": "中"})]
        for fid, props in rows:
            s.add(Feature(layer_id="items", fid=fid, geometry='{"type":"Point","coordinates":[136.3,36.3]}',
                          properties=props, minx=136.3, miny=36.3, maxx=136.3, maxy=36.3))
        s.add(Feature(layer_id="secret-items", fid="s1", geometry='{"type":"Point","coordinates":[136.3,36.3]}',
                      properties={"kind": "S"}, minx=136.3, miny=36.3, maxx=136.3, maxy=36.3))
        upsert_layer(s, "sensors-pub", kind="sensor_points", name_ja="公開", group="x", organisation_id=kaga.id,
                     visibility=PUBLIC)
        upsert_layer(s, "sensors-kaga", kind="sensor_points", name_ja="非公開", group="x", organisation_id=kaga.id,
                     visibility=PRIVATE)
        pub = upsert_sensor(s, "pub-1", layer_id="sensors-pub", name_ja="加賀 公開", lon=136.31, lat=36.30)
        priv = upsert_sensor(s, "priv-1", layer_id="sensors-kaga", name_ja="加賀 秘密", lon=136.32, lat=36.31)
        add_reading(s, pub, 10.0, NOW - timedelta(hours=1))
        add_reading(s, priv, 99.0, NOW - timedelta(hours=1))
        public_rule = AlertRule(organisation_id=kaga.id, name="公開ルール", target="sensor", sensor_id="pub-1",
                                threshold=20, public=True)
        private_rule = AlertRule(organisation_id=kaga.id, name="内部ルール", target="sensor", sensor_id="pub-1",
                                 threshold=5, public=False)
        s.add_all([public_rule, private_rule])
        s.flush()
        # 23:59 and 00:01 JST fall on two days; the private rule's event is for kaga's staff only
        for rule, at in ((public_rule, datetime(2026, 1, 19, 14, 59, tzinfo=UTC)),
                         (public_rule, datetime(2026, 1, 19, 15, 1, tzinfo=UTC)),
                         (private_rule, datetime(2026, 1, 19, 15, 2, tzinfo=UTC))):
            s.add(AlertEvent(rule_id=rule.id, organisation_id=kaga.id, rule_name=rule.name, kind="fired", at=at,
                             subject=f"{rule.name} 発報"))
        ids = {"kaga": kaga.id, "hakui": hakui.id, "public_rule": public_rule.id, "private_rule": private_rule.id}
    people = {"public": None,
              "kaga": Staff(1, "k@example.jp", ids["kaga"], "kaga", EDITOR),
              "hakui": Staff(2, "h@example.jp", ids["hakui"], "hakui", EDITOR),
              "admin": Staff(3, "a@example.jp", ids["hakui"], "hakui", ADMIN)}
    return db, people, ids


def run(db, scope, query: dict, since=NOW - timedelta(days=2), until=NOW):
    kind = QUERY_KINDS[query["kind"]]
    fields = kind.schema.model_validate({k: v for k, v in query.items() if k != "kind"}).model_dump()
    parsed = {"kind": kind.name, **fields}
    with db.session() as s:
        return kind.run(Context(s, scope, since, until, NOW), parsed)


def test_layer_stats_count_sum_avg_by_property(world):
    db, people, _ = world
    def stats(**more):
        return run(db, None, {"kind": "layer_stats", "layer": "items", "group_by": "kind", **more})["bars"]

    bars = stats()
    assert {b["label"]: b["value"] for b in bars} == {"-": 1, "A": 2, "B": 2}
    bars = stats(value="n", fn="sum")
    # "x" is not a number and an absent value is no number: B has none
    assert {b["label"]: b["value"] for b in bars} == {"-": 12.5, "A": 7.0, "B": None}
    bars = stats(value="n", fn="avg")
    assert {b["label"]: b["value"] for b in bars}["A"] == 3.5
    bars = stats(value="n", fn="max")
    assert {b["label"]: b["value"] for b in bars}["A"] == 4.0


def test_layer_items_filters(world):
    db, _, _ = world
    out = run(db, None, {"kind": "layer_items", "layer": "items", "columns": ["name", "n"],
                         "filters": [{"property": "kind", "op": "eq", "value": "A"}]})
    assert [r["id"] for r in out["rows"]] == ["a1", "a2"] and out["columns"] == ["name", "n", "id"]
    def items(prop, op, value):
        return run(db, None, {"kind": "layer_items", "layer": "items",
                              "filters": [{"property": prop, "op": op, "value": value}]})

    out = items("n", "gt", 3.5)
    assert sorted(r["id"] for r in out["rows"]) == ["a2", "c1"]
    out = items("name", "contains", "=")
    assert [r["id"] for r in out["rows"]] == ["a2"]
    out = items("kind", "ne", "A")
    assert sorted(r["id"] for r in out["rows"]) == ["b1", "b2", "c1"]


@pytest.mark.parametrize("who, sees", [("public", False), ("hakui", False), ("kaga", True), ("admin", True)])
def test_private_layers_and_sensors_by_who_looks(world, who, sees):
    db, people, _ = world
    scope = people[who]
    for query in ({"kind": "layer_stats", "layer": "secret-items", "group_by": "kind"},
                  {"kind": "layer_items", "layer": "secret-items"},
                  {"kind": "sensor_latest", "sensors": ["priv-1"]},
                  {"kind": "sensor_latest", "layer": "sensors-kaga"},
                  {"kind": "map_layers", "layers": ["secret-items"]}):
        if sees:
            run(db, scope, query)
        else:
            with pytest.raises(Denied):
                run(db, scope, query)
    # selections by area and "all" leave the private sensor out, without a trace
    for query in ({"kind": "sensor_latest", "area": "加賀市"}, {"kind": "sensor_latest"},
                  {"kind": "sensor_latest", "group_by": "area", "fn": "count"}):
        out = run(db, scope, query)
        ids = {r["id"] for r in out["rows"]}
        assert ("priv-1" in ids) == sees and "pub-1" in ids
        if query.get("group_by") == "area":
            assert out["bars"] == [{"label": "加賀市", "value": 2 if sees else 1}]


def test_alert_events_per_jst_day_and_per_rule_only_visible_rules(world):
    db, people, ids = world
    day = {b["label"]: b["value"] for b in run(db, None, {"kind": "alert_events", "by": "day"})["bars"]}
    assert day == {"2026-01-19": 1, "2026-01-20": 1}  # the private rule's event is not counted
    day = {b["label"]: b["value"] for b in run(db, people["kaga"], {"kind": "alert_events", "by": "day"})["bars"]}
    assert day == {"2026-01-19": 1, "2026-01-20": 2}
    rows = run(db, people["hakui"], {"kind": "alert_events", "by": "list"})["rows"]
    assert {r["rule"] for r in rows} == {"公開ルール"}
    with pytest.raises(Denied):
        run(db, people["hakui"], {"kind": "alert_events", "rule": ids["private_rule"]})
    assert run(db, people["kaga"], {"kind": "alert_events", "rule": ids["private_rule"], "by": "rule"})["value"] == 1


def test_series_thresholds_only_from_rules_the_viewer_may_see(world):
    db, people, _ = world
    public = run(db, None, {"kind": "sensor_series", "sensors": ["pub-1"], "agg": "hour"})
    assert [line["label"] for line in public["thresholds"]] == ["公開ルール > 20"]
    assert public["series"][0]["points"][0][1] == 10.0
    own = run(db, people["kaga"], {"kind": "sensor_series", "sensors": ["pub-1"], "agg": "hour"})
    assert sorted(line["value"] for line in own["thresholds"]) == [5.0, 20.0]
    with pytest.raises(Denied):
        run(db, people["hakui"], {"kind": "sensor_series", "sensors": ["pub-1", "priv-1"]})


def test_long_ranges_step_up_to_coarser_buckets():
    from dashboards.queries.sensor_series import effective_agg

    assert effective_agg("10min", 24 * 3600) == "10min"
    assert effective_agg("10min", 365 * 86400) == "day"  # 52,560 ten-minute buckets are too many; 8,760 hours too
    assert effective_agg("hour", 90 * 86400) == "hour"
    assert effective_agg("raw", 365 * 86400) == "raw"
