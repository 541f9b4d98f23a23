"""OGC API – Features (Part 1: Core, GeoJSON, HTML) at /ogcapi, over the public layers only.

/ogcapi                                landing page
/ogcapi/conformance                    conformance classes
/ogcapi/collections                    one collection per public vector layer
/ogcapi/collections/<id>               its metadata (spatial and, when the data has time, temporal extent)
/ogcapi/collections/<id>/items         bbox, limit (with next/prev links), offset, datetime
/ogcapi/collections/<id>/items/<fid>   one feature
/ogcapi/collections/<id>/queryables    the properties, as JSON Schema (Part 3); `?name=value` filters items

JSON (GeoJSON for items) by default; HTML with `?f=html` or when the browser asks for text/html
(answers say `Vary: Accept`). Coordinates are CRS84 (lon, lat), as the layers store them. Pages and
single items come from the layer kind's `query`/`get` (in SQL for stored features): nothing here loads
a whole layer. Every answer carries `Access-Control-Allow-Origin: *` (public data only).
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import orjson
from flask import Blueprint, Response, abort, g, make_response, render_template_string, request

from api.errors import error, request_lang
from i18n import normalize_lang, t
from layers.base import kind_of, layer_attribution, layer_name
from layers.catalog import description
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
FORMATS = ("json", "html")
ITEM_PARAMS = ("bbox", "limit", "offset", "datetime", "f", "lang")
QUERYABLES_SAMPLE = 200  # features whose properties make a layer's queryables
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@bp.after_request
def open_to_all(resp: Response) -> Response:
    """Public data only: any web page may read it (CORS); negotiated answers vary by Accept."""
    resp.headers["Access-Control-Allow-Origin"] = "*"
    if g.get("ogc_negotiated"):
        resp.vary.add("Accept")
    return resp


# ------------------------------------------------------------------ helpers


def ogc_lang() -> str:
    """The HTML pages speak Japanese unless `?lang=en`, like every page of the site; the JSON
    answers follow the API's rule (`?lang=`, else Accept-Language)."""
    if wants_html():
        return normalize_lang(request.args.get("lang"))
    return request_lang()


def wants_html() -> bool:
    g.ogc_negotiated = True
    f = request.args.get("f")
    if f is not None:
        if f not in FORMATS:  # as declared in /ogcapi/api
            abort(make_response(*error(400, "bad_format", "ogc.bad_format", details=[{"f": f[:40]}])))
        return f == "html"
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
    """url with its query string, every value percent-encoded."""
    params = {k: v for k, v in params.items() if v not in (None, "")}
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params, quote_via=quote, safe='')}"


def seg(text) -> str:
    """One path segment, percent-encoded (ids may hold any character)."""
    return quote(str(text), safe="")


def parse_ogc_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """4 numbers, or 6 with heights (ignored); minLon > maxLon crosses the antimeridian.
    ValueError when bad."""
    if text is None or text.strip() == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise ValueError("count")
    nums = [float(p) for p in parts]
    if any(v != v or v in (float("inf"), float("-inf")) for v in nums):
        raise ValueError("not finite")
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[2], nums[3]) if len(nums) == 4 else \
        (nums[0], nums[1], nums[3], nums[4])
    if len(nums) == 6 and nums[2] > nums[5]:
        raise ValueError("heights")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("range")
    return minx, miny, maxx, maxy


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


def extent_of(layer: Layer) -> dict:
    """The collection's extent from the layer kind (in SQL for stored features)."""
    with get_db().session() as s:
        got = kind_of(layer).extent(s, layer)
    ext: dict = {}
    if got["bbox"] is not None:
        ext["spatial"] = {"bbox": [[round(v, 6) for v in got["bbox"]]], "crs": CRS84}
    if got["times"] is not None:
        first, last = got["times"]
        ext["temporal"] = {"interval": [[first.isoformat(), last.isoformat()]],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return ext


def json_type(values: list) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {bool}:
        return "boolean"
    if kinds and kinds <= {int}:
        return "integer"
    if kinds and kinds <= {int, float}:
        return "number"
    return "string"


def queryables_of(layer: Layer) -> dict[str, str]:
    """property name -> JSON type, from the layer's first features; cached per data version."""
    key = f"ogcq:{layer.id}:{layer.version}"
    out = cache.get(key)
    if out is None:
        with get_db().session() as s:
            feats, _ = kind_of(layer).query(s, layer, limit=QUERYABLES_SAMPLE)
        seen: dict[str, list] = {}
        for f in feats:
            for k, v in (f.get("properties") or {}).items():
                if not isinstance(v, (dict, list)):
                    seen.setdefault(k, []).append(v)
        out = {k: json_type(v) for k, v in seen.items()}
        cache.set(key, out)
    return out


def collection_doc(layer: Layer, lang: str, with_extent: bool = True) -> dict:
    url = f"{base()}/collections/{seg(layer.id)}"
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
            link(f"{url}/queryables", QUERYABLES_REL, "application/schema+json", t("ogc.queryables", lang)),
            link(f"/api/layers/{seg(layer.id)}/features.csv", "enclosure", "text/csv", "CSV"),
        ],
    }
    if with_extent:
        key = f"ogcext:{layer.id}:{layer.version}"
        ext = cache.get(key)
        if ext is None:
            ext = extent_of(layer)
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
    lang = ogc_lang()
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
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    q = lambda name, schema, desc: {"name": name, "in": "query", "required": False,  # noqa: E731
                                    "schema": schema, "description": desc}
    f = q("f", {"type": "string", "enum": list(FORMATS)}, "json or html (default: by the Accept header)")
    lang_p = q("lang", {"type": "string"}, "language of titles and messages: ja (default) or en")
    err = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    not_found = dict(err, description="unknown collection or feature, or not public")
    bad = dict(err, description="bad or unknown query parameter")
    geo = {"200": {"description": "GeoJSON", "content": {"application/geo+json": {}, "text/html": {}}},
           "400": bad, "404": not_found}
    bad_f = dict(err, description="f is neither json nor html")
    ok = {"200": {"description": "OK", "content": {"application/json": {}, "text/html": {}}}, "400": bad_f}
    ok_404 = dict(ok, **{"404": not_found})
    return {
        "openapi": "3.0.3",
        "info": {"title": t("ogc.title", lang), "version": "1.0.0", "description": t("ogc.description", lang)},
        "servers": [{"url": base()}],
        "components": {"schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
            "error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "array"}}}}},
        "paths": {
            "/": {"get": {"summary": "landing page", "parameters": [f, lang_p], "responses": ok}},
            "/conformance": {"get": {"summary": "conformance classes", "parameters": [f, lang_p], "responses": ok}},
            "/collections": {"get": {"summary": "collections", "parameters": [f, lang_p], "responses": ok}},
            "/collections/{collectionId}": {"get": {"summary": "a collection", "parameters": [p, f, lang_p],
                                                    "responses": ok_404}},
            "/collections/{collectionId}/queryables": {"get": {
                "summary": "the properties one may filter items by (JSON Schema)", "parameters": [p, lang_p],
                "responses": {"200": {"description": "JSON Schema", "content": {"application/schema+json": {}}},
                              "404": not_found}}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "features", "responses": geo,
                "parameters": [
                    p,
                    dict(q("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                           "minLon,minLat,maxLon,maxLat (CRS84), or 6 numbers with heights (ignored); "
                           "minLon > maxLon crosses the antimeridian"), style="form", explode=False),
                    q("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                      "features per page"),
                    q("offset", {"type": "integer", "minimum": 0, "default": 0}, "start index"),
                    q("datetime", {"type": "string"}, "RFC 3339 instant or interval (a/b, ../b, a/..)"),
                    f, lang_p]}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "one feature", "responses": geo, "parameters": [p, fid, f, lang_p]}},
        },
    }


@bp.get("/api")
def api_definition():
    body = Response(orjson.dumps(openapi_doc(request_lang())), mimetype="application/vnd.oai.openapi+json")
    body.headers["Content-Type"] = "application/vnd.oai.openapi+json;version=3.0"
    return body


@bp.get("/conformance")
def conformance():
    lang = ogc_lang()
    if wants_html():
        return render(lang, t("ogc.conformance", lang), crumbs_for(lang), conformance=CONFORMANCE)
    return json_response({"conformsTo": CONFORMANCE})


@bp.get("/collections")
def collections():
    lang = ogc_lang()
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
    lang = ogc_lang()
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


def unknown_params(layer: Layer) -> list[str]:
    allowed = set(ITEM_PARAMS) | set(queryables_of(layer))
    return sorted(k for k in request.args if k not in allowed)


@bp.get("/collections/<layer_id>/queryables")
def queryables(layer_id: str):
    lang = ogc_lang()
    layer = public_vector_layer_or_404(layer_id)
    url = f"{base()}/collections/{seg(layer.id)}/queryables"
    props = {"geometry": {"$ref": "https://geojson.org/schema/Geometry.json"}}
    props.update({k: {"title": k, "type": typ} for k, typ in queryables_of(layer).items()})
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, "type": "object",
           "title": layer_name(layer, lang), "properties": props, "additionalProperties": False}
    return json_response(doc, "application/schema+json")


@bp.get("/collections/<layer_id>/items")
def items(layer_id: str):
    lang = ogc_lang()
    layer = public_vector_layer_or_404(layer_id)
    html = wants_html()
    unknown = unknown_params(layer)
    if unknown:
        allowed = ", ".join(list(ITEM_PARAMS) + sorted(queryables_of(layer)))
        return error(400, "unknown_parameter", "ogc.unknown_param", details=[{"parameter": k} for k in unknown],
                     names=", ".join(unknown), allowed=allowed)
    try:
        bbox = parse_ogc_bbox(request.args.get("bbox"))
    except ValueError:
        return error(400, "bad_bbox", "ogc.bad_bbox", details=[{"bbox": request.args.get("bbox")}])
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
    filters = [(k, v) for k, v in request.args.items() if k not in ITEM_PARAMS]
    with get_db().session() as s:
        page, matched = kind_of(layer).query(s, layer, bbox=bbox, datetime=when, limit=limit, offset=offset,
                                             properties=filters)
    url = f"{base()}/collections/{seg(layer.id)}/items"
    keep = {k: v for k, v in request.args.items() if k not in ("offset", "f", "limit")}
    links = [link(with_query(url, **keep, limit=limit, offset=offset or None), "self", "application/geo+json",
                  t("ogc.this_document", lang)),
             link(with_query(url, **keep, limit=limit, offset=offset or None, f="html"), "alternate", "text/html",
                  t("ogc.as_html", lang)),
             link(f"{base()}/collections/{seg(layer.id)}", "collection", "application/json", layer_name(layer, lang))]
    if offset + limit < matched:
        links.append(link(with_query(url, **keep, limit=limit, offset=offset + limit), "next",
                          "application/geo+json", t("ogc.next", lang)))
    if offset > 0:
        # the page before this one, never before the start nor (when offset is past the end) after the end
        prev = max(min(offset, matched) - limit, 0)
        links.append(link(with_query(url, **keep, limit=limit, offset=prev or None), "prev",
                          "application/geo+json", t("ogc.prev", lang)))
    if html:
        keys: list[str] = []
        for f in page:
            for k in (f.get("properties") or {}):
                if k not in keys and len(keys) < 8:
                    keys.append(k)
        rows = [{"id": f.get("id"), "geom": geom_summary(f["geometry"]), "props": f.get("properties") or {},
                 "href": with_query(f"/ogcapi/collections/{seg(layer.id)}/items/{seg(f.get('id'))}", f="html",
                                    lang=lang)}
                for f in page]
        pager = [(with_query(ln["href"].replace(request.host_url.rstrip("/"), ""), f="html", lang=lang),
                  ln["title"]) for ln in links if ln["rel"] in ("prev", "next")]
        counts = t("ogc.counts", lang, returned=len(page), matched=matched)
        return render(lang, layer_name(layer, lang), crumbs_for(
            lang, (with_query("/ogcapi/collections", f="html", lang=lang), t("ogc.collections", lang)),
            (with_query(f"/ogcapi/collections/{seg(layer.id)}", f="html", lang=lang), layer_name(layer, lang))),
            features=rows, keys=keys, counts=counts, pager=pager)
    body = {"type": "FeatureCollection", "features": page, "numberMatched": matched, "numberReturned": len(page),
            "timeStamp": utcnow().isoformat().replace("+00:00", "Z"), "links": links}
    return json_response(body, "application/geo+json")


@bp.get("/collections/<layer_id>/items/<path:fid>")
def item(layer_id: str, fid: str):
    lang = ogc_lang()
    layer = public_vector_layer_or_404(layer_id)
    html = wants_html()
    with get_db().session() as s:
        feat = kind_of(layer).get(s, layer, fid)
    if feat is None:
        return error(404, "not_found", "ogc.no_feature")
    url = f"{base()}/collections/{seg(layer.id)}/items/{seg(fid)}"
    if html:
        props = feat.get("properties") or {}
        rows = [{"id": feat.get("id"), "geom": geom_summary(feat["geometry"]), "props": props, "href": url}]
        return render(lang, f"{layer_name(layer, lang)}: {fid}", crumbs_for(
            lang, (with_query("/ogcapi/collections", f="html", lang=lang), t("ogc.collections", lang)),
            (with_query(f"/ogcapi/collections/{seg(layer.id)}/items", f="html", lang=lang),
             layer_name(layer, lang))),
            features=rows, keys=list(props)[:30])
    body = dict(feat)
    body["links"] = [link(url, "self", "application/geo+json"),
                     link(with_query(url, f="html"), "alternate", "text/html", t("ogc.as_html", lang)),
                     link(f"{base()}/collections/{seg(layer.id)}", "collection", "application/json")]
    return json_response(body, "application/geo+json")
