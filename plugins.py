"""Everything that plugs into the app, in one list: `register_all()` fills the registries of
`registry.py` (layer kinds, dashboard query kinds, road providers and targets of alert rules, job
factories).

It is the one composition function: `create_app`, `init_store` and the worker call it, and so does the
test suite; the first call fills each registry, later calls change nothing. To add a plug-in, write
its module (a layer kind in `layers/`, a query kind in `dashboards/queries/`, …) and add it below —
README "Adding a layer kind, query kind, alert provider or job" walks through it.
"""
from __future__ import annotations

import threading

from alerts.targets import shipped_targets
from dashboards.queries.alert_events import AlertEventsKind
from dashboards.queries.layer_stats import LayerItemsKind, LayerStatsKind
from dashboards.queries.map_layers import MapLayersKind
from dashboards.queries.none import NoQueryKind
from dashboards.queries.sensor_latest import SensorLatestKind
from dashboards.queries.sensor_series import SensorSeriesKind
from dashboards.queries.snow_progress import SnowProgressKind
from jobs import builtin as jobs
from layers.aed import AedKind
from layers.cameras import CamerasKind
from layers.hazard import HazardTilesKind
from layers.melters import MeltersKind
from layers.ngsi import NgsiPointsKind, SensorPointsKind
from layers.outline import OutlineKind
from layers.restrictions import RestrictionsKind
from layers.shelters import ShelterKind
from layers.snow.alerts import road_alert_segments
from layers.snow_depth import SnowDepthKind
from layers.snowplow import SnowplowKind
from layers.uploaded import UploadedKind
from registry import ALERT_TARGETS, JOBS, LAYER_KINDS, QUERY_KINDS, ROAD_PROVIDERS

__all__ = ["register_all"]

_lock = threading.Lock()
_done = False


def _register() -> None:
    # layer kinds: the name is the kind's `kind`, stored in each Layer row
    for kind in (AedKind(), OutlineKind(), ShelterKind(), SnowDepthKind(), HazardTilesKind(), SnowplowKind(),
                 UploadedKind(), SensorPointsKind(), NgsiPointsKind(), CamerasKind(), MeltersKind(),
                 RestrictionsKind()):
        LAYER_KINDS.register(kind)
    # dashboard panel query kinds: the name is the kind's `name`, stored in each panel's query
    for query_kind in (SensorSeriesKind(), SensorLatestKind(), LayerStatsKind(), LayerItemsKind(), SnowProgressKind(),
                       AlertEventsKind(), MapLayersKind(), NoQueryKind()):
        QUERY_KINDS.register(query_kind)
    # road alert rules: hours since a plow cleared each segment (the snow-removal layer)
    ROAD_PROVIDERS.register(road_alert_segments)
    # alert rule targets: the name is the target's `name`, stored in each rule (sensor thresholds, layer
    # properties, road segments, snow-melting devices)
    for target in shipped_targets():
        ALERT_TARGETS.register(target)
    # periodic jobs, one factory per feature, run in this order
    for factory in (jobs.demo_snow_jobs, jobs.snow_removal_jobs, jobs.alert_jobs, jobs.broker_jobs,
                    jobs.camera_jobs, jobs.melter_jobs, jobs.restriction_jobs, jobs.housekeeping_jobs):
        JOBS.register(factory)


def register_all() -> None:
    """Fill every registry with the shipped plug-ins, once per process."""
    global _done
    with _lock:
        if _done:
            return
        _register()
        _done = True

