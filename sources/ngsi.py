"""FIWARE Orion NGSI v2 client (httpx): list entities page by page, create subscriptions.

Orion's rules kept here:
- tenant (`Fiware-Service`) names are letters, digits and `_` (Orion answers 400 otherwise);
  service paths are `/` or `/a/b` with the same characters per level;
- paging: `limit` ≤ 1000, `offset`, `options=count` → `Fiware-Total-Count` header; a stable
  `orderBy` (entity id) so entities do not move between pages while we walk them;
- query values are sent URL-encoded (a `+09:00` offset would otherwise arrive as a space);
- timeouts on every request, one connection pool per client, retries with backoff on
  connection errors, timeouts, 429 and 5xx (4xx other than 429 are not retried: asking again
  would get the same answer).

Entities are parsed into `Entity` objects whatever the form (normalized or keyValues);
`entity_location` and `observed_at` understand `geo:json`, `geo:point`, `DateTime` and the
`observedAt` / `dateObserved` / `TimeInstant` conventions.
"""
from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson

from sources.errors import NgsiError  # noqa: F401  (callers name it sources.ngsi.NgsiError)

log = logging.getLogger(__name__)

MAX_PAGE = 1000  # Orion's MAX_PAGINATION_LIMIT
TENANT_RE = re.compile(r"^[A-Za-z0-9_]{1,50}$")
SERVICEPATH_LEVEL_RE = re.compile(r"^[A-Za-z0-9_]{1,50}$")
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


MAX_ANSWER_BYTES = 100 * 1024 * 1024  # one page of 1000 entities is far below this


def validate_service(service: str) -> str:
    """'' (default tenant) or letters/digits/underscore; Orion lower-cases tenants itself."""
    service = (service or "").strip()
    if service and not TENANT_RE.match(service):
        raise ValueError("bad tenant name: only letters, digits and underscore are allowed")
    return service


def validate_servicepath(path: str) -> str:
    path = (path or "/").strip() or "/"
    if path == "/":
        return path
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError("bad service path: must start with / and not end with /")
    levels = path[1:].split("/")
    if len(levels) > 10 or not all(SERVICEPATH_LEVEL_RE.match(p) for p in levels):
        raise ValueError("bad service path: up to 10 levels of letters, digits and underscore")
    return path


# ------------------------------------------------------------------ entities


@dataclass
class Attr:
    value: Any
    type: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class Entity:
    id: str
    type: str
    attrs: dict[str, Attr]

    def value(self, name: str, default=None):
        a = self.attrs.get(name)
        return default if a is None else a.value


def looks_normalized(raw: dict) -> bool:
    """True when every attribute is an object with a `value` or `type` (the normalized form)."""
    attrs = [v for k, v in raw.items() if k not in ("id", "type")]
    return bool(attrs) and all(isinstance(v, dict) and ("value" in v or ("type" in v and "metadata" in v))
                               for v in attrs)


def parse_entity(raw: dict, key_values: bool | None = None) -> Entity:
    """An entity in normalized or keyValues form (None: guess from its shape)."""
    if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw["id"], (str, int)) or raw["id"] == "":
        raise NgsiError("entity without id", error="no_id", retryable=False)
    if key_values is None:
        key_values = not looks_normalized(raw)
    attrs: dict[str, Attr] = {}
    for name, v in raw.items():
        if name in ("id", "type"):
            continue
        if key_values:
            attrs[name] = Attr(value=v, type=_guess_type(name, v))
        elif isinstance(v, dict):
            md = v.get("metadata") or {}
            if not isinstance(md, dict) or not all(isinstance(m, dict) for m in md.values()):
                raise NgsiError(f"{name}: metadata is not an object of objects", error="bad_metadata",
                                retryable=False)
            attrs[name] = Attr(value=v.get("value"), type=str(v.get("type") or ""), metadata=md)
        else:
            attrs[name] = Attr(value=v)
    return Entity(id=str(raw["id"]), type=str(raw.get("type") or "Thing"), attrs=attrs)


def _guess_type(name: str, value) -> str:
    if name == "location" and isinstance(value, dict) and "type" in value and "coordinates" in value:
        return "geo:json"
    if name == "location" and isinstance(value, str) and "," in value:
        return "geo:point"
    if isinstance(value, str) and _looks_datetime(value):
        return "DateTime"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "Number"
    return ""


_DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _looks_datetime(text: str) -> bool:
    return bool(_DT_RE.match(text))


def parse_datetime(value) -> datetime | None:
    """An NGSI DateTime (ISO 8601; no offset = UTC, as Orion reads it) as an aware UTC datetime."""
    if not isinstance(value, str) or not _looks_datetime(value):
        return None
    from sources.observed import parse_time

    return parse_time(value)  # beyond what a datetime holds (0001-01-01T00:00:00+14:00): clamped


def _point(lon, lat) -> dict | None:
    """A Point; a pair that is only valid the other way round ([lat, lon] written as [lon, lat]) is turned."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if -180 <= lat <= 180 and -90 <= lon <= 90:
            lon, lat = lat, lon
        else:
            return None
    return {"type": "Point", "coordinates": [lon, lat]}


def geometry_of(attr: Attr) -> dict | None:
    """GeoJSON geometry of a geo:json / geo:point attribute (or a keyValues location); None if absent."""
    v = attr.value
    if v is None:
        return None
    if isinstance(v, str) and (attr.type == "geo:point" or "," in v):
        parts = v.split(",")
        return _point(parts[1], parts[0]) if len(parts) == 2 else None  # geo:point is "lat, lon"
    if isinstance(v, dict) and v.get("type") and "coordinates" in v:
        if v["type"] == "Point":
            coords = v["coordinates"]
            return _point(coords[0], coords[1]) if isinstance(coords, list) and len(coords) >= 2 else None
        return {"type": v["type"], "coordinates": v["coordinates"]}
    return None


def entity_location(entity: Entity) -> dict | None:
    """The entity's geometry: `location` first, else the first geo:json / geo:point attribute."""
    attr = entity.attrs.get("location")
    if attr is not None:
        geom = geometry_of(attr)
        if geom is not None:
            return geom
    for a in entity.attrs.values():
        if a.type in ("geo:json", "geo:point"):
            geom = geometry_of(a)
            if geom is not None:
                return geom
    return None


TIME_ATTRS = ("observedAt", "dateObserved", "observationDateTime", "TimeInstant", "timestamp", "dateModified")
TIME_METADATA = ("observedAt", "dateObserved", "TimeInstant", "timestamp", "dateModified")


def observed_at(entity: Entity, attr: str | None = None) -> datetime | None:
    """When a value was observed: the attribute's own metadata, else the entity's time attributes."""
    if attr and attr in entity.attrs:
        md = entity.attrs[attr].metadata or {}
        for key in TIME_METADATA:
            m = md.get(key)
            dt = parse_datetime(m.get("value") if isinstance(m, dict) else m)
            if dt:
                return dt
    for key in TIME_ATTRS:
        if key in entity.attrs:
            dt = parse_datetime(entity.attrs[key].value)
            if dt:
                return dt
    return None


def number(value) -> float | None:
    """A finite number, or None ("1e999", "Infinity", NaN and huge integers are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, str):
            v = float(value.strip())
        else:
            v = float(value) if isinstance(value, (int, float)) else None
    except (ValueError, OverflowError):
        return None
    return v if v is not None and math.isfinite(v) else None


# ------------------------------------------------------------------ client


@dataclass
class Page:
    entities: list[dict]
    total: int | None


class NgsiClient:
    """One broker (base URL + tenant + service path + optional PEP token).

    `sleep` is injectable so tests drive the backoff without waiting.
    """

    def __init__(self, base_url: str, service: str = "", servicepath: str = "/", token: str = "",
                 token_header: str = "X-Auth-Token", timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 retries: int = 3, backoff_s: float = 0.5, client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep, page_size: int = MAX_PAGE, guarded: bool = False):
        self.base_url = base_url.rstrip("/")
        self.service = validate_service(service)
        self.servicepath = validate_servicepath(servicepath)
        self.token = token
        self.token_header = token_header or "X-Auth-Token"
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.page_size = max(1, min(page_size, MAX_PAGE))
        self._own_client = client is None
        # guarded: a staff-registered broker, held to sources.url_guard (the operator's ORION_URL is not)
        limits = httpx.Limits(max_keepalive_connections=4)
        if client is None and guarded:
            from sources.url_guard import guarded_client

            client = guarded_client(timeout=timeout, limits=limits)
        self.http = client or httpx.Client(timeout=timeout, limits=limits)
        self.requests_made = 0
        self.rejected: list[dict] = []  # entities of the last listing that could not be read

    def close(self) -> None:
        if self._own_client:
            self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def headers(self, json_body: bool = False) -> dict[str, str]:
        h = {"Accept": "application/json", "Fiware-ServicePath": self.servicepath}
        if self.service:
            h["Fiware-Service"] = self.service
        if self.token:
            h[self.token_header] = self.token
        if json_body:
            h["Content-Type"] = "application/json"
        return h

    def _request(self, method: str, path: str, params: dict | None = None, body: Any = None) -> httpx.Response:
        """The answer, read with a size limit. Connection failures of any kind read the same to
        staff ("could not connect"); the log keeps the detail."""
        from sources.url_guard import could_not_connect, read_limited

        url = self.base_url + path
        content = orjson.dumps(body) if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                self.requests_made += 1
                req = self.http.build_request(method, url, params=params, content=content,
                                              headers=self.headers(json_body=body is not None))
                resp = self.http.send(req, stream=True)
                try:
                    resp._content = read_limited(resp, MAX_ANSWER_BYTES)  # what resp.read() would set
                finally:
                    resp.close()
            except httpx.TransportError as exc:  # timeouts included
                log.warning("broker %s: %s: %s", self.base_url, type(exc).__name__, exc)
                err = NgsiError(could_not_connect(), retryable=True)
            else:
                if resp.status_code < 400:
                    return resp
                err = _error_of(resp)
            if not err.retryable or attempt > self.retries:
                raise err
            delay = self.backoff_s * (2 ** (attempt - 1))
            log.info("broker %s: %s; retry %d in %.1fs", self.base_url, err, attempt, delay)
            self.sleep(delay)

    def page(self, params: dict, offset: int, limit: int) -> Page:
        q = dict(params)
        q.update(limit=str(limit), offset=str(offset))
        resp = self._request("GET", "/v2/entities", q)
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise NgsiError("invalid JSON from the broker", status=resp.status_code) from None
        if not isinstance(body, list):
            raise NgsiError("the broker did not answer a list of entities", status=resp.status_code)
        total = resp.headers.get("Fiware-Total-Count")
        try:
            total_n = int(total) if total is not None else None
        except ValueError:
            total_n = None
        return Page(body, total_n)

    def list_entities(self, entity_type: str | None = None, q: str = "", georel: str = "", geometry: str = "",
                      coords: str = "", attrs: list[str] | None = None, key_values: bool = False,
                      id_pattern: str = "", max_entities: int = 1_000_000) -> list[Entity]:
        """Every matching entity, walking all pages. Raises NgsiError; never returns a partial list."""
        return list(self.iter_entities(entity_type, q, georel, geometry, coords, attrs, key_values,
                                       id_pattern, max_entities))

    def iter_entities(self, entity_type=None, q="", georel="", geometry="", coords="", attrs=None,
                      key_values=False, id_pattern="", max_entities=1_000_000) -> Iterator[Entity]:
        params: dict[str, str] = {"options": "count,keyValues" if key_values else "count", "orderBy": "id"}
        if entity_type:
            params["type"] = entity_type
        if id_pattern:
            params["idPattern"] = id_pattern
        if q:
            params["q"] = q
        if georel:
            params.update(georel=georel, geometry=geometry, coords=coords)
        if attrs:
            params["attrs"] = ",".join(attrs)
        offset, seen = 0, 0
        self.rejected = []
        while True:
            page = self.page(params, offset, self.page_size)
            for raw in page.entities:
                try:
                    yield parse_entity(raw, key_values=key_values)
                except NgsiError as exc:  # one broken entity never costs the others
                    self.rejected.append({"entity_id": str(raw.get("id") or "" if isinstance(raw, dict) else "")[:200],
                                          "reason": exc.error or "bad_entity"})
            seen += len(page.entities)
            offset += len(page.entities)
            if not page.entities or len(page.entities) < self.page_size:
                break
            if page.total is not None and offset >= page.total:
                break
            if seen >= max_entities:
                break

    def create_subscription(self, notify_url: str, entity_type: str | None = None, attrs: list[str] | None = None,
                            attrs_format: str = "normalized", description: str = "",
                            throttling: int | None = None, headers: dict | None = None) -> str:
        """POST /v2/subscriptions; returns the new id (the last segment of Location)."""
        entity = {"idPattern": ".*"}
        if entity_type:
            entity["type"] = entity_type
        http: dict = {"url": notify_url}
        notification: dict = {"attrsFormat": attrs_format}
        if headers:
            notification["httpCustom"] = {"url": notify_url, "headers": headers}
        else:
            notification["http"] = http
        if attrs:
            notification["attrs"] = attrs
        body: dict = {"subject": {"entities": [entity]}, "notification": notification}
        if description:
            body["description"] = description
        if throttling:
            body["throttling"] = throttling
        resp = self._request("POST", "/v2/subscriptions", body=body)
        location = resp.headers.get("Location", "")
        sub_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not sub_id:
            raise NgsiError("subscription created without a Location header", status=resp.status_code,
                            retryable=False)
        return sub_id

    def delete_subscription(self, sub_id: str) -> None:
        self._request("DELETE", f"/v2/subscriptions/{sub_id}")


def _error_of(resp: httpx.Response) -> NgsiError:
    code, desc = "", ""
    try:
        body = orjson.loads(resp.content)
        if isinstance(body, dict):
            code, desc = str(body.get("error", "")), str(body.get("description", ""))
    except orjson.JSONDecodeError:
        pass
    retryable = resp.status_code == 429 or resp.status_code >= 500
    msg = f"HTTP {resp.status_code}" + (f" {code}: {desc}" if code or desc else "")
    return NgsiError(msg, status=resp.status_code, error=code, retryable=retryable)
