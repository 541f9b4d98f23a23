"""Which addresses the server may fetch for staff-registered sources (FIWARE brokers, CKAN sites
and the resources they point to) — so a source cannot make the server read what it should not
(SSRF): cloud metadata endpoints, link-local and multicast addresses.

- `SOURCE_HOSTS` unset (default): any host, except addresses that are link-local (169.254.0.0/16,
  fe80::/10: where cloud metadata lives), unspecified, multicast or reserved. Loopback and private
  networks stay allowed: brokers usually sit on a city's internal network.
- `SOURCE_HOSTS=orion.city.example,10.20.0.0/16`: only these host names, addresses or networks.

`check_url(url)` raises `UrlRefused` (an `NgsiError` that is not worth retrying); `guard_hook` runs
the same check on every request an httpx client sends, redirects included, after DNS is asked
again — a name that pointed elsewhere at registration is caught at fetch time too.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from sources.ngsi import NgsiError


class UrlRefused(NgsiError):
    def __init__(self, message: str):
        super().__init__(message, retryable=False)


def allowed_hosts() -> list[str]:
    """SOURCE_HOSTS of the running app's settings, else of the environment (the worker)."""
    try:
        from flask import current_app

        value = current_app.extensions["ishikawa.settings"].source_hosts
    except (RuntimeError, KeyError, AttributeError):
        value = os.environ.get("SOURCE_HOSTS", "")
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def _addresses(host: str) -> list:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # unknown name: the fetch itself will fail
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _listed(host: str, addresses: list, allowed: list[str]) -> bool:
    for entry in allowed:
        if entry == host:
            return True
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(a in net for a in addresses):
            return True
    return False


def check_url(url: str, allowed: list[str] | None = None) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UrlRefused("only http(s) URLs with a host can be fetched")
    allowed = allowed_hosts() if allowed is None else allowed
    addresses = _addresses(host)
    if allowed:
        if not _listed(host, addresses, allowed):
            raise UrlRefused(f"{host} is not in SOURCE_HOSTS")
        return
    for addr in addresses:
        if addr.is_link_local or addr.is_unspecified or addr.is_multicast or addr.is_reserved:
            raise UrlRefused(f"{host} ({addr}) is an address the server does not fetch")


def guard_hook(request) -> None:
    """httpx request event hook."""
    check_url(str(request.url))


def refusal(url: str) -> str | None:
    """The reason a URL is refused, or None (for forms)."""
    try:
        check_url(url)
    except UrlRefused as exc:
        return str(exc)
    return None
