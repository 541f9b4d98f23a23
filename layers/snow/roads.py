"""Road states: segment id -> [minutes since epoch of the last clearing, work code]."""
from __future__ import annotations

from datetime import datetime

from layers.snow.style import BANDS_H

WORK_CODES = {"plowing": 1, "spreading": 2}
WORK_NAMES = {v: k for k, v in WORK_CODES.items()}


def road_states(s, at: datetime | None = None) -> dict[str, list]:
    """segment id -> [minutes since epoch of the last clearing, work code] (last 24 h before `at`)."""
    from store.snow import last_cleared

    return {sid: [int(when.timestamp() // 60), WORK_CODES.get(work, 1)]
            for sid, (when, work) in last_cleared(s, at).items()}


def diff_states(old: dict, new: dict) -> tuple[dict, list]:
    """(changed or added entries, removed ids) turning old into new."""
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    removed = [k for k in old if k not in new]
    return changed, removed


def band_of(minute: int | None, at: float) -> int:
    """0..4 = the age class of a clearing at `minute`, seen at `at` (epoch s); 5 = not cleared."""
    if minute is None:
        return len(BANDS_H)
    age_h = (at - minute * 60) / 3600.0
    for i, bound in enumerate(BANDS_H):
        if age_h < bound:
            return i
    return len(BANDS_H)
