"""Snow removal: the plain functions behind the /snow page, its live GET and the status API.

    style.py      road colours, age classes, legend and the style function's hideout
    network.py    the road network: loading it, its segments (attributes kept per process), its view
    roads.py      road states (last clearing per segment) and their differences
    progress.py   share of road length cleared per route and area
    vehicles.py   the fleet: positions, trails, states, deltas; the one ingest path for fixes
    snapshot.py   one computation per refresh interval, shared by every viewer and process
    live.py       the live state as bytes: serialised and compressed once per bucket, same for all
    status.py     /api/snow/status answers and the feed freshness badge
    alerts.py     the road provider of alert rules

No Dash, no Flask here; `layers/snowplow.py` is the map layer kind built on these.
"""
