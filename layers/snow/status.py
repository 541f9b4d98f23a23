"""`/api/snow/status` answers and the feed freshness badge, from the shared snapshot.

Segment attributes come from the per-process segment table and road states from the snapshot, so
an answer without geometry reads no geometry (and, once built for a bucket, nothing at all); the
geometries for the GeoJSON answer are read once per network version.
"""
from __future__ import annotations

from datetime import UTC, datetime

import orjson

from i18n import t
from layers.snow.live import SharedBody, pack, shared
from layers.snow.network import segment_table
from layers.snow.roads import WORK_NAMES
from layers.snow.snapshot import REFRESH_S, snapshot
from timezones import JST

FEED_STALE_S = 120
_GEOMETRIES: dict[tuple, dict[str, bytes]] = {}


def status_rows(segs: list, states: dict, since: float | None) -> list[dict]:
    """Rows of the status answer (no geometry): every segment, or those cleared since `since`."""
    out = []
    for seg in segs:
        st = states.get(seg.id)
        cleared = st[0] * 60 if st else None
        if since is not None and (cleared is None or cleared < since):
            continue
        out.append({"id": seg.id, "name": seg.name, "route": seg.route, "area": seg.area,
                    "road_class": seg.road_class, "manager": seg.manager, "length_m": seg.length_m,
                    "cleared_at": datetime.fromtimestamp(cleared, tz=UTC).isoformat() if cleared else None,
                    "work": WORK_NAMES.get(st[1]) if st else None})
    return out


def _geometries(s, version: int) -> dict[str, bytes]:
    from sqlalchemy import select

    from store.snow import RoadSegment

    key = (str(s.get_bind().url), version)
    if key not in _GEOMETRIES:
        _GEOMETRIES.clear()
        _GEOMETRIES[key] = {sid: g.encode() for sid, g in s.execute(select(RoadSegment.id, RoadSegment.geometry))}
    return _GEOMETRIES[key]


def status_body(db, cache, key: str, since: float | None, at: datetime | None, geometry: bool) -> SharedBody:
    """The answer for a snapshot key, built once per (key, since, at, geometry) and shared."""
    name = f"status:{key}:{since or ''}:{at.isoformat() if at else ''}:{int(geometry)}"

    def build() -> SharedBody:
        from layers.snow.live import BUILD_COUNT

        BUILD_COUNT["status"] += 1
        snap = snapshot(db, key, cache)  # one computation per refresh interval, whoever asks
        with db.session() as s:
            version, segs = segment_table(s)
            geoms = _geometries(s, version) if geometry else None
        rows = status_rows(segs, snap["roads"], since)
        stamp = datetime.fromtimestamp(snap["t"], tz=UTC).isoformat()
        max_age = REFRESH_S if key[0] == "L" else 60
        if geoms is not None:
            parts = [b'{"type":"Feature","id":' + orjson.dumps(r["id"]) + b',"geometry":'
                     + geoms.get(r["id"], b"null") + b',"properties":' + orjson.dumps(r) + b"}" for r in rows]
            body = (b'{"type":"FeatureCollection","generated_at":' + orjson.dumps(stamp)
                    + b',"features":[' + b",".join(parts) + b"]}")
            return pack(body, max_age, "application/geo+json")
        since_text = datetime.fromtimestamp(since, tz=UTC).isoformat() if since is not None else None
        return pack(orjson.dumps({"generated_at": stamp, "since": since_text, "at": at.isoformat() if at else None,
                                  "segments": rows}), max_age)

    return shared(cache, name, build, ttl=2 * (REFRESH_S if key[0] == "L" else 60) + 5)


def fmt_jst(epoch: float | None, with_date: bool = False) -> str:
    if epoch is None:
        return ""
    dt = datetime.fromtimestamp(epoch, tz=JST)
    return dt.strftime("%m/%d %H:%M:%S" if with_date else "%H:%M:%S")


def feed_message(snap: dict, now: float, lang: str) -> tuple[str, bool]:
    """(freshness text, stale?) for the badge: 最終更新 HH:MM:SS, or a warning when fixes stopped."""
    received = snap.get("received")
    if received is None:
        return t("snow.no_fixes", lang), True
    if now - received > FEED_STALE_S:
        return t("snow.feed_stopped", lang, time=fmt_jst(received, True)), True
    return t("snow.updated", lang, time=fmt_jst(received)), False
