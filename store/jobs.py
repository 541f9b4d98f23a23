"""Last run of each periodic job (demo feeds, polls, alert checks, mail), for /healthz and /metrics.

Written by whichever process ran the job (the web process in the embedded default, any of the
`worker` processes otherwise), so every web process reports the same state.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow


class JobRun(Base):
    __tablename__ = "job_runs"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    interval_s: Mapped[float] = mapped_column(Float, default=60.0)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_worker: Mapped[str] = mapped_column(String(120), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failures in a row


def record_run(s: Session, name: str, interval_s: float, started_at: datetime, duration_s: float,
               error: str | None = None, worker: str = "") -> None:
    """One finished run: a success clears the failure count, a failure keeps the last success."""
    row = s.get(JobRun, name)
    if row is None:
        row = JobRun(name=name, interval_s=interval_s, failures=0, last_error="")
        s.add(row)
    row.interval_s = interval_s
    row.last_started_at = started_at
    row.last_duration_s = round(duration_s, 4)
    row.last_worker = worker[:120]
    if error is None:
        row.last_ok_at = started_at
        row.failures = 0
    else:
        row.last_error_at = started_at
        row.last_error = error[:2000]
        row.failures = (row.failures or 0) + 1


def job_states(s: Session, now: datetime | None = None) -> dict[str, dict]:
    """name -> state; a job is late when it has not succeeded for 3 intervals (and at least a minute)."""
    now = now or utcnow()
    out = {}
    for row in s.scalars(select(JobRun).order_by(JobRun.name)):
        age = (now - row.last_ok_at).total_seconds() if row.last_ok_at else None
        late = age is None or age > max(3 * row.interval_s, 60.0)
        status = "error" if row.failures else ("late" if late else "ok")
        out[row.name] = {
            "status": status,
            "last_ok_at": row.last_ok_at.isoformat() if row.last_ok_at else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "interval_seconds": row.interval_s,
            "last_duration_seconds": row.last_duration_s,
            "failures_in_a_row": row.failures,
            "last_error": row.last_error or None,
            "last_error_at": row.last_error_at.isoformat() if row.last_error_at else None,
        }
    return out
