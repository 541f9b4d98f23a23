"""Virus scanning of uploads by ClamAV (clamd over INSTREAM), with a real clamd.

The test starts its own Debian `clamd` on loopback (TCP and a unix socket) with a one-line signature
database for the EICAR test file (no signature download), and stops it at the end. Without the
clamd binary the tests that need it are skipped; the "clamd unreachable" tests run everywhere.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from layers.manage import Refused, UploadOptions, read_file
from sources.virus_scan import ScannerUnavailable, VirusFound, scan
from store.models import Feature, Layer
from tests.staff_helpers import BOM_CSV, upload

# The EICAR anti-virus test file (harmless, detected by every scanner), put together at run time so
# that no scanner on a developer's machine flags this source file itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Ishikawa-Test-EICAR"
FOUND_AS = SIGNATURE + ".UNOFFICIAL"  # clamd's name for a signature from a local .hdb file
STREAM_MAX = 1024 * 1024  # clamd's StreamMaxLength in the test configuration


def _clamd_binary() -> str | None:
    return shutil.which("clamd") or next((p for p in ("/usr/sbin/clamd", "/usr/bin/clamd") if os.access(p, os.X_OK)),
                                         None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pong(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(path)
            s.sendall(b"nPING\n")
            return s.recv(16).strip() == b"PONG"
    except OSError:
        return False


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    binary = _clamd_binary()
    if binary is None:
        pytest.skip("clamd is not installed (Debian's clamav-daemon; scripts/test.sh installs it)")
    home = tmp_path_factory.mktemp("clamd")
    (home / "db").mkdir()
    (home / "db" / "test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n")
    port, sock = _free_port(), str(home / "clamd.sock")
    (home / "clamd.conf").write_text("\n".join([
        "Foreground yes", f"TCPSocket {port}", "TCPAddr 127.0.0.1", f"LocalSocket {sock}",
        f"DatabaseDirectory {home / 'db'}", f"TemporaryDirectory {home}", f"LogFile {home / 'clamd.log'}",
        f"StreamMaxLength {STREAM_MAX // 1024}K", "MaxThreads 4", "SelfCheck 3600", ""]))
    log = open(home / "out.log", "wb")
    proc = subprocess.Popen([binary, f"--config-file={home / 'clamd.conf'}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _pong(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("clamd did not start: " + (home / "out.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield SimpleNamespace(tcp=f"tcp://127.0.0.1:{port}", unix=f"unix://{sock}", port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


# --- the scanner itself ---

@pytest.mark.parametrize("how", ["tcp", "unix"])
def test_clean_file_passes_and_eicar_is_found(clamd, how):
    url = getattr(clamd, how)
    assert scan(BOM_CSV.read_bytes(), url) is None
    with pytest.raises(VirusFound) as exc:
        scan(EICAR, url, name="eicar.csv")
    assert (exc.value.status, exc.value.code, exc.value.signature) == (422, "virus_found", FOUND_AS)
    assert exc.value.details == [{"signature": FOUND_AS}]


def test_a_virus_inside_a_zip_is_found(clamd):
    """KMZ, zipped Shapefiles: clamd unpacks archives and scans what is inside."""
    with pytest.raises(VirusFound):
        scan(_zip("doc.kml", EICAR), clamd.tcp)


def test_settings_object_or_url(clamd):
    with pytest.raises(VirusFound):
        scan(EICAR, SimpleNamespace(clamd_url=clamd.unix))
    scan(EICAR, SimpleNamespace(clamd_url=""))  # not configured: nothing to do
    scan(EICAR, None)


def test_a_stream_over_clamds_limit_is_503_not_a_pass(clamd, caplog):
    for size in (STREAM_MAX + 1024, 40 * STREAM_MAX):  # refused with a reply, or the connection closed
        with pytest.raises(ScannerUnavailable) as exc:
            scan(b"a,b\n" * (size // 4), clamd.tcp, name="big.csv")
        assert exc.value.status == 503
    assert "StreamMaxLength" in caplog.text


def test_clamd_unreachable_is_503(tmp_path, caplog):
    for url in (f"tcp://127.0.0.1:{_free_port()}", f"unix://{tmp_path / 'none.sock'}", "http://127.0.0.1:3310",
                "clamd.example", "tcp://127.0.0.1:notaport"):
        with pytest.raises(ScannerUnavailable) as exc:
            scan(b"a,b\n1,2\n", url, name="x.csv")
        assert (exc.value.status, exc.value.code) == (503, "virus_scan_unavailable"), url
    assert "virus scan impossible" in caplog.text


def test_read_file_scans_before_any_reader(clamd, monkeypatch):
    called = []
    monkeypatch.setattr("layers.manage.read_upload", lambda *a, **k: called.append(a))
    with pytest.raises(Refused) as exc:
        read_file(EICAR, "eicar.csv", UploadOptions(), 10 ** 6, clamd.tcp)
    assert (exc.value.status, exc.value.code, exc.value.fmt) == (422, "virus_found", {"signature": FOUND_AS})
    with pytest.raises(Refused) as exc:
        read_file(b"a,b\n", "x.csv", UploadOptions(), 10 ** 6, f"tcp://127.0.0.1:{_free_port()}")
    assert exc.value.status == 503
    assert called == []


# --- through the API and the staff pages ---

def _counts(db):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Layer)), s.scalar(select(func.count()).select_from(Feature))


@pytest.fixture
def configured(dash_app, monkeypatch):
    """Sets CLAMD_URL on the running app for one test."""
    server = dash_app.server

    def set_url(url: str):
        monkeypatch.setitem(server.extensions, "ishikawa.settings",
                            server.extensions["ishikawa.settings"].with_(clamd_url=url))
    return set_url


def test_api_upload_with_a_virus_is_422_naming_it_and_stores_nothing(client, app_people, app_db, clamd, configured,
                                                                     caplog):
    configured(clamd.tcp)
    before = _counts(app_db)
    resp = upload(client, app_people["kaga"], data=EICAR, filename="points.csv")
    assert resp.status_code == 422, resp.json
    assert resp.json["error"] == "virus_found" and resp.json["details"] == [{"signature": FOUND_AS}]
    assert FOUND_AS in resp.json["message"] and "ウイルス" in resp.json["message"]
    en = client.post("/api/layers?lang=en", data={"file": (io.BytesIO(_zip("doc.kml", EICAR)), "map.kmz"),
                                                  "name": "x", "visibility": "public", "group": "bousai"},
                     headers=app_people["kaga"].auth)
    assert en.status_code == 422 and en.json["message"].startswith("A virus was found")
    assert FOUND_AS in en.json["message"]
    assert _counts(app_db) == before
    assert f"virus {FOUND_AS} found" in caplog.text and app_people["kaga"].email in caplog.text
    # a clean file still goes through the scan and is published
    ok = upload(client, app_people["kaga"], BOM_CSV)
    assert ok.status_code == 201 and ok.json["feature_count"] == 251


def test_api_replace_with_a_virus_keeps_the_data(client, app_people, app_db, clamd, configured):
    configured(clamd.unix)
    layer_id = upload(client, app_people["kaga"], BOM_CSV).json["id"]
    before = _counts(app_db)
    resp = client.put(f"/api/layers/{layer_id}/data", headers=app_people["kaga"].auth,
                      content_type="multipart/form-data", data={"file": (io.BytesIO(EICAR), "new.csv")})
    assert resp.status_code == 422 and resp.json["error"] == "virus_found"
    assert _counts(app_db) == before
    assert client.get(f"/api/layers/{layer_id}/features").json["features"][0]["properties"]["名称"]


def test_api_upload_while_clamd_is_unreachable_is_503(client, app_people, app_db, configured):
    configured(f"tcp://127.0.0.1:{_free_port()}")
    before = _counts(app_db)
    resp = upload(client, app_people["kaga"], BOM_CSV)
    assert resp.status_code == 503 and resp.json["error"] == "virus_scan_unavailable" and resp.json["message"]
    configured("")
    layer_id = upload(client, app_people["kaga"], BOM_CSV).json["id"]
    configured(f"unix:///nonexistent/{_free_port()}.ctl")
    resp = client.put(f"/api/layers/{layer_id}/data", headers=app_people["kaga"].auth,
                      content_type="multipart/form-data", data={"file": (io.BytesIO(BOM_CSV.read_bytes()), "new.csv")})
    assert resp.status_code == 503
    assert _counts(app_db)[0] == before[0] + 1  # only the upload made while no scanner was configured


def _logged_in(dash_app, person):
    from tests.staff_helpers import login

    client = login(dash_app.server.test_client(), person.email)
    with client.session_transaction() as sess:
        csrf = sess["_csrf"]
    return client, csrf


def _staged_files(dash_app) -> set[str]:
    d = Path(dash_app.server.extensions["ishikawa.settings"].instance_path) / "uploads"
    return {p.name for p in d.glob("*")} if d.exists() else set()


def _stage(client, csrf, data: bytes, name: str):
    return client.post("/staff/upload/file", headers={"X-CSRF-Token": csrf}, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name)})


def test_staff_page_upload_with_a_virus_is_refused_before_staging(dash_app, app_people, clamd, configured):
    client, csrf = _logged_in(dash_app, app_people["hakui"])
    configured(clamd.tcp)
    before = _staged_files(dash_app)
    resp = _stage(client, csrf, EICAR, "eicar.csv")
    assert resp.status_code == 422 and resp.json["error"] == "virus_found" and FOUND_AS in resp.json["message"]
    assert _staged_files(dash_app) == before  # nothing kept on disk
    assert _stage(client, csrf, BOM_CSV.read_bytes(), "ok.csv").status_code == 200
    configured(f"tcp://127.0.0.1:{_free_port()}")
    assert _stage(client, csrf, BOM_CSV.read_bytes(), "ok.csv").status_code == 503


def _callback(client, dash_app, output: str, values: dict) -> str:
    """POST a Dash callback whose outputs include `output` with the given input/state values."""
    client.get("/")
    key = next(k for k in dash_app.callback_map if output in k)
    spec = dash_app.callback_map[key]

    def entry(i):
        return {"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}

    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    payload = {"output": key, "outputs": outs if key.startswith("..") else outs[0],
               "inputs": [entry(i) for i in spec["inputs"]], "state": [entry(i) for i in spec.get("state", [])],
               "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def test_staff_pages_scan_the_staged_file_again(dash_app, app_people, app_db, clamd, configured):
    """A file staged before the scanner (or a signature) came is scanned on preview, publish and replace."""
    import json

    client, csrf = _logged_in(dash_app, app_people["hakui"])

    def stage_unscanned() -> str:
        configured("")
        token = _stage(client, csrf, EICAR, "eicar.csv").json["token"]
        configured(clamd.tcp)
        return token

    before = _counts(app_db)
    staged = _staged_files(dash_app)
    token = stage_unscanned()
    body = _callback(client, dash_app, "staff-upload-summary.children",
                     {"staff-upload-token.data": {"token": token}, "staff-upload-crs.value": "auto",
                      "staff-upload-lang.data": "en"})
    assert "A virus was found" in body and FOUND_AS in body
    assert _staged_files(dash_app) == staged  # the infected file is not kept
    token = stage_unscanned()
    body = _callback(client, dash_app, "staff-upload-result.children",
                     {"staff-upload-publish.n_clicks": 1, "staff-upload-token.data": {"token": token},
                      "staff-upload-name.value": "x", "staff-upload-group.value": "bousai",
                      "staff-upload-visibility.value": "public", "staff-upload-lang.data": "ja"})
    assert "ウイルス" in body and FOUND_AS in body
    assert _counts(app_db) == before and _staged_files(dash_app) == staged
    # /staff/layers: replace a layer's data with the staged file
    configured("")
    layer_id = upload(client, app_people["hakui"], BOM_CSV).json["id"]
    token = stage_unscanned()
    configured(clamd.unix)
    before = _counts(app_db)
    body = _callback(client, dash_app, "staff-layers-replace-result.children",
                     {"staff-layers-replace.n_clicks": 1, "staff-layers-id.data": layer_id,
                      "staff-layers-token.data": {"token": token}, "staff-layers-lang.data": "en"})
    assert "A virus was found" in body and FOUND_AS in body, json.loads(body)
    assert _counts(app_db) == before and _staged_files(dash_app) == staged



def test_openapi_documents_the_scan_answers(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path, method in (("/api/layers", "post"), ("/api/layers/{layer_id}/data", "put")):
        responses = paths[path][method]["responses"]
        assert "virus_found" in responses["422"]["description"] and "503" in responses


def test_healthz_tells_whether_the_scanner_answers(client, clamd, configured):
    assert "virus_scan" not in client.get("/healthz").json  # not configured
    configured(clamd.unix)
    assert client.get("/healthz").json["virus_scan"] == {"ok": True}
    configured(f"tcp://127.0.0.1:{_free_port()}")
    body = client.get("/healthz").json
    assert body["virus_scan"] == {"ok": False} and "127.0.0.1" not in str(body)  # no detail for the public


def test_a_ckan_download_with_a_virus_stores_nothing(db, clamd, loopback_sources, monkeypatch):
    """A file a CKAN source downloads goes through the same scan as an upload."""
    from sources.broker_poll import poll_source
    from store.brokers import Source
    from store.models import Layer
    from tests.test_ckan import T0, Ckan, _source

    monkeypatch.setenv("CLAMD_URL", clamd.tcp)
    ckan = Ckan()
    try:
        ckan.add_geojson()
        ckan.files["/download/ports.geojson"] = EICAR
        sid = _source(db, ckan)
        result = poll_source(db, sid, T0)
        assert "virus" in result["error"] and SIGNATURE in result["error"]
        with db.session() as s:
            assert s.get(Layer, "ckan-points") is None and s.get(Source, sid).failures == 1
        monkeypatch.setenv("CLAMD_URL", "tcp://127.0.0.1:1")  # configured but unreachable: nothing stored either
        assert "unavailable" in poll_source(db, sid, T0)["error"]
    finally:
        ckan.stop()
