"""Benchmark: the `cameras` job with N cameras every 5 minutes against a local HTTP server.

Serves a real-sized JPEG (1280×720 camera frame, ~150–250 kB, EXIF and comment included) from a
loopback server and runs the job's rounds (`sources.cameras.tick`: fetch, decode, re-encode,
thumbnail, files, rows) as the worker does, then prints:
- snapshots per second one round sustains (wall clock, WORKERS fetches at once) and the share of
  the 5-minute interval a round of N cameras takes;
- CPU seconds per snapshot (process time, all threads);
- disk per snapshot (JPEG + thumbnail) and per day at one snapshot every 5 minutes per camera,
  and for the retention (CAMERA_RETENTION_HOURS, 48 h);
- the bytes a map view of all cameras costs: the layer's GeoJSON (gzip, as the app sends it)
  and, if the viewer opens every popup, the thumbnails (by URL, never inlined).

    python bench/cameras.py [N]        (default 200; SQLite in a temp dir)
"""
from __future__ import annotations

import gzip
import io
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.builtin import ensure_builtin  # noqa: E402
from layers.cameras import camera_features  # noqa: E402
from sources import cameras as cf  # noqa: E402
from store.cameras import Camera, CameraImage  # noqa: E402
from store.db import Database, utcnow  # noqa: E402
from store.schema import create_all  # noqa: E402
from store.users import organisation_by_code  # noqa: E402


def frame() -> bytes:
    """A camera-like 1280×720 JPEG: gradients and noise compress like a real scene, not a flat one."""
    import random

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1280, 720))
    draw = ImageDraw.Draw(img)
    rnd = random.Random(7)
    for y in range(720):
        draw.line([(0, y), (1279, y)], fill=(120 + y // 8, 150 + y // 10, 200 - y // 6))
    for _ in range(6000):
        x, y = rnd.randrange(1280), rnd.randrange(720)
        c = rnd.randrange(256)
        draw.rectangle([x, y, x + rnd.randrange(2, 12), y + rnd.randrange(2, 12)], fill=(c, c, c))
    exif = Image.Exif()
    exif[0x010E] = "camera 1"
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif.tobytes(), comment=b"bench")
    return out.getvalue()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    body = frame()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/snapshot.jpg"
    tmp = Path(tempfile.mkdtemp(prefix="bench-cameras-"))
    db = Database(f"sqlite:///{tmp / 'bench.sqlite3'}")
    create_all(db)
    with db.session() as s:
        ensure_builtin(s, ROOT / "data")
        org = organisation_by_code(s, "hakui")
        for i in range(n):
            s.add(Camera(id=f"bench-{i:04d}", organisation_id=org.id, name_ja=f"ベンチカメラ {i}",
                         name_en=f"Bench camera {i}", lon=136.70 + (i % 20) / 100, lat=36.80 + (i // 20) / 100,
                         url=url, interval_s=300))
    print(f"{n} cameras, frame {len(body) / 1024:.0f} kB, {cf.WORKERS} fetches at once, SQLite")
    now = utcnow()
    rounds = []
    for r in range(3):  # three 5-minute intervals
        at = now + timedelta(minutes=5 * r)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        out = cf.tick(db, tmp, 48, ["127.0.0.1"], now=at)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rounds.append((out["stored"], wall, cpu))
        print(f"  round {r + 1}: {out['stored']} snapshots in {wall:.1f} s "
              f"({out['stored'] / wall:.1f}/s, CPU {cpu / max(out['stored'], 1) * 1000:.0f} ms per snapshot)")
    stored = sum(x[0] for x in rounds)
    wall = sum(x[1] for x in rounds)
    cpu = sum(x[2] for x in rounds)
    with db.session() as s:
        imgs = s.query(CameraImage).all()
        files = sum((tmp / "cameras" / i.path).stat().st_size + (tmp / "cameras" / i.thumb_path).stat().st_size
                    for i in imgs)
        thumbs = sum((tmp / "cameras" / i.thumb_path).stat().st_size for i in imgs) / len(imgs)
        feats = camera_features(s, None, now=now + timedelta(minutes=10))
    per_snap = files / len(imgs)
    per_day = per_snap * n * 24 * 12
    import orjson

    geo = orjson.dumps({"type": "FeatureCollection", "features": feats})
    print(f"sustained: {stored / wall:.1f} snapshots/s; a round of {n} takes {wall / 3:.1f} s "
          f"= {wall / 3 / 300 * 100:.1f}% of the 5-minute interval")
    print(f"CPU per snapshot: {cpu / stored * 1000:.0f} ms (fetch, decode, re-encode, thumbnail, write)")
    print(f"disk: {per_snap / 1024:.0f} kB per snapshot (JPEG + thumbnail); {per_day / 2**30:.2f} GiB per day "
          f"for {n} cameras every 5 min; {per_day * 2 / 2**30:.2f} GiB for 48 h retention")
    print(f"map view of all {n} cameras: layer GeoJSON {len(geo) / 1024:.0f} kB "
          f"({len(gzip.compress(geo, 6)) / 1024:.1f} kB gzip), no image inlined ('data:' in it: {b'data:' in geo}); "
          f"opening every popup adds one {thumbs / 1024:.0f} kB thumbnail each "
          f"({thumbs * n / 2**20:.1f} MB for all {n})")
    httpd.shutdown()
    db.dispose()
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
