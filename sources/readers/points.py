"""The points of a CSV as columns: `PointRows`, a sequence of GeoJSON Feature dicts built on demand.

The store (`store.features.replace_features`) recognises it by its `lons` and writes its columns
directly, so a million-row upload never builds several Python objects per row."""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import orjson


class PointRows(Sequence):
    """The points of a CSV as columns, seen as a sequence of GeoJSON Feature dicts.

    A million-row upload would otherwise build several Python objects per row only to take them
    apart again in the store; `store.features.feature_rows` reads the columns directly
    (`properties_json`)."""

    def __init__(self, fids: list[str], lons, lats, names: list[str], columns: list[list[str]], numbers=None):
        self.fids, self.lons, self.lats, self.names, self.columns = fids, lons, lats, names, columns
        self.numbers = numbers  # the fids as an int array (spreadsheet row numbers), when given

    def __len__(self) -> int:
        return len(self.fids)

    def _feature(self, i: int) -> dict:
        return {"type": "Feature", "id": self.fids[i],
                "geometry": {"type": "Point", "coordinates": [float(self.lons[i]), float(self.lats[i])]},
                "properties": {name: col[i] for name, col in zip(self.names, self.columns)}}

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._feature(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._feature(i)

    def __iter__(self):
        return (self._feature(i) for i in range(len(self)))

    def part(self, start: int, stop: int) -> PointRows:
        """Rows start..stop as their own PointRows (the store writes a big file in parts)."""
        return PointRows(self.fids[start:stop], self.lons[start:stop], self.lats[start:stop], self.names,
                         [col[start:stop] for col in self.columns],
                         None if self.numbers is None else self.numbers[start:stop])

    def properties_json(self) -> list[str]:
        """Each row's properties as a JSON object text (what orjson.dumps of the dict gives).

        orjson escapes a whole column in one call; in its output '","' only ever separates two
        strings (a quote inside a value is written \\"), so splitting there gives each value."""
        if not self.names:
            return ["{}"] * len(self)
        escaped = [col if not _NEEDS_ESCAPE.search("".join(col)) else
                   orjson.dumps(col).decode()[2:-2].split('","') if col else [] for col in self.columns]
        if any(len(e) != len(c) for e, c in zip(escaped, self.columns)):  # cannot happen; stay correct if it does
            return [orjson.dumps(f["properties"]).decode() for f in self]
        keys = [orjson.dumps(name).decode() for name in self.names]
        pieces: list = []
        for n, (key, values) in enumerate(zip(keys, escaped)):
            pieces += [("{" if n == 0 else '",') + key + ':"', values]
        return _interleave(pieces + ['"}'], len(self))

    def geometry_json(self, decimals: int) -> tuple[list[str], list[float], list[float]]:
        """Each point as GeoJSON text, rounded to decimals, with the rounded lons and lats."""
        lons = np.round(np.asarray(self.lons, dtype=np.float64), decimals).tolist()
        lats = np.round(np.asarray(self.lats, dtype=np.float64), decimals).tolist()
        # orjson writes each float's shortest form, a million at a time
        xs = orjson.dumps(lons).decode()[1:-1].split(",") if lons else []
        ys = orjson.dumps(lats).decode()[1:-1].split(",") if lats else []
        return _interleave(['{"type":"Point","coordinates":[', xs, ",", ys, "]}"], len(self)), lons, lats


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')  # what JSON strings must escape (orjson escapes no more)


def _interleave(pieces: list, n: int) -> list[str]:
    """n strings, the i-th made of each piece in turn: a str as it is, a list by its i-th item.

    Everything happens in C (slice assignment, one join, one split) rather than one Python
    expression per row. The pieces must not contain a raw newline (JSON text never does)."""
    if n == 0:
        return []
    pieces = pieces[:-1] + [pieces[-1] + "\n"]
    m = len(pieces)
    flat: list = [None] * (n * m)
    for j, piece in enumerate(pieces):
        flat[j::m] = [piece] * n if isinstance(piece, str) else piece
    return "".join(flat).split("\n")[:-1]

