"""Built-in demo feed of snow-depth sensors.

Sensors stand at real places (designated shelters of 羽咋市 and 加賀市, from the GSI shelter
data shipped in data/shelters). Their values replay the shape of a real series — JMA AMeDAS 津南,
January 2020, 最深積雪 (daily, up to 65 cm) — compressed in time (one replayed day per
DAY_SECONDS) and scaled per site, with a little deterministic noise. Every value is a pure
function of (sensor, time), so a restart or a second process writes the same numbers.
"""
from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sources.geojson_file import read_features

DAY_SECONDS = 3600.0  # one day of the real series per hour of demo time
REPORT_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class DemoSensor:
    id: str
    name_ja: str
    name_en: str
    lon: float
    lat: float
    address: str
    factor: float  # site scaling: coast < plain < mountain
    phase: float  # days of offset into the series, so sensors do not move in lockstep


# (shelter file, facility name, sensor id, English name, factor)
SITES = [
    ("gsi_evacuation_172073_hakui.geojson", "羽咋小学校", "hakui-01", "Hakui Elementary School", 0.8),
    ("gsi_evacuation_172073_hakui.geojson", "千里浜公民館", "hakui-02", "Chirihama Community Hall", 0.6),
    ("gsi_evacuation_172073_hakui.geojson", "一ノ宮公民館", "hakui-03", "Ichinomiya Community Hall", 0.7),
    ("gsi_evacuation_172073_hakui.geojson", "邑知小学校", "hakui-04", "Ochi Elementary School", 1.0),
    ("gsi_evacuation_172073_hakui.geojson", "神子原公民館", "hakui-05", "Mikohara Community Hall", 1.6),
    ("gsi_evacuation_172065_kaga.geojson", "加賀市立錦城小学校", "kaga-01", "Kinjo Elementary School", 0.8),
    ("gsi_evacuation_172065_kaga.geojson", "加賀市立片山津小学校", "kaga-02", "Katayamazu Elementary School", 0.7),
    ("gsi_evacuation_172065_kaga.geojson", "加賀市立動橋小学校", "kaga-03", "Iburihashi Elementary School", 0.9),
    ("gsi_evacuation_172065_kaga.geojson", "加賀市立山中小学校", "kaga-04", "Yamanaka Elementary School", 1.4),
    ("gsi_evacuation_172065_kaga.geojson", "加賀市立西谷地区会館", "kaga-05", "Nishitani Community Hall", 1.9),
]


def load_series(data_path: Path) -> list[float]:
    """Daily 最深積雪 (cm) of 津南, January 2020; JMA quality marks like '160 ]' are stripped."""
    path = data_path / "snow/jma_daily_202001_niigata_tsunan.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = next(i for i, h in enumerate(rows[0]) if h.startswith("最深積雪"))
    values = []
    for row in rows[1:]:
        cell = row[col].replace("]", "").replace(")", "").strip() if col < len(row) else ""
        try:
            values.append(float(cell))
        except ValueError:
            values.append(values[-1] if values else 0.0)
    return values


def load_sensors(data_path: Path) -> list[DemoSensor]:
    sensors = []
    cache: dict[str, list[dict]] = {}
    for i, (fname, facility, sid, name_en, factor) in enumerate(SITES):
        feats = cache.setdefault(fname, read_features(data_path / "shelters" / fname))
        match = next((f for f in feats if f["properties"].get("施設・場所名") == facility), None)
        if match is None:
            continue  # the shelter list changed; the remaining sensors still run
        lon, lat = match["geometry"]["coordinates"][:2]
        city = match["properties"].get("都道府県名及び市町村名", "").replace("石川県", "")
        sensors.append(DemoSensor(
            id=f"snow-{sid}", name_ja=f"{city} {facility}", name_en=name_en, lon=lon, lat=lat,
            address=match["properties"].get("住所", ""), factor=factor, phase=(i * 2.7) % 31))
    return sensors


def _noise(sensor_id: str, t: datetime) -> float:
    digest = hashlib.blake2b(f"{sensor_id}{t.isoformat()}".encode(), digest_size=2).digest()
    return (int.from_bytes(digest, "big") / 65535.0 - 0.5)  # -0.5 .. 0.5 cm


def value_at(series: list[float], sensor: DemoSensor, t: datetime) -> float:
    """Snow depth in cm at time t (aware), linearly interpolated in the replayed series."""
    pos = (t.timestamp() / DAY_SECONDS + sensor.phase) % len(series)
    i = int(math.floor(pos))
    frac = pos - i
    a, b = series[i], series[(i + 1) % len(series)]
    depth = (a + (b - a) * frac) * sensor.factor + _noise(sensor.id, t)
    return round(max(depth, 0.0), 1)


def report_times(since: datetime | None, until: datetime) -> list[datetime]:
    """Whole-minute observation times in (since, until], at most one day back."""
    step = REPORT_EVERY
    end = until.replace(second=0, microsecond=0)
    start = max(since or end - timedelta(days=1), end - timedelta(days=1))
    times, t = [], end
    while t > start:
        times.append(t)
        t -= step
    return sorted(times)


FEED_NAME = "demo-snow"
LAYER_ID = "snow-depth"
BACKFILL_STEP = timedelta(minutes=10)
KEEP_DEMO_READINGS = timedelta(days=35)


def setup_sensors(s, data_path: Path) -> list[DemoSensor]:
    """Register the demo sensors on the snow-depth layer (idempotent)."""
    from store.models import Layer
    from store.sensors import upsert_sensor

    sensors = load_sensors(data_path)
    for d in sensors:
        upsert_sensor(s, d.id, layer_id=LAYER_ID, name_ja=d.name_ja, name_en=d.name_en,
                      lon=d.lon, lat=d.lat, attribute="snowDepth", unit="cm", address=d.address)
    layer = s.get(Layer, LAYER_ID)
    if layer is not None:
        layer.feature_count = len(sensors)
    return sensors


def tick(db, data_path: Path, now: datetime, interval_s: float = 10.0) -> int:
    """Write the readings due up to `now`; returns how many were written.

    A sensor without history gets the last 24 hours at 10-minute steps first, so a fresh
    installation has a chart to show; afterwards one reading per minute.
    """
    from store.feeds import feed_ok
    from store.models import Sensor
    from store.sensors import add_readings
    from store.series import prune_readings

    series = load_series(data_path)
    with db.session() as s:
        demo = setup_sensors(s, data_path)
        batch = []
        for d in demo:
            sensor = s.get(Sensor, d.id)
            if sensor.last_observed_at is None:
                end = now.replace(second=0, microsecond=0)
                times = [end - BACKFILL_STEP * k for k in range(144, 0, -1)] + [end]
            else:
                times = report_times(sensor.last_observed_at, now)
            batch.extend((sensor, value_at(series, d, t), t, sensor.attribute) for t in times)
        # in one go, as a broker poll stores its readings: after a day's gap that is 1,440 a sensor
        written = add_readings(s, batch)
        # simulated values are not worth keeping forever (real feeds keep everything):
        # 35 days covers the longest range of /sensors
        prune_readings(s, now - KEEP_DEMO_READINGS, [d.id for d in demo])
        feed_ok(s, FEED_NAME, interval_s=max(interval_s, 60.0), at=now)
    return written
