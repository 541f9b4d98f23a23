"""Organisations: `GET /api/organisations` (anyone: the active organisations with their portal and
boundary) and `GET /api/organisations/<code>/export.zip` — everything an organisation holds, in
one archive (Bearer token or a staff log-in; prefecture admins any organisation, org_admins their
own): per layer GeoJSON and CSV, its alert rules, sources (never their broker/CKAN keys) and
dashboards as JSON, and a manifest. Unknown organisations, and those the caller may not export,
are 404 alike."""
from __future__ import annotations

import io
import zipfile
from datetime import UTC

import orjson
from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from alerts.rules_json import rule_to_json
from api import schemas as s_
from api.contract import Answer, contract
from auth import current_staff
from auth.permissions import EXPORT, can
from dashboards.service import document
from layers.manage import layer_csv
from refusal import Refused
from sources.source_config import source_json
from store import dashboards as sd, organisations as so
from store.alerts import AlertRule
from store.brokers import sources
from store.db import get_db, utcnow
from store.features import feature_collection_bytes
from store.feeds import feed_states
from store.models import Layer

bp = Blueprint("organisations_api", __name__)


def _json(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def export_archive(db, staff, code: str, base_url: str = "") -> tuple[str, bytes]:
    """(file name, zip bytes) of everything organisation `code` holds; Refused(404) when unknown or
    not the caller's to export."""
    with db.session() as s:
        org = so.get_by_code(s, code)
        if org is None or not can(staff, EXPORT, org.id):
            raise Refused(404, "not_found", "orgs.err.unknown")
        buf = io.BytesIO()
        layers = list(s.scalars(select(Layer).where(Layer.organisation_id == org.id).order_by(Layer.id)))
        rules = list(s.scalars(select(AlertRule).where(AlertRule.organisation_id == org.id).order_by(AlertRule.id)))
        states = feed_states(s)
        srcs = []
        for src in sources(s, organisation_id=org.id):
            body = source_json(src, states, base_url)
            body.pop("notify_headers", None)  # secrets stay on the platform
            srcs.append(body)
        dashes = [document(s, d) for d in s.scalars(select(sd.Dashboard).where(sd.Dashboard.organisation_id == org.id)
                                                    .order_by(sd.Dashboard.slug))]
        manifest = {"organisation": {"code": org.code, "name_ja": org.name_ja, "name_en": org.name_en,
                                     "boundary": org.boundary, "active": org.active is not False},
                    "exported_at": utcnow().astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "layers": [], "rules": len(rules), "sources": len(srcs), "dashboards": len(dashes)}
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for layer in layers:
                zf.writestr(f"layers/{layer.id}.geojson", feature_collection_bytes(s, layer.id))
                zf.writestr(f"layers/{layer.id}.csv", layer_csv(s, layer))
                manifest["layers"].append({"id": layer.id, "name_ja": layer.name_ja, "name_en": layer.name_en,
                                           "kind": layer.kind, "group": layer.group,
                                           "visibility": layer.visibility, "features": layer.feature_count,
                                           "license": layer.license, "description_ja": layer.description_ja})
            zf.writestr("rules.json", _json([rule_to_json(r, org) for r in rules]))
            zf.writestr("sources.json", _json(srcs))
            zf.writestr("dashboards.json", _json(dashes))
            zf.writestr("organisation.json", _json(manifest))
        return f"{org.code}-export.zip", buf.getvalue()


@bp.get("/api/organisations")
@contract("The active organisations, with their portal and boundary",
          answers={200: Answer("organisations", s_.OrganisationList)})
def list_organisations():
    with get_db().session() as s:
        return jsonify({"organisations": [
            {"code": o.code, "name_ja": o.name_ja, "name_en": o.name_en, "boundary": o.boundary or None,
             "portal": f"/o/{o.code}"} for o in so.all_organisations(s) if o.active is not False]})


@bp.get("/api/organisations/<code>/export.zip")
@contract("Everything an organisation holds, in one archive (admins: any; org_admins: their own; else 404)",
          auth="optional", answers={200: Answer("ZIP archive", None, "application/zip")})
def export_zip(code: str):
    from flask import current_app

    settings = current_app.extensions["ishikawa.settings"]
    name, body = export_archive(get_db(), current_staff(), code[:40], settings.public_base_url)
    resp = Response(body, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
