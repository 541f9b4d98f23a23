"""Snow-melting devices from the outside world: the built-in demo devices, device lists staff upload
(CSV / GeoJSON / KML, through the upload readers), and broker entities (`Device` with `deviceState`).

States are normalised by `store.melters.normalise_state` (稼働中 / 停止 / 故障, running / on / off /
error, …). Everything here writes through `store.melters.report_state`, the one place a state
changes.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sources.text import pick
from store.db import Database, utcnow
from store.melters import (
    FAULT,
    PUBLIC,
    RUNNING,
    STOPPED,
    MeltingDevice,
    new_device,
    normalise_state,
    posted_device,
    report_state,
    shown_id,
)
from store.models import Organisation

DEMO_JOB_NAME = "demo-melters"
DEMO_TICK_S = 60.0
DEMO_INTERVAL_S = 300

# Demo devices on streets of the shipped road network in 羽咋市 (midpoints of its segments)
DEMO_DEVICES = [
    # id, name ja, name en, lon, lat, road
    ("demo-melter-01", "羽咋駅周辺 1号（デモ）", "Hakui Station area No. 1 (demo)", 136.78607, 36.89289, "羽咋市道"),
    ("demo-melter-02", "羽咋駅周辺 2号（デモ）", "Hakui Station area No. 2 (demo)", 136.78443, 36.89406, "羽咋市道"),
    ("demo-melter-03", "羽咋駅周辺 3号（デモ）", "Hakui Station area No. 3 (demo)", 136.78673, 36.89073, "羽咋市道"),
    ("demo-melter-04", "羽咋駅周辺 4号（デモ）", "Hakui Station area No. 4 (demo)", 136.78542, 36.88934, "羽咋市道"),
    ("demo-melter-05", "羽咋駅周辺 5号（デモ）", "Hakui Station area No. 5 (demo)", 136.78733, 36.89521, "羽咋市道"),
    ("demo-melter-06", "県道 消雪装置（デモ）", "Prefectural road (demo)", 136.78214, 36.89537, "県道（羽咋市内）"),
    ("demo-melter-07", "国道415号 消雪装置（デモ）", "Route 415 (demo)", 136.78588, 36.88604, "国道415号"),
    ("demo-melter-08", "羽咋駅周辺 6号（デモ）", "Hakui Station area No. 6 (demo)", 136.78181, 36.89445, "羽咋市道"),
]
DEMO_FAULT = "demo-melter-06"  # always 故障: staff see what a fault looks like
DEMO_SILENT = "demo-melter-08"  # reports once, then never again: shows 更新停止


def ensure_demo_devices(s: Session, org_code: str = "hakui") -> list[MeltingDevice]:
    from store.users import organisation_by_code

    org = organisation_by_code(s, org_code)
    if org is None:
        return []
    out = []
    for did, ja, en, lon, lat, road in DEMO_DEVICES:
        dev = posted_device(s, did, org.id)  # never a device another organisation posted by that id
        if dev is None:
            dev = new_device(s, org.code, did, organisation_id=org.id, name_ja=ja, name_en=en, lon=lon, lat=lat,
                             road=road, visibility=PUBLIC, origin="demo", interval_s=DEMO_INTERVAL_S)
        out.append(dev)
    s.flush()
    return out


def demo_state(device_id: str, at: datetime) -> str:
    """A pure function of (device, time): devices run in snowy half-hours, pause between, one is
    faulty. Each device is shifted, so they do not switch in lockstep."""
    if device_id == DEMO_FAULT:
        return FAULT
    shift = int(hashlib.sha256(device_id.encode()).hexdigest()[:4], 16) % 30
    slot = int((at.timestamp() / 60 + shift) // 30)  # a new half-hour slot per device
    return STOPPED if slot % 3 == 2 else RUNNING


def demo_tick(db: Database, now: datetime | None = None) -> int:
    """Report each demo device's state of the moment (the silent one only once)."""
    now = (now or utcnow()).replace(microsecond=0)
    written = 0
    with db.session() as s:
        for dev in ensure_demo_devices(s):
            did = shown_id(dev)
            if did == DEMO_SILENT and dev.reported_at is not None:
                continue
            at = now - timedelta(hours=2) if did == DEMO_SILENT else now
            written += report_state(s, dev, demo_state(did, at), at)
    return written


# --- device lists from uploads (CSV with lat/lon, GeoJSON, KML: points) ---

ID_NAMES = ("id", "device_id", "識別子", "装置id", "装置番号", "番号", "管理番号", "no")
NAME_NAMES = ("name", "名称", "装置名", "施設名", "設置場所", "名前")
NAME_EN_NAMES = ("name_en", "名称（英語）", "名称(英語)", "英語名", "english")
ROAD_NAMES = ("road", "路線", "路線名", "道路名", "道路")
STATE_NAMES = ("state", "status", "devicestate", "状態", "稼働状況", "稼働状態")
TIME_NAMES = ("time", "observed_at", "datetime", "日時", "時刻", "更新日時")

_SLUG = re.compile(r"[^A-Za-z0-9_.:-]+")


@dataclass
class DeviceRow:
    id: str
    name_ja: str
    name_en: str
    lon: float
    lat: float
    road: str
    state: str | None  # normalised, or None when the file gives none
    state_text: str  # what the file said (for the message when it is not understood)
    observed_at: datetime | None
    row: int


def device_rows(features: list[dict], prefix: str) -> tuple[list[DeviceRow], list[dict]]:
    """Point features of an uploaded device list -> rows, and problems [{row, reason}]."""
    from sources.observed import parse_time
    from timezones import JST

    rows, problems, seen = [], [], set()
    for i, f in enumerate(features, start=1):
        props = f.get("properties") or {}
        geom = f.get("geometry") or {}
        if geom.get("type") != "Point":
            problems.append({"row": i, "reason": "not_point"})
            continue
        lon, lat = geom["coordinates"][:2]
        name = pick(props, NAME_NAMES)[:200]
        raw_id = pick(props, ID_NAMES) or name or f"{lon:.5f}-{lat:.5f}"
        did = f"{prefix}-{_SLUG.sub('_', raw_id)}"[:120]
        if did in seen:
            problems.append({"row": i, "reason": "duplicate_id"})
            continue
        seen.add(did)
        state_text = pick(props, STATE_NAMES)[:40]
        state = normalise_state(state_text) if state_text else None
        if state_text and state is None:
            problems.append({"row": i, "reason": "bad_state"})
            continue
        at = parse_time(pick(props, TIME_NAMES).replace("/", "-"), bare=JST) if pick(props, TIME_NAMES) else None
        rows.append(DeviceRow(id=did, name_ja=name or raw_id[:200], name_en=pick(props, NAME_EN_NAMES)[:200],
                              lon=round(float(lon), 6), lat=round(float(lat), 6), road=pick(props, ROAD_NAMES)[:200],
                              state=state, state_text=state_text, observed_at=at, row=i))
    return rows, problems


# --- broker entities: a Device (or any entity) with `deviceState` ---

STATE_ATTRS = ("deviceState", "state", "status", "operationStatus")


def entity_state(attrs: dict) -> str | None:
    """Our state for an entity's attributes ({name: value}), None when it carries no state."""
    for name in STATE_ATTRS:
        if name in attrs:
            return normalise_state(attrs[name])
    return None


def is_melter_entity(entity_type: str, attrs: dict) -> bool:
    """A snow-melting device: a `Device`/`SnowMeltingDevice` whose state is one we understand and
    that reports no number of its own (snow-depth devices also carry `deviceState`)."""
    if entity_type not in ("Device", "SnowMeltingDevice"):
        return False
    if "deviceState" not in attrs or entity_state(attrs) is None:
        return False
    return not any(k in attrs for k in ("snowHeight", "snowDepth", "value", "numValue"))


__all__ = ["DEMO_DEVICES", "DeviceRow", "demo_tick", "device_rows", "entity_state", "is_melter_entity",
           "ensure_demo_devices", "STOPPED", "RUNNING", "FAULT"]


def store_states(s: Session, source, items: list, now: datetime) -> int:
    """A broker's snow-melting devices (`sources.smart_models.StateItem`): each entity is a device
    of the source's organisation with the source's visibility; its reported state is recorded."""
    written = 0
    prefix = source.layer_prefix or f"src{source.id}"
    org_id = source.organisation_id
    if org_id is None:  # the operator's ORION_URL broker: the prefecture's devices
        from store.users import organisation_by_code

        org = organisation_by_code(s, "ishikawa")
        org_id = org.id if org is not None else None
    for it in items:
        did = f"{prefix}-{_SLUG.sub('_', it.entity_id)}"[:120]
        if org_id is None:
            continue
        # the organisation's own device by that id; another organisation's is never touched
        dev = posted_device(s, did, org_id)
        if dev is None:
            code = s.get(Organisation, org_id).code
            dev = new_device(s, code, did, organisation_id=org_id, name_ja=it.name[:200],
                             name_en=it.name[:200], origin="broker", source_id=source.id)
        dev.lon, dev.lat, dev.visibility = round(it.lon, 6), round(it.lat, 6), source.visibility
        s.flush()
        written += report_state(s, dev, it.state, (it.observed_at or now).replace(microsecond=0))
    if written:
        from store.models import Layer

        layer = s.get(Layer, "snow-melters")
        if layer is not None:
            layer.version = (layer.version or 0) + 1
    return written
