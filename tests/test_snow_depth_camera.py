"""A snow-depth sensor's popup names the nearest camera within CAMERA_NEAREST_M: on a public layer
public cameras only, on a private layer also its organisation's private ones."""
from __future__ import annotations

import orjson

from layers.snow_depth import SnowDepthKind
from store.cameras import Camera
from store.layers import upsert_layer
from store.models import PRIVATE, Layer
from store.sensors import upsert_sensor


def features(s, layer_id):
    return {f["id"]: f["properties"] for f in
            orjson.loads(SnowDepthKind().features(s, s.get(Layer, layer_id)))["features"]}


def test_nearest_camera_in_the_popup_public_cameras_only_on_a_public_layer(db, people):
    hakui, kaga = people["hakui"].organisation_id, people["kaga"].organisation_id
    with db.session() as s:
        upsert_layer(s, "depth-pub", kind="snow_depth", name_ja="積雪深", group="yuki", organisation_id=hakui)
        upsert_layer(s, "depth-priv", kind="snow_depth", name_ja="羽咋 積雪深", group="yuki", organisation_id=hakui,
                     visibility=PRIVATE)
        upsert_sensor(s, "s-pub", layer_id="depth-pub", name_ja="公開", lon=136.7700, lat=36.8900)
        upsert_sensor(s, "s-far", layer_id="depth-pub", name_ja="遠い", lon=136.3000, lat=36.3000)
        upsert_sensor(s, "s-priv", layer_id="depth-priv", name_ja="非公開", lon=136.7700, lat=36.8900)
        # a private camera closest of all, a public one ~900 m away, another city's private one closer still
        s.add_all([Camera(id="cam-hakui-secret", organisation_id=hakui, name_ja="羽咋 非公開", lon=136.7701,
                          lat=36.8901,
                          visibility="private"),
                   Camera(id="cam-kaga-secret", organisation_id=kaga, name_ja="加賀 非公開", lon=136.7702, lat=36.8902,
                          visibility="private"),
                   Camera(id="cam-public", organisation_id=hakui, name_ja="羽咋駅", name_en="Hakui Station",
                          lon=136.7800, lat=36.8900)])
    with db.session() as s:
        pub, priv = features(s, "depth-pub"), features(s, "depth-priv")
    assert pub["s-pub"]["camera_id"] == "cam-public" and pub["s-pub"]["camera_name_en"] == "Hakui Station"
    assert 800 < pub["s-pub"]["camera_m"] < 1000
    assert pub["s-pub"]["camera_thumb"] == "/api/cameras/cam-public/thumb.jpg"
    assert "camera_id" not in pub["s-far"]  # none within CAMERA_NEAREST_M (3 km by default)
    assert priv["s-priv"]["camera_id"] == "cam-hakui-secret"  # the layer's own organisation's camera
    assert "kaga" not in orjson.dumps(priv).decode() and "secret" not in orjson.dumps(pub).decode()


def test_the_layer_uses_the_popup_with_the_camera(db, people):
    with db.session() as s:
        upsert_layer(s, "depth-spec", kind="snow_depth", name_ja="積雪深", group="yuki",
                     organisation_id=people["hakui"].organisation_id)
        spec = SnowDepthKind().map_spec(s.get(Layer, "depth-spec"), "en")
    assert spec.props["onEachFeature"] == {"variable": "ishikawaMap.snowDepthPopup"}
    assert spec.props["hideout"]["camera"]["title"] == "Nearest camera: {name} (about {m} m)"
