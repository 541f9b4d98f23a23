"""Sending the outbox over SMTP (`SMTP_URL`): smtp://, smtp+starttls://, smtps://, with user:password.

One pass (`send_due`): claim the due mails (a committed 'sending' claim), send each over one SMTP
connection, mark each as sent right after the server accepted it. A failure puts the mail back in
the queue with exponential backoff; after MAX_ATTEMPTS it stays as failed (visible in history).

Crash safety: a worker that dies after the server accepted a mail but before marking it leaves a
'sending' claim; after SENDING_LEASE another pass sends it again with the *same* Message-ID (derived
from the idempotency key), so nothing is lost and the copy is recognisable as the same message
(SMTP gives a client no way to ask whether the server already has it). Without SMTP_URL nothing is
sent: mails stay queued in the outbox, shown on the staff history page.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from alerts.mail import build_message, message_bytes
from store import alerts as sa
from store.db import Database, utcnow

log = logging.getLogger("ishikawa.mail")
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    user: str = ""
    password: str = ""

    @property
    def safe(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"SMTP_URL scheme must be one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise ValueError("SMTP_URL needs a host")
    return SmtpTarget(scheme, parts.hostname, parts.port or SCHEMES[scheme],
                      unquote(parts.username or ""), unquote(parts.password or ""))


def connect(target: SmtpTarget, timeout: float = 10.0, context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    if target.scheme == "smtps":
        conn = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout,
                                context=context or ssl.create_default_context())
    else:
        conn = smtplib.SMTP(target.host, target.port, timeout=timeout)
        if target.scheme == "smtp+starttls":
            conn.starttls(context=context or ssl.create_default_context())
    if target.user:
        conn.login(target.user, target.password)
    return conn


def backoff(attempts: int) -> timedelta:
    """Wait before attempt n+1: 15 s, 30 s, 1 min, 2 min … capped at 30 min."""
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 1800))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def send_due(db: Database, smtp_url: str, mail_from: str, now: Callable[[], datetime] = utcnow, limit: int = 200,
             after_send: Callable[[int], None] | None = None, timeout: float = 10.0,
             max_attempts: int = sa.MAX_ATTEMPTS, context: ssl.SSLContext | None = None,
             parallel: int = 4) -> dict:
    """One pass over the due mails. `after_send` runs between the server's acceptance and the mark
    (tests use it to kill the worker exactly there). A big pass is spread over up to `parallel`
    SMTP connections (one per 25 mails), each marking every mail as soon as it is accepted."""
    result = {"sent": 0, "retry": 0, "failed": 0}
    if not smtp_url:
        return result
    target = parse_smtp_url(smtp_url)
    with db.session() as s:
        claimed = sa.claim_due(s, now(), worker_name(), limit)
        mails = [(m.id, m.attempts, m.to_addr, m.subject, m.body_text, m.body_html, m.message_id, m.created_at,
                  m.unsubscribe_url) for m in claimed]
    if not mails:
        return result
    n = max(1, min(parallel, -(-len(mails) // 25)))
    args = (db, target, mail_from, now, after_send, timeout, max_attempts, context)
    if n == 1:
        parts = [_send_chunk(mails, *args)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        # one connection per recipient: an alert and its recovery never overtake each other
        chunks: list[list[tuple]] = [[] for _ in range(n)]
        for m in mails:
            chunks[zlib.crc32(m[2].lower().encode()) % n].append(m)
        with ThreadPoolExecutor(n, thread_name_prefix="smtp") as pool:
            parts = [f.result() for f in [pool.submit(_send_chunk, c, *args) for c in chunks if c]]
    for part in parts:
        for k in result:
            result[k] += part[k]
    return result


def _send_chunk(mails: list[tuple], db: Database, target: SmtpTarget, mail_from: str, now, after_send, timeout,
                max_attempts, context) -> dict:
    """Send these claimed mails over one connection."""
    result = {"sent": 0, "retry": 0, "failed": 0}
    conn = None
    unmarked: list[int] = []
    try:
        conn = connect(target, timeout, context)
    except (OSError, smtplib.SMTPException) as exc:
        _retry_all(db, mails, now(), f"connect {target.safe}: {type(exc).__name__}: {exc}", max_attempts, result)
        return result
    started = time.monotonic()
    envelope_from = parseaddr(mail_from)[1] or mail_from  # MAIL_FROM may be 'Name <address>'
    try:
        for i, (mid, attempts, to_addr, subject, text, body_html, message_id, created_at, unsub) in enumerate(mails):
            if time.monotonic() - started > sa.SENDING_LEASE.total_seconds() / 2:
                # a slow server: hand the rest back before our claim could look abandoned
                with db.session() as s:
                    sa.release_claims(s, [m[0] for m in mails[i:]])
                break
            msg = build_message(mail_from, to_addr, subject, text, body_html, message_id, created_at, unsub)
            try:
                refused = conn.sendmail(envelope_from, [to_addr], message_bytes(msg))
                if refused:
                    raise smtplib.SMTPRecipientsRefused(refused)
            except smtplib.SMTPServerDisconnected as exc:
                _retry_all(db, mails[i:], now(), f"{type(exc).__name__}: {exc}", max_attempts, result)
                conn = None
                return result
            except smtplib.SMTPException as exc:  # refused by the server: this mail only
                _retry_one(db, mid, attempts, now(), f"{type(exc).__name__}: {exc}", max_attempts, result)
                continue
            except OSError as exc:  # the connection broke: the rest waits for the next pass
                _retry_all(db, mails[i:], now(), f"{type(exc).__name__}: {exc}", max_attempts, result)
                conn = None
                return result
            if after_send is not None:
                after_send(mid)
            unmarked.append(mid)
            result["sent"] += 1
            # mark at once; only if the database is busy (SQLite: another writer holds the lock)
            # the marks wait for the next mail or the end of the pass instead of stalling sending
            if _mark_sent(db, unmarked, now(), block=False):
                unmarked = []
    finally:
        if unmarked:
            _mark_sent(db, unmarked, now(), block=True)
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return result


def _mark_sent(db: Database, ids: list[int], at: datetime, block: bool) -> bool:
    from sqlalchemy import update
    from sqlalchemy.exc import OperationalError

    sqlite = db.backend == "sqlite"
    with db.engine.connect() as conn:
        if sqlite and not block:
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            conn.execute(update(sa.OutboxMail).where(sa.OutboxMail.id.in_(ids))
                         .values(status=sa.SENT, sent_at=at, last_error=""))
            conn.commit()
            return True
        except OperationalError:
            if block:
                raise
            conn.rollback()
            return False
        finally:
            if sqlite and not block:
                conn.exec_driver_sql("PRAGMA busy_timeout = 30000")


def _retry_one(db, mid, attempts, at, error, max_attempts, result) -> None:
    last = attempts >= max_attempts
    with db.session() as s:
        sa.mark_failed_attempt(s, mid, at, error, None if last else backoff(attempts))
    result["failed" if last else "retry"] += 1
    log.warning("mail %s attempt %d failed%s: %s", mid, attempts, " for good" if last else "", error)


def _retry_all(db, mails, at, error, max_attempts, result) -> None:
    for m in mails:
        _retry_one(db, m[0], m[1], at, error, max_attempts, result)


def pump(db: Database, smtp_url: str, mail_from: str, now: Callable[[], datetime] = utcnow) -> dict:
    """Send until nothing due is left (a worker job pass)."""
    total = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(50):
        r = send_due(db, smtp_url, mail_from, now)
        for k in total:
            total[k] += r[k]
        if r["sent"] + r["retry"] + r["failed"] == 0 or r["retry"]:
            break
    return total


def pump_and_wait(db: Database, smtp_url: str, mail_from: str, wait_s: float = 0.9, poll_s: float = 0.2,
                  now: Callable[[], datetime] = utcnow) -> dict:
    """The worker job: send what is due, then keep watching for up to `wait_s`: at once when a
    commit in this process queued mail (alerts.config.WAKE), else every `poll_s` (mail queued by
    another process, e.g. gunicorn web workers taking POST /api/readings)."""
    from alerts.config import WAKE

    total = pump(db, smtp_url, mail_from, now)
    end = time.monotonic() + wait_s
    while (left := end - time.monotonic()) > 0:
        WAKE.wait(min(left, poll_s))
        WAKE.clear()
        r = pump(db, smtp_url, mail_from, now)
        for k in total:
            total[k] += r[k]
        if r["retry"]:
            break  # the server is unwell: back off until the next run
    return total
