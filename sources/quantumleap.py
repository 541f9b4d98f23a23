"""QuantumLeap (FIWARE time series) client: the history of one entity attribute.

`GET /v2/entities/{id}/attrs/{attr}?fromDate=&toDate=&type=&limit=` answers
`{"id", "type", "attrName", "index": [...], "values": [...]}`. No data is a 404 in the spec and
`200 []` in the code; both mean "nothing". Index times without an offset are UTC.
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import orjson

from sources.ngsi import DEFAULT_TIMEOUT, NgsiError, parse_datetime, validate_service, validate_servicepath


class QuantumLeapClient:
    def __init__(self, base_url: str, service: str = "", servicepath: str = "/",
                 timeout=DEFAULT_TIMEOUT, client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.service = validate_service(service)
        self.servicepath = validate_servicepath(servicepath)
        self.http = client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def attr_history(self, entity_id: str, attr: str, since: datetime, until: datetime,
                     entity_type: str = "", limit: int = 10000) -> list[tuple[datetime, float]]:
        params = {"fromDate": _iso(since), "toDate": _iso(until), "limit": str(limit)}
        if entity_type:
            params["type"] = entity_type
        headers = {"Accept": "application/json", "Fiware-ServicePath": self.servicepath}
        if self.service:
            headers["Fiware-Service"] = self.service
        url = f"{self.base_url}/v2/entities/{quote(entity_id, safe='')}/attrs/{quote(attr, safe='')}"
        try:
            resp = self.http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise NgsiError(f"QuantumLeap: {type(exc).__name__}") from None
        if resp.status_code == 404:
            return []
        if resp.status_code >= 400:
            raise NgsiError(f"QuantumLeap: HTTP {resp.status_code}", status=resp.status_code)
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise NgsiError("QuantumLeap: invalid JSON") from None
        if body == [] or body is None:
            return []
        index = body.get("index") or []
        values = body.get("values", body.get("value")) or []
        out = []
        for ts, v in zip(index, values):
            dt = parse_datetime(ts)
            if dt is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            out.append((dt, float(v)))
        return out


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"
