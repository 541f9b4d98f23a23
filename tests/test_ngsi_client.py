"""The NGSI v2 client over real HTTP against a local server answering with Orion's own payloads."""
from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sources.ngsi import (
    Attr,
    NgsiClient,
    NgsiError,
    entity_location,
    geometry_of,
    observed_at,
    parse_datetime,
    parse_entity,
    validate_service,
    validate_servicepath,
)
from tests.fake_orion import as_orion_returns, fixture


def client_for(orion, **kw) -> NgsiClient:
    sleeps = []
    kw.setdefault("sleep", sleeps.append)
    c = NgsiClient(orion.url, **kw)
    c.sleeps = sleeps
    return c


def test_recorded_count_listing_parses(orion):
    rec = fixture("01-list-entities-normalized-count.json")
    orion.entities = rec["response"]["body"]
    with client_for(orion) as c:
        ents = c.list_entities()
    assert [e.id for e in ents] == ["E1", "E2", "E3", "E4"]
    assert ents[0].attrs["model"].value == "Klasse C" and ents[0].attrs["model"].type == "myString"
    req = orion.requests[0]
    assert req["query"]["options"] == "count" and req["query"]["limit"] == "1000"
    assert req["query"]["offset"] == "0" and req["query"]["orderBy"] == "id"


def test_paging_walks_every_page_with_the_total_count(orion):
    orion.entities = [{"id": f"S{i:04d}", "type": "WeatherObserved",
                       "snowHeight": {"type": "Number", "value": i % 90, "metadata": {}}}
                      for i in range(2350)]
    with client_for(orion) as c:
        ents = c.list_entities("WeatherObserved")
    assert len(ents) == 2350 and len({e.id for e in ents}) == 2350
    gets = [r for r in orion.requests if r["method"] == "GET"]
    assert [r["query"]["offset"] for r in gets] == ["0", "1000", "2000"]
    assert all(r["query"]["limit"] == "1000" and r["query"]["type"] == "WeatherObserved" for r in gets)


def test_small_page_size_and_exact_multiple_stop_on_total(orion):
    orion.entities = [{"id": f"E{i}", "type": "T"} for i in range(6)]
    with client_for(orion, page_size=3) as c:
        ents = c.list_entities()
    assert len(ents) == 6
    assert len([r for r in orion.requests if r["method"] == "GET"]) == 2  # total reached: no 3rd call


def test_keyvalues_datetime_listing(orion):
    rec = fixture("03-list-entities-keyvalues-q-datetime.json")
    orion.entities = [{"id": e["id"], "type": e["type"],
                       "birthdate": {"type": "DateTime", "value": e["birthdate"], "metadata": {}}}
                      for e in rec["response"]["body"]]
    with client_for(orion) as c:
        ents = c.list_entities(key_values=True, q="birthdate<2016-02-25T10:00:00.000Z")
    assert orion.requests[0]["query"]["options"] == "count,keyValues"
    assert {e.id for e in ents} == {"E22", "E23", "E24"}
    e24 = next(e for e in ents if e.id == "E24")
    assert e24.attrs["birthdate"].type == "DateTime"
    assert parse_datetime(e24.value("birthdate")) == datetime(2016, 2, 24, 10, tzinfo=UTC)


def test_offset_values_are_sent_url_encoded(orion):
    with client_for(orion) as c:
        c.list_entities("WeatherObserved", q="dateObserved>2026-01-10T09:00:00+09:00")
    raw = orion.requests[0]["raw_query"]
    assert "%2B09%3A00" in raw and "+09" not in raw
    assert orion.requests[0]["query"]["q"] == "dateObserved>2026-01-10T09:00:00+09:00"


def test_geo_json_and_null_location(orion):
    orion.entities = fixture("06-list-entities-geojson-and-null-location.json")["response"]["body"]
    with client_for(orion) as c:
        e1, e2 = c.list_entities()
    assert geometry_of(e1.attrs["loc"]) == {"type": "Point", "coordinates": [-4.0, 36.0]}
    assert entity_location(e1) == {"type": "Point", "coordinates": [-4.0, 36.0]}
    assert entity_location(e2) is None


def test_geo_point_is_lat_lon():
    assert geometry_of(Attr("36.56, 136.65", "geo:point")) == {"type": "Point", "coordinates": [136.65, 36.56]}
    # latitude 136 is impossible: a [lon, lat] mix-up in a geo:point, turned round
    assert geometry_of(Attr("136.65, 36.56", "geo:point")) == {"type": "Point", "coordinates": [136.65, 36.56]}
    assert geometry_of(Attr("200, 100", "geo:point")) is None
    kv = parse_entity({"id": "x", "type": "T", "location": "36.5,136.6"}, key_values=True)
    assert entity_location(kv)["coordinates"] == [136.6, 36.5]


def test_tenant_and_service_path_rules(orion):
    assert validate_service("kaga_city") == "kaga_city"
    for bad in ["kaga-city", "a.b", "石川", "a b"]:
        with pytest.raises(ValueError):
            validate_service(bad)
    assert validate_servicepath("/snow/kaga") == "/snow/kaga"
    for bad in ["snow", "/snow/", "/a-b", "/" + "/".join("x" * 11)]:
        with pytest.raises(ValueError):
            validate_servicepath(bad)
    with client_for(orion, service="kaga_city", servicepath="/snow") as c:
        c.list_entities()
    h = orion.requests[0]["headers"]
    assert h["fiware-service"] == "kaga_city" and h["fiware-servicepath"] == "/snow"


def test_orion_refusal_is_not_retried(orion):
    """A 400 (here Orion's own bad-tenant answer) would come back the same: no retry."""
    c = client_for(orion)
    c.service = "a.b"  # bypassing our validation to see Orion's answer
    with pytest.raises(NgsiError) as info:
        c.list_entities()
    assert info.value.status == 400 and info.value.error == "BadRequest" and not info.value.retryable
    assert "tenant" in str(info.value) and len(orion.requests) == 1 and c.sleeps == []


def test_limit_above_1000_is_orion_s_400(orion):
    c = client_for(orion)
    with pytest.raises(NgsiError) as info:
        c.page({}, 0, 1001)
    assert "Bad pagination limit" in str(info.value)


def test_5xx_and_invalid_json_are_retried_with_backoff(orion):
    orion.entities = [{"id": "E1", "type": "T"}]
    orion.fail_next(2, status=503)
    c = client_for(orion, backoff_s=0.5)
    assert [e.id for e in c.list_entities()] == ["E1"]
    assert c.sleeps == [0.5, 1.0]
    orion.fail_next(1, invalid_json=True)
    with pytest.raises(NgsiError, match="invalid JSON"):
        c.list_entities()


def test_gives_up_after_the_retries(orion):
    orion.fail_next(10, status=500)
    c = client_for(orion, retries=2, backoff_s=1)
    with pytest.raises(NgsiError) as info:
        c.list_entities()
    assert info.value.status == 500 and info.value.retryable and c.sleeps == [1, 2]


def test_connection_refused_and_timeout(orion, caplog):
    """Both read "could not connect" (no port scanning through messages); the log tells them apart."""
    port = orion.port
    orion.down()
    c = NgsiClient(f"http://127.0.0.1:{port}", retries=1, sleep=lambda s: None)
    with pytest.raises(NgsiError, match="could not connect") as refused:
        c.list_entities()
    assert refused.value.retryable and "ConnectError" in caplog.text
    orion.up()
    orion.delay_s = 0.5
    c = NgsiClient(orion.url, retries=0, timeout=httpx.Timeout(0.1))
    with pytest.raises(NgsiError, match="could not connect") as slow:
        c.list_entities()
    assert str(slow.value) == str(refused.value) and "ReadTimeout" in caplog.text


def test_connection_is_reused(orion):
    orion.entities = [{"id": f"E{i}", "type": "T"} for i in range(9)]
    with client_for(orion, page_size=3) as c:
        c.list_entities()
        c.list_entities()
        pool = c.http._transport._pool
        seen = len(pool.connections)
    assert seen == 1 and c.requests_made == 6


def test_pep_token_header(orion):
    with client_for(orion, token="s3cret") as c:
        c.list_entities()
    assert orion.requests[0]["headers"]["x-auth-token"] == "s3cret"


def test_subscription_create_reads_location(orion):
    rec = fixture("14-subscription-create.json")
    with client_for(orion) as c:
        sub = c.create_subscription("http://127.0.0.1:9/ngsi/notify/3?token=x", entity_type="WeatherObserved",
                                    attrs_format="keyValues")
    assert len(sub) == 24 and rec["response"]["headers"]["Location"] == f"/v2/subscriptions/{sub}"
    body = orion.subscriptions[0]
    assert body["notification"]["http"]["url"].endswith("/ngsi/notify/3?token=x")
    assert body["notification"]["attrsFormat"] == "keyValues"
    assert body["subject"]["entities"] == [{"idPattern": ".*", "type": "WeatherObserved"}]


def test_times_from_metadata_and_attributes():
    vehicle = parse_entity(as_orion_returns(fixture("Vehicle.example-normalized.json")))
    # speed carries its own timestamp metadata (naive in the example: UTC, as Orion reads it)
    assert observed_at(vehicle, "speed") == datetime(2018, 9, 27, 12, tzinfo=UTC)
    # the entity's observationDateTime (+05:30 in the example) for attributes without metadata
    assert observed_at(vehicle, "bearing") == datetime(2021, 3, 11, 10, 21, 2, tzinfo=UTC)
    weather = parse_entity(as_orion_returns(fixture("WeatherObserved.example-normalized.json")))
    assert observed_at(weather, "snowHeight") == datetime(2016, 11, 30, 7, tzinfo=UTC)
    ti = parse_entity({"id": "d", "type": "Device", "v": {"type": "Number", "value": 1, "metadata": {
        "TimeInstant": {"type": "DateTime", "value": "2026-01-10T09:00:00+09:00"}}}})
    assert observed_at(ti, "v") == datetime(2026, 1, 10, 0, tzinfo=UTC)
    assert observed_at(parse_entity({"id": "n", "type": "T", "x": {"value": 1}}), "x") is None
