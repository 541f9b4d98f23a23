"""Answers that are the same for everyone who may see them, as bytes ready to send: serialised once,
compressed once (gzip and brotli), with their validator — the live /snow state and the layers'
features alike. `BytesMemo` keeps the latest ones in this process's memory (bounded by size), so
the next viewer's answer costs no cache round trip, no unpickling and no compression.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

try:  # brotli is optional: gzip is always there
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency, but a bare install still serves gzip
    brotli = None

BR_QUALITY = 5  # about as small as brotli 11 on JSON, far faster
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class SharedBody:
    """One answer, ready to send: the bytes as they are and compressed, with its validator."""

    body: bytes
    gzip: bytes
    br: bytes | None
    etag: str
    max_age: int
    mimetype: str = "application/json"

    def encoded(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """(bytes, Content-Encoding) for a request's Accept-Encoding: brotli, else gzip, else plain."""
        accept = {part.split(";")[0].strip().lower() for part in (accept_encoding or "").split(",")
                  if not part.strip().replace(" ", "").endswith(";q=0")}
        if self.br is not None and "br" in accept:
            return self.br, "br"
        if "gzip" in accept or "*" in accept:
            return self.gzip, "gzip"
        return self.body, None

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzip) + len(self.br or b"")


def pack(body: bytes, max_age: int, mimetype: str = "application/json", tag: str = "",
         etag: str | None = None) -> SharedBody:
    """Compress once; the ETag is `etag` when given, else a digest of the bytes (prefixed by `tag`)."""
    if etag is None:
        etag = f'"{tag}{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
    return SharedBody(body=body, gzip=gzip.compress(body, GZIP_LEVEL, mtime=0),
                      br=brotli.compress(body, quality=BR_QUALITY) if brotli is not None else None,
                      etag=etag, max_age=max_age, mimetype=mimetype)


class BytesMemo:
    """The most recently used SharedBodies by name, each for at most `ttl` seconds (what they are built
    from may change without a new data version, e.g. a snow sensor's nearest camera), at most
    `max_bytes` in all (least recently used go first; a body bigger than the whole budget is not kept)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, ttl: float = 30.0, clock=time.monotonic):
        self.max_bytes, self.ttl, self.clock = max_bytes, ttl, clock
        self.used = 0
        self._items: OrderedDict[str, tuple[float, SharedBody]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> SharedBody | None:
        with self._lock:
            item = self._items.get(name)
            if item is None:
                return None
            if item[0] <= self.clock():
                del self._items[name]
                self.used -= item[1].size
                return None
            self._items.move_to_end(name)
            return item[1]

    def put(self, name: str, value: SharedBody) -> None:
        if value.size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(name, None)
            if old is not None:
                self.used -= old[1].size
            self._items[name] = (self.clock() + self.ttl, value)
            self.used += value.size
            while self.used > self.max_bytes:
                _n, (_t, gone) = self._items.popitem(last=False)
                self.used -= gone.size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0

    def __len__(self) -> int:
        return len(self._items)


def built_once(cache, ckey: str, build, timeout: int | None = None):
    """The value under `ckey` in the shared cache (another process built it), else built here once
    while the other threads of this process asking for it wait, and put there for the others."""
    from keylock import key_lock

    value = cache.get(ckey) if cache is not None else None
    if value is None:
        with key_lock(ckey):
            value = cache.get(ckey) if cache is not None else None
            if value is None:
                value = build()
                if cache is not None:
                    cache.set(ckey, value, timeout=timeout)
    return value


def features_body(memo: BytesMemo, cache, s, layer, kind, bbox=None, zoom: int | None = None) -> SharedBody:
    """A layer's features for (data version, bbox, zoom) as shared bytes: from this process's memory,
    else from the shared cache (another process built them), else built, serialised and compressed
    here once while the other threads asking for the same wait. Only for kinds whose features are
    the same for everyone who may see the layer (not `per_viewer`); the caller checked who may see it.
    The ETag names the layer and its data version (what a browser holds stays valid until data change)."""
    name = f"features:{layer.id}:{layer.version}:{bbox}:{zoom}"
    hit = memo.get(name)
    if hit is not None:
        return hit
    value = built_once(cache, f"{name}:packed", lambda: pack(
        kind.features(s, layer, bbox, zoom=zoom), 0, mimetype="application/geo+json",
        etag=f'"{layer.id}-{layer.version}"'))
    memo.put(name, value)
    return value


# --- visitors without a session -----------------------------------------------------------------
# Nearly every request for a public layer's features comes from a visitor without a session, and the
# answer depends only on the layer's row (visibility, data version) and the URL. That decision is
# kept here for a second per URL, so most of those requests touch no database: a change to any layer
# made through this process (a flush of a Layer) forgets it at once; one made by another process
# shows within ANON_TTL_S (shared caches in front keep their copies longer, deploy/nginx.conf).
ANON_TTL_S = 1.0
_GENERATION = [0]


def layers_generation() -> int:
    return _GENERATION[0]


def _after_flush(session, _context) -> None:
    from store.models import Layer

    if any(isinstance(obj, Layer) for objs in (session.new, session.dirty, session.deleted) for obj in objs):
        _GENERATION[0] += 1


def _after_bulk(update_context) -> None:  # `update(Layer)` / `delete(Layer)` statements through a session
    from store.models import Layer

    mapper = getattr(update_context, "mapper", None)
    if mapper is None or mapper.class_ is Layer:
        _GENERATION[0] += 1


def _listen() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_bulk_update", _after_bulk)
        event.listen(Session, "after_bulk_delete", _after_bulk)


_listen()


@dataclass(frozen=True, slots=True)
class AnonAnswer:
    """What a visitor without a session gets for a public layer's URL: the bytes and the data version."""

    body: SharedBody
    version: int
    expires: float
    generation: int


class AnonMemo:
    def __init__(self, ttl: float = ANON_TTL_S, clock=time.monotonic, size: int = 512):
        self.ttl, self.clock, self.size = ttl, clock, size
        self._items: dict[str, AnonAnswer] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> AnonAnswer | None:
        hit = self._items.get(name)
        if hit is None or hit.expires <= self.clock() or hit.generation != _GENERATION[0]:
            return None
        return hit

    def put(self, name: str, body: SharedBody, version: int, generation: int) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[name] = AnonAnswer(body, version, self.clock() + self.ttl, generation)
