"""AED lists as cities publish them.

Takes the file as it is: CP932 or UTF-8 (BOM or not), the 白山市 header set (緯度/経度, 名称,
設置場所, 会館時間…, a duplicated column name) and the national recommended 22-column layout
(推奨データセット AED設置箇所一覧: 方書, 設置位置, 利用可能曜日, 開始時間/終了時間…).
Rows with missing or impossible coordinates are skipped and counted, never fatal.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

from sources.text import decode_text, nfkc, parse_float

log = logging.getLogger(__name__)

# Japan's extent with a margin; anything outside is a typo or swapped columns
JAPAN = (122.0, 20.0, 154.0, 46.0)

COLUMNS = {
    "lat": ["緯度", "latitude", "lat", "y"],
    "lon": ["経度", "longitude", "lon", "lng", "long", "x"],
    "name": ["名称", "施設名", "設置施設名", "name"],
    "address": ["住所", "所在地", "address"],
    "annex": ["方書"],
    "location": ["設置位置", "設置場所", "設置場所詳細"],
    "days": ["利用可能曜日"],
    "start": ["開始時間"],
    "end": ["終了時間"],
    "hours": ["利用可能時間", "開館時間", "会館時間"],
    "closed": ["休館日"],
    "special": ["利用可能日時特記事項"],
    "phone": ["電話番号", "phone", "tel"],
    "note": ["備考"],
    "id": ["ID", "NO", "No", "番号"],
    "city": ["市区町村名"],
}


@dataclass
class ImportResult:
    features: list[dict]
    encoding: str
    total_rows: int
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row number in file, reason)


def _header_index(header: list[str]) -> dict[str, int]:
    """Logical column -> first matching position (duplicated names keep the first)."""
    normalized = [nfkc(h).lower() for h in header]
    index = {}
    for key, candidates in COLUMNS.items():
        for cand in candidates:
            cand = nfkc(cand).lower()
            if cand in normalized:
                index[key] = normalized.index(cand)
                break
    return index


def read_aed_csv(raw: bytes, source: str = "aed.csv") -> ImportResult:
    text, encoding = decode_text(raw)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValueError(f"{source}: 空のファイルです")
    idx = _header_index(rows[0])
    if "lat" not in idx or "lon" not in idx:
        raise ValueError(f"{source}: 緯度・経度の列が見つかりません（見出し: {', '.join(rows[0][:10])}）")

    def cell(row: list[str], key: str) -> str:
        i = idx.get(key)
        return nfkc(row[i]) if i is not None and i < len(row) else ""

    features, skipped = [], []
    data_rows = rows[1:]
    for n, row in enumerate(data_rows, start=2):  # row 1 is the header
        if not any(c.strip() for c in row):
            continue
        lat, lon = parse_float(cell(row, "lat")), parse_float(cell(row, "lon"))
        if lat is None or lon is None:
            skipped.append((n, "緯度・経度がありません"))
            continue
        if not (JAPAN[0] <= lon <= JAPAN[2] and JAPAN[1] <= lat <= JAPAN[3]):
            skipped.append((n, f"座標が日本の範囲外です（緯度 {lat}, 経度 {lon}）"))
            continue
        hours = cell(row, "hours")
        if not hours and (cell(row, "start") or cell(row, "end")):
            hours = f"{cell(row, 'start')}〜{cell(row, 'end')}"
        address = cell(row, "address")
        if cell(row, "annex"):
            address = f"{address} {cell(row, 'annex')}".strip()
        props = {
            "name": cell(row, "name") or f"AED {n - 1}",
            "address": address,
            "location": cell(row, "location"),
            "days": cell(row, "days"),
            "hours": hours,
            "closed": cell(row, "closed"),
            "special": cell(row, "special"),
            "phone": cell(row, "phone"),
            "note": cell(row, "note"),
        }
        props = {k: v for k, v in props.items() if v}
        fid = cell(row, "id") or str(n - 1)
        features.append({"type": "Feature", "id": fid,
                         "geometry": {"type": "Point", "coordinates": [lon, lat]},
                         "properties": props})
    # ids must be unique within a layer; fall back to row numbers when the file repeats them
    if len({f["id"] for f in features}) != len(features):
        for i, f in enumerate(features, start=1):
            f["id"] = str(i)
    if skipped:
        log.warning("%s: %d of %d rows skipped (%s)", source, len(skipped), len(data_rows),
                    "; ".join(f"row {n}: {why}" for n, why in skipped[:20]))
    log.info("%s: %d AEDs read (%s)", source, len(features), encoding)
    return ImportResult(features=features, encoding=encoding, total_rows=len(data_rows), skipped=skipped)
