"""Road restrictions (通行規制) from registered sources: a CKAN resource with restriction columns
(CSV or GeoJSON, fetched through the guarded client like every CKAN download) and a broker's
`RoadRestriction` / `RestrictedTrafficArea` entities (polled or notified). Each source's
restrictions carry its organisation and visibility; a new list replaces the source's earlier one."""
from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from layers.builtin import ensure_builtin
from layers.restrictions_manage import list_restrictions
from sources import broker_poll
from sources.broker_poll import poll_source
from store.brokers import Source
from store.db import utcnow
from store.restrictions import CHAIN, CLOSURE, RoadRestriction
from tests.test_ckan import Ckan

DATA = Path(__file__).resolve().parents[1] / "data"

pytestmark = pytest.mark.usefixtures("loopback_sources")


def _jst(dt) -> str:
    from timezones import JST

    return dt.astimezone(JST).strftime("%Y/%m/%d %H:%M")


def restriction_csv(now) -> bytes:
    past, soon, later = now - timedelta(days=1), now + timedelta(days=1), now + timedelta(days=3)
    rows = ["規制番号,規制内容,路線名,区間,規制理由,規制開始,規制終了,緯度,経度",
            f"R1,通行止め,国道249号,羽咋市千里浜町,雪崩のおそれ,{_jst(past)},{_jst(soon)},36.90,136.77",
            f"R2,チェーン規制,県道1号,羽咋市柳田町,積雪,{_jst(past)},未定,36.91,136.79",
            f"R3,片側交互通行,市道,羽咋市中央町,工事,{_jst(soon)},{_jst(later)},36.89,136.78",
            f"R4,通行止め,市道,羽咋市川原町,倒木,{_jst(later)},{_jst(past)},36.88,136.78"]  # ends before it starts
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture
def ckan():
    c = Ckan()
    yield c
    c.stop()


def _ckan_source(db, ckan, org_id, visibility="public", resource_id="restr-1"):
    with db.session() as s:
        ensure_builtin(s, DATA)
        src = Source(name="石川みち情報 CKAN", kind="ckan", base_url=ckan.url,
                     ckan_dataset=ckan.package["result"]["name"], ckan_resource=resource_id, target="restrictions",
                     organisation_id=org_id, visibility=visibility)
        s.add(src)
        s.flush()
        return src.id


def _offer(ckan, path, body, fmt, rid="restr-1"):
    ckan.files[path] = body
    res = copy.deepcopy(ckan.package["result"]["resources"][0])
    res.update(id=rid, format=fmt, name=path.rsplit("/", 1)[1], url=ckan.url + path)
    ckan.package["result"]["resources"] = [r for r in ckan.package["result"]["resources"] if r["id"] != rid] + [res]


def test_a_ckan_csv_of_restrictions_fills_the_layer_and_a_new_list_replaces_it(db, people, ckan):
    now = utcnow().replace(microsecond=0)
    _offer(ckan, "/download/kisei.csv", restriction_csv(now), "CSV")
    sid = _ckan_source(db, ckan, people["hakui"].organisation_id)
    result = poll_source(db, sid, now)
    assert result["restrictions"] == 3 and result["problems"] == 1, result  # R4 ends before it starts
    with db.session() as s:
        rows = {r.id: r for r in s.query(RoadRestriction).filter(RoadRestriction.id.like(f"src{sid}-%"))}
    assert set(rows) == {f"src{sid}-R1", f"src{sid}-R2", f"src{sid}-R3"}
    r1 = rows[f"src{sid}-R1"]
    assert r1.kind == CLOSURE and r1.road == "国道249号" and r1.reason == "雪崩のおそれ" and r1.origin == "ckan"
    assert r1.organisation_id == people["hakui"].organisation_id and r1.source == "石川みち情報 CKAN"
    assert rows[f"src{sid}-R2"].kind == CHAIN and rows[f"src{sid}-R2"].ends_at is None
    now_ids = {x["id"] for x in list_restrictions(db, None, at=now)["restrictions"]}
    assert {f"src{sid}-R1", f"src{sid}-R2"} <= now_ids and f"src{sid}-R3" not in now_ids  # R3 starts tomorrow
    # an unchanged resource is not rewritten; a new list replaces the old one (R1 lifted)
    assert poll_source(db, sid, now)["unchanged"] is True
    text = restriction_csv(now).decode().splitlines()
    _offer(ckan, "/download/kisei.csv", ("\n".join([text[0], text[2]]) + "\n").encode(), "CSV")
    assert poll_source(db, sid, now)["restrictions"] == 1
    with db.session() as s:
        assert [r.id for r in s.query(RoadRestriction).filter(RoadRestriction.id.like(f"src{sid}-%"))] == [
            f"src{sid}-R2"]


def test_a_ckan_geojson_of_private_restrictions_is_seen_by_its_organisation_only(db, people, ckan):
    now = utcnow().replace(microsecond=0)
    line = {"type": "LineString", "coordinates": [[136.77, 36.90], [136.78, 36.91]]}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": line,
         "properties": {"id": "G1", "type": "冬期閉鎖", "road": "林道", "start": (now - timedelta(days=2)).isoformat(),
                        "end": (now + timedelta(days=30)).isoformat()}}]}
    _offer(ckan, "/download/kisei.geojson", orjson.dumps(fc), "GeoJSON")
    sid = _ckan_source(db, ckan, people["hakui"].organisation_id, visibility="private")
    assert poll_source(db, sid, now)["restrictions"] == 1
    rid = f"src{sid}-G1"
    seen = {who: {x["id"] for x in list_restrictions(db, people.get(who), at=now)["restrictions"]}
            for who in ("hakui", "kaga", "ishikawa", "nobody")}
    assert rid in seen["hakui"] and rid in seen["ishikawa"]
    assert rid not in seen["kaga"] and rid not in seen["nobody"]


def test_a_ckan_site_on_a_forbidden_address_is_refused(db, people, ckan, monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS")  # loopback no longer allowed: the guarded client refuses it
    now = utcnow().replace(microsecond=0)
    _offer(ckan, "/download/kisei.csv", restriction_csv(now), "CSV")
    sid = _ckan_source(db, ckan, people["hakui"].organisation_id)
    result = poll_source(db, sid, now)
    assert "error" in result and not ckan.requests
    with db.session() as s:
        assert s.query(RoadRestriction).filter(RoadRestriction.id.like(f"src{sid}-%")).count() == 0


def _entity(eid, kind, start, end, coords, etype="RoadRestriction", **extra):
    e = {"id": eid, "type": etype,
         "location": {"type": "geo:json", "value": {"type": "LineString", "coordinates": coords}, "metadata": {}},
         "validFrom": {"type": "DateTime", "value": start, "metadata": {}},
         "validTo": {"type": "DateTime", "value": end, "metadata": {}},
         "roadName": {"type": "Text", "value": "国道415号", "metadata": {}},
         "section": {"type": "Text", "value": "羽咋市 飯山町", "metadata": {}},
         "reason": {"type": "Text", "value": "路面凍結", "metadata": {}}}
    if kind:
        e["restrictionType"] = {"type": "Text", "value": kind, "metadata": {}}
    e.update(extra)
    return e


def _client(src):
    return broker_poll.client_for(src, sleep=lambda s: None, retries=0)


def test_a_broker_s_road_restrictions_are_polled_and_replaced(db, people, orion):
    now = utcnow().replace(microsecond=0)
    iso = lambda dt: dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731  (as Orion writes DateTimes)
    with db.session() as s:
        ensure_builtin(s, DATA)
        src = Source(name="羽咋 ブローカー", base_url=orion.url, entity_type="RoadRestriction",
                     organisation_id=people["hakui"].organisation_id, visibility="public")
        s.add(src)
        s.flush()
        sid = src.id
    orion.entities = [
        _entity("urn:ngsi:RoadRestriction:1", "チェーン規制", iso(now - timedelta(hours=3)),
                iso(now + timedelta(hours=5)),
                [[136.77, 36.90], [136.78, 36.90]]),
        _entity("urn:ngsi:RoadRestriction:2", "全面通行止め", iso(now + timedelta(hours=2)),
                iso(now + timedelta(hours=9)),
                [[136.79, 36.91], [136.80, 36.91]]),
        _entity("urn:ngsi:RoadRestriction:3", "", iso(now), iso(now + timedelta(hours=1)),
                [[136.79, 36.91], [136.80, 36.91]]),  # no type: not a restriction we can show
    ]
    result = poll_source(db, sid, now, _client)
    assert "error" not in result, result
    with db.session() as s:
        rows = {r.id: r for r in s.query(RoadRestriction).filter(RoadRestriction.origin == "broker")}
    assert set(rows) == {f"src{sid}-urn:ngsi:RoadRestriction:1", f"src{sid}-urn:ngsi:RoadRestriction:2"}
    r1 = rows[f"src{sid}-urn:ngsi:RoadRestriction:1"]
    assert r1.kind == CHAIN and r1.road == "国道415号" and r1.reason == "路面凍結" and r1.section == "羽咋市 飯山町"
    assert r1.starts_at == now - timedelta(hours=3) and r1.ends_at == now + timedelta(hours=5)
    assert rows[f"src{sid}-urn:ngsi:RoadRestriction:2"].kind == CLOSURE
    in_force = {x["id"] for x in list_restrictions(db, None, at=now)["restrictions"]}
    assert r1.id in in_force and f"src{sid}-urn:ngsi:RoadRestriction:2" not in in_force
    orion.entities = orion.entities[1:2]  # the chain rule lifted: gone at the next poll
    assert "error" not in poll_source(db, sid, now + timedelta(minutes=1), _client)
    with db.session() as s:
        assert [r.id for r in s.query(RoadRestriction).filter(RoadRestriction.origin == "broker")] == [
            f"src{sid}-urn:ngsi:RoadRestriction:2"]
    orion.entities = []
    assert "error" not in poll_source(db, sid, now + timedelta(minutes=2), _client)
    with db.session() as s:
        assert s.query(RoadRestriction).filter(RoadRestriction.origin == "broker").count() == 0


def test_restricted_traffic_areas_and_notifications(db, people, orion):
    from sources.broker_ingest import map_entities, read_entities, store_items

    now = utcnow().replace(microsecond=0)
    with db.session() as s:
        ensure_builtin(s, DATA)
        src = Source(name="金沢 ブローカー", base_url=orion.url, entity_type="RestrictedTrafficArea",
                     organisation_id=people["kaga"].organisation_id, visibility="private")
        s.add(src)
        s.flush()
        area = _entity("rta-1", "", (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat(),
                       [[136.30, 36.30], [136.31, 36.30]], etype="RestrictedTrafficArea")
        entities, rejected = read_entities([area], None)
        items, _ = map_entities(entities, "auto", [])
        out = store_items(s, src, items, now, full=False)  # a notification: added, nothing else removed
        assert out["restrictions"] == 1 and not rejected
        sid = src.id
    rid = f"src{sid}-rta-1"
    with db.session() as s:
        r = s.get(RoadRestriction, rid)
        assert r.visibility == "private" and r.kind_text == "交通規制区域" and r.organisation_id == \
            people["kaga"].organisation_id
    assert rid in {x["id"] for x in list_restrictions(db, people["kaga"], at=now)["restrictions"]}
    assert rid not in {x["id"] for x in list_restrictions(db, people["hakui"], at=now)["restrictions"]}
    assert rid not in {x["id"] for x in list_restrictions(db, None, at=now)["restrictions"]}
