"""The extension points of the app: one mechanism, one place to look.

Every kind of plug-in is kept in one `Registry` below, filled once at start-up by
`plugins.register_all()` — the one composition function, called by `create_app` and by the worker
(and by the test suite). Code that uses a plug-in looks it up here; code that adds one adds a line to
`plugins.py`. This module imports nothing of the project (a leaf: every layer may read it).

    LAYER_KINDS      name -> layer kind object (`layers.base.LayerKind`; the name is its `kind`,
                     stored in `Layer.kind`)
    QUERY_KINDS      name -> dashboard panel query kind (`dashboards.queries.base.QueryKind`; `name`)
    ROAD_PROVIDERS   name -> fn(session, rule, now) -> [{"subject", "name_ja", "name_en", "lon", "lat",
                     "hours_since_cleared", "nearby_depth"}]: the road segments an alert rule with
                     target "road" watches (`alerts.evaluation.tick` asks each provider)
    ALERT_TARGETS    name -> alert rule target (`alerts.targets.AlertTarget`; the name is its `name`, stored in
                     `AlertRule.target`): which subjects a rule may watch and how it is evaluated now
                     (`alerts.evaluation.evaluate_now` and `tick`, the previews of `alerts.notification`)
    JOBS             name -> fn(settings, db) -> [jobs.Job]: the periodic jobs of one feature
                     (`jobs.build_jobs` asks each, in registration order)
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["ALERT_TARGETS", "ALL", "JOBS", "LAYER_KINDS", "QUERY_KINDS", "ROAD_PROVIDERS", "Registry"]


class Registry(Generic[T]):
    """Names -> plug-ins of one kind, in registration order. A name is taken once: registering another
    object under a taken name is a programming error (two kinds would claim the same stored name)."""

    def __init__(self, what: str, name_of: Callable[[Any], str] = lambda item: item.__name__):
        self.what = what
        self.name_of = name_of
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def register(self, item: T, name: str | None = None) -> T:
        """Add `item` under `name` (default: its own name — a kind's `kind`/`name`, a function's
        `__name__`); returns the item, so that it also works as a decorator."""
        name = name or self.name_of(item)
        with self._lock:
            if name in self._items and self._items[name] is not item:
                raise ValueError(f"{self.what}: {name!r} is registered already")
            self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def get(self, name: str, default: T | None = None) -> T | None:
        return self._items.get(name, default) if isinstance(name, str) else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._items  # a crafted list or number is simply not one

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def values(self) -> list[T]:
        return list(self._items.values())

    def __repr__(self) -> str:
        return f"<Registry {self.what}: {', '.join(self._items) or '(empty)'}>"


LAYER_KINDS: Registry[Any] = Registry("layer kinds", lambda kind: kind.kind)
QUERY_KINDS: Registry[Any] = Registry("dashboard query kinds", lambda kind: kind.name)
ROAD_PROVIDERS: Registry[Callable[..., list[dict]]] = Registry("road providers of alert rules")
ALERT_TARGETS: Registry[Any] = Registry("alert rule targets", lambda target: target.name)
JOBS: Registry[Callable[..., list]] = Registry("job factories")

ALL: tuple[Registry, ...] = (LAYER_KINDS, QUERY_KINDS, ROAD_PROVIDERS, ALERT_TARGETS, JOBS)
