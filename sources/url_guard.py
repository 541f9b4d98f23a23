"""Which addresses the server may fetch for staff-registered sources (FIWARE brokers, CKAN sites
and the resources they point to) — so a source cannot make the server read what it should not
(SSRF): internal services, cloud metadata endpoints, the server itself.

- `SOURCE_HOSTS` unset (default): public addresses only. Loopback, private (10/8, 172.16/12,
  192.168/16, fc00::/7), shared (100.64/10), link-local (where cloud metadata lives), multicast,
  unspecified and reserved addresses are refused. The operator's own broker (`ORION_URL`) stays
  allowed.
- `SOURCE_HOSTS=orion.city.example,10.20.0.0/16`: only these host names, addresses or networks
  (this is how a broker on a city's internal network is allowed).

A host name is resolved once, checked, and the connection is made to that checked address
(`GuardedTransport`: the URL's host becomes the address, the Host header and TLS SNI / certificate
check keep the name), so a name cannot point elsewhere between the check and the connection
(DNS rebinding). A name that does not resolve is refused. Redirects go through the same transport.

Refusals and connection failures read the same to staff ("could not connect": no port scanning
through error messages); the log keeps the detail. `read_limited` reads an answer while counting,
so a huge answer stops at the limit instead of filling the memory.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
from urllib.parse import urlsplit

import httpx

from sources.errors import NgsiError

log = logging.getLogger(__name__)


def could_not_connect() -> str:
    """What staff see for any refused or failed connection (both languages: stored as feed state)."""
    from i18n import t

    return f"{t('source.could_not_connect', 'ja')} / {t('source.could_not_connect', 'en')}"


class UrlRefused(NgsiError):
    """A URL the server does not fetch. `str()` is the generic text; `detail` is for the log."""

    def __init__(self, detail: str):
        super().__init__(could_not_connect(), retryable=False)
        self.detail = detail


def settings_value(name: str, env: str) -> str:
    """A setting of the running app, or its environment variable outside a request (the jobs)."""
    try:
        from flask import current_app

        return getattr(current_app.extensions["ishikawa.settings"], name) or ""
    except (RuntimeError, KeyError, AttributeError):
        return os.environ.get(env, "")


def allowed_hosts() -> list[str]:
    """SOURCE_HOSTS of the running app's settings, else of the environment (the worker)."""
    value = settings_value("source_hosts", "SOURCE_HOSTS")
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def operator_host() -> str:
    """The host of the operator's broker (ORION_URL), always allowed."""
    return (urlsplit(settings_value("orion_url", "ORION_URL").strip()).hostname or "").lower()


def resolve(host: str) -> list:
    """The addresses of `host` (an address stands for itself); [] when the name does not resolve."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    out = []
    for info in infos:
        try:
            addr = ipaddress.ip_address(info[4][0].split("%")[0])
        except ValueError:
            continue
        if addr not in out:
            out.append(addr)
    return out


def internal(addr) -> bool:
    """True for an address that is not a public unicast one (loopback, private, link-local, …)."""
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:
        addr = mapped
    return (addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_multicast
            or addr.is_reserved or addr.is_unspecified or not addr.is_global)


def _listed(host: str, addr, allowed: list[str]) -> bool:
    for entry in allowed:
        if entry == host:
            return True
        try:
            if addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_url(url: str, allowed: list[str] | None = None):
    """The address to connect to for `url` (resolved once), or UrlRefused."""
    parts = urlsplit(str(url))
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UrlRefused(f"{url!r}: only http(s) URLs with a host can be fetched")
    allowed = allowed_hosts() if allowed is None else allowed
    addresses = resolve(host)
    if not addresses:
        raise UrlRefused(f"{host} does not resolve")
    if host == operator_host():
        return addresses[0]
    if allowed:
        bad = [a for a in addresses if not _listed(host, a, allowed)]
        if bad:
            raise UrlRefused(f"{host} ({bad[0]}) is not in SOURCE_HOSTS")
        return addresses[0]
    bad = [a for a in addresses if internal(a)]
    if bad:
        raise UrlRefused(f"{host} ({bad[0]}) is an internal address; SOURCE_HOSTS may allow it")
    return addresses[0]


class GuardedTransport(httpx.HTTPTransport):
    """Checks every request (redirects too) and connects to the checked address, keeping the
    name in the Host header and for TLS (SNI and certificate check). `allowed`: SOURCE_HOSTS as a
    list (None: read from the settings at each request)."""

    def __init__(self, allowed: list[str] | None = None, **kw):
        super().__init__(**kw)
        self.allowed = allowed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            addr = check_url(str(request.url), self.allowed)
        except UrlRefused as exc:
            log.warning("source fetch refused: %s", exc.detail)
            raise
        host = request.url.host
        if str(addr) != host.strip("[]"):
            request.url = request.url.copy_with(host=str(addr))
            request.extensions = {**request.extensions, "sni_hostname": host}
        return super().handle_request(request)


def guarded_client(allowed: list[str] | None = None, **kw) -> httpx.Client:
    """An httpx client for staff-given URLs (no environment proxies: the check is the connection)."""
    limits = kw.pop("limits", None)
    transport = GuardedTransport(allowed, limits=limits) if limits is not None else GuardedTransport(allowed)
    return httpx.Client(transport=transport, trust_env=False, **kw)


def guard_hook(request) -> None:
    """httpx request event hook (for clients with a transport of their own, e.g. in tests)."""
    try:
        check_url(str(request.url))
    except UrlRefused as exc:
        log.warning("source fetch refused: %s", exc.detail)
        raise


def refusal(url: str) -> str | None:
    """The reason a URL is refused, or None (for forms). Generic: the log has the detail."""
    try:
        check_url(url)
    except UrlRefused as exc:
        log.warning("source URL refused: %s", exc.detail)
        return str(exc)
    return None


class TooLarge(NgsiError):
    def __init__(self, limit: int):
        super().__init__(f"answer larger than {limit // (1024 * 1024)} MB", retryable=False)


def read_limited(resp: httpx.Response, limit: int) -> bytes:
    """The body of a streamed answer, read chunk by chunk; TooLarge as soon as it passes `limit`
    (the connection is closed then, so the rest is never read)."""
    try:
        declared = int(resp.headers.get("Content-Length", "-1"))
    except ValueError:
        declared = -1
    if declared > limit:
        resp.close()
        raise TooLarge(limit)
    buf = bytearray()
    for chunk in resp.iter_bytes():
        buf += chunk
        if len(buf) > limit:
            resp.close()
            raise TooLarge(limit)
    return bytes(buf)
