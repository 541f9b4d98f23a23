"""The road provider of alert rules: every watched segment with the hours since a plow cleared it
and the snow depth of the nearest sensor."""
from __future__ import annotations

from datetime import datetime, timedelta

_MIDS: dict[tuple, dict] = {}
NEARBY_SENSOR_M = 15_000.0


def _midpoints(s, segs) -> dict[str, tuple[float, float]]:
    from store.snow import network

    net = network(s)
    key = (str(s.get_bind().url), net.version if net else 0)
    if key not in _MIDS:
        import orjson as _oj
        import shapely
        from shapely.geometry import shape

        geoms = [shape(_oj.loads(g.geometry)) for g in segs]
        pts = shapely.line_interpolate_point(geoms, 0.5, normalized=True) if geoms else []
        _MIDS.clear()
        _MIDS[key] = {g.id: (round(p.x, 6), round(p.y, 6)) for g, p in zip(segs, pts)}
    return _MIDS[key]


def road_alert_segments(s, rule, now: datetime) -> list[dict]:
    """The road provider for alert rules (registry.ROAD_PROVIDERS, by plugins.py): every segment the
    rule watches — all of the network, or those of `options.route` / `options.area` — with the hours
    since a plow last cleared it and the snow depth of the nearest sensor within 15 km.

    A segment not cleared within the kept history (26 h) counts as 26 hours; with no vehicle
    data at all the hours are unknown (None), so an idle installation mails nobody."""
    from sources.roads import ISHIKAWA
    from store.models import Sensor
    from store.snow import KEEP_HOURS, last_cleared, newest_fix, segments

    opts = getattr(rule, "options", None) or {}
    every = segments(s)
    segs = [g for g in every if (not opts.get("route") or g.route == opts["route"])
            and (not opts.get("area") or g.area == opts["area"])]
    if not segs:
        return []
    cleared = last_cleared(s, now, window=timedelta(hours=KEEP_HOURS))
    have_data = newest_fix(s)[0] is not None
    mids = _midpoints(s, every)  # of the whole network: kept per version
    from store.alerts import watchable_sensors

    # only sensors the rule's owner may see (a public rule: public ones)
    sensors = list(s.scalars(watchable_sensors(s, rule).where(Sensor.last_value.isnot(None))))
    sx, sy = ISHIKAWA.fwd([x.lon for x in sensors], [x.lat for x in sensors]) if sensors else ([], [])
    out = []
    for g in segs:
        lon, lat = mids[g.id]
        when = cleared.get(g.id)
        hours = ((now - when[0]).total_seconds() / 3600 if when else float(KEEP_HOURS)) if have_data else None
        depth = None
        if sensors:
            x, y = ISHIKAWA.fwd(lon, lat)
            d2 = (sx - x) ** 2 + (sy - y) ** 2
            k = int(d2.argmin())
            if d2[k] <= NEARBY_SENSOR_M ** 2:
                depth = sensors[k].last_value
        out.append({"subject": f"road:{g.id}", "name_ja": f"{g.name}（{g.area}）", "name_en": f"{g.name} ({g.area})",
                    "lon": lon, "lat": lat, "hours_since_cleared": None if hours is None else round(hours, 2),
                    "nearby_depth": depth})
    return out
