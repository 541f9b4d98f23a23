"""Engine, sessions and the UTC datetime column type (store/schema.py creates the tables)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones), always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


def upsert(s: Session, model, key, **fields):
    """The `model` row with primary key `key`, created with these fields or changed to them; flushed."""
    row = s.get(model, key)
    if row is None:
        row = model(id=key, **fields)
        s.add(row)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
    s.flush()
    return row


def normalize_url(url: str) -> str:
    """postgresql:// means psycopg 3 here (the driver we install)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Database:
    def __init__(self, url: str):
        url = normalize_url(url)
        parsed = make_url(url)
        kwargs: dict = {"future": True, "pool_pre_ping": True,
                        # JSON columns through orjson: bulk uploads write a million property dicts
                        "json_serializer": _json_dumps, "json_deserializer": _json_loads}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # the web threads and the job threads share the file
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.url = url
        self.engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def init_lock(self) -> Iterator[None]:
        """Serialise start-up work (tables, built-in data) between processes, e.g. gunicorn workers."""
        if self.backend == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(724011)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(724011)"))
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        import fcntl

        with open(f"{database}.init.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ping(self) -> tuple[bool, str]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True, ""
        except Exception as exc:  # the health check reports, never raises
            log.warning("database ping failed: %s", exc)
            return False, type(exc).__name__

    def dispose(self) -> None:
        self.engine.dispose()


def _json_dumps(value) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_loads(text):
    import orjson

    return orjson.loads(text)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the demo feed's writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def get_db() -> Database:
    """The Database of the running Flask app (inside a request or app context)."""
    from flask import current_app

    return current_app.extensions["ishikawa.db"]


def org_scoped_key(s, model, org_code: str, posted_id: str) -> str:
    """The store key of a row (a sensor, a snow-melting device) an organisation creates as
    `posted_id`: the id itself while no row of `model` holds it, else `<org>:<id>` (a hash of the id
    when that is too long or, however unlikely, taken). Either way the row is shown and addressed by
    `posted_id` (its `ref`), so nothing tells the organisation that the id exists elsewhere."""
    import hashlib

    for key in (posted_id, f"{org_code}:{posted_id}"):
        if len(key) <= 120 and s.get(model, key) is None:
            return key
    digest = hashlib.sha256(posted_id.encode("utf-8")).hexdigest()[:40]
    n = 0
    while s.get(model, key := f"{org_code}:{digest}" + (f"-{n}" if n else "")) is not None:
        n += 1
    return key
