"""Pause Python's cyclic garbage collector during bulk work (uploads of a million rows).

Building millions of small objects (rows, dicts, tuples) makes the collector run again and again
over everything allocated so far: measured, it doubled the time of parsing and storing a big CSV
(bench/upload.py). Reference counting still frees memory as usual while the collector is paused;
only reference cycles wait until the end. Pauses nest and may overlap between threads: the
collector comes back when the last one ends, and only if it was on before the first began.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
