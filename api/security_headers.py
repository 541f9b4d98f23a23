"""Security headers of every answer: one place for the Content-Security-Policy, framing,
MIME sniffing and referrers.

- Every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`
  (tile servers still see our origin, as OpenStreetMap's tile policy asks).
- Every HTML page: a Content-Security-Policy. Scripts only from our own origin — Dash serves its
  bundles and `assets/` itself, no CDN — plus the few inline scripts Dash writes into its index
  page (the renderer's start and clientside callbacks), allowed by their SHA-256 hashes
  (`Dash.csp_hashes()`), so no other inline script runs. Styles from our origin and inline (plotly
  and Leaflet set styles at run time); images from our origin, `data:`/`blob:` and the tile
  servers of the base maps and hazard overlays; no plugins; forms and `<base>` only to us.
- Framing: nobody may frame our pages (`frame-ancestors 'none'`, `X-Frame-Options: DENY`, against
  clickjacking), except `/embed/...` pages and the cities' portals `/o/<code>`, which the origins in
  EMBED_ORIGINS (a city's CMS) may show in an iframe.
"""
from __future__ import annotations

from flask import current_app, request

# base maps (地理院タイル, OpenStreetMap) and the hazard overlays of ハザードマップポータルサイト
TILE_ORIGINS = ("https://cyberjapandata.gsi.go.jp", "https://disaportaldata.gsi.go.jp",
                "https://tile.openstreetmap.org")
EMBED_PREFIX = "/embed/"
PORTAL_PREFIX = "/o/"  # a city's portal (pages/org_portal.py), embeddable like /embed/


def frame_ancestors(origins: tuple[str, ...]) -> str:
    return "frame-ancestors " + " ".join(["'self'", *origins])


def content_security_policy(script_hashes: list[str] | tuple[str, ...], ancestors: str) -> str:
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", "blob:", *TILE_ORIGINS]),
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        ancestors,
    ]
    return "; ".join(directives)


def install(server, dash_app=None) -> None:
    """Add the headers to every answer of `server`; `dash_app` gives the hashes of its inline scripts."""

    def script_hashes() -> list[str]:
        # computed per page: cheap (a few short strings), and always matches what Dash writes
        return list(dict.fromkeys(dash_app.csp_hashes())) if dash_app is not None else []

    @server.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        embed = request.path.startswith((EMBED_PREFIX, PORTAL_PREFIX))
        if resp.mimetype != "text/html" and not embed:
            return resp
        if embed:
            ancestors = frame_ancestors(current_app.extensions["ishikawa.settings"].embed_origins)
            resp.headers.pop("X-Frame-Options", None)
        else:
            ancestors = "frame-ancestors 'none'"
            resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers["Content-Security-Policy"] = content_security_policy(script_hashes(), ancestors)
        return resp
