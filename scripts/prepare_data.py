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


def main(shared: Path) -> None:
    shutil.copy(shared / "aed/hakusan_aed_cp932.csv", ROOT / "data/aed/")
    for name in ["gsi_evacuation_172065_kaga.geojson", "gsi_evacuation_172073_hakui.geojson",
                 "gsi_evacuation_172111_nomi.geojson"]:
        shutil.copy(shared / "shelters" / name, ROOT / "data/shelters/")
    shutil.copy(shared / "snow/jma_daily_202001_niigata_tsunan.csv", ROOT / "data/snow/")
    build_boundaries(shared)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data"))
