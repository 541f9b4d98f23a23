"""Snow-melting devices (消雪装置) and the history of their states.

A device's reading is a state, not a number: `running` (稼働中), `stopped` (停止) or `fault` (故障),
with the time it changed (`state_since`) and the time of its last report (`reported_at`). A device
that has not reported for `STALE_INTERVALS` of its expected interval is stale (更新停止). Devices
belong to an organisation and are public or private, like cameras: private ones are seen only by
their organisation's staff and admins.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, inspect, or_, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, org_scoped_key, utcnow
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
    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # the store key (see `new_device_key`)
    # the id its organisation posted or registered it by, when the key differs ("" = the key itself)
    ref: Mapped[str] = mapped_column(String(120), default="", server_default="", index=True)
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


def shown_id(device: MeltingDevice) -> str:
    """The id a device is shown and addressed by: the one its organisation posted, else its key."""
    return device.ref or device.id


def posted_device(s: Session, device_id: str, organisation_id: int) -> MeltingDevice | None:
    """The device of this organisation shown as `device_id` (`store.sensors.posted_sensor`'s rule):
    never another organisation's, public or private — for a poster such an id is simply free."""
    return s.scalar(select(MeltingDevice).where(
        MeltingDevice.organisation_id == organisation_id,
        or_(MeltingDevice.ref == device_id, (MeltingDevice.ref == "") & (MeltingDevice.id == device_id)))
        .order_by(MeltingDevice.ref.desc(), MeltingDevice.id).limit(1))


def new_device_key(s: Session, org_code: str, device_id: str) -> str:
    """The store key of a row an organisation creates as `device_id` (`store.db.org_scoped_key`)."""
    return org_scoped_key(s, MeltingDevice, org_code, device_id)


def new_device(s: Session, org_code: str, device_id: str, **fields) -> MeltingDevice:
    """A new device of an organisation, shown as `device_id` whatever other organisations hold."""
    key = new_device_key(s, org_code, device_id)
    dev = MeltingDevice(id=key, ref=device_id if key != device_id else "", **fields)
    s.add(dev)
    return dev


def find_device(s: Session, device_id: str, visible, organisation_id: int | None = None) -> MeltingDevice | None:
    """The device a reader addresses as `device_id` among those `visible` (an SQL condition on
    MeltingDevice): its own organisation's first, then the device keyed so, then one shown so;
    a store key (as kept in alert rules and staff pages) also answers."""
    if not isinstance(device_id, str) or not 0 < len(device_id) <= 120:
        return None
    rows = list(s.scalars(select(MeltingDevice).where(
        visible, or_(MeltingDevice.id == device_id, MeltingDevice.ref == device_id))
        .order_by(MeltingDevice.id).limit(50)))

    def rank(dev) -> tuple:
        shown = shown_id(dev) == device_id
        return (not (shown and organisation_id is not None and dev.organisation_id == organisation_id),
                not (shown and dev.id == device_id), not shown)
    return min(rows, key=rank) if rows else None


def get_visible(s: Session, device_id, staff, organisation_id: int | None = None) -> MeltingDevice | None:
    """The device `staff` (None: anonymous) addresses as `device_id`; `organisation_id` names whose
    device is meant when several are shown by that id (default: the staff member's own)."""
    if organisation_id is None and staff is not None:
        organisation_id = staff.organisation_id
    return find_device(s, device_id, visible_sql(staff, MeltingDevice.organisation_id, MeltingDevice.visibility),
                       organisation_id)


def upgrade_schema(conn) -> None:
    """`melting_devices.ref` for databases made before it (their devices were keyed by their ids)."""
    if "ref" in {c["name"] for c in inspect(conn).get_columns("melting_devices")}:
        return
    exists = " IF NOT EXISTS" if conn.dialect.name == "postgresql" else ""  # two workers starting at once
    conn.execute(text(f"ALTER TABLE melting_devices ADD COLUMN{exists} ref VARCHAR(120) NOT NULL DEFAULT ''"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_melting_devices_ref ON melting_devices (ref)"))


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
