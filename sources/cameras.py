"""Camera snapshots: fetched over HTTP(S) by the `cameras` job, or generated for the demo cameras.

Every fetch goes through the outbound-address rules of staff-registered sources
(`sources.url_guard.check_url`, on every request, redirects included), with a size limit enforced
while the body streams in and an overall time limit. Every image is decoded and re-encoded with
Pillow into a fresh JPEG (no EXIF, no comments, no ICC profile: none of the fetched bytes are ever
served as they came), plus a thumbnail. Anything that does not decode as an image is an error
recorded on the camera; nothing is stored.
"""
from __future__ import annotations

import io
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from store.cameras import Camera, add_image, cameras_folder, due_cameras, prune, record_error
from store.db import Database, utcnow

log = logging.getLogger(__name__)

JOB_NAME = "cameras"
DEMO_JOB_NAME = "demo-cameras"
JOB_TICK_S = 10.0  # how often the job looks for due cameras
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOTAL_TIME_S = 20.0  # a server trickling bytes cannot hold a worker longer than this
WORKERS = 4  # cameras fetched at once
THUMB_PX = 320
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}


class CameraError(Exception):
    """A snapshot that could not be fetched or read; the message is recorded on the camera."""


def parse_hosts(value: str) -> list[str]:
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def _client(allowed: list[str] | None, timeout=FETCH_TIMEOUT) -> httpx.Client:
    # every request, redirects included, is checked and connects to the address that was checked
    from sources.url_guard import guarded_client

    return guarded_client(allowed, timeout=timeout, follow_redirects=True, max_redirects=5,
                          headers={"Accept": "image/jpeg, image/png, image/*"})


def fetch_bytes(url: str, allowed: list[str] | None = None, max_bytes: int = MAX_BYTES,
                total_s: float = TOTAL_TIME_S, client: httpx.Client | None = None) -> bytes:
    """The body of a snapshot URL, at most max_bytes (counted while it streams)."""
    from sources.url_guard import UrlRefused

    own = client is None
    http = client or _client(allowed)
    deadline = time.monotonic() + total_s
    try:
        with http.stream("GET", url) as resp:
            if resp.status_code >= 400:
                raise CameraError(f"HTTP {resp.status_code}")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise CameraError(f"image larger than {max_bytes // (1024 * 1024)} MB")
            buf = bytearray()
            for chunk in resp.iter_bytes():
                buf += chunk
                if len(buf) > max_bytes:
                    raise CameraError(f"image larger than {max_bytes // (1024 * 1024)} MB")
                if time.monotonic() > deadline:
                    raise CameraError("snapshot took too long")
            return bytes(buf)
    except UrlRefused as exc:
        raise CameraError(f"address refused: {exc}") from None
    except httpx.HTTPError as exc:
        raise CameraError(f"{type(exc).__name__}: {exc}") from None
    finally:
        if own:
            http.close()


def reencode(data: bytes, thumb_px: int = THUMB_PX) -> tuple[bytes, bytes, int, int]:
    """(JPEG, thumbnail JPEG, width, height) drawn afresh from the decoded pixels."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ACCEPTED_FORMATS:
                raise CameraError(f"not a supported image ({img.format})")
            w, h = img.size
            if w * h > MAX_PIXELS or w < 1 or h < 1:
                raise CameraError("image too large in pixels")
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = img.convert("RGB")
    except CameraError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise CameraError("not an image") from None
    # a new image from the pixels alone: no EXIF, comment, ICC profile or other chunk survives
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True)
    thumb = clean.copy()
    thumb.thumbnail((thumb_px, thumb_px))
    tout = io.BytesIO()
    thumb.save(tout, "JPEG", quality=80)
    return out.getvalue(), tout.getvalue(), clean.width, clean.height


def save_snapshot(db: Database, folder: Path, camera_id: str, jpeg: bytes, thumb: bytes,
                  width: int, height: int, taken_at: datetime) -> bool:
    """Write the files and the row; False when the camera was deleted meanwhile."""
    stem = f"{camera_id}/{taken_at.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    path, thumb_path = f"{stem}.jpg", f"{stem}-thumb.jpg"
    (folder / camera_id).mkdir(parents=True, exist_ok=True)
    (folder / path).write_bytes(jpeg)
    (folder / thumb_path).write_bytes(thumb)
    with db.session() as s:
        cam = s.get(Camera, camera_id)
        if cam is None:
            for p in (path, thumb_path):
                (folder / p).unlink(missing_ok=True)
            return False
        add_image(s, cam, taken_at, path, thumb_path, width, height, len(jpeg))
    return True


def fetch_camera(db: Database, folder: Path, camera_id: str, allowed: list[str] | None = None,
                 now: datetime | None = None) -> bool:
    """Fetch one camera's snapshot now; True when a new image was stored."""
    with db.session() as s:
        cam = s.get(Camera, camera_id)
        if cam is None or not cam.url:
            return False
        url = cam.url
    taken_at = now or utcnow()
    try:
        jpeg, thumb, w, h = reencode(fetch_bytes(url, allowed))
    except CameraError as exc:
        log.info("camera %s: %s", camera_id, exc)
        with db.session() as s:
            cam = s.get(Camera, camera_id)
            if cam is not None:
                record_error(s, cam, str(exc), taken_at)
        return False
    return save_snapshot(db, folder, camera_id, jpeg, thumb, w, h, taken_at)


def fetch_soon(db: Database, folder: Path, camera_id: str, allowed: list[str] | None) -> None:
    """The first snapshot of a newly registered camera, in the background."""
    import threading

    def run():
        try:
            fetch_camera(db, folder, camera_id, allowed)
        except Exception:  # a background fetch never takes anything down
            log.exception("first snapshot of camera %s failed", camera_id)

    threading.Thread(target=run, name=f"camera-{camera_id}", daemon=True).start()


def tick(db: Database, instance_path: Path, retention_hours: float, allowed: list[str] | None = None,
         now: datetime | None = None, workers: int = WORKERS) -> dict:
    """One run of the `cameras` job: fetch every due camera (a few at once), prune old snapshots."""
    now = now or utcnow()
    folder = cameras_folder(instance_path)
    with db.session() as s:
        due = [c.id for c in due_cameras(s, now)]
        for cam in s.scalars(select(Camera).where(Camera.id.in_(due))):
            cam.last_attempt_at = now  # claimed: the next tick does not fetch it again meanwhile
    stored = 0
    if due:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="camera") as pool:
            stored = sum(pool.map(lambda cid: fetch_camera(db, folder, cid, allowed, now), due))
    with db.session() as s:
        pruned = prune(s, folder, now - timedelta(hours=retention_hours))
    return {"due": len(due), "stored": stored, "pruned": pruned}


class BackgroundFetcher:
    """The job runner's hook: one round of `tick` in a thread of its own, so slow cameras (each up
    to TOTAL_TIME_S) never hold up the other jobs (alert checks, mail, demo feeds)."""

    def __init__(self, db: Database, instance_path: Path, retention_hours: float, allowed: list[str] | None):
        self.db, self.instance_path, self.retention_hours, self.allowed = db, instance_path, retention_hours, allowed
        self._thread = None

    def __call__(self) -> bool:
        import threading

        if self._thread is not None and self._thread.is_alive():
            return False  # the previous round is still fetching
        self._thread = threading.Thread(target=self._run, name="cameras", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        try:
            tick(self.db, self.instance_path, self.retention_hours, self.allowed)
        except Exception:
            log.exception("camera round failed")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


# --- demo cameras: generated snapshots at real places of 羽咋市, clearly labelled DEMO ---

DEMO_CAMERAS = [
    # id, name ja, name en, lon, lat, sky colour, ground colour
    ("demo-chirihama", "千里浜なぎさドライブウェイ（デモ）", "Chirihama Nagisa Driveway (demo)",
     136.7606, 36.9050, (150, 190, 225), (214, 196, 150)),
    ("demo-hakui-station", "羽咋駅前（デモ）", "Hakui Station (demo)",
     136.7845, 36.8935, (170, 185, 200), (120, 120, 125)),
    ("demo-hakui-river", "羽咋川（デモ）", "Hakui River (demo)",
     136.7810, 36.8990, (160, 190, 210), (70, 110, 150)),
]
DEMO_INTERVAL_S = 300


def ensure_demo_cameras(s, org_code: str = "hakui") -> None:
    from store.users import organisation_by_code

    org = organisation_by_code(s, org_code)
    if org is None:
        return
    for cid, ja, en, lon, lat, _sky, _ground in DEMO_CAMERAS:
        cam = s.get(Camera, cid)
        if cam is None:
            s.add(Camera(id=cid, organisation_id=org.id, name_ja=ja, name_en=en, lon=lon, lat=lat, url="",
                         interval_s=DEMO_INTERVAL_S, visibility="public", demo=True))


def demo_image(place: str, sky, ground, at: datetime, size=(640, 360)) -> bytes:
    """A plain scene with 'DEMO', the place and the JST time written on it (a PNG)."""
    from PIL import Image, ImageDraw

    from timezones import JST

    img = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle([0, int(h * 0.6), w, h], fill=ground)
    minute = at.astimezone(JST).minute
    snow = (minute // 10) % 3  # a little simulated snow that comes and goes
    import random

    flakes = random.Random(minute)
    for _ in range(snow * 60):
        x, y = flakes.randrange(w), flakes.randrange(h)
        draw.ellipse([x, y, x + 3, y + 3], fill=(255, 255, 255))
    font = _font(28)
    small = _font(20)
    draw.rectangle([0, 0, w, 44], fill=(200, 30, 30))
    draw.text((12, 6), "DEMO デモ画像", fill=(255, 255, 255), font=font)
    draw.text((12, h - 70), place, fill=(0, 0, 0), font=small)
    draw.text((12, h - 40), at.astimezone(JST).strftime("%Y-%m-%d %H:%M JST"), fill=(0, 0, 0), font=small)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _font(px: int):
    from PIL import ImageFont

    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, px)
        except OSError:
            continue
    return ImageFont.load_default()


def demo_tick(db: Database, instance_path: Path, now: datetime | None = None) -> int:
    """Write a generated snapshot for each demo camera that is due (no HTTP)."""
    now = now or utcnow()
    folder = cameras_folder(instance_path)
    with db.session() as s:
        ensure_demo_cameras(s)
        due = [(c.id, c.name_ja) for c in s.scalars(select(Camera)
                                                   .where(Camera.demo.is_(True)))
               if c.last_ok_at is None or now - c.last_ok_at >= timedelta(seconds=c.interval_s)]
    colours = {cid: (sky, ground) for cid, _ja, _en, _lon, _lat, sky, ground in DEMO_CAMERAS}
    written = 0
    for cid, name in due:
        sky, ground = colours.get(cid, ((160, 180, 200), (120, 120, 120)))
        jpeg, thumb, w, h = reencode(demo_image(name, sky, ground, now))
        written += save_snapshot(db, folder, cid, jpeg, thumb, w, h, now)
    return written


# --- cameras from a broker: an entity attribute holds the snapshot URL (source target "cameras") ---

def store_broker_cameras(s, source, items: list) -> int:
    """Each entity becomes (or updates) a camera of the source's organisation with the source's
    visibility; the `cameras` job fetches its URL under the usual address rules."""
    import re

    from store.users import organisation_by_code

    org_id = source.organisation_id
    if org_id is None:  # the operator's ORION_URL broker: the prefecture's cameras
        org = organisation_by_code(s, "ishikawa")
        org_id = org.id if org is not None else None
    if org_id is None:
        return 0
    prefix = source.layer_prefix or f"src{source.id}"
    n = 0
    for it in items:
        cid = f"{prefix}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', it.entity_id)}"[:80]
        cam = s.get(Camera, cid)
        if cam is not None and cam.organisation_id != org_id:
            continue  # another organisation's camera: never touched
        if cam is None:
            cam = Camera(id=cid, organisation_id=org_id, name_ja=it.name[:200], name_en=it.name[:200],
                         lon=round(it.lon, 6), lat=round(it.lat, 6), url=it.url, visibility=source.visibility)
            s.add(cam)
        else:
            if cam.url != it.url:
                cam.last_attempt_at = None  # a new address: fetched at the next round
            cam.url, cam.lon, cam.lat = it.url, round(it.lon, 6), round(it.lat, 6)
            cam.visibility = source.visibility
        n += 1
    s.flush()
    return n
