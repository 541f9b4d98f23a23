"""Query kind name -> kind object: the one place panel query kinds plug in."""
from __future__ import annotations

from dashboards.queries.alert_events import AlertEventsKind
from dashboards.queries.base import QueryKind
from dashboards.queries.layer_stats import LayerItemsKind, LayerStatsKind
from dashboards.queries.map_layers import MapLayersKind
from dashboards.queries.none import NoQueryKind
from dashboards.queries.sensor_latest import SensorLatestKind
from dashboards.queries.sensor_series import SensorSeriesKind
from dashboards.queries.snow_progress import SnowProgressKind

QUERY_KINDS: dict[str, QueryKind] = {}


def register(kind: QueryKind) -> None:
    QUERY_KINDS[kind.name] = kind


for _kind in (SensorSeriesKind(), SensorLatestKind(), LayerStatsKind(), LayerItemsKind(), SnowProgressKind(),
              AlertEventsKind(), MapLayersKind(), NoQueryKind()):
    register(_kind)
