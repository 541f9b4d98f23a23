"""Snapshots: the live (or replayed) picture computed once per refresh interval, shared by every
viewer and every process (through the shared cache), and the deltas between two of them."""
from __future__ import annotations

import time as _time
from datetime import UTC, datetime

from keylock import key_lock
from layers.snow.network import segment_table
from layers.snow.progress import progress_numbers
from layers.snow.roads import diff_states, road_states
from layers.snow.vehicles import advance_vehicles, vehicle_delta, vehicles_at

REFRESH_S = 5  # /snow refresh period = cache bucket
SNAPSHOT_TTL_S = 600
COMPUTE_COUNT = {"live": 0, "replay": 0}


def live_key(now: float) -> str:
    return f"L{int(now // REFRESH_S) * REFRESH_S}"


def replay_key(at: float) -> str:
    return f"R{int(at // 60) * 60}"


def _compute(db, key: str, cache) -> dict:
    from store.snow import fixes_after_id, max_ids, newest_fix

    kind, stamp = key[0], int(key[1:])
    with db.session() as s:
        fix_id, pass_id = max_ids(s)
        if kind == "L":
            COMPUTE_COUNT["live"] += 1
            prev = cache.get(f"snow:snap:{live_key(stamp - REFRESH_S)}") if cache is not None else None
            if prev is not None and prev.get("fix_id", 0) <= fix_id:
                vehs = advance_vehicles(prev["vehicles"], fixes_after_id(s, prev["fix_id"], fix_id), stamp)
            else:
                vehs = vehicles_at(s, datetime.fromtimestamp(stamp, tz=UTC), live=True)
            roads = road_states(s, datetime.fromtimestamp(stamp + 120, tz=UTC))
            newest, received = newest_fix(s)
            from store.snow import vehicles as vehicle_rows

            for vid, veh in vehicle_rows(s, list(vehs)).items():  # bad fixes dropped so far, per vehicle
                vehs[vid] = {**vehs[vid], "rej": sum((veh.rejected or {}).values())}
        else:
            COMPUTE_COUNT["replay"] += 1
            at = datetime.fromtimestamp(stamp, tz=UTC)
            vehs = vehicles_at(s, at)
            roads = road_states(s, at)
            newest, received = None, None
        version, segs = segment_table(s)
    return {"key": key, "t": stamp, "net": version, "fix_id": fix_id, "pass_id": pass_id, "roads": roads,
            "vehicles": vehs, "progress": progress_numbers(segs, roads, stamp),
            "newest_fix": newest.timestamp() if newest else None,
            "received": received.timestamp() if received else None}


def snapshot(db, key: str, cache=None, ttl: int = SNAPSHOT_TTL_S) -> dict:
    """The snapshot for a key ("L<bucket>" live, "R<minute>" replay), computed once per key.

    With Redis (several gunicorn workers) a lock key makes the other processes wait for the one
    computing; inside a process a lock does the same for threads.
    """
    if cache is None:
        return _compute(db, key, None)
    ckey = f"snow:snap:{key}"
    value = cache.get(ckey)
    if value is not None:
        return value
    with key_lock(ckey):
        value = cache.get(ckey)
        if value is not None:
            return value
        lock_key = ckey + ":lock"
        if not cache.add(lock_key, 1, timeout=30):
            deadline = _time.monotonic() + 10
            while _time.monotonic() < deadline:
                value = cache.get(ckey)
                if value is not None:
                    return value
                _time.sleep(0.05)
        try:
            value = _compute(db, key, cache)
            cache.set(ckey, value, timeout=ttl)
        finally:
            cache.delete(lock_key)
        return value


def snapshot_cached(cache, key: str | None) -> dict | None:
    if not key or cache is None:
        return None
    return cache.get(f"snow:snap:{key}")


def delta_between(old: dict | None, new: dict) -> dict:
    """What turns the browser's picture `old` (None: unknown) into `new`.

    {"roads": {changed}, "gone": [ids], "vehicles": {changed rows}, "reset": bool, "reset_vehicles",
     "gone_vehicles", "t", "progress", "newest_fix", "received", "live"}. reset: the browser replaces what
    it had (first call, or its state was evicted here)."""
    if old is None:
        delta = {"roads": new["roads"], "gone": [], "vehicles": vehicle_delta({}, new["vehicles"]), "reset": True,
                 "reset_vehicles": True, "gone_vehicles": []}
    else:
        changed, gone = diff_states(old["roads"], new["roads"])
        if old["key"][0] != new["key"][0]:  # live <-> replay: vehicles jump, send them whole
            vdelta, reset_v = vehicle_delta({}, new["vehicles"]), True
        else:
            vdelta, reset_v = vehicle_delta(old["vehicles"], new["vehicles"]), False
        delta = {"roads": changed, "gone": gone, "vehicles": vdelta, "reset": False, "reset_vehicles": reset_v,
                 "gone_vehicles": [v for v in old["vehicles"] if v not in new["vehicles"]]}
    delta.update(key=new["key"], t=new["t"], net=new.get("net"), progress=new["progress"],
                 newest_fix=new["newest_fix"], received=new["received"], live=new["key"][0] == "L")
    return delta


def target_key(now: float, replay_at: float | None) -> str:
    return replay_key(replay_at) if replay_at is not None else live_key(now)


def refresh_payload(db, cache, client_key: str | None, now: float,
                    replay_at: float | None = None) -> tuple[str, dict | None]:
    """(new key, delta for a browser that holds `client_key`); delta None: nothing to send."""
    key = target_key(now, replay_at)
    if key == client_key:
        return key, None
    new = snapshot(db, key, cache)
    return key, delta_between(snapshot_cached(cache, client_key), new)


