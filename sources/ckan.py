"""CKAN sources: a dataset (and optionally one resource) pulled on a schedule into a point layer
(or, with target "restrictions", into the road restrictions: sources/restrictions.py).

`GET {site}/api/3/action/package_show?id=<dataset>` → `{"success": true, "result": {"resources": [...]}}`;
the resource (the given id, else the first GeoJSON, else the first CSV) is downloaded, hashed, and
when the hash differs from the last run, read (GeoJSON, or CSV with longitude/latitude columns)
and written to the source's layer in one transaction. Unchanged data is not rewritten.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import httpx
import orjson

from sources.ngsi import DEFAULT_TIMEOUT, NgsiError
from sources.readers import UploadError, read_upload
from store.usage import count_requests

log = logging.getLogger(__name__)
MAX_BYTES = 50 * 1024 * 1024


class CkanClient:
    def __init__(self, site: str, timeout=DEFAULT_TIMEOUT, client: httpx.Client | None = None, token: str = ""):
        self.site = site.rstrip("/")
        from sources.url_guard import guarded_client

        # the site and every resource URL it names are staff-given: held to sources.url_guard
        self.http = client or guarded_client(timeout=timeout, follow_redirects=True)
        self.token = token

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def headers_for(self, url: str) -> dict:
        """The API key goes only to the CKAN site's own origin (scheme, host and port): a resource
        a dataset names on another host never sees it (httpx drops it on redirects elsewhere)."""
        return {"Authorization": self.token} if self.token and same_origin(url, self.site) else {}

    def _get(self, url: str, params: dict | None = None, limit: int | None = None) -> tuple[httpx.Response, bytes]:
        from sources.url_guard import could_not_connect, read_limited

        limit = MAX_BYTES if limit is None else limit
        try:
            with self.http.stream("GET", url, params=params, headers=self.headers_for(url)) as resp:
                if resp.status_code >= 400:
                    raise NgsiError(f"CKAN: HTTP {resp.status_code}", status=resp.status_code,
                                    retryable=resp.status_code >= 500 or resp.status_code == 429)
                return resp, read_limited(resp, limit)
        except httpx.HTTPError as exc:
            log.warning("CKAN %s: %s: %s", url.split("?")[0], type(exc).__name__, exc)
            raise NgsiError(f"CKAN: {could_not_connect()}") from None

    def package_show(self, dataset_id: str) -> dict:
        _resp, content = self._get(f"{self.site}/api/3/action/package_show", {"id": dataset_id})
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise NgsiError("CKAN: invalid JSON") from None
        if not isinstance(body, dict) or not body.get("success") or not isinstance(body.get("result"), dict):
            raise NgsiError("CKAN: package_show did not succeed", retryable=False)
        return body["result"]

    def download(self, url: str) -> bytes:
        """The resource, streamed: an answer over MAX_BYTES stops being read at the limit."""
        return self._get(url)[1]


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    port = u.port or {"http": 80, "https": 443}.get(u.scheme)
    return u.scheme, u.host.lower(), port


def same_origin(url: str, site: str) -> bool:
    try:
        return _origin(url) == _origin(site)
    except (httpx.InvalidURL, ValueError, TypeError):
        return False


def pick_resource(package: dict, resource_id: str = "") -> dict | None:
    resources = [r for r in package.get("resources", []) if r.get("state", "active") == "active"]
    if resource_id:
        return next((r for r in resources if r.get("id") == resource_id), None)
    for fmt in ("GEOJSON", "CSV"):
        r = next((r for r in resources if str(r.get("format", "")).upper() == fmt), None)
        if r:
            return r
    return None


def read_resource(data: bytes, fmt: str, name: str = "") -> list[dict]:
    """GeoJSON or CSV-with-coordinates bytes → GeoJSON Features. ValueError when unreadable.

    Read by the staff upload reader (`sources.readers.read_upload`), so CKAN data is read exactly
    like an upload."""
    filename = name or ("data.geojson" if fmt.upper() in ("GEOJSON", "JSON") else "data.csv")
    try:
        return list(read_upload(data, filename).features)  # plain dicts (a CSV reads as PointRows)
    except UploadError as exc:
        raise ValueError(str(exc)) from None


def poll_ckan_source(db, source, now: datetime, client: CkanClient | None = None) -> dict:
    from i18n import t
    from sources.broker_ingest import role_layer
    from sources.source_schedule import record_failure
    from store.brokers import Source
    from store.features import replace_features
    from store.feeds import feed_ok

    own = client is None
    client = client or CkanClient(source.base_url, token=source.token)
    count_requests(db, client, source)  # usage per organisation: requests made to its CKAN sites
    try:
        package = client.package_show(source.ckan_dataset)
        res = pick_resource(package, source.ckan_resource)
        if res is None or not res.get("url"):
            return record_failure(db, source.id, now, "CKAN: no GeoJSON/CSV resource in the dataset")
        data = client.download(res["url"])
    except NgsiError as exc:
        return record_failure(db, source.id, now, str(exc))
    finally:
        if own:
            client.close()
    from sources.url_guard import settings_value
    from sources.virus_scan import ScannerUnavailable, VirusFound, scan

    try:  # a downloaded file is scanned like an upload (CLAMD_URL) before anything reads it
        scan(data, settings_value("clamd_url", "CLAMD_URL"), name=str(res.get("name") or res["url"]),
             who=f"CKAN source {source.id}")
    except VirusFound as exc:
        return record_failure(db, source.id, now, f"CKAN: virus {exc.signature} found in the resource; nothing stored")
    except ScannerUnavailable:
        return record_failure(db, source.id, now, "CKAN: the virus scanner is unavailable; nothing stored")
    digest = hashlib.sha256(data).hexdigest()
    if digest == source.content_hash:
        with db.session() as s:
            src = s.get(Source, source.id)
            src.failures, src.next_poll_at = 0, now + timedelta(seconds=src.interval_s)
            feed_ok(s, src.feed_name, interval_s=src.interval_s, at=now)
        return {"unchanged": True, "points": 0}
    try:
        feats = read_resource(data, str(res.get("format") or ""), str(res.get("name") or ""))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return record_failure(db, source.id, now, f"CKAN: {exc}")
    if source.target == "restrictions":  # 通行規制: the resource's rows become road restrictions
        from sources.restrictions import store_source_restrictions

        with db.session() as s:
            src = s.get(Source, source.id)
            result = store_source_restrictions(s, src, feats, "ckan", full=True)
            src.content_hash, src.failures = digest, 0
            src.next_poll_at = now + timedelta(seconds=src.interval_s)
            feed_ok(s, src.feed_name, interval_s=src.interval_s, at=now)
        return {"unchanged": False, "points": 0, "restrictions": result["stored"], "problems": result["problems"]}
    with db.session() as s:
        src = s.get(Source, source.id)
        layer = role_layer(s, src, "points")
        opts = dict(layer.options)
        opts["origin"] = "ckan"
        layer.options = opts
        layer.attribution_ja = t("source.attribution_ckan", "ja", name=src.name)
        layer.attribution_en = t("source.attribution_ckan", "en", name=src.name)
        layer.license = package.get("license_title") or layer.license
        if package.get("notes"):
            layer.description_ja = layer.description_en = str(package["notes"])[:2000]
        count = replace_features(s, layer, feats)
        src.content_hash, src.failures = digest, 0
        src.next_poll_at = now + timedelta(seconds=src.interval_s)
        feed_ok(s, src.feed_name, interval_s=src.interval_s, at=now)
    return {"unchanged": False, "points": count}
