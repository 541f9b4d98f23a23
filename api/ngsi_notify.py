"""`POST /ngsi/notify/<source id>`: Orion subscriptions push entities here.

The source's secret must come with it: in the `X-Notify-Token` header (subscriptions we create
send it through Orion's `httpCustom.headers`), or as `?token=` in the URL (subscriptions made
before keep working); without it the request is refused (401) and nothing is read. `token=`
values never reach a log line: `install_log_redaction` blanks them in every log record (the
werkzeug access log, httpx's request lines, ours).
Orion counts any answer as delivered and does not resend, so we answer 2xx only after the data
is committed; a failure to store answers 503 (logged) rather than pretending. Entities are taken
one by one: a broken one (no id, metadata that is no object, a location that is no geometry or
lies outside the service area, an implausible time or value) is skipped and reported — in the
answer (`rejected`, `rejected_count`) and in the source's status — while the others are stored;
a notification with nothing usable is a 400 that stores nothing.
"""
from __future__ import annotations

import hmac
import logging
import re

import orjson
from flask import Blueprint, jsonify, request

from api.errors import error
from api.hardening import valid_id
from sources.broker_ingest import forward_fixes, map_entities, note_rejected, read_entities, store_items
from sources.observed import sift
from sources.source_config import NOTIFY_HEADER, notify_path  # noqa: F401  (notify_path: where it lives)
from store.brokers import Source
from store.db import get_db, utcnow
from store.feeds import feed_ok

log = logging.getLogger(__name__)
bp = Blueprint("ngsi_notify", __name__)


_TOKEN_IN_URL = re.compile(r"([?&;](?:[a-z_]*token)=)[^&;\s\"'#]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`…?token=s3cret&x=1` → `…?token=[redacted]&x=1`."""
    return _TOKEN_IN_URL.sub(r"\1[redacted]", text)


def _redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str) and "token=" in record.msg.lower():
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple) and record.args:
        # strings, and objects that print as URLs (httpx.URL): numbers stay numbers for %d
        record.args = tuple(a if isinstance(a, (int, float)) or "token=" not in str(a).lower() else redact(str(a))
                            for a in record.args)


def install_log_redaction() -> None:
    """Every log record made from now on has `token=` values in URLs blanked (idempotent)."""
    old = logging.getLogRecordFactory()
    if getattr(old, "redacts_tokens", False):
        return

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:  # a log line must never fail because of this
            pass
        return record

    factory.redacts_tokens = True
    logging.setLogRecordFactory(factory)


@bp.record_once
def _on_register(_state) -> None:
    install_log_redaction()


@bp.post("/ngsi/notify/<int:source_id>")
def notify(source_id: int):
    given = request.headers.get(NOTIFY_HEADER) or request.args.get("token") or ""
    db = get_db()
    with db.session() as s:
        source = s.get(Source, source_id) if valid_id(source_id) else None
        secret = source.notify_secret if source is not None and source.enabled else None
    # same answer for an unknown source and a wrong token: no way to probe which ids exist
    if secret is None or not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return error(401, "unauthorized", "ngsi.bad_token")
    try:
        body = orjson.loads(request.get_data())
        data = body["data"]
        if not isinstance(data, list):
            raise TypeError("data is not a list")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return error(400, "bad_notification", "ngsi.bad_notification", details=[str(exc)])
    fmt = (request.headers.get("Ngsiv2-AttrsFormat") or "").lower()
    key_values = True if fmt == "keyvalues" else False if fmt == "normalized" else None
    entities, rejected = read_entities(data, key_values)
    if data and not entities:
        log.warning("notification for source %s: no usable entity (%s)", source_id,
                    ", ".join(sorted({r["reason"] for r in rejected})))
        return error(400, "bad_notification", "ngsi.bad_notification", details=rejected[:100])
    now = utcnow()
    try:
        with db.session() as s:
            src = s.get(Source, source_id)
            items, unreadable = map_entities(entities, src.target, src.attrs or None)
            # implausible times and non-finite values are refused one by one (reported below)
            items, refused = sift(items, now)
            rejected += unreadable + refused
            counts = store_items(s, src, items, now, full=False)
            feed_ok(s, src.feed_name, interval_s=src.interval_s, at=now)
            note_rejected(s, src, rejected)
    except Exception:
        log.exception("notification for source %s could not be stored", source_id)
        return error(503, "not_stored", "ngsi.not_stored")
    fixes = counts.pop("_fixes", [])
    try:
        forwarded = forward_fixes(db, fixes, now)
    except Exception:
        log.exception("notification for source %s: snow-removal fix ingest failed", source_id)
        forwarded = {"error": "fix ingest failed"}
    if forwarded is not None:
        counts["snow_fixes"] = forwarded
    answer = {"stored": counts, "entities": len(data)}
    if rejected:
        log.warning("notification for source %s: %d items refused (%s)", source_id, len(rejected),
                    ", ".join(sorted({r["reason"] for r in rejected})))
        answer["rejected"] = rejected[:100]
        answer["rejected_count"] = len(rejected)
    return jsonify(answer), 200
