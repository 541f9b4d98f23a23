"""Checking what staff send for a data source (API and /staff/sources share it), and showing it back."""
from __future__ import annotations

import logging
from urllib.parse import urlparse

from sources.ngsi import validate_service, validate_servicepath
from sources.source_schedule import MAX_INTERVAL_S, MIN_INTERVAL_S, client_for
from store import audit
from store.brokers import KINDS, TARGETS, Source

FIELDS = {
    # name: (type, max length)
    "name": (str, 200), "kind": (str, 20), "base_url": (str, 500), "service": (str, 50),
    "servicepath": (str, 600), "entity_type": (str, 200), "q": (str, 2000), "georel": (str, 200),
    "geometry": (str, 40), "coords": (str, 4000), "attrs": (list, 50), "key_values": (bool, 0),
    "token_header": (str, 80), "token": (str, 2000), "interval_s": (float, 0), "target": (str, 20),
    "visibility": (str, 10), "enabled": (bool, 0), "ckan_dataset": (str, 200), "ckan_resource": (str, 200),
}
NOTIFY_HEADER = "X-Notify-Token"  # the notification secret travels here, not in the URL


def clean_source(data: dict, partial: bool = False) -> tuple[dict, list[dict]]:
    """(values to set, errors as [{"field", "message"}]). Unknown fields are errors too."""
    errors: list[dict] = []
    out: dict = {}
    if not isinstance(data, dict):
        return {}, [{"field": "", "message": "a JSON object is expected"}]
    for key in data:
        if key not in FIELDS and key not in ("organisation", "id"):
            errors.append({"field": key, "message": "unknown field"})
    for key, (typ, maxlen) in FIELDS.items():
        if key not in data:
            continue
        v = data[key]
        if typ is str:
            if v is None:
                v = ""
            if not isinstance(v, str):
                errors.append({"field": key, "message": "must be text"})
                continue
            v = v.strip()
            if len(v) > maxlen:
                errors.append({"field": key, "message": f"at most {maxlen} characters"})
                continue
        elif typ is list:
            if isinstance(v, str):
                v = [x.strip() for x in v.split(",") if x.strip()]
            if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v) or len(v) > maxlen:
                errors.append({"field": key, "message": "must be a list of attribute names"})
                continue
        elif typ is bool:
            if not isinstance(v, bool):
                errors.append({"field": key, "message": "must be true or false"})
                continue
        elif typ is float:
            try:
                v = float(v) if not isinstance(v, bool) else None
            except (TypeError, ValueError, OverflowError):
                v = None
            if v is None:
                errors.append({"field": key, "message": "must be a number of seconds"})
                continue
            if not MIN_INTERVAL_S <= v <= MAX_INTERVAL_S:  # also refuses inf and NaN
                errors.append({"field": key, "message": f"from {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g} seconds"})
                continue
        out[key] = v
    if "base_url" in out:
        u = urlparse(out["base_url"])
        if u.scheme not in ("http", "https") or not u.netloc:
            errors.append({"field": "base_url", "message": "must be an http(s) URL"})
        else:
            from sources.url_guard import refusal

            reason = refusal(out["base_url"])
            if reason:
                errors.append({"field": "base_url", "message": f"not allowed: {reason}"})
        out["base_url"] = out["base_url"].rstrip("/")
    for key, fn in (("service", validate_service), ("servicepath", validate_servicepath)):
        if key in out:
            try:
                out[key] = fn(out[key])
            except ValueError as exc:
                errors.append({"field": key, "message": str(exc)})
    if "kind" in out and out["kind"] not in KINDS:
        errors.append({"field": "kind", "message": f"one of {', '.join(KINDS)}"})
    if "target" in out and out["target"] not in TARGETS:
        errors.append({"field": "target", "message": f"one of {', '.join(TARGETS)}"})
    if "visibility" in out and out["visibility"] not in ("public", "private"):
        errors.append({"field": "visibility", "message": "public or private"})
    if "georel" in out and out["georel"] and not (data.get("geometry") and data.get("coords")):
        errors.append({"field": "georel", "message": "georel needs geometry and coords"})
    if not partial:
        for key in ("name", "base_url"):
            if not out.get(key):
                errors.append({"field": key, "message": "required"})
        if out.get("kind", "orion") == "ckan" and not out.get("ckan_dataset"):
            errors.append({"field": "ckan_dataset", "message": "required for a CKAN source"})
    return out, errors


def notify_path(source_id: int) -> str:
    """Where Orion pushes a source's notifications. The secret goes in the NOTIFY_HEADER header
    (`httpCustom.headers`), so it never sits in a URL (access logs, proxies, Orion's own logs)."""
    return f"/ngsi/notify/{source_id}"


def subscribe_source(db, source_id: int, public_base_url: str, staff=None) -> dict:
    """Create an Orion subscription that pushes the source's entities to our notify URL with the
    secret in a header (API and /staff/sources share it). Raises NgsiError."""

    with db.session() as s:
        src = s.get(Source, source_id)
        s.expunge(src)
    url = public_base_url.rstrip("/") + notify_path(src.id)
    with client_for(src, retries=1) as client:
        sub_id = client.create_subscription(
            url, entity_type=src.entity_type or None, attrs=src.attrs or None,
            attrs_format="keyValues" if src.key_values else "normalized",
            description=f"ishikawa-map source {src.id}", headers={NOTIFY_HEADER: src.notify_secret})
    with db.session() as s:
        src = s.get(Source, source_id)
        before = audit_snapshot(src)
        src.subscription_id = sub_id
        if staff is not None:
            audit_source(s, staff, "source.subscribe", src, before)
    return {"subscription_id": sub_id, "notify_url": url}


def source_json(src: Source, states: dict, public_base_url: str) -> dict:
    """A source as staff see it: never the PEP token itself. The notification secret is shown to
    the staff who manage the source (they give it to a subscription made by hand) as a header."""
    return {
        "id": src.id, "name": src.name, "kind": src.kind, "organisation_id": src.organisation_id,
        "base_url": src.base_url, "service": src.service, "servicepath": src.servicepath,
        "entity_type": src.entity_type, "q": src.q, "georel": src.georel, "geometry": src.geometry,
        "coords": src.coords, "attrs": src.attrs or [], "key_values": src.key_values,
        "token_header": src.token_header, "has_token": bool(src.token), "interval_s": src.interval_s,
        "target": src.target, "visibility": src.visibility, "enabled": src.enabled, "from_env": src.from_env,
        "ckan_dataset": src.ckan_dataset, "ckan_resource": src.ckan_resource,
        "subscription_id": src.subscription_id or None,
        "notify_url": public_base_url.rstrip("/") + notify_path(src.id),
        "notify_headers": {NOTIFY_HEADER: src.notify_secret},
        "status": states.get(src.feed_name, {"status": "starting"}),
    }


def forget_source(s, src: Source) -> None:
    """Remove a source; its layers keep their last data, without a feed that would look stale forever.
    Its Orion subscription is cancelled on the broker (best effort: a broker that is down keeps it,
    and its notifications then meet a 404 here)."""
    from store.models import Feed, Layer

    if src.subscription_id and src.kind == "orion":
        from sources.ngsi import NgsiError

        try:
            with client_for(src, retries=0, timeout=5.0) as client:
                client.delete_subscription(src.subscription_id)
        except NgsiError as exc:
            logging.getLogger(__name__).warning("source %s removed, but its subscription %s stays on %s: %s", src.id,
                        src.subscription_id, src.base_url, exc)

    feed = s.get(Feed, src.feed_name)
    if feed is not None:
        s.delete(feed)
    for layer in s.query(Layer).all():
        if (layer.options or {}).get("source_id") == src.id:
            opts = {k: v for k, v in layer.options.items() if k not in ("feed", "source_id")}
            layer.options = opts
    s.delete(src)


# what the audit log keeps of a source before and after a change (its token shows only that it changed)
AUDITED = ("name", "kind", "organisation_id", "base_url", "service", "servicepath", "entity_type", "q", "georel",
           "geometry", "coords", "attrs", "key_values", "token_header", "token", "interval_s", "target", "visibility",
           "enabled", "ckan_dataset", "ckan_resource", "subscription_id")


def audit_snapshot(src: Source | None) -> dict:
    return audit.snapshot(src, AUDITED) if src is not None else {}


def audit_source(s, staff, action: str, src: Source, before: dict | None = None) -> None:
    """The audit entry of a change to a source, in the change's own session (before → after)."""
    changes = audit.diff(before, audit_snapshot(src)) if before is not None else None
    audit.record(s, staff, action, f"source:{src.id}", src.name, src.organisation_id, changes=changes)
