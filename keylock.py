"""One lock per cache key, so that the viewers of one moment wait for each other's computation
instead of all computing it (and viewers of other keys do not wait at all)."""
from __future__ import annotations

import threading

_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def key_lock(key: str) -> threading.Lock:
    with _GUARD:
        if len(_LOCKS) > 256:
            for k in [k for k, lock in _LOCKS.items() if not lock.locked()]:
                del _LOCKS[k]
        return _LOCKS.setdefault(key, threading.Lock())
