"""components/map_controls.py: what the map pages' controls send, read without raising on crafted input."""
from __future__ import annotations

import math

from dash import no_update

from components.map_controls import checked_layers, opacities, refreshed_urls, zoom_level
from layers.base import MapSpec


def test_crafted_values_are_read_without_raising():
    assert [zoom_level(z) for z in (12.4, "9", -3, 99, math.inf, math.nan, "x", None, 1e309)] == [
        12, 9, 0, 24, None, None, None, None, None]
    assert checked_layers([["aed", 5], None, ["shelters", {"x": 1}]]) == {"aed", "shelters"}
    assert checked_layers(None) == set()
    assert opacities([0.5, "x", 7, None, 0.2], [{"layer": "a"}, {"layer": "b"}, {"layer": "c"}, {"layer": "d"},
                                               "not a dict"]) == {"a": 0.5, "c": 1.0}


def test_only_changed_layers_get_a_new_url():
    specs = {"aed": MapSpec(type="geojson", url="/api/layers/aed/features?v=2", refresh_s=60),
             "still": MapSpec(type="geojson", url="/api/layers/still/features?v=1"),
             "big": MapSpec(type="geojson", url="/api/layers/big/features?v=1", bbox=True, refresh_s=60)}
    bounds = [[36.5, 136.6], [36.6, 136.7]]
    out = refreshed_urls(specs, ["aed", "still", "gone", "big"],
                         ["/api/layers/aed/features?v=1", "/old", "/x", None], bounds, 12)
    assert out[0] == "/api/layers/aed/features?v=2"
    assert out[1] is no_update and out[2] is no_update  # not refreshed / no longer visible
    assert out[3].startswith("/api/layers/big/features?v=1&bbox=")
    assert refreshed_urls(specs, ["aed"], ["/api/layers/aed/features?v=2"], bounds, 12) == [no_update]
