"""Snow-melting devices (消雪装置) and the history of their states.

A device's reading is a state, not a number: `running` (稼働中), `stopped` (停止) or `fault` (故障),
with the time it changed (`state_since`) and the time of its last report (`reported_at`). A device
that has not reported for `STALE_INTERVALS` of its expected interval is stale (更新停止). Devices
belong to an organisation and are public or private, like cameras: private ones are seen only by
their organisation's staff and admins.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from store.permissions import VIEW, can, visible_sql

PUBLIC = "public"
PRIVATE = "private"
RUNNING, STOPPED, FAULT = "running", "stopped", "fault"
STATES = (RUNNING, STOPPED, FAULT)
DEFAULT_INTERVAL_S = 600  # how often a device is expected to report
STALE_INTERVALS = 3
ORIGINS = ("api", "broker", "upload", "staff", "demo")

# what devices and brokers send -> our state (compared lower-case, spaces removed)
_STATE_WORDS = {
    RUNNING: ("running", "run", "on", "active", "operating", "working", "稼働", "稼働中", "運転", "運転中",
              "散水中", "1", "true"),
    STOPPED: ("stopped", "stop", "off", "idle", "inactive", "standby", "停止", "停止中", "待機", "待機中",
              "0", "false"),
    FAULT: ("fault", "error", "failure", "failed", "alarm", "broken", "malfunction", "故障", "異常",
            "故障中", "エラー"),
}
_WORD_TO_STATE = {w: state for state, words in _STATE_WORDS.items() for w in words}


def normalise_state(value) -> str | None:
    """Our state name for what a device or broker sends (English or Japanese), or None."""
    if isinstance(value, bool):
        return RUNNING if value else STOPPED
    if isinstance(value, int) and value in (0, 1):
        return RUNNING if value else STOPPED
    if not isinstance(value, str):
        return None
    return _WORD_TO_STATE.get("".join(value.split()).lower()[:40])


class MeltingDevice(Base):
    __tablename__ = "melting_devices"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    road: Mapped[str] = mapped_column(String(200), default="")  # the street it keeps clear
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    origin: Mapped[str] = mapped_column(String(20), default="api")  # api / broker / upload / staff / demo
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the broker it came from
    interval_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_INTERVAL_S)
    state: Mapped[str] = mapped_column(String(20), default="")  # "" until the first report
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeltingStateChange(Base):
    __tablename__ = "melting_state_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("melting_devices.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_melting_changes_device_time", "device_id", "at"),)


def may_see(staff, device: MeltingDevice | None) -> bool:
    if device is None:
        return False
    return can(staff, VIEW, device.organisation_id, device.visibility)


def visible_devices(s: Session, staff, bbox=None) -> list[MeltingDevice]:
    q = select(MeltingDevice)
    q = q.where(visible_sql(staff, MeltingDevice.organisation_id, MeltingDevice.visibility))
    if bbox is not None:
        q = q.where(MeltingDevice.lon >= bbox[0], MeltingDevice.lon <= bbox[2],
                    MeltingDevice.lat >= bbox[1], MeltingDevice.lat <= bbox[3])
    return list(s.scalars(q.order_by(MeltingDevice.id)))


def get_visible(s: Session, device_id, staff) -> MeltingDevice | None:
    dev = s.get(MeltingDevice, device_id) if isinstance(device_id, str) and 0 < len(device_id) <= 120 else None
    return dev if may_see(staff, dev) else None


def is_stale(device: MeltingDevice, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if device.reported_at is None:
        return True
    return now - device.reported_at > timedelta(seconds=STALE_INTERVALS * max(device.interval_s, 30))


def report_state(s: Session, device: MeltingDevice, state: str, at: datetime) -> bool:
    """Record one report. A newer report updates the device (a change of state goes into the
    history); an older one only fills the history. False when the same report came before."""
    if state not in STATES:
        raise ValueError(state)
    if device.reported_at is not None and at <= device.reported_at:
        if at == device.reported_at and device.state == state:
            return False
        exists = s.scalar(select(MeltingStateChange.id).where(
            MeltingStateChange.device_id == device.id, MeltingStateChange.at == at))
        if exists is not None:
            return False
        s.add(MeltingStateChange(device_id=device.id, state=state, at=at))
        return True
    device.reported_at = at
    if device.state != state:
        device.state = state
        device.state_since = at
        s.add(MeltingStateChange(device_id=device.id, state=state, at=at))
    return True


def history(s: Session, device_id: str, since: datetime, limit: int = 2000) -> list[MeltingStateChange]:
    return list(s.scalars(select(MeltingStateChange)
                          .where(MeltingStateChange.device_id == device_id, MeltingStateChange.at >= since)
                          .order_by(MeltingStateChange.at, MeltingStateChange.id).limit(limit)))


def state_counts(devices: list[MeltingDevice], now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    out = {RUNNING: 0, STOPPED: 0, FAULT: 0, "stale": 0}
    for d in devices:
        if is_stale(d, now):
            out["stale"] += 1
        elif d.state in out:
            out[d.state] += 1
    return out
