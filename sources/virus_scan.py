"""Virus scanning (ウイルス対策) of uploaded and downloaded files by ClamAV's daemon, clamd.

`scan(raw, settings, name="", who="")` sends the bytes to clamd with the INSTREAM command before
anything reads or stores them, when the operator configured `CLAMD_URL` (`settings.clamd_url`, or the
URL itself as a string):

- `unix:///run/clamav/clamd.ctl` — clamd's local socket (Debian's clamav-daemon), or
- `tcp://127.0.0.1:3310` — clamd's `TCPSocket` (port 3310 when none is given).

Nothing configured: nothing to do. Otherwise the answer is one of
- clean: returns None;
- a signature matched: `VirusFound` (422, names the signature; logged as a warning);
- clamd unreachable, too slow, answering an error, or refusing a stream longer than its
  `StreamMaxLength`: `ScannerUnavailable` (503; logged as an error). Never a silent skip.

Both are `sources.readers.UploadError`s, so the upload path (`layers.manage.read_file`) turns them
into `Refused` like every other unreadable file. The protocol is spoken by `clamdpy` (MIT licensed,
typed; unix and TCP sockets, chunked INSTREAM).
"""
from __future__ import annotations

import io
import logging
from urllib.parse import urlsplit

from sources.readers import UploadError

log = logging.getLogger(__name__)

DEFAULT_PORT = 3310
TIMEOUT_S = 60.0  # connect, send and wait for the verdict (a 100 MB file takes seconds)
CHUNK = 256 * 1024  # INSTREAM chunk; clamd counts the bytes against its StreamMaxLength


class VirusFound(UploadError):
    def __init__(self, signature: str):
        super().__init__(422, "virus_found", "upload.virus_found", [{"signature": signature}], signature=signature)
        self.signature = signature


class ScannerUnavailable(UploadError):
    def __init__(self, message_key: str = "upload.virus_scan_unavailable"):
        super().__init__(503, "virus_scan_unavailable", message_key)


def clamd_url_of(settings) -> str:
    if settings is None:
        return ""
    if isinstance(settings, str):
        return settings.strip()
    return (getattr(settings, "clamd_url", "") or "").strip()


def client_for(url: str):
    """A clamdpy client for a CLAMD_URL; ValueError when the URL is not one we understand."""
    from clamdpy import ClamdNetworkSocket, ClamdUnixSocket

    parts = urlsplit(url)
    if parts.scheme == "unix" and (parts.path or parts.netloc):
        path = parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}"  # unix://run/... too
        return ClamdUnixSocket(path, timeout=TIMEOUT_S, max_chunk_size=CHUNK)
    if parts.scheme == "tcp" and parts.hostname:
        port = parts.port or DEFAULT_PORT  # ValueError for a port that is not a number
        return ClamdNetworkSocket(parts.hostname, port, timeout=TIMEOUT_S, max_chunk_size=CHUNK)
    raise ValueError(url)


def scan(raw: bytes, settings, name: str = "", who: str = "") -> None:
    """Scan `raw` with the configured clamd; see the module's description for the outcomes."""
    url = clamd_url_of(settings)
    if not url:
        return
    from clamdpy.exceptions import BufferTooLongError, ClamdException

    what = f"{name or '-'} ({len(raw)} bytes{', from ' + who if who else ''})"
    try:
        client = client_for(url)
    except ValueError:
        log.error("virus scan impossible: CLAMD_URL %r is neither unix:///path nor tcp://host:port; %s refused",
                  url, what)
        raise ScannerUnavailable() from None
    try:
        result = client.instream(io.BytesIO(raw))
    except BufferTooLongError:
        log.error("virus scan impossible: clamd at %s refused %s as longer than its StreamMaxLength "
                  "(raise it in clamd.conf to at least UPLOAD_MAX_MB)", url, what)
        raise ScannerUnavailable("upload.virus_scan_too_large") from None
    except (ClamdException, OSError) as exc:
        detail = getattr(exc, "msg", "") or getattr(exc, "error", "") or f"{type(exc).__name__}: {exc}"
        log.error("virus scan impossible: clamd at %s: %s; %s refused (a connection closed while sending "
                  "may be clamd's StreamMaxLength)", url, detail, what)
        raise ScannerUnavailable() from None
    if result.status == "FOUND":
        signature = (result.reason or "unknown").strip()
        log.warning("virus %s found by clamd in %s: refused, nothing stored", signature, what)
        raise VirusFound(signature)
    if result.status != "OK":
        log.error("virus scan impossible: clamd at %s answered %s for %s", url, result.reason, what)
        raise ScannerUnavailable()


def ping(settings, timeout: float = 2.0) -> bool | None:
    """Whether the configured clamd answers PING (for /healthz); None when no scanner is configured."""
    url = clamd_url_of(settings)
    if not url:
        return None
    try:
        client = client_for(url)
        client.timeout = timeout
        return client.ping().strip() == "PONG"
    except Exception as exc:  # unreachable, a bad URL, an odd answer: all mean "not scanning"
        log.warning("virus scanner at %s does not answer: %s", url, getattr(exc, "msg", "") or type(exc).__name__)
        return False
