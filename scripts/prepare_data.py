"""Developer tool: rebuild the files under data/ from ../shared/data.

Run once by a developer when the shared data changes; the app and the tests read only data/.
    python scripts/prepare_data.py ../shared/data
"""
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def build_boundaries(shared: Path) -> None:
    frames = [gpd.read_file(p) for p in sorted((shared / "boundaries").glob("n03_*.geojson"))]
    gdf = pd.concat(frames, ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:4326")
    gdf["code"] = [p.stem.split("_")[1] for p, f in
                   zip(sorted((shared / "boundaries").glob("n03_*.geojson")), frames) for _ in range(len(f))]
    dissolved = gdf.dissolve(by=["code", "name"], as_index=False)
    # ~30 m tolerance keeps the outline recognisable at city zoom while cutting the size tenfold
    dissolved["geometry"] = dissolved.geometry.simplify(0.0003, preserve_topology=True)
    dissolved["name"] = dissolved["name"].str.replace("石川県", "", regex=False)
    out = ROOT / "data/boundaries/ishikawa_municipalities.geojson"
    dissolved[["code", "name", "geometry"]].to_file(out, driver="GeoJSON", COORDINATE_PRECISION=5)
    print(out, out.stat().st_size, "bytes,", len(dissolved), "municipalities")


# --- the demo road network (羽咋市 and its neighbours) ---
DEMO_AREAS = ["羽咋市", "羽咋郡志賀町", "羽咋郡宝達志水町", "鹿島郡中能登町"]
# national roads the State manages itself (指定区間, 金沢河川国道事務所); other national and
# prefectural roads: 石川県; municipal roads: the municipality. A rule, not an official register.
DIRECT_NATIONAL = {"国道8号", "国道159号", "国道160号", "国道470号"}
CLASS_JA = {"national": "国道", "prefectural": "県道", "municipal": "市町道", "expressway": "自動車専用道路"}


def _manager(road_class: str, name: str, area: str) -> str:
    if name in DIRECT_NATIONAL:
        return "国土交通省 金沢河川国道事務所"
    if road_class == "municipal":
        return area
    return "石川県"


def build_roads(shared: Path) -> None:
    import shapely
    from shapely.geometry import shape

    sys.path.insert(0, str(ROOT))
    from sources.roads import (
        ISHIKAWA,
        assign_areas,
        classify,
        municipality_areas,
        number_segments,
        split_lines,
        to_feature,
    )

    areas = [(n, g) for n, g in municipality_areas(ROOT / "data/boundaries/ishikawa_municipalities.geojson")
             if any(n == a.split("郡")[-1] for a in DEMO_AREAS)]
    a37 = json.loads((shared / "roads/a37_peninsula_roads_hakui_clip.geojson").read_text())
    n10 = json.loads((shared / "roads/n10_emergency_transport_roads_ishikawa.geojson").read_text())
    a37_lines = [shape(f["geometry"]) for f in a37["features"]]
    a37_m = shapely.union_all([ISHIKAWA.geom_fwd(g) for g in a37_lines])
    a37_cover = shapely.buffer(a37_m, 15.0)
    demo_poly = ISHIKAWA.geom_fwd(shapely.union_all([g for _n, g in areas]))
    items = []
    named = []  # N10 lines near 羽咋市, to name the A37 roads they run along
    for f in n10["features"]:
        name = f["properties"]["N10_004"]
        g = ISHIKAWA.geom_fwd(shape(f["geometry"]))
        named.append((name, g))
        part = shapely.difference(shapely.intersection(g, demo_poly), a37_cover)
        if part.is_empty:
            continue
        cls = "expressway" if ("自動車道" in name or "里山海道" in name) else classify(name)
        if cls == "other":
            cls = "prefectural"  # N10 route names without 国道/市道 are prefectural roads (…線)
        items.append({"geometry": ISHIKAWA.geom_inv(part), "name": name, "road_class": cls})
    for f, g in zip(a37["features"], a37_lines):
        p = f["properties"]
        if not p.get("A37_100002") and p.get("A37_000003") == "一般国道":  # the route-level record
            number = str(p.get("A37_000001") or "").translate(str.maketrans("０１２３４５６７８９", "0123456789"))
            items.append({"geometry": g, "name": "国道" + number, "road_class": "national"})
            continue
        items.append({"geometry": g, "name": "", "road_class": classify(p.get("A37_100002") or "")})
    segments = split_lines(items)
    assign_areas(segments, areas)
    # name the A37 pieces after the N10 route they run along (most of their length within 20 m)
    tree = shapely.STRtree([g for _n, g in named])
    for seg in segments:
        if seg["name"]:
            continue
        gm = ISHIKAWA.geom_fwd(seg["geometry"])
        best, share = "", 0.0
        for i in tree.query(gm, predicate="dwithin", distance=20.0):
            s = shapely.intersection(gm, shapely.buffer(named[i][1], 20.0)).length / max(gm.length, 1e-9)
            if s > share:
                best, share = named[i][0], s
        if share >= 0.6 and classify(best) in (seg["road_class"], "other"):
            seg["name"] = best
    for seg in segments:
        if not seg["name"]:
            seg["name"] = (f"{seg['area']}道" if seg["road_class"] == "municipal"
                           else f"{CLASS_JA.get(seg['road_class'], '道路')}（{seg['area']}内）")
        seg["route"] = seg["name"]
        seg["manager"] = _manager(seg["road_class"], seg["name"], seg["area"])
        seg["id"] = ""
    number_segments(segments)
    out = ROOT / "data/roads/demo_roads_hakui.geojson"
    out.parent.mkdir(exist_ok=True)
    feats = [to_feature(s) for s in sorted(segments, key=lambda s: s["id"])]
    out.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False,
                              separators=(",", ":")) + "\n", encoding="utf-8")
    km = sum(f["properties"]["length_m"] for f in feats) / 1000
    print(out, out.stat().st_size, "bytes,", len(feats), "segments,", round(km, 1), "km")


def main(shared: Path) -> None:
    shutil.copy(shared / "aed/hakusan_aed_cp932.csv", ROOT / "data/aed/")
    for name in ["gsi_evacuation_172065_kaga.geojson", "gsi_evacuation_172073_hakui.geojson",
                 "gsi_evacuation_172111_nomi.geojson"]:
        shutil.copy(shared / "shelters" / name, ROOT / "data/shelters/")
    shutil.copy(shared / "snow/jma_daily_202001_niigata_tsunan.csv", ROOT / "data/snow/")
    build_boundaries(shared)
    build_roads(shared)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data"))
