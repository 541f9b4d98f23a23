"""The live state as bytes: for each refresh bucket (and each state a browser may hold) the answer
is computed once, serialised once and compressed once, then the same bytes go to every viewer and
every shared HTTP cache in front.

A browser holding the state of key K asks for `since=K` and gets the delta to the current key;
browsers refreshing on the same rhythm hold the same K, so they share one answer. A key whose
snapshot is gone (or none) gets the whole state, which is one answer for all as well.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict

import orjson

from layers.shared_bytes import SharedBody, built_once, pack
from layers.snow.snapshot import (
    REFRESH_S,
    SNAPSHOT_TTL_S,
    delta_between,
    snapshot,
    snapshot_cached,
    target_key,
)
from metrics import LIVE_CACHE  # hit: served from memory; miss: computed here

KEY_RE = re.compile(r"^[LR]\d{1,12}$")
REPLAY_MAX_AGE_S = 60
BUILD_COUNT = {"live": 0, "status": 0}  # how many bodies were built (tests and the benchmark read it)


_MEMO: OrderedDict[str, SharedBody] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_SIZE = 128


def remembered(name: str) -> SharedBody | None:
    """The body called `name` if this process holds it (the fast path: no cache round trip)."""
    with _MEMO_LOCK:
        hit = _MEMO.get(name)
        if hit is not None:
            _MEMO.move_to_end(name)
        return hit


def remember(name: str, value: SharedBody) -> None:
    with _MEMO_LOCK:
        _MEMO[name] = value
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)


def shared(cache, name: str, build, ttl: int = SNAPSHOT_TTL_S) -> SharedBody:
    """The body called `name`: from this process's memory, else the shared cache (other processes'
    work), else built here once while the other threads asking for it wait."""
    hit = remembered(name)
    if hit is not None:
        LIVE_CACHE.labels("hit").inc()
        return hit

    def build_counted() -> SharedBody:
        LIVE_CACHE.labels("miss").inc()
        return build()

    value = built_once(cache, f"snow:body:{name}", build_counted, timeout=ttl)
    remember(name, value)
    return value


def live_body(db, cache, since: str | None, now: float, replay_at: float | None = None) -> SharedBody:
    """The delta from `since` (a key the browser holds; None: it holds nothing) to the state of now
    (or of the replayed moment), as shared bytes. `since` must match KEY_RE (the API checks)."""
    key = target_key(now, replay_at)
    asked = f"live:{key}:{since or ''}"
    hit = remembered(asked)  # most viewers: the bytes this process already holds, nothing else done
    if hit is not None:
        return hit
    snap = snapshot(db, key, cache)
    if since is not None and since != key and snapshot_cached(cache, since) is None:
        since = None  # the browser's state is gone here: everything, the answer everyone in that case gets
    max_age = REFRESH_S if key[0] == "L" else REPLAY_MAX_AGE_S

    def build() -> SharedBody:
        BUILD_COUNT["live"] += 1
        old = snap if since == key else snapshot_cached(cache, since)
        delta = delta_between(old, snap)
        delta["since"] = since
        return pack(orjson.dumps(delta), max_age, tag=f"{key}-{since or 0}-")

    # asked for only while its interval is the current one: kept a little longer than that
    value = shared(cache, f"live:{key}:{since or ''}", build, ttl=2 * max_age + 5)
    remember(asked, value)
    return value
