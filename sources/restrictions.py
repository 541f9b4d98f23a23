"""Road restrictions (通行規制) from files and from the demo: the columns of 石川みち情報ネット-style
lists (種別 / 規制内容, 路線名, 区間, 理由, 規制開始, 規制終了 — Japanese or English headers), read
from any upload the upload readers take (CSV with lat/lon: points; GeoJSON and KML: lines or
points), and a handful of demo restrictions on the shipped road network of 羽咋市 and its
neighbours, their periods kept around the present so a newcomer always sees some in force.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sources.text import nfkc, pick
from store.db import Database, utcnow
from store.restrictions import (
    ALTERNATING,
    CHAIN,
    CLOSURE,
    PUBLIC,
    WINTER,
    RoadRestriction,
    kind_of_text,
    put,
)
from timezones import JST

ID_NAMES = ("id", "規制id", "規制番号", "番号", "管理番号", "no")
# (the camelCase names — restrictionType, validFrom, … — are those of the NGSI `RoadRestriction` entity)
KIND_NAMES = ("type", "kind", "種別", "規制種別", "規制内容", "規制", "規制の種類", "規制区分", "restrictiontype",
              "restriction_type", "category")
ROAD_NAMES = ("road", "路線", "路線名", "道路名", "道路", "roadname", "road_name")
SECTION_NAMES = ("section", "区間", "規制区間", "場所", "規制場所", "location", "地先", "address")
REASON_NAMES = ("reason", "理由", "規制理由", "原因", "事由", "cause", "restrictionreason")
START_NAMES = ("start", "starts_at", "開始", "開始日時", "規制開始", "規制開始日時", "開始日", "from", "validfrom",
               "valid_from")
END_NAMES = ("end", "ends_at", "終了", "終了日時", "規制終了", "規制終了日時", "終了予定", "解除予定", "終了日", "to",
             "validto", "valid_to", "validthrough")
SOURCE_NAMES = ("source", "出典", "情報提供", "提供元", "dataprovider")

_SLUG = re.compile(r"[^A-Za-z0-9_.:-]+")
_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?\s*"
                   r"(Z|[+-]\d{2}:?\d{2})?$")
_OPEN = {"", "未定", "解除未定", "当面", "-", "ー", "―", "未", "なし", "open", "none", "tbd"}


def parse_when(value) -> tuple[datetime | None, bool]:
    """(UTC time, understood). Bare times are JST; 2026/12/1 8:00, 2026年12月1日 8時30分 and ISO 8601
    are read; a date alone is its midnight. 未定 / empty: (None, True) — an open start or end."""
    text = nfkc(str(value)) if value is not None else ""
    if text.lower() in _OPEN:
        return None, True
    text = (text.replace("/", "-").replace("年", "-").replace("月", "-").replace("日", " ").replace("時", ":")
            .replace("分", "").replace("　", " ").strip())
    text = re.sub(r"\([^)]*\)", " ", text)  # a weekday in brackets: 2026-12-01(火) 8:00
    text = re.sub(r"\s+", " ", text).strip().rstrip(":")
    m = _TIME.match(text)
    if not m:
        return None, False
    y, mo, d, h, mi, sec, zone = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        return None, False
    if zone:
        dt = datetime.fromisoformat(dt.isoformat() + ("+00:00" if zone == "Z" else
                                                      (zone if ":" in zone else zone[:3] + ":" + zone[3:])))
    else:
        dt = dt.replace(tzinfo=JST)
    return dt.astimezone(UTC), True


def _has(props: dict, names: tuple[str, ...]) -> bool:
    keys = {nfkc(str(k)).lower().replace(" ", "") for k in props}
    return any(n.lower() in keys for n in names)


@dataclass
class RestrictionRow:
    id: str
    kind: str
    kind_text: str
    road: str
    section: str
    reason: str
    starts_at: datetime | None
    ends_at: datetime | None
    source: str
    geometry: dict
    row: int


def restriction_rows(features: list[dict], prefix: str, default_source: str = "") -> tuple[list[RestrictionRow],
                                                                                            list[dict]]:
    """Features of an uploaded list -> rows, and problems [{row, reason}] (bad_start, bad_end,
    ends_before_start, no_type, duplicate_id, bad_geometry)."""
    rows, problems, seen = [], [], set()
    for i, f in enumerate(features, start=1):
        props = f.get("properties") or {}
        geom = f.get("geometry") or {}
        if geom.get("type") not in ("Point", "LineString", "MultiLineString", "MultiPoint", "Polygon",
                                    "MultiPolygon"):
            problems.append({"row": i, "reason": "bad_geometry"})
            continue
        kind_text = pick(props, KIND_NAMES)[:100]
        if not kind_text:
            problems.append({"row": i, "reason": "no_type"})
            continue
        start, ok_start = parse_when(pick(props, START_NAMES))
        end, ok_end = parse_when(pick(props, END_NAMES))
        if not ok_start:
            problems.append({"row": i, "reason": "bad_start"})
            continue
        if not ok_end:
            problems.append({"row": i, "reason": "bad_end"})
            continue
        if start and end and end <= start:
            problems.append({"row": i, "reason": "ends_before_start"})
            continue
        raw_id = pick(props, ID_NAMES)
        if not raw_id:  # no id column: the same row of the same file gets the same id again
            raw_id = hashlib.sha256(json.dumps([kind_text, pick(props, ROAD_NAMES), pick(props, SECTION_NAMES),
                                                geom], sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
        rid = f"{prefix}-{_SLUG.sub('_', raw_id)}"[:120]
        if rid in seen:
            problems.append({"row": i, "reason": "duplicate_id"})
            continue
        seen.add(rid)
        rows.append(RestrictionRow(id=rid, kind=kind_of_text(kind_text), kind_text=kind_text,
                                   road=pick(props, ROAD_NAMES)[:200], section=pick(props, SECTION_NAMES)[:300],
                                   reason=pick(props, REASON_NAMES)[:300], starts_at=start, ends_at=end,
                                   source=(pick(props, SOURCE_NAMES) or default_source)[:300], geometry=geom,
                                   row=i))
    return rows, problems


# --- demo restrictions on the shipped network ---

DEMO_JOB_NAME = "demo-restrictions"
DEMO_TICK_S = 3600.0
ROADS_FILE = "roads/demo_roads_hakui.geojson"
DEMO_SOURCE = "デモデータ / demo data"

# id, type text, (route, area, first segment in file order, segments), section, reason,
# (start, end) in days from today 00:00 JST (None: open)
DEMO = [
    ("demo-chain-415", "チェーン規制", ("国道415号", "羽咋市", 0, 10), "羽咋市内（デモ）", "積雪（デモ）", (-1, 2)),
    ("demo-closure-249", "通行止め", ("国道249号", "志賀町", 0, 4), "志賀町内（デモ）", "倒木（デモ）", (-0.5, 1.5)),
    ("demo-alternating-nanao", "片側交互通行", ("七尾羽咋線", "羽咋市", 0, 3), "羽咋市内（デモ）",
     "路面補修工事（デモ）", (-2, 3)),
    ("demo-winter-fukaya", "冬期閉鎖", ("深谷中浜線", "志賀町", 0, 7), "志賀町内（デモ）", "冬期閉鎖（デモ）",
     (-30, 90)),
    ("demo-closure-ended", "通行止め", ("県道（羽咋市内）", "羽咋市", 0, 2), "羽咋市内（デモ）",
     "雪崩のおそれ（デモ）", (-3, -1)),
    ("demo-alternating-soon", "片側交互通行", ("金沢田鶴浜線", "羽咋市", 0, 3), "羽咋市内（デモ）",
     "除雪作業（デモ）", (1, 2)),
]
DEMO_KIND = {"チェーン規制": CHAIN, "通行止め": CLOSURE, "片側交互通行": ALTERNATING, "冬期閉鎖": WINTER}


def demo_geometries(data_path: Path) -> dict[str, dict]:
    import shapely
    from shapely.geometry import mapping, shape

    path = data_path / ROADS_FILE
    if not path.exists():
        return {}
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    out = {}
    for rid, _kind, (route, area, first, n), *_rest in DEMO:
        lines = [shape(f["geometry"]) for f in feats
                 if f["properties"].get("route") == route and f["properties"].get("area") == area][first:first + n]
        if lines:
            merged = shapely.line_merge(shapely.MultiLineString([list(g.coords) for g in lines
                                                                  if g.geom_type == "LineString"]))
            out[rid] = mapping(merged)
    return out


def ensure_demo(s: Session, data_path: Path, now: datetime | None = None, org_code: str = "ishikawa") -> int:
    """(Re)write the demo restrictions with periods around today (JST)."""
    from store.users import organisation_by_code

    org = organisation_by_code(s, org_code)
    if org is None:
        return 0
    now = now or utcnow()
    today = now.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0)
    geoms = demo_geometries(data_path)
    n = 0
    for rid, kind_text, _seg, section, reason, (start, end) in DEMO:
        if rid not in geoms:
            continue
        r = RoadRestriction(id=rid, organisation_id=org.id, visibility=PUBLIC, kind=DEMO_KIND[kind_text],
                            kind_text=kind_text, road=_seg[0], section=section, reason=reason,
                            starts_at=(today + timedelta(days=start)).astimezone(UTC) if start is not None else None,
                            ends_at=(today + timedelta(days=end)).astimezone(UTC) if end is not None else None,
                            source=DEMO_SOURCE, origin="demo")
        put(s, r, geoms[rid])
        n += 1
    return n


def demo_tick(db: Database, data_path: Path, now: datetime | None = None) -> int:
    with db.session() as s:
        n = ensure_demo(s, data_path, now)
        from store.models import Layer

        layer = s.get(Layer, "road-restrictions")
        if layer is not None:
            layer.version = (layer.version or 0) + 1
    return n


# --- restrictions of a registered source: a CKAN resource or a broker's entities ---

def store_source_restrictions(s: Session, source, features: list[dict], origin: str, full: bool = True) -> dict:
    """A CKAN resource's or a broker's restrictions (GeoJSON features with the columns above) in the
    source's organisation (the operator's ORION_URL broker: the prefecture's) with the source's
    visibility. full: the set is the whole list — the source's earlier restrictions that are no
    longer in it are removed; otherwise (a broker's notification) they are added or updated.
    Ids are `src<source id>-<the row's id>`; another organisation's restriction is never touched."""
    from sqlalchemy import delete

    from store.users import organisation_by_code

    org_id = source.organisation_id
    if org_id is None:
        org = organisation_by_code(s, "ishikawa")
        org_id = org.id if org is not None else None
    if org_id is None:
        return {"stored": 0, "problems": len(features)}
    prefix = f"src{source.id}"
    rows, problems = restriction_rows(features, prefix, str(source.name or "")[:300])
    removed = 0
    if full:
        keep = {r.id for r in rows}
        old = [rid for rid in s.scalars(select(RoadRestriction.id).where(
            RoadRestriction.id.like(f"{prefix}-%"), RoadRestriction.origin == origin,
            RoadRestriction.organisation_id == org_id)) if rid not in keep]
        if old:
            removed = s.execute(delete(RoadRestriction).where(RoadRestriction.id.in_(old))).rowcount or 0
    stored = 0
    for row in rows:
        existing = s.get(RoadRestriction, row.id)
        if existing is not None and existing.organisation_id != org_id:
            problems.append({"row": row.row, "reason": "taken"})
            continue
        put(s, RoadRestriction(id=row.id, organisation_id=org_id, visibility=source.visibility or PUBLIC,
                               kind=row.kind, kind_text=row.kind_text, road=row.road, section=row.section,
                               reason=row.reason, starts_at=row.starts_at, ends_at=row.ends_at, source=row.source,
                               origin=origin), row.geometry)
        stored += 1
    from store.models import Layer

    layer = s.get(Layer, "road-restrictions")
    if layer is not None and (stored or removed):
        layer.version = (layer.version or 0) + 1
        layer.updated_at = utcnow()
    s.flush()
    return {"stored": stored, "removed": removed, "problems": len(problems)}


# --- the upload readers, for device and restriction lists ---

def _readers():
    """(read_upload, UploadError, check_geometry) of the upload readers."""
    from sources.readers import UploadError, read_upload
    from sources.readers.base import check_geometry

    return read_upload, UploadError, check_geometry


def read_list(raw: bytes, filename: str):
    """An uploaded list read by the upload readers (CSV with lat/lon, GeoJSON, KML, …); raises
    `refusal.Refused` with the reader's status and message when the file cannot be read at all."""
    from refusal import Refused

    read_upload, upload_error, _check = _readers()
    try:
        return read_upload(raw, filename)
    except upload_error as exc:
        raise Refused(exc.status, exc.code, exc.message_key, exc.details, **exc.fmt) from None


def geometry_problem(geom) -> str | None:
    """None for a usable GeoJSON geometry in Japan, else the readers' reason key."""
    _read, _err, check_geometry = _readers()
    try:
        return check_geometry(geom)
    except Exception:
        return "upload.row_bad_geometry"
