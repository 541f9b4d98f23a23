"""Point counts on a grid per zoom, computed when a big point layer's data is written (issue 4).

A one-million-point layer cannot go to the browser as points; at each zoom the map gets one
feature per occupied grid cell (mean position + count). Computing that with GROUP BY on every
request takes seconds, so `write_grids` does it once with numpy, in the same transaction as the
data; `read_grid` returns the cells of a bbox. A grid belongs to one data version: item edits
bump the version and the reader falls back to SQL until the next full write.
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


def write_grids(s: Session, layer_id: str, version: int, lons, lats) -> int:
    import numpy as np

    s.execute(delete(LayerGrid).where(LayerGrid.layer_id == layer_id))
    xs = np.asarray(lons, dtype=np.float64)
    ys = np.asarray(lats, dtype=np.float64)
    if len(xs) <= BIG_LAYER:
        return 0
    for zoom in GRID_ZOOMS:
        size = cell_size(zoom)
        gx = np.floor(xs / size).astype(np.int64)
        gy = np.floor(ys / size).astype(np.int64)
        keys = (gx << 32) + (gy + (1 << 31))
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        mean_x = np.bincount(inverse, weights=xs) / counts
        mean_y = np.bincount(inverse, weights=ys) / counts
        blob = zlib.compress(np.concatenate([mean_x, mean_y, counts.astype(np.float64)]).tobytes(), 1)
        s.add(LayerGrid(layer_id=layer_id, zoom=zoom, version=version, cells=len(counts), data=blob))
    s.flush()
    return len(GRID_ZOOMS)


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


def drop_grids(s: Session, layer_id: str) -> None:
    s.execute(delete(LayerGrid).where(LayerGrid.layer_id == layer_id))

