"""Staff-registered sources cannot make the server fetch metadata/link-local addresses (SSRF), and
SOURCE_HOSTS narrows them to a list (sources/url_guard.py)."""
from __future__ import annotations

import httpx
import pytest

from sources.ckan import CkanClient
from sources.ngsi import NgsiClient, NgsiError
from sources.source_config import clean_source
from sources.url_guard import UrlRefused, check_url


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:1026/v2",
                                 "http://0.0.0.0:1026", "http://224.0.0.1/", "ftp://orion.example/"])
def test_metadata_and_odd_addresses_are_refused(url, monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    with pytest.raises(UrlRefused):
        check_url(url)


def test_internal_brokers_stay_allowed_by_default(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    for url in ("http://127.0.0.1:1026", "http://10.20.1.5:1026/v2", "https://orion.kaga.example"):
        check_url(url)  # no exception: brokers often sit on a city's own network


def test_source_hosts_is_an_allow_list():
    allowed = ["orion.kaga.example", "10.20.0.0/16"]
    check_url("http://ORION.kaga.example:1026/v2", allowed)
    check_url("http://10.20.3.4:1026", allowed)
    for url in ("http://127.0.0.1:1026", "http://10.21.0.1", "http://other.example"):
        with pytest.raises(UrlRefused):
            check_url(url, allowed)


def test_registering_a_metadata_url_is_refused(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    _values, errors = clean_source({"name": "x", "base_url": "http://169.254.169.254"})
    assert any(e["field"] == "base_url" and "not allowed" in e["message"] for e in errors)
    _values, errors = clean_source({"name": "x", "base_url": "http://127.0.0.1:1026"})
    assert errors == []


def test_clients_check_every_request_before_connecting(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    client = NgsiClient("http://169.254.169.254:1026", retries=0, guarded=True)
    with pytest.raises(NgsiError) as exc:
        client.list_entities("WeatherObserved")
    assert not exc.value.retryable and "does not fetch" in str(exc.value)
    # a CKAN resource URL (named by the remote site) is checked the same way
    with pytest.raises(NgsiError):
        CkanClient("http://127.0.0.1:9").download("http://169.254.169.254/latest/meta-data/")


def test_redirects_are_checked_too(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)

    def handler(request):
        if request.url.host == "ckan.example":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/secret"})
        return httpx.Response(200, text="secret")

    from sources.url_guard import guard_hook

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True,
                        event_hooks={"request": [guard_hook]})
    with pytest.raises(NgsiError):
        CkanClient("http://ckan.example", client=http).download("http://ckan.example/r.csv")
