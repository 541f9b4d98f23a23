"""A small local HTTP server that answers like Orion (NGSI v2), built from the recorded payloads in
tests/fixtures/ngsi. Tests (and bench/ngsi_poll.py) run the real client over real HTTP against it.

It pages (`limit`/`offset`, `limit` > 1000 → Orion's 400), sends `Fiware-Total-Count` for
`options=count`, renders normalized or keyValues, rejects bad tenant names like Orion (e05), creates
subscriptions like Orion (201 + Location, e14), and can be told to fail: `fail_next(n, status)`,
`fail_next(n, invalid_json=True)`, `delay_s`, or `down()` (connection refused).
"""
from __future__ import annotations

import copy
import re
import threading
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import orjson

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ngsi"


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _utc_ms(value: str) -> str:
    """Orion re-renders DateTime values as YYYY-MM-DDThh:mm:ss.sssZ in UTC."""
    from sources.ngsi import parse_datetime

    dt = parse_datetime(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z" if dt else value


def as_orion_returns(entity: dict) -> dict:
    """A Smart Data Model example (what a client sends) as Orion returns it: metadata {} on every
    attribute and in metadata, DateTime values in UTC with milliseconds."""
    out = {"id": entity["id"], "type": entity["type"]}
    for name, attr in entity.items():
        if name in ("id", "type"):
            continue
        a = copy.deepcopy(attr)
        if a.get("type") == "DateTime":
            a["value"] = _utc_ms(a["value"])
        md = a.get("metadata") or {}
        for m in md.values():
            if isinstance(m, dict) and m.get("type") == "DateTime":
                m["value"] = _utc_ms(m["value"])
        a["metadata"] = md
        out[name] = a
    return out


def key_values(entity: dict) -> dict:
    return {k: (v if k in ("id", "type") else v.get("value")) for k, v in entity.items()}


class FakeOrion:
    def __init__(self, entities: list[dict] | None = None):
        self.entities: list[dict] = list(entities or [])
        self.requests: list[dict] = []
        self.subscriptions: list[dict] = []
        self.delay_s = 0.0
        self._faults: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ---- control
    def fail_next(self, n: int = 1, status: int = 500, invalid_json: bool = False) -> None:
        with self._lock:
            self._faults.extend([{"status": status, "invalid_json": invalid_json}] * n)

    def start(self, port: int = 0) -> FakeOrion:
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda *a: None  # a client that hung up (timeout tests) is fine
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        self.start(self.port)

    stop = down

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _take_fault(self):
        with self._lock:
            return self._faults.pop(0) if self._faults else None


def _handler(orion: FakeOrion):
    tenant_re = re.compile(r"^[A-Za-z0-9_]*$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body, headers: dict | None = None, raw: bytes | None = None):
            data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
            self.send_response(status)
            self.send_header("Fiware-Correlator", "c1a0b2d4-af9e-11ee-8b0e-0242ac120003")
            if data:
                self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body=None):
            u = urlparse(self.path)
            orion.requests.append({"method": self.command, "path": u.path, "raw_query": u.query,
                                   "query": {k: v[0] for k, v in parse_qs(u.query).items()},
                                   "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})

        def _common(self) -> bool:
            if orion.delay_s:
                import time

                time.sleep(orion.delay_s)
            fault = orion._take_fault()
            if fault:
                if fault["invalid_json"]:
                    self._send(200, None, raw=b'[{"id": "E1", "type": ')
                else:
                    self._send(fault["status"], {"error": "InternalServerError", "description": "injected"})
                return False
            tenant = self.headers.get("Fiware-Service", "")
            if not tenant_re.match(tenant):
                err = fixture("e05-400-bad-tenant-name.json")["response"]
                self._send(err["status"], err["body"])
                return False
            return True

        def do_GET(self):
            self._record()
            if not self._common():
                return
            u = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            if u.path != "/v2/entities":
                err = fixture("e01-404-entity-not-found.json")["response"]
                return self._send(err["status"], err["body"])
            limit_text = q.get("limit", "20")
            if not limit_text.isdigit() or int(limit_text) > 1000 or int(limit_text) == 0:
                err = fixture("e08-400-bad-pagination-limit.json")["response"]
                body = dict(err["body"])
                body["description"] = f"Bad pagination limit: /{limit_text}/ [max: 1000]"
                return self._send(400, body)
            limit, offset = int(limit_text), int(q.get("offset", "0"))
            options = set(q.get("options", "").split(","))
            ents = [e for e in orion.entities if not q.get("type") or e["type"] == q["type"]]
            if q.get("orderBy") == "id":
                ents = sorted(ents, key=lambda e: e["id"])
            page = ents[offset:offset + limit]
            if "keyValues" in options:
                page = [key_values(e) for e in page]
            headers = {"Fiware-Total-Count": str(len(ents))} if "count" in options else {}
            self._send(200, page, headers)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = orjson.loads(self.rfile.read(length)) if length else None
            self._record(body)
            if not self._common():
                return
            if urlparse(self.path).path == "/v2/subscriptions":
                orion.subscriptions.append(body)
                rec = fixture("14-subscription-create.json")["response"]  # 201, id only in Location
                location = rec["headers"]["Location"]
                if len(orion.subscriptions) > 1:
                    location = location[:-2] + f"{len(orion.subscriptions):02x}"
                return self._send(rec["status"], None, {"Location": location})
            self._send(404, {"error": "NotFound", "description": "no such path"})

        def do_DELETE(self):
            self._record()
            if not self._common():
                return
            self._send(204, None)

    return Handler


def demo_entities(now=None) -> list[dict]:
    """Snow-depth WeatherObserved at the demo sites and two snowplow Vehicles, as Orion returns them
    (for trying ORION_URL by hand: `python -m tests.fake_orion --port 1026`)."""
    import math
    from datetime import datetime

    from sources.demo_snow import load_sensors

    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    root = Path(__file__).resolve().parents[1] / "data"
    weather = fixture("WeatherObserved.example-normalized.json")
    out = []
    for i, site in enumerate(load_sensors(root)):
        e = as_orion_returns(weather)
        e["id"] = f"WeatherObserved:{site.id.replace('snow-', '')}"
        e["name"] = {"type": "Text", "value": site.name_ja, "metadata": {}}
        e["location"]["value"] = {"type": "Point", "coordinates": [site.lon, site.lat]}
        e["snowHeight"]["value"] = round(20 * site.factor + 10 * math.sin(now.timestamp() / 600 + i), 1)
        e["dateObserved"]["value"] = stamp
        del e["address"]
        out.append(e)
    vehicle = fixture("Vehicle.example-normalized.json")
    for k, (lon, lat) in enumerate([(136.768, 36.893), (136.312, 36.303)]):
        e = as_orion_returns(vehicle)
        e["id"] = f"Vehicle:snowplow-{k + 1}"
        e["name"] = {"type": "Text", "value": f"除雪車 {k + 1}", "metadata": {}}
        step = (now.timestamp() / 30) % 20
        e["location"]["value"] = {"type": "Point", "coordinates": [round(lon + 0.002 * step, 6), lat]}
        e["location"]["metadata"] = {"timestamp": {"type": "DateTime", "value": stamp}}
        e["observationDateTime"]["value"] = stamp
        e["vehicleType"]["value"] = "snowplow"
        out.append(e)
    return out


def main() -> None:
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    ap = argparse.ArgumentParser(description="a local Orion-like broker with Ishikawa demo entities")
    ap.add_argument("--port", type=int, default=1026)
    args = ap.parse_args()
    orion = FakeOrion(demo_entities()).start(args.port)
    print(f"fake Orion on {orion.url} — try: ORION_URL={orion.url} python app.py", flush=True)
    while True:
        time.sleep(10)
        orion.entities = demo_entities()


if __name__ == "__main__":
    main()
