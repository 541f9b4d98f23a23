"""Small hazard tiles for tests (CI has no internet): PNGs painted with the documented legend
colours, served from a loopback HTTP server laid out like the hazard map portal's tile paths."""
from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from layers.hazard_point import ZOOM, tile_pixel


def png(color: str | None, size: int = 256, mode: str = "RGBA") -> bytes:
    """A tile of one colour (None: transparent), as RGBA or as a palette PNG like GSI's."""
    rgba = (0, 0, 0, 0) if color is None else (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), 255)
    im = Image.new("RGBA", (size, size), rgba)
    if mode == "P":
        im = im.convert("P")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


class TileServer:
    """tiles: {(tile id, z, x, y): png bytes}; anything else is a 404 (as the portal answers)."""

    def __init__(self):
        self.tiles: dict[tuple, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                parts = self.path.split("?")[0].strip("/").split("/")
                key = None
                if len(parts) == 5 and parts[0] == "raster":
                    try:
                        key = (parts[1], int(parts[2]), int(parts[3]), int(parts[4].removesuffix(".png")))
                    except ValueError:
                        key = None
                body = outer.tiles.get(key)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/raster/{{id}}/{{{{z}}}}/{{{{x}}}}/{{{{y}}}}.png"

    def paint(self, tile_id: str, lat: float, lon: float, color: str | None, mode: str = "RGBA") -> None:
        tx, ty, _px, _py = tile_pixel(lat, lon)
        self.tiles[(tile_id, ZOOM, tx, ty)] = png(color, mode=mode)

    def start(self) -> TileServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
