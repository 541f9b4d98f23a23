"""The staff pages as a `viewer` sees them: everything they may look at, nothing they could change.

A viewer sees their organisation's private layers, groups, sources, rules, cameras and dashboards
but changes nothing (store.permissions: VIEWER has no EDIT). Their actions are refused by the
services anyway; this module makes the pages say so up front instead of offering forms that fail:
`for_viewer(page, lang, id_prefix)` takes a page's full component tree and returns it with every
control that changes something removed (buttons, file pickers, forms, confirm dialogs), the values
of inputs and dropdowns shown as plain text, grids made non-editable, and a "閲覧のみ" note on top.
"""
from __future__ import annotations

from dash import dcc, html

from i18n import t

# components that only exist to change something: dropped entirely
_DROP = (html.Button, html.Form, dcc.ConfirmDialog, dcc.Upload)
# input-like components: replaced by their value as text
_VALUE = (dcc.Input, dcc.Textarea, html.Textarea)
_CHOICE = (dcc.Dropdown, dcc.RadioItems, dcc.Checklist)
# class names of blocks that hold only controls for changing things
_DROP_CLASSES = ("staff-file",)


def read_only(staff) -> bool:
    """True for a logged-in person who may look but not change anything (the `viewer` role)."""
    from auth.permissions import EDIT, can

    return staff is not None and not can(staff, EDIT, getattr(staff, "organisation_id", None))


def note(lang: str, id_prefix: str) -> html.P:
    return html.P(t("staff.readonly.note", lang), id=f"{id_prefix}-read-only",
                  className="staff-card staff-read-only", role="note")


def _option_label(options, value) -> str:
    values = value if isinstance(value, list) else [value]
    labels = []
    for opt in options or []:
        if isinstance(opt, dict) and opt.get("value") in values:
            label = opt.get("label")
            labels.append(label if isinstance(label, str) else str(opt.get("value")))
        elif not isinstance(opt, dict) and opt in values:
            labels.append(str(opt))
    return "、".join(labels)


def _text(component) -> html.Span | None:
    if isinstance(component, _CHOICE):
        shown = _option_label(getattr(component, "options", None), getattr(component, "value", None))
    else:
        if getattr(component, "type", None) in ("hidden", "password", "file"):
            return None
        value = getattr(component, "value", None)
        shown = "" if value is None else str(value)
    kwargs = {"id": component.id} if getattr(component, "id", None) is not None else {}
    return html.Span(shown, className="staff-read-value", **kwargs)


def _strip(node):
    """The node with its editing controls removed (None: drop the node)."""
    if isinstance(node, (list, tuple)):
        kept = [_strip(child) for child in node]
        return [child for child in kept if child is not None]
    if not hasattr(node, "to_plotly_json"):
        return node
    if isinstance(node, html.Header):
        return node  # the top bar: navigation, language, log-out stay
    if isinstance(node, _DROP):
        return None
    if isinstance(node, html.A) and str(getattr(node, "href", "") or "").startswith("/staff/upload"):
        return None  # "upload" buttons: nothing a viewer may do
    if any(c in (getattr(node, "className", None) or "").split() for c in _DROP_CLASSES):
        return None
    if isinstance(node, _VALUE + _CHOICE):
        return _text(node)
    if type(node).__name__ == "AgGrid":
        node.columnDefs = [{**c, "editable": False, "checkboxSelection": False}
                           if isinstance(c, dict) else c for c in (getattr(node, "columnDefs", None) or [])]
        node.defaultColDef = {**(getattr(node, "defaultColDef", None) or {}), "editable": False}
        node.dashGridOptions = {k: v for k, v in (getattr(node, "dashGridOptions", None) or {}).items()
                                if k not in ("rowSelection", "singleClickEdit")}
        return node
    if type(node).__name__ == "Map":
        # a map stays for looking; clicking it adds nothing (its click callbacks are refused anyway)
        return node
    children = getattr(node, "children", None)
    if children is not None:
        node.children = _strip(children)
    return node


def for_viewer(page, lang: str, id_prefix: str):
    """The page as a viewer sees it: its content without editing controls, a note first."""
    page = _strip(page)
    main = _find_main(page)
    if main is not None and "staff-split" in (main.className or "") and isinstance(main.children, list):
        main = main.children[0]  # a list beside the content: the note goes on top of the list
    if main is not None:
        kids = main.children if isinstance(main.children, list) else [main.children]
        at = 1 if kids and isinstance(kids[0], html.H2) else 0
        main.children = kids[:at] + [note(lang, id_prefix)] + kids[at:]
    elif isinstance(getattr(page, "children", None), list):
        page.children.insert(0, note(lang, id_prefix))
    return page


def _find_main(node):
    if isinstance(node, html.Main):
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found = _find_main(child)
        if found is not None:
            return found
    return None


def viewer_sees_read_only(id_prefix: str):
    """Decorator for a staff page's `layout`: a viewer gets `for_viewer` of the page."""
    import functools

    def wrap(layout):
        @functools.wraps(layout)
        def layout_for_role(*args, **kwargs):
            from auth import current_staff
            from i18n import normalize_lang

            page = layout(*args, **kwargs)
            if read_only(current_staff()):
                return for_viewer(page, normalize_lang(kwargs.get("lang")), id_prefix)
            return page
        return layout_for_role
    return wrap
