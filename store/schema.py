"""The whole schema: every table module of the store, and the one function that creates them.

Each feature keeps its tables in a module of its own (store/models.py: organisations, layers,
features, sensors, readings, feeds; the others below). Importing this module registers all of
them on `Base.metadata`; `create_all(db)` creates what is missing and brings an older database
up to date. Nothing else in the store imports this module, so no table module imports another
only to be seen by `create_all`.
"""
from __future__ import annotations

from sqlalchemy import MetaData, inspect, text

import store.alerts  # noqa: F401  (alert rules, states, events, recipient groups, subscriptions, suppressions, outbox)
import store.audit  # noqa: F401  (the audit log)
import store.brokers  # noqa: F401  (broker and CKAN sources, sensor origins)
import store.cameras  # noqa: F401  (cameras and their snapshots)
import store.dashboards  # noqa: F401  (dashboards and their versions)
import store.grids  # noqa: F401  (layer grids)
import store.jobs  # noqa: F401  (last run of each periodic job)
import store.layer_versions  # noqa: F401  (kept versions of uploaded layers)
import store.melters  # noqa: F401  (snow-melting devices and their states)
import store.menu_groups  # noqa: F401  (menu groups)
import store.models  # noqa: F401  (organisations, layers, features, sensors, readings, feeds)
import store.restrictions  # noqa: F401  (road restrictions)
import store.snow  # noqa: F401  (snow removal: road network, segments, vehicles, fixes, passes)
import store.usage  # noqa: F401  (usage counts per organisation and month)
from store import organisations, sensors, series, users
from store.db import Base, Database

metadata: MetaData = Base.metadata


def create_all(db: Database) -> None:
    """Create every missing table and index, then apply the schema changes older databases lack."""
    metadata.create_all(db.engine)
    with db.engine.begin() as conn:  # schema changes of features (store/models.py) for older databases
        conn.execute(text("DROP INDEX IF EXISTS ix_features_layer_bbox"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_features_layer_order ON features (layer_id, id)"))
        users.upgrade_schema(conn)
        organisations.upgrade_schema(conn)
        sensors.upgrade_schema(conn)
        store.melters.upgrade_schema(conn)
        # readings.implausible (store/plausibility.py): a constant default, so adding it rewrites
        # nothing on PostgreSQL and only the schema on SQLite
        columns = {c["name"] for c in inspect(conn).get_columns("readings")}
        if "implausible" not in columns:
            exists = " IF NOT EXISTS" if db.backend == "postgresql" else ""  # two workers starting at once
            conn.execute(text(f"ALTER TABLE readings ADD COLUMN{exists} implausible"
                              " BOOLEAN NOT NULL DEFAULT FALSE"))
        # the covering index of series reads (store/series.py) carries the flag they filter on
        conn.execute(text("DROP INDEX IF EXISTS ix_readings_series"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_readings_cover"
                          " ON readings (sensor_id, attribute, observed_at, value, implausible)"))
    with db.session() as s:  # hourly rollups of a database that had readings before them
        series.ensure_rollups(s)
