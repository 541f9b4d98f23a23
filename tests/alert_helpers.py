"""What the alert tests share: the fixed moment they start at and a clock they move by hand."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)  # 12:00 JST


class Clock:
    """The `clock` of an AlertConfig that only moves when a test says so (`advance`, or set `.t`)."""

    def __init__(self, t: datetime = T0):
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> datetime:
        self.t += timedelta(**kw)
        return self.t
