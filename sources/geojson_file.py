"""Reading the GeoJSON files shipped under data/."""
from __future__ import annotations

from pathlib import Path

import orjson


def read_features(path: Path) -> list[dict]:
    doc = orjson.loads(Path(path).read_bytes())
    if doc.get("type") == "Feature":
        return [doc]
    return [f for f in doc.get("features", []) if f.get("geometry")]
