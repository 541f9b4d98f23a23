"""The format of an uploaded file, judged from its bytes (never from its name, which only shows
in messages): a format name of the readers' registry, or `UploadError` (415 for a type we do not
take, 422 for an empty file or a broken archive)."""
from __future__ import annotations

from sources.readers.archive import ArchiveError, is_zip, list_entries
from sources.readers.base import UploadError


def sniff(raw: bytes) -> str:
    head = raw[:4096]
    if is_zip(raw):
        try:
            names = [i.filename.lower() for i in list_entries(raw)]
        except ArchiveError as exc:
            raise UploadError(422, "bad_archive", exc.message_key, **exc.fmt) from None
        if any(n.endswith(".kml") for n in names):
            return "kmz"
        if any(n.endswith(".shp") for n in names):
            return "shapefile"
        if any(n.endswith(".gpkg") for n in names):
            return "gpkg"
        if "[content_types].xml" in names:
            raise UploadError(415, "unsupported_type", "upload.excel")
        raise UploadError(415, "unsupported_type", "upload.zip_unknown")
    if raw.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if raw.startswith(b"\xd0\xcf\x11\xe0"):  # old Excel .xls
        raise UploadError(415, "unsupported_type", "upload.excel")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM ("Unicode" in Windows tools)
        low = head.decode("utf-16", errors="ignore").lstrip("\ufeff \t\r\n").lower()
        if low.startswith("<") and "<kml" in low:
            return "kml"
        if low.startswith("<") and "<gpx" in low:
            return "gpx"  # XML readers take UTF-16 as it is; other UTF-16 text is not read
    if raw.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")) or b"\x00" in head:
        raise UploadError(415, "unsupported_type", "upload.unsupported")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        low = text[:4096].lower()
        if b"<kml" in low:
            return "kml"
        if b"<gpx" in low:
            return "gpx"
        raise UploadError(415, "unsupported_type", "upload.unsupported")
    if text.startswith((b"{", b"[")):
        return "geojson"
    if not text.strip():
        raise UploadError(422, "empty_file", "upload.empty")
    return "csv"

