"""The storm report: the computation over hand-made passes and fixes (answers worked out by hand),
the SQL that feeds it (SQLite and PostgreSQL), the window rules and the CSV route."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from layers import snow_report as sr
from refusal import Refused
from store import snow as st
from timezones import JST

START = datetime(2026, 12, 1, 18, 0, tzinfo=JST).astimezone(UTC)
END = datetime(2026, 12, 2, 8, 0, tzinfo=JST).astimezone(UTC)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


SEGS = [sr.Seg("a1", "R1", "羽咋市", 1000.0), sr.Seg("a2", "R1", "羽咋市", 3000.0),
        sr.Seg("b1", "R2", "志賀町", 2000.0), sr.Seg("b2", "R2", "志賀町", 4000.0)]


def test_shares_and_time_to_first_pass_per_area_route_and_total():
    first = {"a1": at(1), "a2": at(4), "b1": at(10),
             "b2": at(-1)}  # before the window: not this night's clearing
    rep = sr.compute(SEGS, first, [], [], START, END)
    tot = rep["total"]
    # 10 km in all; within 3 h: a1 (1 km); 6 h: + a2 (4 km); 12 h: + b1 (6 km)
    shares = (tot["total_km"], tot["share_3h"], tot["share_6h"], tot["share_12h"], tot["share"])
    assert shares == (10.0, 0.1, 0.4, 0.6, 0.6)
    assert (tot["first_median_h"], tot["first_max_h"]) == (4.0, 10.0)
    assert (tot["segments"], tot["segments_cleared"]) == (4, 3)
    area = {r["name"]: r for r in rep["area"]}
    hakui, shika = area["羽咋市"], area["志賀町"]
    assert (hakui["share_3h"], hakui["share_6h"], hakui["first_median_h"]) == (0.25, 1.0, 2.5)
    assert (shika["share_6h"], shika["share_12h"], shika["first_max_h"]) == (0.0, 0.3333, 10.0)
    assert [r["name"] for r in rep["route"]] == ["R1", "R2"]
    nothing = sr.compute(SEGS, {}, [], [], START, END)["total"]
    assert nothing["share"] == 0.0 and nothing["first_median_h"] is None and nothing["first_max_h"] is None


def test_a_window_shorter_than_twelve_hours_counts_only_up_to_its_end():
    rep = sr.compute(SEGS, {"a1": at(1), "a2": at(4)}, [], [], START, START + timedelta(hours=5))
    assert (rep["total"]["share_3h"], rep["total"]["share_6h"], rep["total"]["share_12h"]) == (0.1, 0.4, 0.4)


def test_vehicle_kilometres_and_hours():
    lengths = [("p1", "plowing", 5000.0), ("p1", "travel", 1200.0), ("p2", "spreading", 2500.0)]
    fixes = [  # p1: 30 min idle before it starts, 1 h plowing, 15 min travel, a 2 h gap, 30 min plowing
        ("p1", at(-0.5), 0.0, "travel"),  # the interval over the start counts from the start only
        ("p1", at(0.5), 0.0, "travel"),  # 1 h since the last fix: a gap (> 5 min), offline
        ("p1", at(0.5) + timedelta(seconds=240), 20.0, "plowing"),  # 4 min idle (the earlier fix stood)
    ]
    t = at(0.5) + timedelta(seconds=240)
    for _ in range(15):  # 15 × 4 min = 1 h plowing at 20 km/h
        t += timedelta(seconds=240)
        fixes.append(("p1", t, 20.0, "plowing"))
    fixes[-1] = ("p1", t, 30.0, "travel")
    for _ in range(3):  # 3 × 5 min travel
        t += timedelta(seconds=300)
        fixes.append(("p1", t, 30.0, "travel"))
    fixes += [("p2", END - timedelta(seconds=120), 2.0, "spreading"),
              ("p2", END + timedelta(seconds=60), 2.0, "spreading")]  # only the part before the end counts
    rep = sr.compute(SEGS, {}, lengths, fixes, START, END)
    p1, p2 = rep["vehicles"]
    assert (p1["id"], p1["plowed_km"], p1["spread_km"], p1["travel_km"]) == ("p1", 5.0, 0.0, 1.2)
    assert p1["offline_h"] == 0.5  # 18:00–18:30: the 30 min before the start are not counted
    assert p1["idle_h"] == round(4 / 60, 3)
    assert p1["working_h"] == 1.0 and p1["travel_h"] == 0.25
    assert (p2["spread_km"], p2["idle_h"], p2["working_h"]) == (2.5, round(2 / 60, 3), 0.0)


def test_default_window_is_last_night_in_jst():
    for now_jst in (datetime(2026, 12, 2, 9, 30, tzinfo=JST), datetime(2026, 12, 2, 3, 0, tzinfo=JST),
                    datetime(2026, 12, 2, 23, 0, tzinfo=JST)):
        assert sr.default_window(now_jst.astimezone(UTC)) == (START, END)


def test_parse_window():
    now = datetime(2026, 12, 2, 10, 0, tzinfo=JST).astimezone(UTC)
    assert sr.parse_window(None, None, now) == (START, END)
    assert sr.parse_window("2026-12-01T18:00", "2026-12-02T08:00", now) == (START, END)
    assert sr.parse_window("2026-12-01T09:00:00Z", None, now) == (START, END)  # a start alone: 14 h
    assert sr.parse_window("2026-12-01", "2026-12-01", now) == (
        datetime(2026, 12, 1, tzinfo=JST).astimezone(UTC), datetime(2026, 12, 2, tzinfo=JST).astimezone(UTC))
    for start, end, code in (("yesterday", None, "bad_time"), ("2026-12-02T08:00", "2026-12-01T18:00", "bad_window"),
                             ("2026-10-01", "2026-12-01", "bad_window")):
        with pytest.raises(Refused) as exc:
            sr.parse_window(start, end, now)
        assert exc.value.status == 400 and exc.value.code == code


def test_hours_text():
    assert sr.hours_text(1.5) == "1:30" and sr.hours_text(0.01) == "0:01" and sr.hours_text(None) == "–"


# --- against the store ---------------------------------------------------------------------------

@pytest.fixture
def report_db(db):
    from tests.test_snow_matching import feature

    feats = [feature("a1", [(0, 0), (300, 0)], "R1", "羽咋市"), feature("a2", [(300, 0), (600, 0)], "R1", "羽咋市"),
             feature("b1", [(0, 400), (300, 400)], "R2", "志賀町")]
    for f, m in zip(feats, (1000.0, 3000.0, 2000.0)):
        f["properties"]["length_m"] = m
    with db.session() as s:
        st.replace_network(s, feats, "test")
        st.ensure_vehicles(s, ["p1", "p2"])
        st.add_passes(s, [
            dict(segment_id="a1", vehicle_id="p1", time=at(2), work="plowing", filled=False),
            dict(segment_id="a1", vehicle_id="p1", time=at(1), work="plowing", filled=False),
            dict(segment_id="a2", vehicle_id="p1", time=at(5), work="travel", filled=False),  # not a clearing
            dict(segment_id="a2", vehicle_id="p2", time=at(7), work="spreading", filled=False),
            dict(segment_id="b1", vehicle_id="p2", time=at(15), work="plowing", filled=False),  # after the end
        ])
        st.add_fixes(s, [dict(vehicle_id="p1", time=at(h), lon=136.8, lat=36.9, speed=20.0, work="plowing",
                              received_at=at(h)) for h in (0.0, 0.05, 0.1)]
                     + [dict(vehicle_id="p1", time=at(-1), lon=136.8, lat=36.9, speed=20.0, work="plowing",
                             received_at=at(-1))])
    return db


def test_report_from_the_store(report_db):
    with report_db.session() as s:
        rep = sr.report(s, START, END)
    tot = rep["total"]
    # a1 (1 km) at 1 h, a2 (3 km) at 7 h; b1 only after the end
    assert (tot["share_3h"], tot["share_6h"], tot["share_12h"], tot["share"]) == (0.1667, 0.1667, 0.6667, 0.6667)
    assert (tot["first_median_h"], tot["first_max_h"]) == (4.0, 7.0)
    veh = {v["id"]: v for v in rep["vehicles"]}
    assert (veh["p1"]["plowed_km"], veh["p1"]["travel_km"], veh["p1"]["spread_km"]) == (2.0, 3.0, 0.0)
    assert veh["p2"]["spread_km"] == 3.0 and veh["p2"]["plowed_km"] == 0.0  # b1 after the end is not counted
    assert veh["p1"]["working_h"] == 0.1


# --- the CSV route -------------------------------------------------------------------------------

def _fill_app_store(app_db):
    from tests.test_snow_matching import feature

    with app_db.session() as s:
        if st.vehicles(s, ["rep-p1"]):
            return
        st.ensure_vehicles(s, ["rep-p1"])
        seg = st.segments(s)[0]
        st.add_passes(s, [dict(segment_id=seg.id, vehicle_id="rep-p1", time=at(1), work="plowing", filled=False)])
        st.add_fixes(s, [dict(vehicle_id="rep-p1", time=at(h), lon=136.8, lat=36.9, speed=20.0, work="plowing",
                              received_at=at(h)) for h in (1.0, 1.05)])
    assert feature  # the app's own network is used


def test_csv_route_roads_and_vehicles(client, app_db):
    _fill_app_store(app_db)
    r = client.get("/api/snow/report.csv?start=2026-12-01T18:00&end=2026-12-02T08:00")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"] and "20261201-1800" in r.headers["Content-Disposition"]
    body = r.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:4] == ["区分", "名称", "開始", "終了"]
    assert rows[1][0] == "全体" and rows[1][2] == "2026-12-01 18:00" and rows[1][3] == "2026-12-02 08:00"
    assert any(r[0] == "地区" for r in rows) and any(r[0] == "路線" for r in rows)
    assert float(rows[1][5]) > 0  # something was cleared within 3 hours
    r = client.get("/api/snow/report.csv?start=2026-12-01T18:00&end=2026-12-02T08:00&part=vehicles&lang=en")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8")[1:])))
    assert rows[0][0] == "Vehicle" and rows[0][3] == "Km plowed"
    p1 = next(r for r in rows if r[0] == "rep-p1")
    assert float(p1[5]) == 0.05  # 3 minutes working


def test_csv_cells_are_not_formulas(client, app_db):
    with app_db.session() as s:
        st.ensure_vehicles(s, ["=HYPERLINK(1)"])
        st.add_fixes(s, [dict(vehicle_id="=HYPERLINK(1)", time=at(h), lon=136.8, lat=36.9, speed=0.0, work="travel",
                              received_at=at(h)) for h in (2.0, 2.05)])
    r = client.get("/api/snow/report.csv?start=2026-12-01T18:00&end=2026-12-02T08:00&part=vehicles")
    assert "'=HYPERLINK(1)" in r.data.decode("utf-8")


@pytest.mark.parametrize("query,code", [("start=soon", "bad_time"), ("start=2026-12-02T08:00&end=2026-12-01T18:00",
                                                                      "bad_window"),
                                        ("start=2026-01-01&end=2026-12-01", "bad_window"), ("part=cars", "bad_part")])
def test_csv_route_refuses_bad_input(client, query, code):
    r = client.get("/api/snow/report.csv?" + query + "&lang=en")
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == code and body["message"] and "details" in body


# --- the /snow colours and legend ------------------------------------------------------------------

def _luminance(hex_colour: str) -> float:
    def f(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)


def test_age_colours_step_in_lightness_so_they_read_without_hue():
    """Each age class is lighter than the one before by a contrast ratio of at least 1.4, so the
    sequence reads for every kind of colour-vision deficiency (even with no hue at all)."""
    from layers.snow.style import BAND_COLORS, NOT_CLEARED_COLOR

    lum = [_luminance(c) for c in BAND_COLORS]
    for a, b in zip(lum, lum[1:]):
        assert b > a and (b + 0.05) / (a + 0.05) >= 1.4
    assert NOT_CLEARED_COLOR not in BAND_COLORS and len(set(BAND_COLORS)) == 5


def test_legend_follows_the_window():
    from layers.snow.style import NOT_CLEARED_COLOR, legend_items

    full = [i.label for i in legend_items("en")]
    assert full[:6] == ["Cleared < 1 h ago", "1–3 h", "3–6 h", "6–12 h", "12–24 h", "Not cleared in 24 h"]
    three = legend_items("en", 3)
    assert [i.label for i in three] == ["Cleared < 1 h ago", "1–3 h", "Not cleared in 3 h", "Dashed: de-icing spread"]
    assert three[2].color == NOT_CLEARED_COLOR
    assert [i.label for i in legend_items("ja", 1)][:2] == ["除雪後 1時間未満", "1時間以内の除雪なし"]
