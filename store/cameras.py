"""Cameras and their snapshots. A camera belongs to an organisation and is public or private;
its snapshots are re-encoded JPEG files (and thumbnails) under `<instance>/cameras/`, listed in
`camera_images` with their time (UTC) and kept `CAMERA_RETENTION_HOURS`."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, delete, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)

PUBLIC = "public"
PRIVATE = "private"
MIN_INTERVAL_S = 30
DEFAULT_INTERVAL_S = 300
STALE_INTERVALS = 3  # no good snapshot for this many intervals: the camera has stopped


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # slug, used in URLs
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    url: Mapped[str] = mapped_column(Text, default="")  # snapshot URL; "" for demo cameras
    interval_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_INTERVAL_S)
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    demo: Mapped[bool] = mapped_column(default=False)  # generated snapshots (demo feed), no fetching
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CameraImage(Base):
    __tablename__ = "camera_images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(String(400))  # relative to the cameras folder
    thumb_path: Mapped[str] = mapped_column(String(400))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_camera_images_camera_time", "camera_id", "taken_at"),)


def cameras_folder(instance_path: Path) -> Path:
    return Path(instance_path) / "cameras"


def may_see(staff, camera: Camera | None) -> bool:
    """Public cameras for everyone; private ones for their organisation's staff and admins."""
    if camera is None:
        return False
    from store.permissions import VIEW, can

    return can(staff, VIEW, camera.organisation_id, camera.visibility)


def visible_cameras(s: Session, staff, bbox=None) -> list[Camera]:
    from store.permissions import visible_sql

    q = select(Camera).where(visible_sql(staff, Camera.organisation_id, Camera.visibility))
    if bbox is not None:
        q = q.where(Camera.lon >= bbox[0], Camera.lon <= bbox[2], Camera.lat >= bbox[1], Camera.lat <= bbox[3])
    return list(s.scalars(q.order_by(Camera.id)))


def get_visible(s: Session, camera_id: str, staff) -> Camera | None:
    cam = s.get(Camera, camera_id) if isinstance(camera_id, str) and len(camera_id) <= 80 else None
    return cam if may_see(staff, cam) else None


def latest_image(s: Session, camera_id: str) -> CameraImage | None:
    return s.scalars(select(CameraImage).where(CameraImage.camera_id == camera_id)
                     .order_by(CameraImage.taken_at.desc(), CameraImage.id.desc()).limit(1)).first()


def latest_images(s: Session, camera_ids: list[str]) -> dict[str, CameraImage]:
    out: dict[str, CameraImage] = {}
    if not camera_ids:
        return out
    rows = s.scalars(select(CameraImage).where(CameraImage.camera_id.in_(camera_ids))
                     .order_by(CameraImage.camera_id, CameraImage.taken_at, CameraImage.id))
    for img in rows:
        out[img.camera_id] = img  # the last one per camera wins
    return out


def images_since(s: Session, camera_id: str, since: datetime, limit: int = 2000) -> list[CameraImage]:
    return list(s.scalars(select(CameraImage).where(CameraImage.camera_id == camera_id,
                                                    CameraImage.taken_at >= since)
                          .order_by(CameraImage.taken_at, CameraImage.id).limit(limit)))


def add_image(s: Session, camera: Camera, taken_at: datetime, path: str, thumb_path: str,
              width: int, height: int, size: int) -> CameraImage:
    img = CameraImage(camera_id=camera.id, taken_at=taken_at, path=path, thumb_path=thumb_path,
                      width=width, height=height, bytes=size)
    s.add(img)
    camera.last_ok_at = taken_at
    camera.last_attempt_at = taken_at
    camera.last_error = ""
    s.flush()
    return img


def record_error(s: Session, camera: Camera, message: str, at: datetime | None = None) -> None:
    camera.last_attempt_at = at or utcnow()
    camera.last_error = message[:1000]


def is_stale(camera: Camera, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if camera.last_ok_at is None:
        return True
    return now - camera.last_ok_at > timedelta(seconds=STALE_INTERVALS * max(camera.interval_s, MIN_INTERVAL_S))


def due_cameras(s: Session, now: datetime) -> list[Camera]:
    """Cameras with a URL whose last attempt is at least one interval old (or never)."""
    out = []
    for cam in s.scalars(select(Camera).where(Camera.url != "", Camera.demo.is_(False)).order_by(Camera.id)):
        if cam.last_attempt_at is None or now - cam.last_attempt_at >= timedelta(seconds=cam.interval_s):
            out.append(cam)
    return out


def _unlink(folder: Path, rel: str) -> None:
    try:
        (folder / rel).unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", rel, exc)


def prune(s: Session, folder: Path, before: datetime) -> int:
    """Forget snapshots older than `before` and remove their files."""
    old = list(s.execute(select(CameraImage.id, CameraImage.path, CameraImage.thumb_path)
                         .where(CameraImage.taken_at < before)))
    if not old:
        return 0
    s.execute(delete(CameraImage).where(CameraImage.id.in_([r.id for r in old])))
    for _id, path, thumb in old:
        _unlink(folder, path)
        _unlink(folder, thumb)
    return len(old)


def delete_camera(s: Session, folder: Path, camera: Camera) -> None:
    files = list(s.execute(select(CameraImage.path, CameraImage.thumb_path)
                           .where(CameraImage.camera_id == camera.id)))
    s.execute(delete(CameraImage).where(CameraImage.camera_id == camera.id))
    s.delete(camera)
    s.flush()
    for path, thumb in files:
        _unlink(folder, path)
        _unlink(folder, thumb)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(a)))


def nearest_snapshot(s: Session, lon, lat, at: datetime, max_m: float,
                     organisation_id: int | None = None) -> str | None:
    """The path of the snapshot the nearest camera took closest to `at` (within two of its intervals,
    at least 15 minutes), among cameras within max_m metres: public ones, plus that organisation's
    private ones when given (a public alert rule's mail links public cameras only). None when none."""
    import math

    if not max_m or max_m <= 0 or not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
        return None
    dlat = max_m / 111_000.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    q = select(Camera).where(Camera.lon.between(lon - dlon, lon + dlon), Camera.lat.between(lat - dlat, lat + dlat))
    q = q.where(Camera.visibility == PUBLIC if organisation_id is None
                else or_(Camera.visibility == PUBLIC, Camera.organisation_id == organisation_id))
    cams = sorted(((_metres(lon, lat, c.lon, c.lat), c.id, c) for c in s.scalars(q)), key=lambda x: x[:2])
    for dist, _cid, cam in cams:
        if dist > max_m:
            break
        window = timedelta(seconds=max(2 * cam.interval_s, 900))
        near = list(s.scalars(select(CameraImage).where(CameraImage.camera_id == cam.id,
                                                        CameraImage.taken_at.between(at - window, at + window))))
        if near:
            img = min(near, key=lambda i: (abs((i.taken_at - at).total_seconds()), i.id))
            return f"/api/cameras/{cam.id}/images/{img.id}.jpg"
    return None
