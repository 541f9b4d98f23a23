from pathlib import Path

import pytest

from sources.aed_csv import read_aed_csv

ROOT = Path(__file__).resolve().parents[1]
HAKUSAN = ROOT / "data/aed/hakusan_aed_cp932.csv"
KOMAE = ROOT / "tests/fixtures/komae_aed_recommended_format.csv"


def test_real_hakusan_file_as_it_is():
    raw = HAKUSAN.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the real file is CP932, not UTF-8
    result = read_aed_csv(raw)
    assert result.encoding == "cp932"
    assert result.total_rows == 211
    assert len(result.features) == 211 and not result.skipped
    first = result.features[0]
    assert first["id"] == "5001"
    assert first["properties"]["name"] == "松任小学校"
    assert first["properties"]["location"] == "職員玄関"
    assert first["properties"]["address"] == "白山市末広一丁目100"
    assert first["properties"]["phone"] == "076-276-1261"
    lon, lat = first["geometry"]["coordinates"]
    assert (lon, lat) == (136.567419, 36.520168)
    # every AED lies in 白山市's neighbourhood, lon/lat not swapped
    for f in result.features:
        lon, lat = f["geometry"]["coordinates"]
        assert 136.3 < lon < 136.9 and 36.1 < lat < 36.7


def test_recommended_national_layout():
    result = read_aed_csv(KOMAE.read_bytes())
    assert result.encoding == "utf-8"
    assert len(result.features) == 57
    props = result.features[1]["properties"]
    assert props["name"] == "狛江市役所"
    assert props["address"].endswith("防災センター２階".replace("２", "2"))  # 方書 joined, NFKC
    assert props["location"] == "安心安全課カウンター"
    assert props["days"] == "月火水木金"
    assert props["hours"] == "8:30〜17:00"


def test_bad_rows_are_skipped_and_counted(caplog):
    text = ("名称,緯度,経度,設置場所\n"
            "ok,３６．５,１３６．６,玄関\n"      # full-width digits
            "no coords,,,\n"
            "swapped,136.6,36.5,\n"            # lat/lon swapped: outside Japan
            "text,abc,136.6,\n"
            "zero,0,0,\n"
            ",,,\n")                           # blank row: ignored, not counted
    result = read_aed_csv(("\ufeff" + text).encode("utf-8"))
    assert result.encoding == "utf-8-sig"
    assert [f["properties"]["name"] for f in result.features] == ["ok"]
    assert result.features[0]["geometry"]["coordinates"] == [136.6, 36.5]
    assert [n for n, _ in result.skipped] == [3, 4, 5, 6]
    assert "4 of 6 rows skipped" in caplog.text


def test_unusable_files_raise_clear_errors():
    with pytest.raises(ValueError, match="緯度・経度の列"):
        read_aed_csv("名称,住所\nA,B\n".encode("cp932"))
    with pytest.raises(ValueError, match="空のファイル"):
        read_aed_csv(b"")
    with pytest.raises(ValueError, match="文字コード"):
        read_aed_csv(b"\x81\x00\xff\xfe\x80\x80")
