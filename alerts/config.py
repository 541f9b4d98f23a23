"""How alerts are set up for one database: `AlertConfig` (base URL for links, sender, signing
secret, clock), which `alerts.hooks.install` records per database engine, and `WAKE`, set after a
commit that queued mail so the sender goes at once."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts import engine
from store.db import Database, utcnow

WAKE = threading.Event()  # set after a commit that queued mail: the sender goes at once


@dataclass
class AlertConfig:
    base_url: str = "http://127.0.0.1:8050"
    mail_from: str = "ishikawa-map@localhost"
    secret_key: str = "dev"
    clock: Callable[[], datetime] = utcnow  # tests pass a controllable clock
    late_after: timedelta = engine.LATE_AFTER
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings, **over) -> AlertConfig:
        over.setdefault("extra", {"camera_nearest_m": getattr(settings, "camera_nearest_m", 0.0)})
        return cls(base_url=settings.public_base_url, mail_from=settings.mail_from,
                   secret_key=settings.secret_key, **over)

    def now(self) -> datetime:
        return self.clock()


_CONFIGS: dict = {}  # engine -> AlertConfig


def remember(db: Database, config: AlertConfig) -> None:
    _CONFIGS[db.engine] = config


def config_of(db: Database) -> AlertConfig | None:
    return _CONFIGS.get(db.engine)


def install_config_of(s: Session) -> AlertConfig | None:
    """The config installed for this session's database (None: alerts not installed)."""
    return _CONFIGS.get(s.get_bind())
