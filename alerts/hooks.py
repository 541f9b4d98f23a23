"""Alerts wired to the store: new readings and changed layers trigger the rules that watch them,
in the same transaction; events and their outbox mails are written together.

`install(db, config)` hooks the Database's sessions: every committed transaction that added
readings (store.sensors.add_reading — the one ingest path of the demo feed, FIWARE and the API)
or changed a layer (uploads: the layer's version moves) is evaluated right before it commits
(alerts/evaluation.py), so the reading, the alert event and the outbox rows are one atomic write.
Nothing here imports Dash or Flask.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from alerts.config import WAKE, AlertConfig, install_config_of, remember
from alerts.evaluation import process_layers, process_readings
from store import alerts as sa
from store.db import Database
from store.models import Layer, Reading
from store.sensors import NEW_READINGS


def install(db: Database, config: AlertConfig) -> None:
    """Evaluate rules on every commit of this database's sessions (idempotent)."""
    remember(db, config)
    maker = db._sessions
    # marked on the sessionmaker itself: event.contains() can be fooled when a collected
    # sessionmaker's class id is reused by a new one
    if not getattr(maker, "_ishikawa_alerts", False):
        maker._ishikawa_alerts = True
        event.listen(maker, "after_flush", _after_flush)
        event.listen(maker, "before_commit", _before_commit)
        event.listen(maker, "after_commit", _after_commit)
        event.listen(maker, "after_soft_rollback", _after_rollback)


def _collect(session: Session, objects) -> None:
    info = session.info
    seen = info.setdefault("alerts.seen", set())
    for obj in objects:
        if isinstance(obj, Reading) and id(obj) not in seen:
            seen.add(id(obj))
            info.setdefault("alerts.readings", []).append(obj)
        elif isinstance(obj, sa.OutboxMail):
            info["alerts.mail"] = True
        elif isinstance(obj, Layer) and ("layer", obj.id) not in seen and (
                obj in session.new or inspect(obj).attrs.version.history.has_changes()):
            seen.add(("layer", obj.id))
            info.setdefault("alerts.layers", set()).add(obj.id)


def _after_flush(session: Session, _ctx) -> None:
    _collect(session, list(session.new) + [o for o in session.dirty if isinstance(o, Layer)])


def _before_commit(session: Session) -> None:
    """Evaluate before the final flush and without autoflush, so on SQLite the write lock is taken
    only for the inserts at the very end (the mail job can write between two ingest commits)."""
    config = install_config_of(session)
    if config is None or session.info.get("alerts.busy"):
        return
    session.info["alerts.busy"] = True
    try:
        with session.no_autoflush:
            for _ in range(10):
                _collect(session, list(session.new) + [o for o in session.dirty if isinstance(o, Layer)])
                readings = session.info.pop("alerts.readings", None)
                bulk = session.info.pop(NEW_READINGS, None)  # store.sensors.add_readings (broker polls)
                layers = session.info.pop("alerts.layers", None)
                if not readings and not bulk and not layers:
                    break
                now = config.now()
                values = [(r.sensor_id, r.attribute, float(r.value), r.observed_at) for r in readings or []]
                values += [(sid, attr, float(v), at) for sid, attr, v, at in bulk or []]
                if values:
                    process_readings(session, config, values, now)
                if layers:
                    process_layers(session, config, layers, now)
                if any(isinstance(o, sa.OutboxMail) for o in session.new):
                    session.info["alerts.mail"] = True
    finally:
        session.info.pop("alerts.busy", None)


def _after_rollback(session: Session, _previous) -> None:
    for key in ("alerts.readings", "alerts.layers", "alerts.mail", "alerts.seen", NEW_READINGS):
        session.info.pop(key, None)


def _after_commit(session: Session) -> None:
    for key in ("alerts.readings", "alerts.layers", "alerts.seen", NEW_READINGS):
        session.info.pop(key, None)
    if session.info.pop("alerts.mail", False):
        WAKE.set()
