"""The layers every installation starts with, and loading their shipped data at first start."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy.orm import Session

from i18n import t
from sources.aed_csv import read_aed_csv
from sources.geojson_file import read_features
from store.features import replace_features
from store.layers import ensure_organisation, upsert_layer
from store.models import Layer

log = logging.getLogger(__name__)

ORGANISATIONS = [
    ("ishikawa", "石川県", "Ishikawa Prefecture"),
    ("kaga", "加賀市", "Kaga City"),
    ("hakui", "羽咋市", "Hakui City"),
    ("nomi", "能美市", "Nomi City"),
]

# menu groups of the public layer panel, in order; organisations' own groups follow these
GROUPS = ["kihon", "bousai", "iryou", "yuki"]
GROUP_LABELS = {"kihon": "group.boundaries", "bousai": "group.bousai", "iryou": "group.iryou",
                "yuki": "group.yuki"}

GSI_ATTR = "出典：国土地理院"

HAZARD_LICENSE = "ハザードマップポータルサイト利用規約（出典明示）"

BUILTIN = [
    dict(id="boundaries", kind="outline", group="kihon", sort_order=10, default_visible=True,
         name="layer.boundaries", attribution="attribution.n03",
         license="国土数値情報利用約款（出典明示）", files=["boundaries/ishikawa_municipalities.geojson"]),
    dict(id="hazard-flood", kind="hazard_tiles", group="bousai", sort_order=20,
         name="layer.hazard_flood", attribution="attribution.hazard", license=HAZARD_LICENSE,
         options={"tile_ids": ["01_flood_l2_shinsuishin_data"], "legend": "depth"}),
    dict(id="hazard-sediment", kind="hazard_tiles", group="bousai", sort_order=21,
         name="layer.hazard_sediment", attribution="attribution.hazard", license=HAZARD_LICENSE,
         options={"tile_ids": ["05_dosekiryukeikaikuiki", "05_kyukeishakeikaikuiki"], "legend": "sediment"}),
    dict(id="hazard-tsunami", kind="hazard_tiles", group="bousai", sort_order=22,
         name="layer.hazard_tsunami", attribution="attribution.hazard", license=HAZARD_LICENSE,
         options={"tile_ids": ["04_tsunami_newlegend_data"], "legend": "depth"}),
    dict(id="hazard-storm-surge", kind="hazard_tiles", group="bousai", sort_order=23,
         name="layer.hazard_storm_surge", attribution="attribution.hazard", license=HAZARD_LICENSE,
         options={"tile_ids": ["03_hightide_l2_shinsuishin_data"], "legend": "depth"}),
    dict(id="shelters", kind="shelters", group="bousai", sort_order=30,
         name="layer.shelters", attribution="attribution.shelters", license="国土地理院コンテンツ利用規約",
         files=["shelters/gsi_evacuation_172065_kaga.geojson", "shelters/gsi_evacuation_172073_hakui.geojson",
                "shelters/gsi_evacuation_172111_nomi.geojson"]),
    dict(id="cameras", kind="cameras", group="bousai", sort_order=35,
         name="camera.layer", attribution="camera.attribution", license="各カメラの設置者 / デモカメラはデモ画像"),
    dict(id="aed", kind="aed", group="iryou", sort_order=40, default_visible=True,
         name="layer.aed", attribution="attribution.aed", license="白山市オープンデータ（ライセンス未表記・サンプル）",
         files=["aed/hakusan_aed_cp932.csv"]),
    dict(id="snow-depth", kind="snow_depth", group="yuki", sort_order=50, default_visible=True,
         name="layer.snow_depth", attribution="attribution.snow_demo", license="デモデータ",
         options={"demo": True, "feed": "demo-snow"}),
    dict(id="snow-melters", kind="melters", group="yuki", sort_order=52,
         name="melter.layer", attribution="melter.attribution", license="各装置の管理者 / デモ装置の状態はデモデータ"),
    dict(id="road-restrictions", kind="restrictions", group="yuki", sort_order=53,
         name="restriction.layer", attribution="restriction.attribution",
         license="各道路管理者 / デモの規制はデモデータ（国土数値情報の道路を加工）"),
    # snow removal: road colours only (no vehicles); the network itself lives in the snow tables (layers/snowplow.py)
    dict(id="snow-removal", kind="snowplow", group="yuki", sort_order=51,
         name="layer.snow_removal", attribution="attribution.snow_removal",
         license="国土数値情報（緊急輸送道路・半島循環道路）非商用 / 除雪車位置はデモデータ",
         options={"demo": True, "feed": "demo-plows"}),
]


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _load(paths: list[Path]) -> list[dict]:
    feats: list[dict] = []
    for p in paths:
        if p.suffix == ".csv":
            feats.extend(read_aed_csv(p.read_bytes(), source=p.name).features)
        else:
            for i, f in enumerate(read_features(p)):
                f = dict(f)
                f["id"] = f.get("id") or f["properties"].get("共通ID") or f["properties"].get("code") or f"{p.stem}-{i}"
                feats.append(f)
    return feats


def ensure_builtin(s: Session, data_path: Path) -> None:
    """Create the organisations and built-in layers; (re)load shipped data when its file changed."""
    orgs = {code: ensure_organisation(s, code, ja, en) for code, ja, en in ORGANISATIONS}
    for spec in BUILTIN:
        files = [data_path / f for f in spec.get("files", [])]
        options = dict(spec.get("options", {}))
        existing = s.get(Layer, spec["id"])
        fields = dict(kind=spec["kind"], group=spec["group"], sort_order=spec["sort_order"],
                      name_ja=t(spec["name"], "ja"), name_en=t(spec["name"], "en"),
                      attribution_ja=t(spec["attribution"], "ja"), attribution_en=t(spec["attribution"], "en"),
                      license=spec["license"], organisation_id=orgs["ishikawa"].id,
                      default_visible=spec.get("default_visible", False))
        digest = _digest(files) if files else ""
        unchanged = existing is not None and existing.options.get("source_digest", "") == digest
        options["source_digest"] = digest
        # names, options and attribution follow the code; data is reloaded only when its file changed
        layer = upsert_layer(s, spec["id"], options=options, **fields)
        if files and not unchanged:
            count = replace_features(s, layer, _load(files))
            log.info("built-in layer %s: %d features loaded from %s", layer.id, count,
                     ", ".join(str(f.relative_to(data_path)) for f in files))
