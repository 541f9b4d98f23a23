"""OGC API – Features (Part 1: Core, GeoJSON, HTML) at /ogcapi, over the public layers only.

/ogcapi                                landing page
/ogcapi/conformance                    conformance classes
/ogcapi/collections                    one collection per public vector layer
/ogcapi/collections/<id>               its metadata (spatial and, when the data has time, temporal extent)
/ogcapi/collections/<id>/items         bbox, limit (with next/prev links), offset, datetime
/ogcapi/collections/<id>/items/<fid>   one feature

JSON (GeoJSON for items) by default; HTML with `?f=html` or when the browser asks for text/html.
Coordinates are CRS84 (lon, lat), as the layers store them.
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, abort, make_response, render_template_string, request

from api.errors import error, request_lang
from api.public import parse_bbox
from i18n import t
from layers.base import layer_attribution, layer_name
from layers.catalog import description, features_of
from layers.registry import kind_of
from store.cache import cache
from store.db import get_db, utcnow
from store.layers import get_public_layer, public_layers
from store.models import Layer

bp = Blueprint("ogcapi", __name__, url_prefix="/ogcapi")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT, MAX_LIMIT = 100, 10000
TIME_PROPS = ("observed_at", "datetime", "time")


# ------------------------------------------------------------------ helpers


def wants_html() -> bool:
    f = request.args.get("f")
    if f:
        return f.lower() == "html"
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json", "text/html"])
    return best == "text/html"


def base() -> str:
    return request.host_url.rstrip("/") + "/ogcapi"


def json_response(body: dict, mimetype: str = "application/json", status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=mimetype)


def link(href: str, rel: str, type_: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def with_query(url: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(params, safe=',:/')}" if params else url


def feature_time(feat: dict) -> datetime | None:
    props = feat.get("properties") or {}
    for key in TIME_PROPS:
        v = props.get(key)
        if isinstance(v, str):
            try:
                dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                continue
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def parse_datetime_param(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """RFC 3339 instant or interval (`a/b`, `../b`, `a/..`); None when absent; ValueError when bad."""
    if not text:
        return None

    def one(part: str) -> datetime | None:
        if part in ("", ".."):
            return None
        dt = datetime.fromisoformat(part.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)

    if "/" in text:
        a, b = text.split("/", 1)
        start, end = one(a), one(b)
        if start is None and end is None:
            raise ValueError("open interval on both ends")
        if start and end and start > end:
            raise ValueError("start after end")
        return start, end
    dt = one(text)
    return dt, dt


def collection_features(layer: Layer) -> list[dict]:
    """All features of a public layer, cached per data version."""
    key = f"ogc:{layer.id}:{layer.version}"
    feats = cache.get(key)
    if feats is None:
        with get_db().session() as s:
            feats = features_of(s, s.get(Layer, layer.id))
        cache.set(key, feats)
    return feats


def extent_of(features: list[dict]) -> dict:
    from shapely.geometry import shape

    minx = miny = float("inf")
    maxx = maxy = float("-inf")
    times = []
    for f in features:
        try:
            b = shape(f["geometry"]).bounds
        except Exception:
            continue
        minx, miny, maxx, maxy = min(minx, b[0]), min(miny, b[1]), max(maxx, b[2]), max(maxy, b[3])
        dt = feature_time(f)
        if dt:
            times.append(dt)
    ext: dict = {}
    if minx != float("inf"):
        ext["spatial"] = {"bbox": [[round(minx, 6), round(miny, 6), round(maxx, 6), round(maxy, 6)]], "crs": CRS84}
    if times:
        ext["temporal"] = {"interval": [[min(times).isoformat(), max(times).isoformat()]],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return ext


def collection_doc(layer: Layer, lang: str, with_extent: bool = True) -> dict:
    url = f"{base()}/collections/{layer.id}"
    doc = {
        "id": layer.id,
        "title": layer_name(layer, lang),
        "description": description(layer, lang),
        "attribution": layer_attribution(layer, lang),
        "license": layer.license,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(url, "self", "application/json", t("ogc.this_document", lang)),
            link(with_query(url, f="html"), "alternate", "text/html", t("ogc.as_html", lang)),
            link(f"{url}/items", "items", "application/geo+json", t("ogc.items", lang)),
            link(with_query(f"{url}/items", f="html"), "items", "text/html", t("ogc.items", lang)),
            link(f"/api/layers/{layer.id}/features.csv", "enclosure", "text/csv", "CSV"),
        ],
    }
    if with_extent:
        key = f"ogcext:{layer.id}:{layer.version}"
        ext = cache.get(key)
        if ext is None:
            ext = extent_of(collection_features(layer))
            cache.set(key, ext)
        doc["extent"] = ext
    return doc


def vector_layers() -> list[Layer]:
    with get_db().session() as s:
        return [layer for layer in public_layers(s) if kind_of(layer).has_features]


def public_vector_layer(layer_id: str) -> Layer | None:
    with get_db().session() as s:
        layer = get_public_layer(s, layer_id)
        return layer if layer is not None and kind_of(layer).has_features else None


def public_vector_layer_or_404(layer_id: str) -> Layer:
    """The public layer with features, or the API's 404 (a private layer is simply not there)."""
    layer = public_vector_layer(layer_id)
    if layer is None:
        abort(make_response(*error(404, "not_found", "api.not_found")))
    return layer


# ------------------------------------------------------------------ HTML

PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — {{ app }}</title>
<link rel="stylesheet" href="/assets/style.css"></head>
<body class="doc-page"><header class="topbar"><a class="lang-switch" href="/?lang={{ lang }}">{{ short }}</a>
<h1 class="app-title">{{ app }}</h1>
<a class="lang-switch" href="{{ other_url }}">{{ other_label }}</a></header>
<main class="page-body ogc">
<nav class="crumbs">
{% for href, label in crumbs %}<a href="{{ href }}">{{ label }}</a>{% if not loop.last %} › {% endif %}{% endfor %}
</nav>
<h2>{{ title }}</h2>
{% if intro %}<p>{{ intro }}</p>{% endif %}
{% if links %}<ul class="ogc-links">
{% for l in links %}<li><a href="{{ l.href }}">{{ l.title or l.href }}</a> <code>{{ l.type }}</code></li>{% endfor %}
</ul>{% endif %}
{% if collections %}<table class="ogc-table">
<thead><tr><th>{{ tr.id }}</th><th>{{ tr.name }}</th><th>{{ tr.description }}</th><th>{{ tr.links }}</th></tr></thead>
<tbody>
{% for c in collections %}<tr><td><code>{{ c.id }}</code></td><td><a href="{{ c.html }}">{{ c.title }}</a></td>
<td>{{ c.description }}</td>
<td><a href="{{ c.items_html }}">{{ tr.items }}</a> · <a href="{{ c.items_json }}">GeoJSON</a></td></tr>{% endfor %}
</tbody></table>{% endif %}
{% if conformance %}<ul>{% for c in conformance %}<li><code>{{ c }}</code></li>{% endfor %}</ul>{% endif %}
{% if features is not none %}<p>{{ counts }}</p>
<table class="ogc-table">
<thead><tr><th>id</th><th>{{ tr.geometry }}</th>{% for k in keys %}<th>{{ k }}</th>{% endfor %}</tr></thead>
<tbody>
{% for f in features %}<tr><td><a href="{{ f.href }}">{{ f.id }}</a></td><td>{{ f.geom }}</td>
{% for k in keys %}<td>{{ f.props.get(k, "") }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>{% endif %}
{% if pager %}<p class="ogc-pager">
{% for href, label in pager %}<a href="{{ href }}">{{ label }}</a> {% endfor %}
</p>{% endif %}
</main></body></html>"""


def render(lang: str, title: str, crumbs: list, **ctx) -> Response:
    other = "en" if lang == "ja" else "ja"
    args = request.args.to_dict()
    args.update(lang=other, f="html")
    tr = {k: t(f"ogc.{k}", lang) for k in ("id", "name", "links", "items", "geometry")}
    tr["description"] = t("ogc.description_h", lang)
    html = render_template_string(
        PAGE, lang=lang, title=title, app=t("app.title", lang), short=t("app.short", lang), crumbs=crumbs,
        other_url=with_query(request.path, **args), other_label=t("lang.switch", lang), tr=tr,
        intro=ctx.get("intro"), links=ctx.get("links"), collections=ctx.get("collections"),
        conformance=ctx.get("conformance"), features=ctx.get("features"), keys=ctx.get("keys", []),
        counts=ctx.get("counts", ""), pager=ctx.get("pager"))
    return Response(html, mimetype="text/html")


def crumbs_for(lang: str, *extra) -> list:
    return [(with_query("/ogcapi", f="html", lang=lang), "OGC API")] + list(extra)


def geom_summary(geom: dict) -> str:
    if geom.get("type") == "Point":
        lon, lat = geom["coordinates"][:2]
        return f"Point ({lon:.5f}, {lat:.5f})"
    return str(geom.get("type", ""))


# ------------------------------------------------------------------ routes


@bp.get("")
@bp.get("/")
def landing():
    lang = request_lang()
    links = [
        link(f"{base()}", "self", "application/json", t("ogc.this_document", lang)),
        link(with_query(base(), f="html"), "alternate", "text/html", t("ogc.as_html", lang)),
        link(f"{base()}/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"),
        link(with_query(base(), f="html"), "service-doc", "text/html", t("ogc.as_html", lang)),
        link(f"{base()}/conformance", "conformance", "application/json", t("ogc.conformance", lang)),
        link(f"{base()}/collections", "data", "application/json", t("ogc.collections", lang)),
        link(with_query(f"{base()}/collections", f="html"), "data", "text/html", t("ogc.collections", lang)),
        link(request.host_url.rstrip("/") + "/catalog", "describedby", "text/html", t("catalog.title", lang)),
    ]
    doc = {"title": t("ogc.title", lang), "description": t("ogc.description", lang), "links": links}
    if wants_html():
        return render(lang, t("ogc.title", lang), crumbs_for(lang), intro=t("ogc.description", lang),
                      links=[dict(ln, href=ln["href"] if ln["type"] != "text/html"
                                  else with_query(ln["href"], f="html", lang=lang)) for ln in links])
    return json_response(doc)


def openapi_doc(lang: str) -> dict:
    """A small OpenAPI 3.0 description of these routes (the Core class asks for an API definition)."""
    p = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
    q = lambda name, typ, desc: {"name": name, "in": "query", "required": False,  # noqa: E731
                                 "schema": {"type": typ}, "description": desc}
    geo = {"200": {"description": "GeoJSON", "content": {"application/geo+json": {}, "text/html": {}}},
           "400": {"description": "bad parameter"}, "404": {"description": "unknown or not public"}}
    ok = {"200": {"description": "OK", "content": {"application/json": {}, "text/html": {}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": t("ogc.title", lang), "version": "1.0.0", "description": t("ogc.description", lang)},
        "servers": [{"url": base()}],
        "paths": {
            "/": {"get": {"summary": "landing page", "responses": ok}},
            "/conformance": {"get": {"summary": "conformance classes", "responses": ok}},
            "/collections": {"get": {"summary": "collections", "responses": ok}},
            "/collections/{collectionId}": {"get": {"summary": "a collection", "parameters": [p], "responses": ok}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "features", "responses": geo,
                "parameters": [p, q("bbox", "string", "minLon,minLat,maxLon,maxLat (CRS84)"),
                               q("limit", "integer", f"1..{MAX_LIMIT}, default {DEFAULT_LIMIT}"),
                               q("offset", "integer", "start index"),
                               q("datetime", "string", "RFC 3339 instant or interval (a/b, ../b, a/..)"),
                               q("f", "string", "json or html")]}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "one feature", "responses": geo,
                "parameters": [p, {"name": "featureId", "in": "path", "required": True,
                                   "schema": {"type": "string"}}]}},
        },
    }


@bp.get("/api")
def api_definition():
    body = Response(orjson.dumps(openapi_doc(request_lang())), mimetype="application/vnd.oai.openapi+json")
    body.headers["Content-Type"] = "application/vnd.oai.openapi+json;version=3.0"
    return body


@bp.get("/conformance")
def conformance():
    lang = request_lang()
    if wants_html():
        return render(lang, t("ogc.conformance", lang), crumbs_for(lang), conformance=CONFORMANCE)
    return json_response({"conformsTo": CONFORMANCE})


@bp.get("/collections")
def collections():
    lang = request_lang()
    layers = vector_layers()
    docs = [collection_doc(layer, lang) for layer in layers]
    if wants_html():
        rows = [{"id": d["id"], "title": d["title"], "description": d["description"],
                 "html": with_query(f"/ogcapi/collections/{d['id']}", f="html", lang=lang),
                 "items_html": with_query(f"/ogcapi/collections/{d['id']}/items", f="html", lang=lang),
                 "items_json": f"/ogcapi/collections/{d['id']}/items"} for d in docs]
        return render(lang, t("ogc.collections", lang), crumbs_for(lang), collections=rows)
    return json_response({
        "links": [link(f"{base()}/collections", "self", "application/json", t("ogc.this_document", lang)),
                  link(with_query(f"{base()}/collections", f="html"), "alternate", "text/html",
                       t("ogc.as_html", lang))],
        "collections": docs,
    })


@bp.get("/collections/<layer_id>")
def collection(layer_id: str):
    lang = request_lang()
    layer = public_vector_layer_or_404(layer_id)
    doc = collection_doc(layer, lang)
    if wants_html():
        ext = doc["extent"].get("spatial", {}).get("bbox", [[]])[0]
        intro = f"{doc['description']} — {t('ogc.license', lang)}: {doc['license']} — bbox: {ext}"
        return render(lang, doc["title"], crumbs_for(lang, (with_query("/ogcapi/collections", f="html", lang=lang),
                                                            t("ogc.collections", lang))),
                      intro=intro, links=[dict(ln, href=with_query(ln["href"], f="html", lang=lang))
                                          if ln["type"] == "text/html" else ln for ln in doc["links"]])
    return json_response(doc)


@bp.get("/collections/<layer_id>/items")
def items(layer_id: str):
    lang = request_lang()
    layer = public_vector_layer_or_404(layer_id)
    try:
        bbox = parse_bbox(request.args.get("bbox"))
    except ValueError as exc:
        return error(400, "bad_bbox", str(exc), details=[{"bbox": request.args.get("bbox")}])
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
        offset = int(request.args.get("offset", 0))
        if limit < 1 or offset < 0:
            raise ValueError
    except ValueError:
        return error(400, "bad_paging", "ogc.bad_paging")
    limit = min(limit, MAX_LIMIT)
    try:
        when = parse_datetime_param(request.args.get("datetime"))
    except ValueError:
        return error(400, "bad_time", "api.bad_time")
    feats = collection_features(layer)
    if bbox is not None:
        feats = _in_bbox(feats, bbox)
    if when is not None:
        start, end = when
        feats = [f for f in feats if (dt := feature_time(f)) is not None
                 and (start is None or dt >= start) and (end is None or dt <= end)]
    matched = len(feats)
    page = feats[offset:offset + limit]
    url = f"{base()}/collections/{layer.id}/items"
    keep = {k: v for k, v in request.args.items() if k not in ("offset", "f", "limit")}
    links = [link(with_query(url, **keep, limit=limit, offset=offset or None), "self", "application/geo+json",
                  t("ogc.this_document", lang)),
             link(with_query(url, **keep, limit=limit, offset=offset or None, f="html"), "alternate", "text/html",
                  t("ogc.as_html", lang)),
             link(f"{base()}/collections/{layer.id}", "collection", "application/json", layer_name(layer, lang))]
    if offset + limit < matched:
        links.append(link(with_query(url, **keep, limit=limit, offset=offset + limit), "next",
                          "application/geo+json", t("ogc.next", lang)))
    if offset > 0:
        links.append(link(with_query(url, **keep, limit=limit, offset=max(offset - limit, 0) or None), "prev",
                          "application/geo+json", t("ogc.prev", lang)))
    if wants_html():
        keys: list[str] = []
        for f in page:
            for k in (f.get("properties") or {}):
                if k not in keys and len(keys) < 8:
                    keys.append(k)
        rows = [{"id": f.get("id"), "geom": geom_summary(f["geometry"]), "props": f.get("properties") or {},
                 "href": with_query(f"/ogcapi/collections/{layer.id}/items/{f.get('id')}", f="html", lang=lang)}
                for f in page]
        pager = [(with_query(ln["href"].replace(request.host_url.rstrip("/"), ""), f="html", lang=lang),
                  ln["title"]) for ln in links if ln["rel"] in ("prev", "next")]
        counts = t("ogc.counts", lang, returned=len(page), matched=matched)
        return render(lang, layer_name(layer, lang), crumbs_for(
            lang, (with_query("/ogcapi/collections", f="html", lang=lang), t("ogc.collections", lang)),
            (with_query(f"/ogcapi/collections/{layer.id}", f="html", lang=lang), layer_name(layer, lang))),
            features=rows, keys=keys, counts=counts, pager=pager)
    body = {"type": "FeatureCollection", "features": page, "numberMatched": matched, "numberReturned": len(page),
            "timeStamp": utcnow().isoformat().replace("+00:00", "Z"), "links": links}
    return json_response(body, "application/geo+json")


def _in_bbox(feats: list[dict], bbox) -> list[dict]:
    from shapely.geometry import box, shape

    area = box(*bbox)
    out = []
    for f in feats:
        try:
            if shape(f["geometry"]).intersects(area):
                out.append(f)
        except Exception:
            continue
    return out


@bp.get("/collections/<layer_id>/items/<path:fid>")
def item(layer_id: str, fid: str):
    lang = request_lang()
    layer = public_vector_layer_or_404(layer_id)
    feat = next((f for f in collection_features(layer) if str(f.get("id")) == fid), None)
    if feat is None:
        return error(404, "not_found", "ogc.no_feature")
    url = f"{base()}/collections/{layer.id}/items/{fid}"
    if wants_html():
        props = feat.get("properties") or {}
        rows = [{"id": feat.get("id"), "geom": geom_summary(feat["geometry"]), "props": props, "href": url}]
        return render(lang, f"{layer_name(layer, lang)}: {fid}", crumbs_for(
            lang, (with_query("/ogcapi/collections", f="html", lang=lang), t("ogc.collections", lang)),
            (with_query(f"/ogcapi/collections/{layer.id}/items", f="html", lang=lang), layer_name(layer, lang))),
            features=rows, keys=list(props)[:30])
    body = dict(feat)
    body["links"] = [link(url, "self", "application/geo+json"),
                     link(with_query(url, f="html"), "alternate", "text/html", t("ogc.as_html", lang)),
                     link(f"{base()}/collections/{layer.id}", "collection", "application/json")]
    return json_response(body, "application/geo+json")
