"""When an observation may have been made, and what a value may be — checked at every door
(`POST /api/readings`, `POST /api/vehicles/fixes`, FIWARE polls and notifications).

A time before 2000-01-01 or more than 5 minutes ahead of the server clock is a broken clock or a
typing error, never an observation: such items are refused one by one with a reason (`too_old`,
`future`), so one organisation's bad data cannot break anybody's alerts, charts or pages later.
Values must be finite numbers (`1e999`, `Infinity` and `NaN` are refused: `not_finite`).
"""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(minutes=5)


def time_problem(at: datetime | None, now: datetime) -> str | None:
    """None when `at` (aware) is a plausible observation time, else the reason."""
    if at is None:
        return None
    if at < EARLIEST:
        return "too_old"
    if at > now + MAX_AHEAD:
        return "future"
    return None


def parse_time(value, bare=UTC) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime (bare times in `bare`), None when it is not one.
    A time beyond what a datetime holds in UTC (`0001-01-01T00:00:00+14:00`) is clamped to the first
    or last moment, so `time_problem` names it. Never raises."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=bare)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return (datetime.min if dt.utcoffset().total_seconds() > 0 else datetime.max).replace(tzinfo=UTC)


def finite(value) -> bool:
    """A real number that is not ±inf or NaN (booleans are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def sift(items: list, now: datetime) -> tuple[list, list[dict]]:
    """FIWARE items (sources.smart_models) with a plausible time and finite values, and the others
    as [{"entity_id", "reason"}]."""
    kept, rejected = [], []
    for it in items:
        reason = time_problem(getattr(it, "observed_at", None), now)
        value = getattr(it, "value", 0.0)
        if reason is None and value is not None and not finite(value):
            reason = "not_finite"
        if reason is None and any(getattr(it, k, None) is not None and not finite(getattr(it, k))
                                  for k in ("lon", "lat", "speed", "heading")):
            reason = "not_finite"
        if reason is None:
            kept.append(it)
        else:
            rejected.append({"entity_id": str(getattr(it, "entity_id", ""))[:200], "reason": reason})
    return kept, rejected
