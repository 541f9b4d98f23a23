"""Cameras: fetching snapshots from a local HTTP server (good image, not an image, too big, slow,
server down, redirect to a forbidden address), re-encoding that drops metadata, retention, the jobs, and
private cameras through every route as another organisation and as anonymous."""
from __future__ import annotations

import io
import socket
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import orjson
import pytest
from PIL import Image

from sources import cameras as cf
from store.cameras import Camera, CameraImage, cameras_folder, is_stale
from store.db import utcnow
from tests.loopback import serve

SCRIPT = b"<script>alert('x')</script>"


def jpeg_with_script(size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()  # ImageDescription
    exif[0x013B] = "Artist " + SCRIPT.decode()
    buf = io.BytesIO()
    img.save(buf, "JPEG", comment=SCRIPT, exif=exif.tobytes())
    data = buf.getvalue()
    assert SCRIPT in data  # the test image really carries it
    return data


GOOD = jpeg_with_script((800, 600))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/good.jpg"):
            self._send(200, GOOD, "image/jpeg")
        elif self.path == "/text":
            self._send(200, b"<html>" + SCRIPT + b"</html>", "image/jpeg")  # claims to be an image
        elif self.path == "/big":  # no Content-Length: counted while it streams
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            chunk = b"\xff" * 65536
            try:
                for _ in range(200):  # 12.5 MB
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/slow":  # a byte now and then: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"\xff")
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    with serve(Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def default_rules(loopback_sources):
    """The test camera server is on 127.0.0.1: allowed as an operator allows an internal camera
    server (SOURCE_HOSTS); everything else internal stays refused."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- fetching and re-encoding ---

def test_good_image_is_fetched_and_reencoded_without_metadata(server):
    data = cf.fetch_bytes(f"{server}/good.jpg")
    assert data == GOOD
    jpeg, thumb, w, h = cf.reencode(data)
    assert (w, h) == (800, 600)
    for out in (jpeg, thumb):
        assert SCRIPT not in out and b"alert" not in out and b"Exif" not in out
        img = Image.open(io.BytesIO(out))
        assert img.format == "JPEG" and "comment" not in img.info and "exif" not in img.info
        assert not img.getexif()
    assert max(Image.open(io.BytesIO(thumb)).size) == cf.THUMB_PX


def test_not_an_image_too_big_server_down_and_forbidden_redirect(server):
    with pytest.raises(cf.CameraError, match="not an image"):
        cf.reencode(cf.fetch_bytes(f"{server}/text"))
    with pytest.raises(cf.CameraError, match="larger than"):
        cf.fetch_bytes(f"{server}/big")
    with pytest.raises(cf.CameraError):
        cf.fetch_bytes(f"http://127.0.0.1:{free_port()}/snap.jpg")
    started = time.monotonic()
    with pytest.raises(cf.CameraError, match="too long"):
        cf.fetch_bytes(f"{server}/slow", total_s=1.0)
    assert time.monotonic() - started < 2.5
    with pytest.raises(cf.CameraError, match="address refused"):
        cf.fetch_bytes(f"{server}/redirect")
    with pytest.raises(cf.CameraError, match="address refused"):
        cf.fetch_bytes("http://169.254.169.254/latest/meta-data/")
    # SOURCE_HOSTS narrows the rule: loopback is then refused too
    with pytest.raises(cf.CameraError, match="address refused"):
        cf.fetch_bytes(f"{server}/good.jpg", allowed=["cams.city.example"])
    # and without SOURCE_HOSTS, loopback (like every internal address) is refused by default
    with pytest.raises(cf.CameraError, match="address refused"):
        cf.fetch_bytes(f"{server}/good.jpg", allowed=[])


def _camera(db, people_org_id: int, cid: str, url: str, **kw) -> None:
    kw = {"lon": 136.78, "lat": 36.89, **kw}
    with db.session() as s:
        s.add(Camera(id=cid, organisation_id=people_org_id, name_ja=cid, url=url, **kw))


def test_job_stores_good_snapshots_records_errors_and_prunes(db, people, server, tmp_path):
    org = people["hakui"].organisation_id
    _camera(db, org, "good", f"{server}/good.jpg", interval_s=60)
    _camera(db, org, "text", f"{server}/text")
    _camera(db, org, "big", f"{server}/big")
    _camera(db, org, "down", f"http://127.0.0.1:{free_port()}/x.jpg")
    _camera(db, org, "meta", f"{server}/redirect")
    t0 = utcnow() - timedelta(hours=50)
    result = cf.tick(db, tmp_path, retention_hours=48, now=t0)
    assert result["due"] == 5 and result["stored"] == 1
    folder = cameras_folder(tmp_path)
    with db.session() as s:
        imgs = s.query(CameraImage).all()
        assert [i.camera_id for i in imgs] == ["good"]
        assert all(SCRIPT not in (folder / p).read_bytes() for i in imgs for p in (i.path, i.thumb_path))
        errors = {c.id: c.last_error for c in s.query(Camera)}
        assert errors["good"] == "" and "not an image" in errors["text"] and "larger" in errors["big"]
        assert errors["down"] and "refused" in errors["meta"]
        assert s.get(Camera, "text").last_ok_at is None
    first = [folder / imgs[0].path, folder / imgs[0].thumb_path]
    assert all(p.is_file() for p in first)
    # not due again before its interval
    assert cf.tick(db, tmp_path, retention_hours=48, now=t0 + timedelta(seconds=30))["due"] == 0
    # two days later: a new snapshot, and the 50-hour-old one is gone with its files
    result = cf.tick(db, tmp_path, retention_hours=48, now=utcnow())
    assert result["stored"] == 1 and result["pruned"] == 1
    assert not any(p.exists() for p in first)
    with db.session() as s:
        assert s.query(CameraImage).count() == 1
        assert not is_stale(s.get(Camera, "good")) and is_stale(s.get(Camera, "text"))


def test_demo_cameras_write_generated_labelled_images(db, people, tmp_path):
    assert cf.demo_tick(db, tmp_path) == len(cf.DEMO_CAMERAS)
    assert cf.demo_tick(db, tmp_path) == 0  # not due again within its interval
    with db.session() as s:
        cams = s.query(Camera).filter(Camera.demo.is_(True)).all()
        assert {c.id for c in cams} == {c[0] for c in cf.DEMO_CAMERAS}
        assert all("デモ" in c.name_ja and "demo" in c.name_en for c in cams)
        img = s.query(CameraImage).first()
    assert Image.open(cameras_folder(tmp_path) / img.path).size == (640, 360)


# --- the API and the map, as the owner, another organisation and anonymous ---

def post(client, person, body):
    return client.post("/api/cameras", data=orjson.dumps(body), headers=person.auth, content_type="application/json")


def wait_for_image(app_db, cid: str, timeout: float = 10.0) -> CameraImage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app_db.session() as s:
            img = s.query(CameraImage).filter_by(camera_id=cid).first()
            if img is not None:
                return img
        time.sleep(0.05)
    raise AssertionError("no first snapshot")


def test_validation_errors_name_each_field(client, who):
    r = post(client, who["kaga"], {"name": "", "lon": 500, "lat": "x", "url": "ftp://a", "interval_s": 10,
                                   "visibility": "secret", "extra": 1})
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "invalid_camera"
    assert {d["field"] for d in body["details"]} == {"name", "lon", "lat", "url", "interval_s", "visibility", "extra"}
    r = post(client, who["kaga"], {"name": "x", "lon": 136.7, "lat": 36.5, "url": "http://169.254.169.254/"})
    assert r.status_code == 400 and r.get_json()["details"][0]["field"] == "url"
    assert client.post("/api/cameras", data=b"{", headers=who["kaga"].auth).status_code == 400
    assert client.post("/api/cameras", data=b"{}").status_code == 401


def test_public_camera_first_snapshot_list_and_features(client, app_db, who, server):
    r = post(client, who["hakui"], {"name": "羽咋川テスト", "name_en": "Hakui river test", "lon": 136.781,
                                    "lat": 36.899, "url": f"{server}/good.jpg"})
    assert r.status_code == 201, r.get_json()
    cam = r.get_json()
    assert cam["interval_s"] == 300 and cam["visibility"] == "public" and cam["organisation"] == "hakui"
    assert cam["url"] == f"{server}/good.jpg"  # its owner sees the snapshot URL
    img = wait_for_image(app_db, cam["id"])  # fetched at registration, not at the next tick
    for headers in ({}, who["kaga"].auth):  # others see the camera, not its URL or its errors
        seen = client.get(f"/api/cameras/{cam['id']}", headers=headers).get_json()
        assert seen["name"] == "羽咋川テスト" and "url" not in seen and "last_error" not in seen
        assert server not in client.get("/api/cameras", headers=headers).get_data(as_text=True)
    assert cam["id"] in [c["id"] for c in client.get("/api/cameras").get_json()["cameras"]]
    latest = client.get(f"/api/cameras/{cam['id']}/latest.jpg")
    assert latest.status_code == 200 and latest.mimetype == "image/jpeg" and SCRIPT not in latest.data
    assert client.get(f"/api/cameras/{cam['id']}/thumb.jpg").status_code == 200
    imgs = client.get(f"/api/cameras/{cam['id']}/images").get_json()["images"]
    assert [i["id"] for i in imgs] == [img.id]
    assert client.get(imgs[0]["url"]).data == latest.data
    assert client.get(f"/api/cameras/{cam['id']}/images?since=2999-01-01T00:00:00Z").get_json()["images"] == []
    assert client.get(f"/api/cameras/{cam['id']}/images?since=yesterday").status_code == 400
    feats = client.get("/api/layers/cameras/features").get_json()["features"]
    mine = next(f for f in feats if f["id"] == cam["id"])
    assert mine["properties"]["thumb_url"].startswith(f"/api/cameras/{cam['id']}/thumb.jpg")
    assert mine["properties"]["taken_jst"] and mine["properties"]["stale"] is False
    assert "data:" not in str(mine)  # thumbnails go by URL, never inlined
    # another city may see it but not change it; its own staff may
    patch = {"interval_s": 60}
    assert client.patch(f"/api/cameras/{cam['id']}", data=orjson.dumps(patch), headers=who["kaga"].auth,
                        content_type="application/json").status_code == 403
    r = client.patch(f"/api/cameras/{cam['id']}", data=orjson.dumps(patch), headers=who["hakui"].auth,
                     content_type="application/json")
    assert r.status_code == 200 and r.get_json()["interval_s"] == 60
    assert client.delete(f"/api/cameras/{cam['id']}", headers=who["hakui"].auth).status_code == 204
    assert client.get(f"/api/cameras/{cam['id']}/latest.jpg").status_code == 404


def test_private_camera_is_404_everywhere_for_others(client, app_db, who, server):
    r = post(client, who["kaga"], {"name": "秘密の用水カメラ", "name_en": "Secret canal cam", "lon": 136.3123,
                                   "lat": 36.3045, "url": f"{server}/good.jpg", "visibility": "private"})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    img = wait_for_image(app_db, cid)
    routes = [f"/api/cameras/{cid}", f"/api/cameras/{cid}/images", f"/api/cameras/{cid}/latest.jpg",
              f"/api/cameras/{cid}/thumb.jpg", f"/api/cameras/{cid}/images/{img.id}.jpg",
              f"/api/cameras/{cid}/images/{img.id}/thumb.jpg"]
    secrets = ["秘密の用水カメラ", "Secret canal cam", "136.3123", "36.3045", cid]
    for headers in ({}, who["hakui"].auth):
        for url in routes:
            resp = client.get(url, headers=headers)
            assert resp.status_code == 404, url
            assert resp.get_json()["error"] == "not_found"
            assert not any(x in resp.get_data(as_text=True) for x in secrets)
        for url in ("/api/cameras", "/api/layers/cameras/features", "/api/layers/cameras/features.csv",
                    "/ogcapi/collections/cameras/items"):
            text = client.get(url, headers=headers).get_data(as_text=True)
            assert not any(x in text for x in secrets), url
    for method in ("patch", "delete"):
        resp = getattr(client, method)(f"/api/cameras/{cid}", data=b'{"name": "x"}', headers=who["hakui"].auth,
                                       content_type="application/json")
        assert resp.status_code == 404
    # its own organisation and admins see it on every route
    for person in (who["kaga"], who["admin"]):
        for url in routes:
            assert client.get(url, headers=person.auth).status_code == 200, url
        assert cid in client.get("/api/cameras", headers=person.auth).get_data(as_text=True)
        resp = client.get("/api/layers/cameras/features", headers=person.auth)
        assert cid in resp.get_data(as_text=True) and "private" in resp.headers["Cache-Control"]
    # anonymous again after a staff view: nothing was shared through a cache
    assert cid not in client.get("/api/layers/cameras/features").get_data(as_text=True)
    assert client.delete(f"/api/cameras/{cid}", headers=who["kaga"].auth).status_code == 204
    with app_db.session() as s:
        assert s.get(Camera, cid) is None and s.query(CameraImage).filter_by(camera_id=cid).count() == 0


def test_stale_camera_is_marked_on_the_map(client, app_db, who):
    with app_db.session() as s:
        from store.users import organisation_by_code

        org = organisation_by_code(s, "hakui")
        s.add(Camera(id="stale-test", organisation_id=org.id, name_ja="止まったカメラ", lon=136.79, lat=36.9,
                     url="http://127.0.0.1:9/x.jpg", interval_s=60, last_ok_at=utcnow() - timedelta(minutes=4)))
    try:
        feats = client.get("/api/layers/cameras/features").get_json()["features"]
        assert next(f for f in feats if f["id"] == "stale-test")["properties"]["stale"] is True
    finally:
        with app_db.session() as s:
            s.delete(s.get(Camera, "stale-test"))


def test_the_job_runs_in_the_background_from_the_worker(db, people, server, tmp_path):
    from settings import Settings
    from worker import build_jobs

    _camera(db, people["kaga"].organisation_id, "bg", f"{server}/good.jpg")
    settings = Settings.from_env({"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                                  "DEMO_FEED": "0", "CAMERA_RETENTION_HOURS": "12", "SOURCE_HOSTS": "127.0.0.1"})
    assert settings.camera_retention_hours == 12
    job = next(j for j in build_jobs(settings, db) if j.name == cf.JOB_NAME)
    assert job.run() is True
    job.run.join(15)
    with db.session() as s:
        assert s.query(CameraImage).filter_by(camera_id="bg").count() == 1


def test_cameras_from_a_registered_broker(db, people, server, orion, tmp_path):
    """A source with target "cameras": each entity's image-URL attribute (named in the source's attrs)
    becomes a camera of the source's organisation and visibility, fetched by the job."""
    from sources import broker_poll
    from store.brokers import Source

    with db.session() as s:
        src = Source(name="irrigation cams", base_url=orion.url, entity_type="Camera", layer_prefix="irr",
                     target="cameras", attrs=["snapshot"], organisation_id=people["hakui"].organisation_id,
                     visibility="private")
        s.add(src)
        s.flush()
        sid = src.id

    def entity(eid, url, lon):
        return {"id": eid, "type": "Camera", "name": {"type": "Text", "value": f"用水カメラ {eid}", "metadata": {}},
                "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [lon, 36.88]},
                             "metadata": {}},
                "snapshot": {"type": "Text", "value": url, "metadata": {}}}

    orion.entities = [entity("urn:cam:1", f"{server}/good.jpg", 136.77), entity("urn:cam:2", "ftp://x/y.jpg", 136.78),
                      entity("urn:cam:3", f"{server}/text", 136.79)]
    result = broker_poll.poll_source(db, sid, utcnow(),
                                     lambda src: broker_poll.client_for(src, sleep=lambda s: None, retries=0))
    assert "error" not in result, result
    with db.session() as s:
        cams = {c.id: c for c in s.query(Camera)}
    assert set(cams) == {"irr-urn_cam_1", "irr-urn_cam_3"}  # an ftp address is no camera
    assert cams["irr-urn_cam_1"].visibility == "private" and cams["irr-urn_cam_1"].name_ja == "用水カメラ urn:cam:1"
    out = cf.tick(db, tmp_path, 48, ["127.0.0.1"])
    assert out["stored"] == 1
    with db.session() as s:
        assert s.get(Camera, "irr-urn_cam_3").last_error == "not an image"


def test_alert_mail_links_the_nearest_camera_of_that_moment(db, people, tmp_path):
    from alerts.config import AlertConfig
    from alerts.notification import render
    from store import alerts as sa
    from store.cameras import nearest_snapshot

    hakui, kaga = people["hakui"].organisation_id, people["kaga"].organisation_id
    now = utcnow().replace(microsecond=0)
    folder = cameras_folder(tmp_path)
    jpeg, thumb, w, h = cf.reencode(cf.demo_image("x", (1, 2, 3), (4, 5, 6), now))
    _camera(db, hakui, "near-public", "", lon=136.7810, lat=36.8990)  # ~100 m away
    _camera(db, kaga, "nearer-private", "", lon=136.7801, lat=36.8991, visibility="private")  # another city's
    _camera(db, hakui, "far-public", "", lon=136.90, lat=36.95)
    for cid in ("near-public", "nearer-private", "far-public"):
        for minutes in (60, 5, 0):
            cf.save_snapshot(db, folder, cid, jpeg, thumb, w, h, now - timedelta(minutes=minutes))
    with db.session() as s:
        ids = {(img.camera_id, int((now - img.taken_at).total_seconds() // 60)): img.id for img in s.query(CameraImage)}
        at = now - timedelta(minutes=6)
        want = f"/api/cameras/near-public/images/{ids[('near-public', 5)]}.jpg"
        assert nearest_snapshot(s, 136.7800, 36.8990, at, 3000) == want
        # the other city's private camera only for its own rules; nothing within 50 m; 0 m: off
        assert "nearer-private" in nearest_snapshot(s, 136.7800, 36.8990, at, 3000, kaga)
        assert nearest_snapshot(s, 136.7800, 36.8990, at, 3000, hakui).startswith("/api/cameras/near-public/")
        assert nearest_snapshot(s, 136.7800, 36.8990, at, 50) is None
        assert nearest_snapshot(s, 136.7800, 36.8990, at, 0) is None
        assert nearest_snapshot(s, 136.7800, 36.8990, now - timedelta(hours=5), 3000) is None  # no snapshot then
        rule = sa.AlertRule(name="積雪テスト", organisation_id=kaga, threshold=30, op=">", public=True,
                            target="sensor", attribute="snowDepth")
        place = {"name_ja": "羽咋テスト", "lon": 136.7800, "lat": 36.8990, "unit": "cm", "sensor_id": "snow-x"}
        config = AlertConfig(base_url="https://map.example.jp", extra={"camera_nearest_m": 3000})
        subject, text, body = render(s, config, rule, "fired", place, 42.0, at, "ja")
        link = f"https://map.example.jp/api/cameras/near-public/images/{ids[('near-public', 5)]}.jpg"
        assert link in text and link in body and "最寄りのカメラ" in text
        assert "nearer-private" not in text  # a public rule's mail links public cameras only
        _s, text_en, _b = render(s, config, rule, "fired", place, 42.0, at, "en")
        assert "Nearest camera" in text_en
