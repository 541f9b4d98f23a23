"""`/sensors` opens on an overview: every sensor the visitor may see with its latest value, most
serious first (against the alert thresholds the visitor may see, else against the sensor's own
range of the last 7 days), with a 24-hour sparkline computed in SQL — a fixed number of queries
whatever the number of sensors; a private layer's sensors and a private rule's threshold only for
the organisation's staff."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from layers import sensor_overview as so
from store.db import utcnow


def _world(s, people, extra: int = 0):
    from store.alerts import AlertRule
    from store.layers import upsert_layer
    from store.models import PRIVATE, PUBLIC
    from store.sensors import add_readings, upsert_sensor

    kaga_id = people["kaga"].organisation_id
    upsert_layer(s, "pub", kind="sensors", name_ja="公開", name_en="Public", group="yuki", visibility=PUBLIC)
    upsert_layer(s, "priv", kind="sensors", name_ja="内部", name_en="Internal", group="yuki", visibility=PRIVATE,
                 organisation_id=kaga_id)
    now = utcnow()
    names = ["a-alert", "b-watch", "c-high", "d-normal", "e-nodata"] + [f"f-{i:02d}" for i in range(extra)]
    sensors = {sid: upsert_sensor(s, sid, layer_id="pub", name_ja=sid, name_en=sid.upper(), lon=136.5, lat=36.5)
               for sid in names}
    sensors["p-private"] = upsert_sensor(s, "p-private", layer_id="priv", name_ja="内部センサー", lon=136.4, lat=36.4)
    batch = []
    for sid, values in {"a-alert": [10, 30, 50], "b-watch": [10, 20, 35], "c-high": [5, 6, 20],
                        "d-normal": [15, 30, 12], "p-private": [1, 2, 3],
                        **{f"f-{i:02d}": [1, 2, 3] for i in range(extra)}}.items():
        # two days ago, then 2 h ago, then 10 min ago (the latest)
        for v, ago in zip(values, (timedelta(days=2), timedelta(hours=2), timedelta(minutes=10)), strict=True):
            batch.append((sensors[sid], float(v), now - ago, "snowDepth"))
    # c-high has a day and a half of hourly readings between 4 and 6 cm in the week before the last
    # 24 h: a range to judge by; d-normal's single reading there is none
    for h in range(36):
        batch.append((sensors["c-high"], 4.0 + 2 * (h % 2), now - timedelta(days=5, hours=h), "snowDepth"))
    add_readings(s, batch)
    s.add_all([
        AlertRule(name="大雪警報", target="sensor", sensor_id="a-alert", attribute="snowDepth", op=">", threshold=40,
                  public=True),
        AlertRule(name="大雪警報", target="sensor", sensor_id="b-watch", attribute="snowDepth", op=">", threshold=40,
                  public=True),
        # a private rule of 加賀市: only its staff judge d-normal by it
        AlertRule(name="内部基準", target="sensor", sensor_id="d-normal", attribute="snowDepth", op=">=", threshold=10,
                  public=False, organisation_id=kaga_id),
        # paused, or on another attribute: never a basis
        AlertRule(name="停止", target="sensor", sensor_id="c-high", attribute="snowDepth", op=">", threshold=1,
                  public=True, paused=True),
        AlertRule(name="気温", target="sensor", sensor_id="c-high", attribute="temperature", op=">", threshold=1,
                  public=True),
    ])
    s.flush()
    return now


def test_overview_sorted_by_severity_and_private_rule_applies(db, people):
    with db.session() as s:
        now = _world(s, people)
    with db.session() as s:
        visitor = so.overview(s, now, None)
        hakui = so.overview(s, now, people["hakui"])
        kaga = so.overview(s, now, people["kaga"])
    levels = {r.id: r.level for r in visitor}
    assert [r.id for r in visitor] == ["a-alert", "b-watch", "c-high", "d-normal", "e-nodata"]
    assert levels == {"a-alert": "alert", "b-watch": "watch", "c-high": "high", "d-normal": "unjudged",
                      "e-nodata": "nodata"}
    a = visitor[0]
    assert a.basis == "rule" and a.threshold == 40 and a.rule_name == "大雪警報" and a.value == 50
    c = next(r for r in visitor if r.id == "c-high")
    assert c.basis == "range" and (c.low, c.high) == (4.0, 6.0)  # the 7 days before the last 24 h
    d = next(r for r in visitor if r.id == "d-normal")
    assert d.basis == "" and d.low is None and d.level == "unjudged"  # one reading that week is no range
    assert len(a.spark) == 2 and a.spark[-1] == 50  # hourly means of the last 24 h: 2 h ago, 10 min ago
    assert not any(r.id == "p-private" for r in visitor + hakui)
    assert {r.id: r.level for r in hakui}["d-normal"] == "unjudged"
    kaga_levels = {r.id: r for r in kaga}
    assert kaga_levels["p-private"].private and kaga_levels["d-normal"].level == "alert"
    assert kaga_levels["d-normal"].rule_name == "内部基準"
    assert [r.id for r in kaga][:2] == ["a-alert", "d-normal"]  # 50/40 before 12/10


@pytest.mark.parametrize("extra", [0, 40])
def test_overview_query_count_does_not_grow_with_sensors(db, people, extra, request):
    with db.session() as s:
        now = _world(s, people, extra)
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            rows = so.overview(s, now, None)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == 5 + extra
    # sensors, rules, ranges, one sparkline query for the one attribute (+ session bookkeeping)
    assert len(statements) <= 6, len(statements)


def test_spark_svg_is_numbers_only():
    svg = so.spark_svg([1, 5, 3])
    assert svg.startswith("<svg") and "polyline" in svg and "<script" not in svg
    assert "polyline" not in so.spark_svg([4])  # one point draws nothing


def test_page_opens_on_the_overview_for_visitors(client):
    """The page itself: the overview by default (the demo sensors, each a link to its chart), the
    chart with ?sensor= or ?view=chart, in both languages."""
    from pages import sensors as page

    with client.application.test_request_context("/sensors?lang=en"):
        body = str(page.layout(lang="en"))
    assert "sensors-overview-list" in body and "/sensors?sensor=snow-" in body and "All sensors" in body
    with client.application.test_request_context("/sensors"):
        body = str(page.layout(lang="ja"))
        assert "センサー一覧" in body
        chart = str(page.layout(lang="ja", view="chart"))
        assert "sensors-graph" in chart and "sensors-overview-list" not in chart
        one = str(page.layout(lang="ja", sensor="snow-hakui-01"))
        assert "sensors-graph" in one and "センサー一覧に戻る" in one


@pytest.mark.browser
def test_overview_row_opens_the_chart_in_a_browser(dash_duo, dash_app, tmp_path_factory):
    """A person opens /sensors (phone, English; desktop, Japanese), sees the sensors most serious
    first, taps the first row and gets that sensor's chart, then goes back to the overview."""
    from tests.browser_helpers import free_port, query, wait_until

    dash_duo.start_server(dash_app, port=free_port())
    shots = tmp_path_factory.mktemp("sensor-overview")
    for lang, width, heading in (("en", 375, "All sensors"), ("ja", 1280, "センサー一覧")):
        dash_duo.driver.set_window_size(width, 900)
        dash_duo.driver.get(f"{dash_duo.server_url}/sensors?lang={lang}")
        rows = wait_until(lambda: dash_duo.find_elements(".sensor-row-link"), timeout=20, what="overview rows")
        assert heading in dash_duo.find_element("h2").text
        # the demo feed's ten, and any public sensor other tests posted into this shared app
        assert len(rows) >= 10 and not dash_duo.find_elements("#sensors-graph")
        # the order the page shows is the order of the levels: most serious first
        shown = [r.get_attribute("class").split("level-")[1] for r in dash_duo.find_elements(".sensor-row")]
        assert shown == sorted(shown, key=so.LEVELS.index)
        assert all(r.size["height"] >= 44 for r in rows)
        dash_duo.driver.save_screenshot(str(shots / f"overview_{width}_{lang}.png"))
        name = rows[0].find_element("css selector", ".sensor-name").text
        href = rows[0].get_attribute("href")
        rows[0].click()
        dash_duo.wait_for_element("#sensors-graph .main-svg", timeout=20)
        wait_until(lambda n=name: n.split()[-1] in dash_duo.find_element("#sensors-summary").text, what="summary")
        assert query(dash_duo)["sensors"] == href.split("sensor=")[1].split("&")[0]
        dash_duo.driver.save_screenshot(str(shots / f"chart_{width}_{lang}.png"))
        dash_duo.find_element("#sensors-overview-link").click()
        wait_until(lambda: dash_duo.find_elements(".sensor-row-link"), timeout=20, what="back on the overview")
    print("screenshots in", shots)

