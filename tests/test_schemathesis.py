"""Schemathesis over the whole of /api/openapi.json and over /ogcapi/api, against the embedded
default app served on a loopback port, with a staff token for the staff routes: every check
(server errors, undocumented statuses, response schemas and content types, schema-violating
requests accepted, methods, …), a few examples per operation and phase so the run stays short.
Settings: tests/schemathesis.toml."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.loopback import serve
from tests.staff_helpers import make_person

HERE = Path(__file__).resolve().parent
EXAMPLES = 5  # per operation and phase


class _Gazetteer(BaseHTTPRequestHandler):
    """A stand-in for GSI's address search (this machine is offline, where /api/geocode honestly
    answers 503): one place in GSI's answer shape for every query."""

    def do_GET(self):  # noqa: N802
        body = json.dumps([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.6256, 36.5947]},
                            "properties": {"addressCode": "", "title": "石川県金沢市広坂一丁目"}}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gazetteer(dash_app):
    import dataclasses

    from sources import geocode

    ext = dash_app.server.extensions
    saved_url, saved_settings = geocode.GEOCODE_URL, ext["ishikawa.settings"]
    ext["ishikawa.settings"] = dataclasses.replace(saved_settings, source_hosts="127.0.0.1")
    with serve(_Gazetteer) as url, pytest.MonkeyPatch.context() as mp:
        geocode.GEOCODE_URL = f"{url}/AddressSearch"
        mp.setenv("SOURCE_HOSTS", "127.0.0.1")
        yield
    geocode.GEOCODE_URL, ext["ishikawa.settings"] = saved_url, saved_settings


@pytest.fixture(scope="module")
def served(dash_app, gazetteer):
    with serve(dash_app.server) as url:
        yield url


def _st() -> list[str]:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


def _run(url: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [*_st(), "--config-file", str(HERE / "schemathesis.toml"), "run", url, "--checks", "all",
           "--max-examples", str(EXAMPLES), "--generation-deterministic", "--max-response-time", "60",
           "--request-timeout", "90", "--no-color", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _report(run: subprocess.CompletedProcess) -> str:
    return run.stdout[-12000:] + run.stderr[-3000:]


def test_api_contract_holds_under_schemathesis(served, app_db):
    person = make_person(app_db, "nomi")
    run = _run(f"{served}/api/openapi.json", "-H", f"Authorization: Bearer {person.token}")
    assert run.returncode == 0, _report(run)


def test_ogcapi_holds_under_schemathesis(served):
    run = _run(f"{served}/ogcapi/api")
    assert run.returncode == 0, _report(run)
