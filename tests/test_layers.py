from datetime import UTC

import pytest

from i18n import STRINGS
from layers.builtin import BUILTIN
from layers.snow_depth import depth_class, to_jst
from registry import LAYER_KINDS as KINDS
from store.models import Layer


@pytest.mark.parametrize("value,cls", [(None, -1), (0, 0), (0.4, 0), (0.5, 1), (9.9, 1), (10, 2), (29.9, 2),
                                       (30, 3), (50, 4), (99.9, 4), (100, 5), (240, 5)])
def test_depth_classes(value, cls):
    assert depth_class(value) == cls


def test_jst():
    from datetime import datetime

    assert to_jst(datetime(2026, 1, 1, 15, 30, tzinfo=UTC)) == "2026-01-02 00:30"


@pytest.mark.parametrize("spec", BUILTIN, ids=[b["id"] for b in BUILTIN])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_builtin_layer_has_a_map_spec_and_legend(spec, lang):
    layer = Layer(id=spec["id"], kind=spec["kind"], name_ja="x", name_en="x", group=spec["group"],
                  options=spec.get("options", {}), version=3, attribution_ja="a", attribution_en="b")
    kind = KINDS[spec["kind"]]
    map_spec = kind.map_spec(layer, lang)
    assert map_spec.type in {"geojson", "tiles"}
    if map_spec.type == "geojson":
        assert map_spec.url.startswith(f"/api/layers/{spec['id']}/features?v=3")
    else:
        assert map_spec.props["urls"] and map_spec.opacity is not None
    legend = kind.legend(layer, lang)
    assert legend and all(item.label and not item.label.startswith("legend.") for item in legend)
    assert spec["name"] in STRINGS and spec["attribution"] in STRINGS


def test_popup_labels_follow_language():
    layer = Layer(id="aed", kind="aed", options={}, version=1, attribution_ja="", attribution_en="")
    ja = KINDS["aed"].map_spec(layer, "ja").props["hideout"]["popup"]["fields"]
    en = KINDS["aed"].map_spec(layer, "en").props["hideout"]["popup"]["fields"]
    assert ("address", "住所") in [tuple(x) for x in ja]
    assert ("address", "Address") in [tuple(x) for x in en]


def test_level_of_detail_buckets():
    from layers.base import lod_bucket

    assert [lod_bucket(z) for z in (5, 9, 10, 11, 12, 18)] == [9, 9, 11, 11, 18, 18]


def test_stale_feed_notice(db):
    from datetime import timedelta
    from pathlib import Path

    from layers.builtin import ensure_builtin
    from layers.visible import stale_notices, visible_layers
    from store.db import utcnow
    from store.feeds import feed_ok

    now = utcnow()
    with db.session() as s:
        ensure_builtin(s, Path(__file__).resolve().parents[1] / "data")
        feed_ok(s, "demo-snow", interval_s=60, at=now - timedelta(seconds=30))
    with db.session() as s:
        layers = visible_layers(s, "ja")
        assert stale_notices(s, layers, {"snow-depth"}, "ja", now) == []
        later = now + timedelta(minutes=10)
        notes = stale_notices(s, layers, {"snow-depth"}, "ja", later)
        assert len(notes) == 1 and "積雪深（センサー）" in notes[0] and "止まっています" in notes[0]
        assert stale_notices(s, layers, {"aed"}, "ja", later) == []  # a hidden layer says nothing
        assert "stopped updating" in stale_notices(s, visible_layers(s, "en"), {"snow-depth"}, "en", later)[0]


def test_legend_entries_draw_the_markers_the_map_draws():
    """One <li> per entry; the swatch's text is the marker's: AED for AEDs, the camera sign for cameras."""
    from components.legend import item_li
    from layers.aed import AedKind
    from layers.cameras import CamerasKind

    aed = item_li(AedKind().legend(None, "ja")[0]).to_plotly_json()["props"]
    camera = item_li(CamerasKind().legend(None, "ja")[0]).to_plotly_json()["props"]
    assert aed["data-mark"] == "AED" and "swatch-marker" in aed["className"]
    assert camera["data-mark"] == "\U0001F4F7" and "swatch-camera" in camera["className"]
    assert camera["children"] == "カメラ" and camera["style"] == {"--swatch": "#0b6e99"}


@pytest.mark.parametrize(("types", "shape", "swatch"), [
    (["Point"], "circle", "circle"), (["Point"], "square", "square"), (["Point"], "marker", "pin"),
    (["Point"], "star", "circle"), (["LineString"], "marker", "line"), (["Polygon", "Point"], "marker", "square"),
])
def test_uploaded_legend_swatch_is_the_shape_the_map_draws(types, shape, swatch):
    from components.legend import item_li

    layer = Layer(id="up-x", kind="uploaded", name_ja="x", name_en="x", group="other", version=1,
                  options={"geometry_types": types, "shape": shape, "color": "#aa3300"}, feature_count=3,
                  attribution_ja="", attribution_en="")
    (item,) = KINDS["uploaded"].legend(layer, "ja")
    assert item.shape == swatch
    assert f"swatch-{swatch}" in item_li(item).className.split()
