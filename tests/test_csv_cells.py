"""One CSV rule for every download (csvcell): the public layer CSV, the staff download, the
/sensors export and the alert history neutralise the same cells — headers and ids included."""
from __future__ import annotations

import csv
import io
import json

from csvcell import cell
from tests.staff_helpers import make_person, upload

EVIL = ["=1+1", "+81-76-000", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://evil.example\")"]


def test_cell_rule():
    for text in EVIL:
        assert cell(text) == "'" + text
    for safe in ("-5", "+81", "1.5e3", "-0.25", "abc", "", "石川"):
        assert cell(safe) == safe
    assert (cell(None), cell(-5), cell(2.5)) == ("", "-5", "2.5")
    assert cell({"a": "=x"}) == '{"a":"=x"}' and cell(["=x"]) == '["=x"]'


def _geojson(evil: list[str]) -> bytes:
    feats = [{"type": "Feature", "id": text, "geometry": {"type": "Point", "coordinates": [136.6 + i / 100, 36.5]},
              "properties": {text: text, "名称": f"地点{i}"}} for i, text in enumerate(evil)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def _no_formula(table: list[list[str]]) -> None:
    for r in table:
        for c in r:
            assert not c.startswith(("=", "+", "@", "\t", "\r")), c
            assert not c.startswith("-") or c.lstrip("-").replace(".", "", 1).isdigit(), c


def test_public_and_staff_csv_neutralise_headers_ids_and_cells(client, app_db):
    kaga = make_person(app_db, "kaga")
    r = upload(client, kaga, data=_geojson(EVIL), filename="evil.geojson", visibility="public")
    assert r.status_code == 201, r.json
    layer_id = r.json["id"]
    public = client.get(f"/api/layers/{layer_id}/features.csv")
    staff = client.get(f"/api/layers/{layer_id}/download.csv", headers=kaga.auth)
    for resp in (public, staff):
        assert resp.status_code == 200
        table = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"), newline="")))
        _no_formula(table)
        expected = {"'" + text for text in EVIL}
        assert expected <= set(table[0]), table[0]  # header cells
        assert expected == {r[0] for r in table[1:]}, [r[0] for r in table[1:]]  # ids
        values = {c for r in table[1:] for c in r[1:]}
        assert expected <= values  # property values
    client.delete(f"/api/layers/{layer_id}", headers=kaga.auth)
