"""One frozen settings object, read from the environment, with embedded defaults.

The embedded default needs no other service: a SQLite file under instance/, the in-process cache
and the built-in demo feed.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    instance_path: Path = ROOT / "instance"
    data_path: Path = ROOT / "data"
    host: str = "127.0.0.1"
    port: int = 8050
    orion_url: str = ""
    fiware_service: str = ""
    fiware_servicepath: str = "/"
    orion_token: str = ""
    orion_interval_s: float = 60.0
    quantumleap_url: str = ""
    smtp_url: str = ""
    mail_from: str = "ishikawa-map@localhost"
    cache_redis_url: str = ""
    demo_feed: bool = True
    demo_interval_s: float = 10.0
    public_base_url: str = "http://127.0.0.1:8050"
    # Start the periodic jobs inside the web process (embedded default); gunicorn web workers
    # leave them to the separate `worker` process.
    run_jobs: bool = False
    # staff log-in and uploads
    admin_email: str = ""
    admin_password: str = ""
    upload_max_mb: int = 100
    # ClamAV's daemon scanning every uploaded or downloaded file (unix:///run/clamav/clamd.ctl,
    # tcp://127.0.0.1:3310); empty: no scan. Set but unreachable: uploads are refused (503).
    clamd_url: str = ""
    cookie_secure: bool = False  # Secure cookies: on when PUBLIC_BASE_URL is https (or COOKIE_SECURE=1)
    # Reverse proxies in front of the app (nginx, a load balancer): their X-Forwarded-For/-Proto/-Host
    # are believed, so log-in throttling sees the real client address. 0: headers ignored.
    trusted_proxies: int = 0
    # Log-in throttling (auth/throttle.py), in the notation of the `limits` library: tries per
    # (account, client address) and per client address; counted in Redis when CACHE_REDIS_URL is set.
    login_limit: str = "5 per 15 minutes"
    login_limit_address: str = "30 per 15 minutes"
    # Host names, addresses or networks (comma separated) that staff-registered sources and camera
    # snapshot URLs may also be fetched from (sources/url_guard.py). Empty: public addresses only —
    # loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local/metadata, multicast and
    # reserved addresses are refused; the operator's own ORION_URL broker stays allowed.
    source_hosts: str = ""
    # Origins (scheme://host[:port]) whose pages may show /embed/... pages in an iframe.
    embed_origins: tuple[str, ...] = ()
    # cameras: snapshots (re-encoded JPEGs under instance/cameras/) are kept this many hours
    camera_retention_hours: float = 48.0
    # jobs: "" (procrastinate on PostgreSQL, threads on SQLite), "threads" or "procrastinate";
    # the queues a `worker` serves (empty: all of mail, alerts, feeds, polls)
    job_engine: str = ""
    worker_queues: tuple[str, ...] = ()
    # /metrics (Prometheus): off unless a token is set; scrapers send `Authorization: Bearer <token>`
    metrics_token: str = ""
    audit_retention_days: int = 730  # AUDIT_RETENTION_DAYS: audit log entries older than this are deleted
    # alert mails link the snapshot of the nearest camera within this many metres (0: never)
    camera_nearest_m: float = 3000.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        instance = Path(env.get("INSTANCE_PATH") or ROOT / "instance")
        orion = env.get("ORION_URL", "").strip()
        values = dict(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'ishikawa-map.sqlite3'}",
            secret_key=env.get("SECRET_KEY") or _instance_secret(instance),
            instance_path=instance,
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8050")),
            orion_url=orion,
            fiware_service=env.get("FIWARE_SERVICE", ""),
            fiware_servicepath=env.get("FIWARE_SERVICEPATH", "/"),
            orion_token=env.get("ORION_TOKEN", ""),
            orion_interval_s=float(env.get("ORION_INTERVAL", "60")),
            quantumleap_url=env.get("QUANTUMLEAP_URL", "").strip().rstrip("/"),
            smtp_url=env.get("SMTP_URL", ""),
            mail_from=env.get("MAIL_FROM", "ishikawa-map@localhost"),
            cache_redis_url=env.get("CACHE_REDIS_URL", ""),
            demo_feed=_flag(env.get("DEMO_FEED"), default=not orion),
            demo_interval_s=float(env.get("DEMO_INTERVAL", "10")),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/")
            or f"http://{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '8050')}",
        )
        # staff log-in and uploads
        values.update(
            admin_email=env.get("ADMIN_EMAIL", "").strip(),
            admin_password=env.get("ADMIN_PASSWORD", ""),
            upload_max_mb=int(env.get("UPLOAD_MAX_MB", "100")),
            clamd_url=env.get("CLAMD_URL", "").strip(),
            cookie_secure=_flag(env.get("COOKIE_SECURE"),
                                default=values["public_base_url"].lower().startswith("https://")),
            trusted_proxies=int(env.get("TRUSTED_PROXIES", "0") or 0),
            login_limit=env.get("LOGIN_LIMIT", "").strip() or "5 per 15 minutes",
            login_limit_address=env.get("LOGIN_LIMIT_ADDRESS", "").strip() or "30 per 15 minutes",
            source_hosts=env.get("SOURCE_HOSTS", "").strip(),
            embed_origins=parse_origins(env.get("EMBED_ORIGINS", "")),
        )
        # cameras
        values.update(
            camera_retention_hours=float(env.get("CAMERA_RETENTION_HOURS", "").strip() or 48),
            camera_nearest_m=float(env.get("CAMERA_NEAREST_M", "").strip() or 3000),
        )
        # jobs and monitoring
        values.update(
            job_engine=env.get("JOB_ENGINE", "").strip().lower(),
            worker_queues=tuple(q for q in (p.strip() for p in env.get("WORKER_QUEUES", "").split(",")) if q),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
        )
        # audit log
        values.update(audit_retention_days=_days(env.get("AUDIT_RETENTION_DAYS"), 730))
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def _days(text: str | None, default: int) -> int:
    """A whole number of days (at least 1); empty or unreadable: the default."""
    try:
        return max(1, int((text or "").strip() or default))
    except ValueError:
        return default


def parse_origins(text: str) -> tuple[str, ...]:
    """'https://www.city.kaga.ishikawa.jp, https://cms.example' -> origins; anything that is not a
    plain http(s) origin (paths, wildcards, quotes, 'none') is dropped, so it cannot widen the policy."""
    import re

    out = []
    for part in re.split(r"[\s,]+", text or ""):
        part = part.strip().rstrip("/")
        if re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", part) and part not in out:
            out.append(part)
    return tuple(out)


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in instance/, so sessions survive restarts without setup."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
