"""Reading zip archives (KMZ, zipped Shapefiles) without letting a zip bomb through.

Bounds: number of entries, total uncompressed size, compression ratio per entry; sizes are
checked while reading (the header's numbers may lie), and names may not leave the archive.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

MAX_ENTRIES = 200
MAX_TOTAL = 512 * 1024 * 1024  # bytes once unpacked
MAX_RATIO = 200  # uncompressed : compressed, per entry (text compresses ~10:1, bombs ~1000:1)


class ArchiveError(ValueError):
    """message_key: an i18n key; fmt: its values."""

    def __init__(self, message_key: str, **fmt):
        super().__init__(message_key)
        self.message_key = message_key
        self.fmt = fmt


@dataclass(frozen=True)
class Limits:
    max_entries: int = MAX_ENTRIES
    max_total: int = MAX_TOTAL
    max_ratio: int = MAX_RATIO


def is_zip(raw: bytes) -> bool:
    return raw[:4] == b"PK\x03\x04" or raw[:4] == b"PK\x05\x06"


def _safe_name(name: str) -> bool:
    return not (name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name)


def list_entries(raw: bytes, limits: Limits = Limits()) -> list[zipfile.ZipInfo]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError):
        raise ArchiveError("upload.bad_zip") from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_entries:
        raise ArchiveError("upload.zip_too_many", count=len(infos), limit=limits.max_entries)
    total = sum(i.file_size for i in infos)
    if total > limits.max_total:
        raise ArchiveError("upload.zip_too_big", limit=limits.max_total // (1024 * 1024))
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            raise ArchiveError("upload.zip_ratio", name=i.filename)
    return infos


def read_entries(raw: bytes, wanted, limits: Limits = Limits()) -> dict[str, bytes]:
    """{name: bytes} of the entries for which wanted(name) is true, read within the bounds."""
    infos = list_entries(raw, limits)
    zf = zipfile.ZipFile(io.BytesIO(raw))
    out: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if not wanted(info.filename):
            continue
        if not _safe_name(info.filename):
            raise ArchiveError("upload.zip_bad_name", name=info.filename)
        # read in chunks and stop at the bounds, whatever the header claimed
        cap = min(limits.max_total - total, limits.max_ratio * max(info.compress_size, 1) + 1024 * 1024)
        buf = io.BytesIO()
        try:
            with zf.open(info) as fh:
                while True:
                    chunk = fh.read(1024 * 1024)
                    if not chunk:
                        break
                    buf.write(chunk)
                    if buf.tell() > cap:
                        raise ArchiveError("upload.zip_ratio", name=info.filename)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
            raise ArchiveError("upload.bad_zip") from None
        total += buf.tell()
        out[info.filename] = buf.getvalue()
    return out
