"""Point counts on a grid per zoom, computed when a big point layer's data is written.

A one-million-point layer cannot go to the browser as points; at each zoom the map gets one
feature per occupied grid cell (mean position + count). Computing that with GROUP BY on every
request takes seconds, so `write_grids` does it once with numpy, in the same transaction as the
data; `read_grid` returns the cells of a bbox. A grid belongs to one data version; item edits
recompute it in their transaction (`refresh_grids`), and the reader falls back to SQL when none matches.

The finest grid also serves as the layer's spatial index for close-up views: it keeps, per cell, the
ids of the points in it (`points_in_bbox`), so the features table needs no bbox index — which made
a one-million-row insert twice as slow (bench/upload.py).
"""
from __future__ import annotations

import zlib

from sqlalchemy import ForeignKey, Integer, LargeBinary, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base

BIG_LAYER = 20000  # points; above this a layer is served as grid clusters below POINTS_FROM_ZOOM
GRID_PX = 48  # one cluster per 48×48 screen pixels
GRID_ZOOMS = range(4, 15)


class LayerGrid(Base):
    __tablename__ = "layer_grids"
    layer_id: Mapped[str] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), primary_key=True)
    zoom: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    cells: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(float64 [lon..., lat..., count...])


def cell_size(zoom: int) -> float:
    """Degrees of longitude per grid cell at a zoom (256-px tiles)."""
    return 360.0 / (2 ** zoom) / 256.0 * GRID_PX


INDEX_ZOOM = -1  # the LayerGrid row that holds the fids per cell of the finest grid


def write_grids(s: Session, layer_id: str, version: int, lons, lats, fids=None) -> int:
    """Grids of every zoom for a big point layer (and, given fids, the per-cell id index; fids: a
    list of str, or an int array when the ids are plain numbers)."""
    import numpy as np

    s.execute(delete(LayerGrid).where(LayerGrid.layer_id == layer_id))
    xs = np.asarray(lons, dtype=np.float64)
    ys = np.asarray(lats, dtype=np.float64)
    if len(xs) <= BIG_LAYER:
        return 0
    # one pass over the points at the finest zoom; each coarser zoom merges the cells of the one
    # below (cell sizes halve per zoom, so floor(x / 2s) = floor(floor(x / s) / 2))
    finest = max(GRID_ZOOMS)
    size = cell_size(finest)
    gx = np.floor(xs / size).astype(np.int64)
    gy = np.floor(ys / size).astype(np.int64)
    keys = (gx << 32) + (gy + (1 << 31))
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sum_x = np.bincount(inverse, weights=xs)
    sum_y = np.bincount(inverse, weights=ys)
    if fids is not None:
        s.add(_index_row(layer_id, version, inverse, counts, xs, ys, fids))
    cx, cy = uniq >> 32, (uniq & 0xFFFFFFFF) - (1 << 31)
    for zoom in range(finest, min(GRID_ZOOMS) - 1, -1):
        if zoom < finest:
            cx, cy = cx >> 1, cy >> 1
            uniq, inv = np.unique((cx << 32) + (cy + (1 << 31)), return_inverse=True)
            counts = np.bincount(inv, weights=counts)
            sum_x, sum_y = np.bincount(inv, weights=sum_x), np.bincount(inv, weights=sum_y)
            cx, cy = uniq >> 32, (uniq & 0xFFFFFFFF) - (1 << 31)
        counts = np.asarray(counts, dtype=np.float64)
        blob = zlib.compress(np.concatenate([sum_x / counts, sum_y / counts, counts]).tobytes(), 1)
        s.add(LayerGrid(layer_id=layer_id, zoom=zoom, version=version, cells=len(counts), data=blob))
    s.flush()
    return len(GRID_ZOOMS)


def _index_row(layer_id, version, inverse, counts, xs, ys, fids) -> LayerGrid:
    """Cells' bounds + where each cell's fids are. fids: a list of str (kept as one "\n"-separated
    text), or an int array when every fid is a plain number (a CSV's row numbers: kept as int64,
    several times cheaper for a million rows; marked by a negative cell count)."""
    import numpy as np

    order = np.argsort(inverse, kind="stable")
    n = len(counts)
    # each cell's own extent (points are not on the cell's mean), for the bbox test
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sx, sy = xs[order], ys[order]
    minx, maxx = np.minimum.reduceat(sx, first), np.maximum.reduceat(sx, first)
    miny, maxy = np.minimum.reduceat(sy, first), np.maximum.reduceat(sy, first)
    if isinstance(fids, np.ndarray):
        payload = np.asarray(fids, dtype=np.int64)[order].tobytes()
        cell_end = np.cumsum(counts)  # in ids
        marker = -n
    else:
        ordered = [fids[i] for i in order.tolist()]
        payload = ("\n".join(ordered) + "\n").encode()
        if len(payload) == sum(map(len, ordered)) + len(ordered):  # ASCII ids: characters are bytes
            lengths = np.fromiter(map(len, ordered), dtype=np.int64, count=len(ordered)) + 1
        else:
            lengths = np.fromiter((len(f.encode()) + 1 for f in ordered), dtype=np.int64, count=len(ordered))
        cell_end = np.cumsum(lengths)[np.cumsum(counts) - 1]  # byte offset just after each cell's last fid
        marker = n
    head = np.concatenate([minx, miny, maxx, maxy, counts.astype(np.float64), cell_end.astype(np.float64)])
    blob = zlib.compress(np.int64(marker).tobytes() + head.tobytes() + payload, 1)
    return LayerGrid(layer_id=layer_id, zoom=INDEX_ZOOM, version=version, cells=n, data=blob)


def points_in_bbox(s: Session, layer_id: str, version: int, bbox, limit: int) -> list[str] | int | None:
    """fids of the points whose cell meets bbox (a superset: the caller filters exactly), or their
    count when it exceeds limit, or None when the index is missing or of another data version."""
    import numpy as np

    row = s.scalar(select(LayerGrid).where(LayerGrid.layer_id == layer_id, LayerGrid.zoom == INDEX_ZOOM))
    if row is None or row.version != version:
        return None
    data = zlib.decompress(row.data)
    marker = int(np.frombuffer(data[:8], dtype=np.int64)[0])
    n = abs(marker)
    head = np.frombuffer(data[8:8 + 6 * 8 * n], dtype=np.float64).reshape(6, n)
    minx, miny, maxx, maxy, counts, ends = head
    hit = np.nonzero((maxx >= bbox[0]) & (minx <= bbox[2]) & (maxy >= bbox[1]) & (miny <= bbox[3]))[0]
    total = int(counts[hit].sum())
    if total > limit:
        return total
    payload = data[8 + 6 * 8 * n:]
    starts = np.concatenate([[0.0], ends[:-1]])
    out: list[str] = []
    if marker < 0:
        ids = np.frombuffer(payload, dtype=np.int64)
        for i in hit.tolist():
            out.extend(map(str, ids[int(starts[i]):int(ends[i])].tolist()))
        return out
    for i in hit.tolist():
        out.extend(payload[int(starts[i]):int(ends[i]) - 1].decode().split("\n"))
    return out


def read_grid(s: Session, layer_id: str, version: int, zoom: int, bbox=None):
    """(lons, lats, counts) numpy arrays of the cells in bbox, or None when no current grid exists."""
    import numpy as np

    row = s.scalar(select(LayerGrid).where(LayerGrid.layer_id == layer_id, LayerGrid.zoom == zoom))
    if row is None or row.version != version:
        return None
    arr = np.frombuffer(zlib.decompress(row.data), dtype=np.float64)
    n = row.cells
    lons, lats, counts = arr[:n], arr[n:2 * n], arr[2 * n:]
    if bbox is not None:
        keep = (lons >= bbox[0]) & (lons <= bbox[2]) & (lats >= bbox[1]) & (lats <= bbox[3])
        lons, lats, counts = lons[keep], lats[keep], counts[keep]
    return lons, lats, counts


def grids_for_rows(s: Session, layer_id: str, version: int, fids, minx, miny, maxx, maxy) -> None:
    """Grids for a layer's rows (columns of fid and bounds): written when it is a big point layer,
    dropped otherwise."""
    if len(fids) > BIG_LAYER and all(a == c and b == d for a, b, c, d in zip(minx, miny, maxx, maxy)):
        write_grids(s, layer_id, version, minx, miny, list(fids))
    else:
        drop_grids(s, layer_id)


def refresh_grids(s: Session, layer) -> None:
    """After item edits: the grids of the layer's current data, read back from the features table."""
    from store.models import Feature

    rows = s.execute(select(Feature.fid, Feature.minx, Feature.miny, Feature.maxx, Feature.maxy)
                     .where(Feature.layer_id == layer.id).order_by(Feature.id)).all()
    grids_for_rows(s, layer.id, layer.version, *(zip(*rows) if rows else ([], [], [], [], [])))


def drop_grids(s: Session, layer_id: str) -> None:
    s.execute(delete(LayerGrid).where(LayerGrid.layer_id == layer_id))

