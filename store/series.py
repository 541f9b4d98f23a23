"""Time series of sensor readings, aggregated in SQL (SQLite and PostgreSQL), with hourly rollups.

Buckets are aligned in JST: a day bucket starts at 00:00 JST (15:00 UTC of the day before); 10-minute
and hour buckets are the same in UTC and JST. Every time handed in or out is an aware UTC datetime.

`reading_rollups` keeps count, sum, min, max and the last value of every (sensor, attribute, UTC hour).
Readings flagged `implausible` (store/plausibility.py) are in no series, bucket or rollup.
`store.sensors.add_reading` / `add_readings` keep it up to date in the transaction that stores the
readings (`add_to_rollups`), `prune_readings` deletes readings and their rollups together, and
`rebuild_rollups` recomputes it from the readings in one INSERT … SELECT … GROUP BY (start-up of a
database that has readings but no rollups yet: `ensure_rollups`, called by `store.schema.create_all`).

`bucketed` answers hour and day buckets from the rollups for the whole hours of the range and from the
readings for the partial hours at its two ends — one GROUP BY over both — so the answer is the same as
the one computed over the readings alone (`use_rollups=False`), only faster over long ranges.
"""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    bindparam,
    case,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime
from store.models import Reading, Sensor
from timezones import JST_OFFSET_SECONDS

STEPS = {"10min": 600, "hour": 3600, "day": 86400}
FUNCS = ("avg", "min", "max", "sum", "count", "last")
JST_OFFSET = JST_OFFSET_SECONDS  # buckets are aligned on JST midnights
HOUR = 3600
AVG_DECIMALS = 3
SUM_DECIMALS = 6  # the sum of hourly sums and the sum of the readings may differ in the last bits

Series = dict[str, list[tuple[datetime, float]]]


class ReadingRollup(Base):
    """Aggregates of one sensor's readings of one attribute within one UTC hour."""

    __tablename__ = "reading_rollups"
    sensor_id: Mapped[str] = mapped_column(ForeignKey("sensors.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(60))
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # One sensor's hours lie together and are read without visiting scattered table rows: on SQLite
    # the primary key is the table, on PostgreSQL the key index carries the values (index-only scans)
    __table_args__ = (
        PrimaryKeyConstraint("sensor_id", "attribute", "hour_start", postgresql_include=[
            "count", "total", "min_value", "max_value", "last_value", "last_at"]),
        {"sqlite_with_rowid": False})


ROLLUPS = ReadingRollup.__table__


# --- small helpers -------------------------------------------------------------------------------

def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime; attach a time zone first")
    return t.astimezone(UTC)


def floor_hour(t: datetime) -> datetime:
    return _utc(t).replace(minute=0, second=0, microsecond=0)


def ceil_hour(t: datetime) -> datetime:
    f = floor_hour(t)
    return f if f == _utc(t) else f + timedelta(hours=1)


def _from_epoch(x) -> datetime:
    return datetime.fromtimestamp(int(x), tz=UTC)


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


def _epoch(col: str, dialect: str) -> str:
    """SQL for the whole seconds since 1970 of a UTC datetime column."""
    if dialect == "postgresql":
        return f"CAST(floor(date_part('epoch', {col})) AS BIGINT)"
    import sqlite3

    if sqlite3.sqlite_version_info >= (3, 38, 0):
        return f"unixepoch({col})"
    return f"CAST(strftime('%s', {col}) AS INTEGER)"


def _bucket(col: str, step: int, dialect: str) -> str:
    # integer arithmetic (epochs are positive, so / is floor); step and offset are our own ints
    return f"((({_epoch(col, dialect)}) + {JST_OFFSET}) / {int(step)}) * {int(step)} - {JST_OFFSET}"


def _check(step: str, fn: str) -> int:
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; one of {', '.join(STEPS)}")
    if fn not in FUNCS:
        raise ValueError(f"unknown function {fn!r}; one of {', '.join(FUNCS)}")
    return STEPS[step]


def _finish(fn: str, value, count=None) -> float:
    value = float(value)
    if fn == "avg":  # from the sum rounded as a sum is, so both paths divide the same numbers
        return round(round(value, SUM_DECIMALS) / int(count), AVG_DECIMALS)
    if fn == "sum":
        return round(value, SUM_DECIMALS)
    return value


# --- reading ---------------------------------------------------------------------------------------

def raw(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime,
        limit_per_sensor: int = 50000) -> Series:
    """The readings of each sensor in [since, until]: the newest `limit_per_sensor` of each (so one
    busy sensor hides no other), oldest first. Every asked sensor is a key (maybe with no points)."""
    since, until = _utc(since), _utc(until)
    ids = list(dict.fromkeys(sensor_ids))
    out: Series = {sid: [] for sid in ids}
    if not ids or since > until:
        return out
    sql = text(
        "SELECT sensor_id, observed_at, value FROM (SELECT sensor_id, observed_at, value,"
        " row_number() OVER (PARTITION BY sensor_id ORDER BY observed_at DESC) AS k FROM readings"
        " WHERE sensor_id IN :ids AND attribute = :attr AND observed_at >= :since AND observed_at <= :until"
        " AND NOT implausible) w"
        " WHERE k <= :lim ORDER BY sensor_id, observed_at"
    ).bindparams(bindparam("ids", expanding=True), bindparam("since", type_=UTCDateTime()),
                 bindparam("until", type_=UTCDateTime())).columns(observed_at=UTCDateTime())
    for sid, t, v in s.execute(sql, {"ids": ids, "attr": attribute, "since": since, "until": until,
                                     "lim": int(limit_per_sensor)}):
        out[sid].append((t, float(v)))
    return out


def bucketed(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime,
             step: str, fn: str, use_rollups: bool = True) -> Series:
    """`fn` of the readings in [since, until] per `step` bucket (aligned in JST) and per sensor, in
    one GROUP BY. Keys: every asked sensor; points: (bucket start, value), oldest first; empty
    buckets are absent. Hour and day buckets read the hourly rollups for the whole hours of the
    range (use_rollups=False forces the readings; the answer is the same)."""
    seconds = _check(step, fn)
    return _aggregate(s, sensor_ids, attribute, since, until, seconds, fn, use_rollups)


def sparkline(s: Session, sensor_id: str, attribute: str, since: datetime, until: datetime,
              points: int = 48) -> list[tuple[datetime, float]]:
    """Averages over buckets sized to give about `points` points (whole minutes; whole hours from an
    hour up, so long ranges read the rollups)."""
    span = (_utc(until) - _utc(since)).total_seconds()
    step = max(60, math.ceil(span / max(1, points)))
    step = math.ceil(step / HOUR) * HOUR if step >= HOUR else math.ceil(step / 60) * 60
    return _aggregate(s, [sensor_id], attribute, since, until, step, "avg", True)[sensor_id]


def latest(s: Session, sensor_ids: list[str], attribute: str | None = None) -> dict[str, tuple[datetime, float]]:
    """Newest reading per sensor: of `attribute`, or (None) the sensor's own attribute as kept on the
    sensor row. Sensors without one are absent."""
    ids = list(dict.fromkeys(sensor_ids))
    if not ids:
        return {}
    if attribute is None:
        q = select(Sensor.id, Sensor.last_observed_at, Sensor.last_value).where(
            Sensor.id.in_(ids), Sensor.last_observed_at.is_not(None), Sensor.last_value.is_not(None))
        return {sid: (t, float(v)) for sid, t, v in s.execute(q)}
    # the newest reading per sensor: one probe each of the covering index, no table row visited
    newest = ("(SELECT m.{col} FROM readings m WHERE m.sensor_id = x.id AND m.attribute = :attr"
              " ORDER BY m.observed_at DESC LIMIT 1)")
    sql = text(
        f"SELECT x.id, {newest.format(col='observed_at')} AS observed_at, {newest.format(col='value')} AS value"
        " FROM sensors x WHERE x.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True)).columns(observed_at=UTCDateTime())
    return {sid: (t, float(v)) for sid, t, v in s.execute(sql, {"ids": ids, "attr": attribute})
            if t is not None and v is not None}


def _aggregate(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime,
               step: int, fn: str, use_rollups: bool) -> Series:
    since, until = _utc(since), _utc(until)
    ids = list(dict.fromkeys(sensor_ids))
    out: Series = {sid: [] for sid in ids}
    if not ids or since > until:
        return out
    s.flush()  # readings added in this session count too
    sql, params = aggregate_query(_dialect(s), ids, attribute, since, until, step, fn, use_rollups)
    starts: dict[int, datetime] = {}  # the sensors share their bucket starts
    for row in s.execute(sql, params):
        if row[2] is not None:
            start = starts.get(row[1])
            if start is None:
                start = starts[row[1]] = _from_epoch(row[1])
            out[row[0]].append((start, _finish(fn, row[2], row[3] if fn == "avg" else None)))
    return out


def aggregate_query(dialect: str, ids: list[str], attribute: str, since: datetime, until: datetime,
                    step: int, fn: str, use_rollups: bool = True):
    """(text SQL, params) of one bucketed aggregation: rows (sensor_id, bucket epoch, value[, count])
    ordered by sensor and bucket. Public for EXPLAIN in the benchmark."""
    since, until = _utc(since), _utc(until)
    first_full, end_full = ceil_hour(since), floor_hour(until)
    params: dict = {"ids": list(ids), "attr": attribute, "since": since, "until": until}
    if use_rollups and step % HOUR == 0 and first_full < end_full:
        # whole hours [first_full, end_full) from the rollups; [since, first_full) and
        # [end_full, until] from the readings — three index ranges, one GROUP BY
        inner = (
            "SELECT sensor_id, hour_start AS t, count AS n, total AS tot, min_value AS lo, max_value AS hi,"
            " last_value AS lv, last_at AS la FROM reading_rollups"
            " WHERE sensor_id IN :ids AND attribute = :attr AND hour_start >= :a AND hour_start < :b"
            " UNION ALL SELECT sensor_id, observed_at, 1, value, value, value, value, observed_at FROM readings"
            " WHERE sensor_id IN :ids AND attribute = :attr AND observed_at >= :since AND observed_at < :a"
            " AND NOT implausible"
            " UNION ALL SELECT sensor_id, observed_at, 1, value, value, value, value, observed_at FROM readings"
            " WHERE sensor_id IN :ids AND attribute = :attr AND observed_at >= :b AND observed_at <= :until"
            " AND NOT implausible")
        params.update(a=first_full, b=end_full)
        agg = {"avg": "sum(tot), sum(n)", "sum": "sum(tot)", "count": "sum(n)", "min": "min(lo)",
               "max": "max(hi)"}
        last_v, last_t = "lv", "la"
    else:
        inner = ("SELECT sensor_id, observed_at AS t, value FROM readings"
                 " WHERE sensor_id IN :ids AND attribute = :attr AND observed_at >= :since AND observed_at <= :until"
                 " AND NOT implausible")
        agg = {"avg": "sum(value), count(*)", "sum": "sum(value)", "count": "count(*)", "min": "min(value)",
               "max": "max(value)"}
        last_v, last_t = "value", "t"
    if fn == "last":
        if dialect == "postgresql":
            expr = f"(array_agg({last_v} ORDER BY {last_t} DESC))[1]"
        else:  # SQLite: with exactly one max() a bare column comes from the row that holds the max
            expr = f"{last_v}, max({last_t})"
    else:
        expr = agg[fn]
    binds = [bindparam("ids", expanding=True)] + [bindparam(k, type_=UTCDateTime()) for k in params
                                                  if k in ("since", "until", "a", "b")]
    sql = text(f"SELECT sensor_id, {_bucket('t', step, dialect)} AS bucket, {expr} FROM ({inner}) u"
               " GROUP BY 1, 2 ORDER BY 1, 2").bindparams(*binds)
    return sql, params


# --- keeping the rollups ---------------------------------------------------------------------------

def _upsert_statement(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    t = ROLLUPS.c
    ins = insert(ROLLUPS)
    new = ins.excluded
    newer = new["last_at"] > t.last_at
    return ins.on_conflict_do_update(
        index_elements=[t.sensor_id, t.attribute, t.hour_start],
        set_={"count": t["count"] + new["count"], "total": t.total + new["total"],
              "min_value": case((new["min_value"] < t.min_value, new["min_value"]), else_=t.min_value),
              "max_value": case((new["max_value"] > t.max_value, new["max_value"]), else_=t.max_value),
              "last_value": case((newer, new["last_value"]), else_=t.last_value),
              "last_at": case((newer, new["last_at"]), else_=t.last_at)})


PENDING = "store.series.pending"  # session.info: readings added as ORM objects, not yet flushed


def add_to_rollups_on_flush(s: Session, rows) -> None:
    """`add_to_rollups` for readings added to the session as objects (`add_reading`): done when the
    session flushes them, in the same statement round, so the write happens where the reading's own
    INSERT does (on SQLite the write lock is then taken at the same moment as before)."""
    s.info.setdefault(PENDING, []).extend((sid, a, float(v), _utc(t)) for sid, a, v, t in rows)


@event.listens_for(Session, "after_flush")
def _flush_pending(s: Session, _ctx) -> None:
    rows = s.info.pop(PENDING, None)
    if rows:
        _upsert(s.connection(), rows)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(s: Session, _previous) -> None:
    s.info.pop(PENDING, None)


def add_to_rollups(s: Session, rows) -> int:
    """Fold newly stored readings — (sensor_id, attribute, value, observed_at), none of them stored
    before — into the hourly rollups: one upsert statement for the whole batch. Returns the number
    of (sensor, attribute, hour) rows touched."""
    return _upsert(s.connection(), rows)


def _upsert(conn, rows) -> int:
    acc: dict[tuple[str, str, datetime], list] = {}
    for sid, attribute, value, at in rows:
        value, at = float(value), _utc(at)
        key = (sid, attribute, at.replace(minute=0, second=0, microsecond=0))
        a = acc.get(key)
        if a is None:
            acc[key] = [1, value, value, value, value, at]
            continue
        a[0] += 1
        a[1] += value
        a[2] = min(a[2], value)
        a[3] = max(a[3], value)
        if at > a[5]:
            a[4], a[5] = value, at
    if not acc:
        return 0
    params = [{"sensor_id": sid, "attribute": attr, "hour_start": h, "count": a[0], "total": a[1],
               "min_value": a[2], "max_value": a[3], "last_value": a[4], "last_at": a[5]}
              for (sid, attr, h), a in acc.items()]
    conn.execute(_upsert_statement(conn.dialect.name), params)
    return len(params)


def rebuild_rollups(s: Session, since: datetime | None = None, until: datetime | None = None,
                    sensor_ids: list[str] | None = None) -> int:
    """Recompute the rollups of the hours from `since` (its hour included; None: all) up to `until`
    (exclusive, whole hours; None: no end) from the readings, in SQL. Returns the rows written."""
    dialect = _dialect(s)
    where, params = ["NOT implausible"], {}
    q = delete(ReadingRollup)
    if since is not None:
        params["lo"] = floor_hour(since)
        where.append("observed_at >= :lo")
        q = q.where(ReadingRollup.hour_start >= params["lo"])
    if until is not None:
        params["hi"] = ceil_hour(until)
        where.append("observed_at < :hi")
        q = q.where(ReadingRollup.hour_start < params["hi"])
    if sensor_ids is not None:
        if not sensor_ids:
            return 0
        params["ids"] = list(sensor_ids)
        where.append("sensor_id IN :ids")
        q = q.where(ReadingRollup.sensor_id.in_(params["ids"]))
    s.execute(q)
    hour = ("date_trunc('hour', observed_at)" if dialect == "postgresql"
            else "strftime('%Y-%m-%d %H:00:00.000000', observed_at)")  # the format of UTCDateTime on SQLite
    sql = text(
        "INSERT INTO reading_rollups (sensor_id, attribute, hour_start, count, total, min_value, max_value,"
        " last_value, last_at)"
        " SELECT g.sensor_id, g.attribute, g.h, g.n, g.tot, g.lo, g.hi,"
        "  (SELECT r.value FROM readings r WHERE r.sensor_id = g.sensor_id AND r.attribute = g.attribute"
        "   AND r.observed_at = g.la), g.la"
        f" FROM (SELECT sensor_id, attribute, {hour} AS h, count(*) AS n, sum(value) AS tot,"
        "  min(value) AS lo, max(value) AS hi, max(observed_at) AS la FROM readings"
        + (" WHERE " + " AND ".join(where) if where else "") +
        " GROUP BY 1, 2, 3) g")
    binds = [bindparam(k, type_=UTCDateTime()) for k in ("lo", "hi") if k in params]
    if "ids" in params:
        binds.append(bindparam("ids", expanding=True))
    result = s.execute(sql.bindparams(*binds), params)
    return result.rowcount or 0


def ensure_rollups(s: Session) -> bool:
    """Build the rollups of a database that has readings but none yet (first start after an
    upgrade); two one-row queries when there is nothing to do. True when it rebuilt them."""
    if s.scalar(select(ReadingRollup.sensor_id).limit(1)) is not None:
        return False
    if s.scalar(select(Reading.id).limit(1)) is None:
        return False
    rebuild_rollups(s)
    return True


def prune_readings(s: Session, before: datetime, sensor_ids: list[str] | None = None) -> int:
    """Delete the readings older than `before` (of those sensors; None: all) and keep the rollups
    consistent: the rows of fully pruned hours go, the hour that holds `before` is recomputed."""
    before = _utc(before)
    if sensor_ids is not None and not sensor_ids:
        return 0
    q = delete(Reading).where(Reading.observed_at < before)
    r = delete(ReadingRollup).where(ReadingRollup.hour_start < floor_hour(before))
    if sensor_ids is not None:
        q = q.where(Reading.sensor_id.in_(sensor_ids))
        r = r.where(ReadingRollup.sensor_id.in_(sensor_ids))
    gone = s.execute(q).rowcount or 0
    s.execute(r)
    if gone and before != floor_hour(before):
        rebuild_rollups(s, since=before, until=before, sensor_ids=sensor_ids)
    return gone
