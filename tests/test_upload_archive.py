"""Zips (KMZ, Shapefile) are opened within bounds: ratio, count, size (checked while reading) and names."""
from __future__ import annotations

import pytest

from sources.readers import UploadError, read_upload
from sources.readers.archive import ArchiveError, Limits, read_entries
from tests.upload_files import zip_of


def test_zip_bomb_ratio_is_refused():
    bomb = zip_of({"doc.kml": b"<kml>" + b" " * (20 * 1024 * 1024) + b"</kml>"})
    assert len(bomb) < 100_000
    with pytest.raises(UploadError) as exc:
        read_upload(bomb, "bomb.kmz")
    assert exc.value.status == 422 and exc.value.message_key == "upload.zip_ratio"


def test_zip_bounds_on_count_and_size():
    many = zip_of({f"f{i}.kml": b"<kml/>" for i in range(300)})
    with pytest.raises(UploadError) as exc:
        read_upload(many)
    assert exc.value.message_key == "upload.zip_too_many"
    with pytest.raises(ArchiveError) as exc:
        read_entries(zip_of({"a.kml": b"x" * 5000}), lambda n: True, Limits(max_total=1000))
    assert exc.value.message_key == "upload.zip_too_big"


def test_zip_sizes_are_checked_while_reading_not_trusted():
    data = zip_of({"doc.kml": b"<kml>" + b" " * 3_000_000 + b"</kml>"})
    # the header claims what it claims; reading stops at the bound all the same
    with pytest.raises(ArchiveError):
        read_entries(data, lambda n: True, Limits(max_ratio=10, max_total=10**9))


def test_zip_names_may_not_leave_the_archive():
    with pytest.raises(UploadError) as exc:
        read_upload(zip_of({"../../evil.kml": b"<kml/>"}))
    assert exc.value.message_key == "upload.zip_bad_name"
