"""Who may put our pages in a frame: nobody, except `/embed/...` pages, which the origins in
EMBED_ORIGINS (a city's CMS) may frame. Clickjacking protection for every other page."""
from __future__ import annotations

from flask import current_app, request


def frame_ancestors(origins: tuple[str, ...]) -> str:
    return "frame-ancestors " + " ".join(["'self'", *origins])


def install(server) -> None:
    @server.after_request
    def _frames(resp):
        if request.path.startswith("/embed/"):
            origins = current_app.extensions["ishikawa.settings"].embed_origins
            resp.headers["Content-Security-Policy"] = frame_ancestors(origins)
            resp.headers.pop("X-Frame-Options", None)
        elif resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp
