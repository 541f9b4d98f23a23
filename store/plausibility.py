"""What a value of an attribute can physically be — the one table of plausible ranges.

A reading outside its attribute's range (a snow depth of −5 cm or 1e308 cm, a water level 300 m
off, an air temperature of 90 °C) is a broken sensor or a wrong unit, never an observation. It is
kept in the raw store with `readings.implausible` set (so it can be looked into), and left out of
everything built from readings: the sensor's latest value, alerts, series, rollups and charts.
Attributes not listed here have no range.
"""
from __future__ import annotations

import math

# attribute (as stored: our names and NGSI names) -> (lowest, highest) plausible value, in the
# attribute's stored unit
RANGES: dict[str, tuple[float, float]] = {
    "snowDepth": (0.0, 1000.0),        # cm
    "snowHeight": (0.0, 1000.0),       # cm
    "waterLevel": (-100.0, 100.0),     # m
    "temperature": (-60.0, 60.0),      # °C
    "airTemperature": (-60.0, 60.0),   # °C
}


def implausible(attribute: str | None, value) -> bool:
    """True when `value` cannot be a real observation of `attribute` (non-finite values neither)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return True
    if not math.isfinite(v):
        return True
    bounds = RANGES.get(attribute or "")
    return bounds is not None and not bounds[0] <= v <= bounds[1]
