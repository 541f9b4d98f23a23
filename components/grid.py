"""Dash AG Grid as the staff pages use it: AG Grid's own words (filter menus, "no rows") in the
page's language, and the edits a grid reports applied to the rows it was given.

An editable grid reports each edit in `cellValueChanged` (row id, column, new value) rather than
in `rowData`, and `virtualRowData` holds only the rows a filter lets through; so a page keeps the
edits (`collect_edits`) and the rows deleted in a store and rebuilds the rows with `edited_rows`.
"""
from __future__ import annotations

from i18n import t

# AG Grid's own accessibility switches, for every grid: its rows and header cells stay in the
# accessibility tree while the grid is scrolled out of view (AG Grid otherwise draws the grid with
# `content-visibility: auto`, and a screen reader — and axe-core — then meets header rows without
# header cells and scrolling regions with nothing to focus), and the DOM keeps the rows and columns
# in the order shown (what a screen reader reads).
A11Y_GRID_OPTIONS = {"suppressContentVisibilityAuto": True, "ensureDomOrder": True}

GRID_TEXT = ("noRowsToShow", "filterOoo", "contains", "notContains", "equals", "notEqual", "startsWith", "endsWith",
             "blank", "notBlank", "lessThan", "greaterThan", "lessThanOrEqual", "greaterThanOrEqual", "inRange",
             "andCondition", "orCondition", "inRangeStart", "inRangeEnd", "pinColumn", "autosizeThisColumn",
             "autosizeAllColumns", "resetColumns", "sortAscending", "sortDescending", "sortUnSort", "columnFilter",
             "columnChooser", "noPin", "pinLeft", "pinRight")


def grid_locale(lang: str) -> dict:
    """AG Grid's own words (filter menus, "no rows") from the string table."""
    return {key: t(f"explore.grid.{key}", lang) for key in GRID_TEXT}


def collect_edits(edits, changes) -> dict:
    """edits ({row id: {column: value}}) with the grid's latest `cellValueChanged` added."""
    out = {str(k): dict(v) for k, v in (edits or {}).items() if isinstance(v, dict)} if isinstance(edits, dict) else {}
    if isinstance(changes, dict):
        changes = [changes]
    for change in changes or []:
        if isinstance(change, dict) and change.get("rowId") is not None and isinstance(change.get("colId"), str):
            out.setdefault(str(change["rowId"]), {})[change["colId"]] = change.get("value")
    return out


def edited_rows(rows, edits, deleted, key: str) -> list[dict]:
    """The grid's rows as the person sees them: the edits applied, the deleted rows left out."""
    edits = edits if isinstance(edits, dict) else {}
    gone = {str(x) for x in deleted or []}
    return [{**row, **(edits.get(str(row.get(key))) or {})} for row in rows or []
            if isinstance(row, dict) and str(row.get(key)) not in gone]
