"""The /sensors dashboard's logic: selection in the URL, JST windows, aggregation, thresholds, CSV,
QuantumLeap history (against its documented response) and the CSV export route."""
from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import orjson
import pytest
from sqlalchemy import select

from layers import sensor_history as sh
from sources.quantumleap import QuantumLeapClient
from tests.fake_orion import fixture

UTC = UTC


def test_selection_round_trip_and_fallbacks():
    known = {"a", "b", "c"}
    sel = sh.parse_selection({"sensors": "a,zz,b,a", "range": "7d", "agg": "hour", "attr": "snowDepth",
                              "refresh": "1", "lang": "en"}, known)
    assert sel.sensors == ["a", "b"] and sel.range == "7d" and sel.agg == "hour" and sel.refresh and sel.lang == "en"
    again = sh.parse_selection({k: v[0] for k, v in parse_qs(sh.to_query(sel)[1:]).items()}, known)
    assert again == sel
    # the map popup's single-sensor link
    assert sh.parse_selection({"sensor": "c"}, known).sensors == ["c"]
    bad = sh.parse_selection({"range": "1y", "agg": "week", "sensors": "<script>"}, known)
    assert bad.range == "24h" and bad.agg == "raw" and bad.sensors == []


def test_custom_window_is_jst():
    sel = sh.Selection(range="custom", start="2026-01-15T09:00", end="2026-01-16T09:00")
    start, end = sh.time_window(sel, datetime(2026, 2, 1, tzinfo=UTC))
    assert start == datetime(2026, 1, 15, 0, 0, tzinfo=UTC) and end == datetime(2026, 1, 16, 0, 0, tzinfo=UTC)
    swapped = sh.time_window(sh.Selection(range="custom", start="2026-01-16T09:00", end="2026-01-15T09:00"),
                             datetime(2026, 2, 1, tzinfo=UTC))
    assert swapped == (start, end)
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert sh.time_window(sh.Selection(range="30d"), now) == (now - timedelta(days=30), now)


def test_aggregation_buckets_align_to_jst_days():
    # 14:30 UTC = 23:30 JST on the 15th; 15:30 UTC = 00:30 JST on the 16th: two JST days
    pts = [(datetime(2026, 1, 15, 14, 30, tzinfo=UTC), 10.0), (datetime(2026, 1, 15, 14, 50, tzinfo=UTC), 20.0),
           (datetime(2026, 1, 15, 15, 30, tzinfo=UTC), 40.0)]
    days = sh.aggregate(pts, sh.AGGS["day"])
    assert [b.start for b in days] == [datetime(2026, 1, 14, 15, tzinfo=UTC), datetime(2026, 1, 15, 15, tzinfo=UTC)]
    assert (days[0].min, days[0].max, days[0].mean, days[0].count) == (10.0, 20.0, 15.0, 2)
    tens = sh.aggregate(pts, sh.AGGS["10min"])
    assert [b.count for b in tens] == [1, 1, 1] and tens[0].start == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)


def test_table_rows_and_csv_are_safe():
    series = {"s1": [(datetime(2026, 1, 15, 0, 0, tzinfo=UTC), 12.5)]}
    rows = sh.table_rows(series, {"s1": "=HYPERLINK(\"x\")"}, "raw")
    assert rows == [{"sensor": '=HYPERLINK("x")', "sensor_id": "s1", "time": "2026-01-15 09:00", "value": 12.5}]
    out = list(csv.reader(io.StringIO(sh.rows_csv(rows, "raw"))))
    assert out[0] == ["sensor_id", "sensor", "time_jst", "value"]
    assert out[1][1].startswith("'=")  # not a formula in a spreadsheet
    buckets = {"s1": sh.aggregate(series["s1"], sh.AGGS["hour"])}
    agg = sh.rows_csv(sh.table_rows(buckets, {"s1": "x"}, "hour"), "hour")
    assert agg.splitlines()[0] == "sensor_id,sensor,time_jst,min,max,mean,count"
    assert agg.splitlines()[1] == "s1,x,2026-01-15 09:00,12.5,12.5,12.5,1"


def test_sql_buckets_equal_the_python_ones(db):
    """The store's buckets (aggregated in SQL) are those the page computed in Python: on and just off
    10-min, hour and JST-day boundaries, two sensors, an average that needs rounding, another
    attribute that must not count."""
    from store.layers import ensure_organisation, upsert_layer
    from store.sensors import add_readings, upsert_sensor
    from timezones import JST

    def jst(*a):
        return datetime(*a, tzinfo=JST).astimezone(UTC)

    readings = [("a", "snowDepth", 10.0, jst(2026, 1, 10, 9, 0)), ("a", "snowDepth", 20.0, jst(2026, 1, 10, 9, 5)),
                ("a", "snowDepth", 30.0, jst(2026, 1, 10, 9, 10)),
                ("a", "snowDepth", 40.0, jst(2026, 1, 10, 9, 59, 59)),
                ("a", "snowDepth", 50.0, jst(2026, 1, 10, 10, 0)), ("a", "snowDepth", 60.0, jst(2026, 1, 10, 23, 59)),
                ("a", "snowDepth", 70.0, jst(2026, 1, 11, 0, 0)), ("a", "temperature", -5.0, jst(2026, 1, 10, 9, 1)),
                ("b", "snowDepth", 1.0, jst(2026, 1, 10, 9, 0)), ("b", "snowDepth", 3.0, jst(2026, 1, 10, 9, 30)),
                ("b", "snowDepth", 1.0, jst(2026, 1, 10, 10, 0)), ("b", "snowDepth", 2.0, jst(2026, 1, 10, 10, 1)),
                ("b", "snowDepth", 2.0, jst(2026, 1, 10, 10, 2))]
    since, until = jst(2026, 1, 9, 20, 30), jst(2026, 1, 11, 23, 59)
    with db.session() as s:
        org = ensure_organisation(s, "kaga", "加賀市", "Kaga City")
        upsert_layer(s, "snow", kind="sensors", name_ja="積雪", name_en="Snow", group="yuki",
                     organisation_id=org.id, options={})
        sensors = {sid: upsert_sensor(s, sid, layer_id="snow", name_ja=sid, lon=136.5, lat=36.5)
                   for sid in ("a", "b", "empty")}
        add_readings(s, [(sensors[sid], v, t, a) for sid, a, v, t in readings])
    ids = ["b", "a", "empty"]
    with db.session() as s:
        raw = sh.history(s, ids, "snowDepth", since, until, "raw")
        assert list(raw) == ids and raw["empty"] == []
        assert raw["a"] == [(t, v) for sid, a, v, t in readings if sid == "a" and a == "snowDepth"]
        for agg in ("10min", "hour", "day"):
            got = sh.history(s, ids, "snowDepth", since, until, agg)
            assert list(got) == ids
            assert got == {sid: sh.aggregate(pts, sh.AGGS[agg]) for sid, pts in raw.items()}, agg
        days = sh.history(s, ["a"], "snowDepth", since, until, "day")["a"]
        assert [(b.start, b.min, b.max, b.mean, b.count) for b in days] == [
            (jst(2026, 1, 10), 10.0, 60.0, 35.0, 6), (jst(2026, 1, 11), 70.0, 70.0, 70.0, 1)]
        assert sh.history(s, ["b"], "snowDepth", since, until, "hour")["b"][1].mean == 1.667


def test_threshold_lines_feed_the_chart():
    from components.sensor_chart import sensor_figure
    from timezones import JST

    lines = [{"value": 50, "label": "警報 50cm"}]
    now = datetime(2026, 1, 15, tzinfo=UTC)
    fig = sensor_figure({"a": [(now, 1.0)]}, {"a": "A"}, None, sh.aggregate, lines, "t", "y",
                        {"min": "min", "max": "max", "mean": "mean"}, JST, (now - timedelta(hours=1), now))
    assert [s["y0"] for s in fig.layout.shapes] == [50]


def test_store_series_reads_the_demo_sensors(app_db):
    with app_db.session() as s:
        # the demo feed's own sensors (other tests post public sensors of their own into this app)
        ids = [x.id for x in sh.public_sensors(s) if x.layer_id == "snow-depth"][:2]
        now = datetime.now(UTC)
        series = sh.store_series(s, ids, "snowDepth", now - timedelta(hours=24), now)
        assert set(series) == set(ids) and all(len(v) > 100 for v in series.values())
        assert all(a <= b for pts in series.values() for a, b in zip(pts, pts[1:]))
        assert sh.attributes_of(s, ids) == ["snowDepth"]


# ------------------------------------------------------------------ QuantumLeap


@pytest.fixture
def quantumleap():
    rec = fixture("quantumleap-spec-example.json")
    seen = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            u = urlparse(self.path)
            seen.append({"path": u.path, "query": {k: v[0] for k, v in parse_qs(u.query).items()},
                         "headers": {k.lower(): v for k, v in self.headers.items()}})
            if "Kitchen1" in u.path:
                status, body = rec["response"]["status"], rec["response"]["body"]
            elif "empty200" in u.path:
                status, body = 200, []
            else:
                status, body = 404, rec["response"]["error_example_404"]
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_quantumleap_documented_answer(quantumleap):
    url, seen = quantumleap
    ql = QuantumLeapClient(url, service="kaga_city", servicepath="/snow")
    since, until = datetime(2018, 1, 1, tzinfo=UTC), datetime(2018, 2, 1, tzinfo=UTC)
    pts = ql.attr_history("Kitchen1", "temperature", since, until, entity_type="Kitchen")
    assert pts == [(datetime(2018, 1, 5, 15, 44, 34, tzinfo=UTC), 24.1),
                   (datetime(2018, 1, 6, 15, 44, 59, tzinfo=UTC), 25.3),
                   (datetime(2018, 1, 7, 15, 44, 59, tzinfo=UTC), 26.7)]
    q = seen[0]
    assert q["path"] == "/v2/entities/Kitchen1/attrs/temperature" and q["query"]["type"] == "Kitchen"
    assert q["query"]["fromDate"] == "2018-01-01T00:00:00.000+00:00"
    assert q["headers"]["fiware-service"] == "kaga_city" and q["headers"]["fiware-servicepath"] == "/snow"
    # no data: the spec's 404 and the code's 200 [] both mean nothing
    assert ql.attr_history("nothing", "temperature", since, until) == []
    assert ql.attr_history("empty200", "temperature", since, until) == []


def test_dashboard_series_from_quantumleap_for_broker_sensors(app_db, quantumleap):
    from store.brokers import SensorOrigin, Source
    from store.sensors import upsert_sensor

    url, _ = quantumleap
    with app_db.session() as s:
        src = Source(name="ql-test", base_url="http://127.0.0.1:1")
        s.add(src)
        s.flush()
        upsert_sensor(s, "ql-test-kitchen", layer_id="snow-depth", name_ja="台所", lon=136.6, lat=36.5,
                      attribute="snowDepth", unit="cm")
        s.add(SensorOrigin(sensor_id="ql-test-kitchen", source_id=src.id, entity_id="Kitchen1",
                           entity_type="Kitchen", attribute="temperature"))
        sid = src.id
    try:
        with app_db.session() as s:
            series = sh.quantumleap_series(s, url, "", "/", ["ql-test-kitchen", "snow-hakui-01"], "snowDepth",
                                           datetime(2018, 1, 1, tzinfo=UTC), datetime.now(UTC))
        assert [v for _, v in series["ql-test-kitchen"]] == [24.1, 25.3, 26.7]
        assert len(series["snow-hakui-01"]) > 0  # not a broker sensor: from our store
        with app_db.session() as s:  # aggregated: QuantumLeap's points in Python, the store's in SQL
            days = sh.history(s, ["ql-test-kitchen", "snow-hakui-01"], "snowDepth",
                              datetime(2018, 1, 1, tzinfo=UTC), datetime.now(UTC), "day", quantumleap=(url, "", "/"))
        assert [(b.min, b.count) for b in days["ql-test-kitchen"]] == [(24.1, 1), (25.3, 1), (26.7, 1)]
        assert sum(b.count for b in days["snow-hakui-01"]) == len(series["snow-hakui-01"])
    finally:
        with app_db.session() as s:
            s.delete(s.get(Source, sid))
            from store.models import Sensor

            s.delete(s.get(Sensor, "ql-test-kitchen"))


def test_csv_export_route(client):
    r = client.get("/api/sensors/export.csv?sensors=snow-hakui-01,snow-kaga-01&range=24h&agg=hour")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["sensor_id", "sensor", "time_jst", "min", "max", "mean", "count"]
    assert {row[0] for row in rows[1:]} == {"snow-hakui-01", "snow-kaga-01"}
    assert client.get("/api/sensors/export.csv?sensors=nope").status_code == 404
    layer_csv = client.get("/api/layers/aed/features.csv")
    lines = layer_csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,lon,lat,wkt,") and len(lines) == 212


def test_alert_rules_draw_threshold_lines(app_db, dash_app):
    """Public rules watching a sensor (or its layer) give lines, each once; a private rule only to its
    organisation's staff (not to a visitor, nor to another city's staff); never a paused rule or one
    on another attribute."""
    from store.alerts import AlertRule
    from store.models import Organisation
    from tests.staff_helpers import make_person

    hakui_staff, kaga_staff = make_person(app_db, "hakui"), make_person(app_db, "kaga")
    with app_db.session() as s:
        hakui_id = s.scalar(select(Organisation.id).where(Organisation.code == "hakui"))
        rules = [AlertRule(name="大雪注意", target="sensor", sensor_id="snow-hakui-02", attribute="snowDepth",
                           op=">", threshold=31, public=True),
                 AlertRule(name="大雪注意", target="sensor", sensor_id="snow-hakui-02", attribute="snowDepth",
                           op=">", threshold=31, public=True),
                 AlertRule(name="停止中", target="sensor", sensor_id="snow-hakui-02", attribute="snowDepth",
                           op=">", threshold=41, public=True, paused=True),
                 AlertRule(name="気温", target="sensor", sensor_id="snow-hakui-02", attribute="temperature",
                           op=">", threshold=51, public=True),
                 AlertRule(name="層", target="layer", layer_id="snow-depth", attribute="snowDepth",
                           op=">=", threshold=77, public=True),
                 AlertRule(name="内部", target="sensor", sensor_id="snow-hakui-02", attribute="snowDepth",
                           op=">", threshold=61, public=False, organisation_id=hakui_id)]
        s.add_all(rules)
        s.flush()
        ids = [r.id for r in rules]
    try:
        def values(person=None) -> list[float]:
            headers = person.auth if person else {}
            with dash_app.server.test_request_context("/sensors", headers=headers), app_db.session() as s:
                return [line["value"] for line in sh.thresholds(s, ["snow-hakui-02"], "snowDepth")]

        visitor = values()
        assert visitor.count(31.0) == 1 and 77.0 in visitor
        assert not {41.0, 51.0, 61.0} & set(visitor)
        assert 61.0 not in values(kaga_staff)
        assert 61.0 in values(hakui_staff) and 41.0 not in values(hakui_staff)
    finally:
        with app_db.session() as s:
            for rid in ids:
                s.delete(s.get(AlertRule, rid))
