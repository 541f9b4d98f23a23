"""The AG Grid edits of /staff/layers: what the grid reports (cellValueChanged) kept per row, and the
rows rebuilt from them — edited values applied, deleted rows left out, rows a filter hides kept."""
from __future__ import annotations

from components.grid import collect_edits, edited_rows, grid_locale

ROWS = [{"_fid": "1", "名称": "a", "緯度": 36.5}, {"_fid": "2", "名称": "b", "緯度": 36.6},
        {"_fid": "3", "名称": "c", "緯度": 36.7}]


def test_edits_are_kept_per_row_and_column():
    edits = collect_edits({}, [{"rowId": "2", "colId": "名称", "value": "B", "oldValue": "b"}])
    edits = collect_edits(edits, [{"rowId": "2", "colId": "緯度", "value": 36.65},
                                  {"rowId": "3", "colId": "名称", "value": "C"}])
    edits = collect_edits(edits, {"rowId": "2", "colId": "名称", "value": "B2"})  # a single change, the latest wins
    assert edits == {"2": {"名称": "B2", "緯度": 36.65}, "3": {"名称": "C"}}


def test_what_a_browser_may_send_instead_is_ignored():
    assert collect_edits(None, None) == {}
    assert collect_edits([], [{"rowId": None, "colId": "x"}, "junk", {"rowId": "1", "colId": 5}]) == {}
    assert collect_edits({"1": "junk", "2": {"a": 1}}, []) == {"2": {"a": 1}}


def test_rows_are_rebuilt_with_the_edits_and_without_the_deleted():
    edits = {"2": {"名称": "B"}, "9": {"名称": "not shown"}}
    rows = edited_rows(ROWS, edits, ["3"], "_fid")
    assert rows == [{"_fid": "1", "名称": "a", "緯度": 36.5}, {"_fid": "2", "名称": "B", "緯度": 36.6}]
    assert ROWS[1]["名称"] == "b"  # the grid's rows are not changed
    assert edited_rows(None, None, None, "_fid") == [] and edited_rows(["junk"], {}, [], "_fid") == []


def test_grid_words_follow_the_page_language():
    ja, en = grid_locale("ja"), grid_locale("en")
    assert ja["contains"] == "を含む" and en["contains"] == "Contains" and set(ja) == set(en)
