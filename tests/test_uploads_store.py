"""Uploaded layers in the store, on SQLite and PostgreSQL (COPY path): create, replace, rollback,
items, one transaction, visibility rules, big-layer clustering."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from layers.base import kind_of
from layers.manage import Refused, UploadOptions, add_item, items_table, publish, replace, roll_back, save_items
from store.features import feature_collection_bytes
from store.layer_versions import KEEP_VERSIONS, LayerVersion
from store.layers import get_visible_layer, visible_layer_rows
from store.models import Feature, Layer
from tests.staff_helpers import BOM_CSV, GEOJSON, KML

MAX = 100 * 1024 * 1024


@pytest.fixture
def people(people, db):
    """The shared `people`, in a store that also has a built-in layer in the 防災 ("bousai") group."""
    with db.session() as s:
        s.add(Layer(id="aed", kind="aed", name_ja="AED", group="bousai", visibility="public"))
    return people


def _count(db, model, **where):
    with db.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q)


def test_publish_replace_rollback(db, people):
    kaga = people["kaga"]
    out = publish(db, kaga, BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "ランデブー", "group": "bousai", "visibility": "private"}, MAX)
    assert out.feature_count == 251 and _count(db, Feature, layer_id=out.layer_id) == 251
    with db.session() as s:
        body = feature_collection_bytes(s, out.layer_id)
        assert "能越道大泊IC除雪車回転場" in body.decode()
        layer = s.get(Layer, out.layer_id)
        assert layer.options["geometry_types"] == ["Point"]
        assert layer.options["columns"] == ["市町", "医療圏", "名称", "所在地"]
    replace(db, kaga, out.layer_id, KML.read_bytes(), "b.kml", UploadOptions(), MAX)
    replace(db, kaga, out.layer_id, GEOJSON.read_bytes(), "c.geojson", UploadOptions(), MAX)
    assert _count(db, Feature, layer_id=out.layer_id) == 22
    assert _count(db, LayerVersion, layer_id=out.layer_id) == 2
    assert roll_back(db, kaga, out.layer_id) == 251  # the KML
    with db.session() as s:
        assert s.get(Layer, out.layer_id).options["columns"][0] == "name"
    assert roll_back(db, kaga, out.layer_id) == 22  # back and forth
    for _ in range(KEEP_VERSIONS + 3):
        replace(db, kaga, out.layer_id, GEOJSON.read_bytes(), "c.geojson", UploadOptions(), MAX)
    assert _count(db, LayerVersion, layer_id=out.layer_id) == KEEP_VERSIONS


def test_failed_write_changes_nothing(db, people, monkeypatch):
    import store.features as features

    kaga = people["kaga"]
    out = publish(db, kaga, BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "x", "group": "bousai", "visibility": "public"}, MAX)
    real = features._insert

    def half_then_fail(s, rows, chunk=20000):
        real(s, rows[:3])
        raise RuntimeError("connection lost")

    monkeypatch.setattr(features, "_insert", half_then_fail)
    before = (_count(db, Layer), _count(db, Feature), _count(db, LayerVersion))
    with pytest.raises(RuntimeError):
        replace(db, kaga, out.layer_id, GEOJSON.read_bytes(), "c.geojson", UploadOptions(), MAX)
    with pytest.raises(RuntimeError):
        publish(db, kaga, KML.read_bytes(), "k.kml", UploadOptions(), {"name_ja": "y", "group": "bousai"}, MAX)
    assert (_count(db, Layer), _count(db, Feature), _count(db, LayerVersion)) == before


def test_permissions_in_the_store(db, people):
    kaga, hakui, admin = people["kaga"], people["hakui"], people["ishikawa"]
    priv = publish(db, kaga, GEOJSON.read_bytes(), "p.geojson", UploadOptions(),
                   {"name_ja": "p", "group": "bousai", "visibility": "private"}, MAX).layer_id
    pub = publish(db, kaga, GEOJSON.read_bytes(), "q.geojson", UploadOptions(),
                  {"name_ja": "q", "group": "bousai", "visibility": "public"}, MAX).layer_id
    with db.session() as s:
        assert get_visible_layer(s, priv, None) is None and get_visible_layer(s, priv, hakui) is None
        assert get_visible_layer(s, priv, kaga) is not None and get_visible_layer(s, priv, admin) is not None
        assert priv not in {x.id for x in visible_layer_rows(s, hakui)}
        assert priv in {x.id for x in visible_layer_rows(s, kaga)} | {x.id for x in visible_layer_rows(s, admin)}
    for layer_id, status in ((priv, 404), (pub, 403)):
        with pytest.raises(Refused) as exc:
            replace(db, hakui, layer_id, GEOJSON.read_bytes(), "x.geojson", UploadOptions(), MAX)
        assert exc.value.status == status
        with pytest.raises(Refused) as exc:
            save_items(db, hakui, layer_id, ["1"], [])
        assert exc.value.status == status
    assert _count(db, Feature, layer_id=pub) == 22


def test_items_edit_delete_add(db, people):
    kaga = people["kaga"]
    out = publish(db, kaga, BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "x", "group": "bousai", "visibility": "public"}, MAX)
    with db.session() as s:
        columns, rows = items_table(s, s.get(Layer, out.layer_id))
    assert columns[0] == "_fid" and columns[-2:] == ["経度 / lon", "緯度 / lat"]
    shown = [r["_fid"] for r in rows[:3]]
    edited = [dict(r) for r in rows[:3]]
    edited[0]["名称"] = "新しい名前"
    edited[1]["経度 / lon"], edited[1]["緯度 / lat"] = 136.7, 36.6
    del edited[2]  # deleted in the table
    assert save_items(db, kaga, out.layer_id, shown, edited) == {"changed": 2, "deleted": 1}
    with db.session() as s:
        feats = {f.fid: f for f in s.scalars(select(Feature).where(Feature.layer_id == out.layer_id))}
        assert feats[shown[0]].properties["名称"] == "新しい名前"
        assert json.loads(feats[shown[1]].geometry) == {"type": "Point", "coordinates": [136.7, 36.6]}
        assert feats[shown[1]].minx == 136.7
        assert shown[2] not in feats
        assert s.get(Layer, out.layer_id).feature_count == 250
    fid = add_item(db, kaga, out.layer_id, 136.65, 36.55, {"名称": "追加"})
    with db.session() as s:
        f = s.scalar(select(Feature).where(Feature.layer_id == out.layer_id, Feature.fid == fid))
        assert f.properties["名称"] == "追加" and f.properties["所在地"] == ""
    with pytest.raises(Refused):
        add_item(db, kaga, out.layer_id, 200, 95)


def test_big_layers_are_clustered_on_the_server(db, people, monkeypatch):
    import orjson

    import layers.uploaded as uploaded
    import store.grids as grids

    monkeypatch.setattr(uploaded, "BIG_LAYER", 100)
    monkeypatch.setattr(grids, "BIG_LAYER", 100)
    out = publish(db, people["kaga"], BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "x", "group": "bousai", "visibility": "public"}, MAX)
    # computed at write time: one grid per zoom + the per-cell id index of the finest one
    assert _count(db, grids.LayerGrid, layer_id=out.layer_id) == len(grids.GRID_ZOOMS) + 1
    with db.session() as s:
        layer = s.get(Layer, out.layer_id)
        kind = kind_of(layer)
        assert kind.map_spec(layer, "ja", 9).lod and kind.map_spec(layer, "ja", 9).bbox
        assert "zoom=9" in kind.map_spec(layer, "ja", 9).url
        at8 = orjson.loads(kind.features(s, layer, None, zoom=8))["features"]
        assert 0 < len(at8) < 40 and all(f["properties"]["cluster"] for f in at8)
        assert sum(f["properties"]["point_count"] for f in at8) == 251
        # the grid and the SQL fallback agree
        for zoom, bbox in ((8, None), (12, None)):  # (at a bbox edge the two may cut cells differently)
            from_grid = orjson.loads(uploaded.grid_clusters(s, layer, bbox, zoom))["features"]
            layer.version += 1  # the grid now belongs to an older version: SQL answers
            from_sql = orjson.loads(uploaded.grid_clusters(s, layer, bbox, zoom))["features"]
            layer.version -= 1
            key = lambda f: (round(f["geometry"]["coordinates"][0], 4), f["properties"]["point_count"])  # noqa: E731
            assert sorted(map(key, from_grid)) == sorted(map(key, from_sql)) and from_grid
        close = orjson.loads(kind.features(s, layer, (136.9, 36.9, 137.1, 37.1), zoom=16))["features"]
        assert close and not any(f["properties"].get("cluster") for f in close)  # the points themselves
        # the grid index finds exactly what a bbox query over all rows finds, in file order
        for bbox in ((136.9, 36.9, 137.1, 37.1), (136.0, 36.0, 137.5, 37.6), (136.5, 36.5, 136.51, 36.51)):
            indexed = orjson.loads(kind.features(s, layer, bbox, zoom=16))["features"]
            scanned = orjson.loads(feature_collection_bytes(s, layer.id, bbox))["features"]
            assert indexed == scanned
        assert grids.points_in_bbox(s, layer.id, layer.version, (120.0, 20.0, 155.0, 50.0), 10) == 251  # too many
        assert grids.points_in_bbox(s, layer.id, layer.version + 1, (120.0, 20.0, 155.0, 50.0), 10) is None
        # no bbox at a close zoom: still bounded (clusters at a coarser zoom)
        whole = orjson.loads(kind.features(s, layer, None, zoom=17))["features"]
        assert all(f["properties"]["cluster"] for f in whole)
    # an item added by map click shows in the clusters at once (the grids follow the edit)
    fid = add_item(db, people["kaga"], out.layer_id, 136.7001, 36.6001, {"名称": "追加"})
    with db.session() as s:
        layer = s.get(Layer, out.layer_id)
        assert grids.read_grid(s, layer.id, layer.version, 8) is not None  # current, not stale
        at8 = orjson.loads(kind.features(s, layer, None, zoom=8))["features"]
        assert sum(f["properties"]["point_count"] for f in at8) == 252
        near = orjson.loads(kind.features(s, layer, (136.69, 36.59, 136.71, 36.61), zoom=17))["features"]
        assert fid in [f["id"] for f in near]
    from layers.manage import remove

    remove(db, people["kaga"], out.layer_id)
    assert _count(db, grids.LayerGrid, layer_id=out.layer_id) == 0


def test_view_bbox_is_snapped_outward():
    from layers.base import bbox_param

    b = bbox_param([[36.5, 136.6], [36.6, 136.8]], 12)
    west, south, east, north = map(float, b.split(","))
    assert west <= 136.6 and south <= 36.5 and east >= 136.8 and north >= 36.6
    assert bbox_param([[36.51, 136.61], [36.6, 136.8]], 12) == b  # a small pan reuses the cached answer
    assert bbox_param(None, 10) is None and bbox_param([[1, 2]], 10) is None


def test_new_menu_group_shows_in_the_public_panel(db, people):
    from layers.manage import resolve_group
    from layers.visible import group_label, group_order, visible_layers

    key = resolve_group(db, people["kaga"], "__new__", "加賀の観光", "Kaga sightseeing")
    out = publish(db, people["kaga"], GEOJSON.read_bytes(), "g.geojson", UploadOptions(),
                  {"name_ja": "観光", "group": key, "visibility": "public"}, MAX)
    with db.session() as s:
        for lang, label in (("ja", "加賀の観光"), ("en", "Kaga sightseeing")):
            layers = visible_layers(s, lang, None)
            assert key in group_order(layers)
            assert group_label(key, lang, layers) == label
            assert out.layer_id in {pl.id for pl in layers if pl.group == key}
        assert key not in group_order(visible_layers(s, "ja", None, staff=None)[:0])
    with pytest.raises(Refused):
        resolve_group(db, people["kaga"], "__new__", "  ", "")


def test_map_link_frames_the_data():
    from urllib.parse import parse_qs, urlsplit

    from layers.manage import map_link

    q = parse_qs(urlsplit(map_link("u-1", (136.95, 37.03, 136.99, 37.06), "ja")).query)
    assert q["layers"] == ["u-1"] and q["lang"] == ["ja"]
    assert abs(float(q["lat"][0]) - 37.045) < 1e-4 and abs(float(q["lon"][0]) - 136.97) < 1e-4
    assert q["z"] == ["14"]  # 0.04° wide fits 900 px at zoom 14, not 15
    whole = parse_qs(urlsplit(map_link("u-1", (136.2, 36.0, 137.4, 37.6), "en")).query)
    assert whole["z"] == ["8"]  # the prefecture: clamped to the widest useful view
    assert map_link("u-1", None, "ja") == "/?layers=u-1&lang=ja"


def test_a_csv_written_in_parts_is_stored_whole_and_in_order(db, people, monkeypatch):
    import store.features as features

    monkeypatch.setattr(features, "POINT_PART", 40)  # 251 rows: 7 parts
    out = publish(db, people["kaga"], BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "x", "group": "bousai", "visibility": "public"}, MAX)
    with db.session() as s:
        rows = s.execute(select(Feature.fid, Feature.properties).where(Feature.layer_id == out.layer_id)
                         .order_by(Feature.id)).all()
    assert [fid for fid, _ in rows] == [str(n) for n in range(2, 253)]  # spreadsheet rows, file order
    assert rows[0][1]["名称"] == out.result.features[0]["properties"]["名称"]
    assert rows[-1][1] == out.result.features[250]["properties"]


def test_items_beyond_the_first_page_are_found_and_edited(db, people):
    kaga = people["kaga"]
    out = publish(db, kaga, BOM_CSV.read_bytes(), "a.csv", UploadOptions(),
                  {"name_ja": "x", "group": "bousai", "visibility": "public"}, MAX)
    last = out.result.features[250]
    name = last["properties"]["名称"]
    with db.session() as s:
        layer = s.get(Layer, out.layer_id)
        _cols, first = items_table(s, layer, limit=20)
        assert last["id"] not in [r["_fid"] for r in first]  # beyond the first page…
        _cols, found = items_table(s, layer, limit=20, text=name[2:8])  # …found by part of a value
        assert last["id"] in [r["_fid"] for r in found] and len(found) < 20
        _cols, by_id = items_table(s, layer, text=last["id"])
        assert [r["_fid"] for r in by_id][:1] == [last["id"]]
        assert items_table(s, layer, text='存在しない"値')[1] == []
        assert items_table(s, layer, text="%")[1] == []  # LIKE wildcards are plain characters
    row = dict(next(r for r in found if r["_fid"] == last["id"]), 名称="検索して直した")
    assert save_items(db, kaga, out.layer_id, [row["_fid"]], [row]) == {"changed": 1, "deleted": 0}
    with db.session() as s:
        feat = s.scalar(select(Feature).where(Feature.layer_id == out.layer_id, Feature.fid == last["id"]))
        assert feat.properties["名称"] == "検索して直した"
        _cols, again = items_table(s, s.get(Layer, out.layer_id), text="検索して直した")  # edited rows are found too
        assert [r["_fid"] for r in again] == [last["id"]]
    assert _count(db, Feature, layer_id=out.layer_id) == 251  # nothing else touched


def test_grid_index_with_numeric_and_text_ids_agree(db, people):
    import numpy as np

    import store.grids as grids

    rng = np.random.default_rng(7)
    n = grids.BIG_LAYER + 500
    lons, lats = rng.uniform(136.3, 137.3, n).round(6), rng.uniform(36.1, 37.5, n).round(6)
    with db.session() as s:
        for lid in ("g-num", "g-text"):
            s.add(Layer(id=lid, kind="uploaded", name_ja=lid, group="bousai", visibility="public", version=1))
        s.flush()
        grids.write_grids(s, "g-num", 1, lons, lats, np.arange(2, n + 2))
        grids.write_grids(s, "g-text", 1, lons, lats, [str(i) for i in range(2, n + 2)])
    with db.session() as s:
        for bbox in ((136.5, 36.5, 136.52, 36.52), (136.9, 37.0, 136.95, 37.02), (130.0, 30.0, 131.0, 31.0)):
            a = grids.points_in_bbox(s, "g-num", 1, bbox, 8000)
            b = grids.points_in_bbox(s, "g-text", 1, bbox, 8000)
            assert a == b
            inside = {str(i + 2) for i in np.nonzero((lons >= bbox[0]) & (lons <= bbox[2]) & (lats >= bbox[1])
                                                      & (lats <= bbox[3]))[0]}
            assert inside <= set(a)  # a superset of what lies inside (cells overlap the box edge)
        assert grids.points_in_bbox(s, "g-num", 1, (130.0, 30.0, 140.0, 40.0), 100) == n  # too many: the count
