"""Share of road length cleared within a window, per route and per area (numbers only)."""
from __future__ import annotations

WINDOWS_H = [1, 3, 6, 12, 24]  # the windows /snow offers; the live state carries all of them


def _done(st, limit: float, at: float) -> bool:
    return st is not None and limit <= st[0] * 60 <= at + 120


def progress(segs: list, states: dict, at: float, hours: float = 3.0) -> dict:
    """Share of road length cleared within `hours` before `at`, per route and per area.

    segs: objects with id, route, area, length_m. Returns {"route": [...], "area": [...], "total": {...}}
    with rows {"name", "cleared_m", "total_m", "share"} sorted by name.
    """
    limit = at - hours * 3600
    acc: dict[str, dict[str, list[float]]] = {"route": {}, "area": {}}
    total = [0.0, 0.0]
    for seg in segs:
        done = _done(states.get(seg.id), limit, at)
        for key, name in (("route", seg.route), ("area", seg.area)):
            row = acc[key].setdefault(name or "-", [0.0, 0.0])
            row[1] += seg.length_m
            if done:
                row[0] += seg.length_m
        total[1] += seg.length_m
        if done:
            total[0] += seg.length_m

    def rows(d):
        return [{"name": k, "cleared_m": round(v[0], 1), "total_m": round(v[1], 1),
                 "share": round(v[0] / v[1], 4) if v[1] else 0.0} for k, v in sorted(d.items())]

    return {"route": rows(acc["route"]), "area": rows(acc["area"]), "hours": hours,
            "total": {"cleared_m": round(total[0], 1), "total_m": round(total[1], 1),
                      "share": round(total[0] / total[1], 4) if total[1] else 0.0}}


def progress_numbers(segs: list, states: dict, at: float, windows: list[int] = WINDOWS_H) -> dict:
    """Every window at once, as compact numbers for the browser to draw (whole metres):

    {"hours": [1, 3, …], "total": {"total_m": m, "cleared_m": [per window]},
     "area": {"names": [...], "total_m": [...], "cleared_m": [[per name] per window]}, "route": {same}}
    Names are sorted; the browser turns metres into shares, kilometres and bars.
    """
    groups: dict[str, dict[str, int]] = {"route": {}, "area": {}}
    for seg in segs:
        for key, name in (("route", seg.route), ("area", seg.area)):
            groups[key].setdefault(name or "-", 0)
    index = {key: {name: i for i, name in enumerate(sorted(names))} for key, names in groups.items()}
    total_m = {key: [0.0] * len(index[key]) for key in index}
    cleared = {key: [[0.0] * len(index[key]) for _ in windows] for key in index}
    total_all = 0.0
    cleared_all = [0.0] * len(windows)
    limits = [at - h * 3600 for h in windows]
    for seg in segs:
        st = states.get(seg.id)
        pos = {key: index[key][(seg.route if key == "route" else seg.area) or "-"] for key in index}
        for key, i in pos.items():
            total_m[key][i] += seg.length_m
        total_all += seg.length_m
        if st is None:
            continue
        for w, limit in enumerate(limits):
            if _done(st, limit, at):
                cleared_all[w] += seg.length_m
                for key, i in pos.items():
                    cleared[key][w][i] += seg.length_m
    out: dict = {"hours": list(windows), "total": {"total_m": round(total_all),
                                                   "cleared_m": [round(x) for x in cleared_all]}}
    for key in index:
        out[key] = {"names": list(index[key]), "total_m": [round(x) for x in total_m[key]],
                    "cleared_m": [[round(x) for x in row] for row in cleared[key]]}
    return out
