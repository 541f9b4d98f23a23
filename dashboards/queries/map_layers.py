"""A map panel: which layers of the platform to draw and where to frame it (a municipality, or
the layers' own extent). The browser loads each layer from its features URL, which applies the
same visibility rule again."""
from __future__ import annotations

from pydantic import Field

from dashboards import areas
from dashboards.queries.base import Context, QueryKind, QuerySchema, Refs, layer_name, visible_layer
from layers.base import kind_of


class MapQuery(QuerySchema):
    layers: list[str] = Field(min_length=1, max_length=10)
    area: str = Field("", max_length=60)


class MapLayersKind(QueryKind):
    name = "map_layers"
    panel_types = ("map",)
    schema = MapQuery

    def refs(self, query: dict) -> Refs:
        return Refs(layers={x for x in query.get("layers", []) if not x.startswith("$")})

    def run(self, ctx: Context, query: dict) -> dict:
        out = []
        for layer_id in dict.fromkeys(query["layers"]):
            layer = visible_layer(ctx, layer_id)
            spec = kind_of(layer).map_spec(layer, ctx.lang)
            out.append({"id": layer.id, "name": layer_name(layer, ctx.lang), "type": spec.type, "url": spec.url,
                        "props": spec.props, "opacity": spec.opacity, "attribution": spec.attribution})
        area = query.get("area") or ""
        bounds = None
        if area and areas.is_area(area):
            minx, miny, maxx, maxy = areas.area_bbox(area)
            bounds = [[miny, minx], [maxy, maxx]]
        return {"layers": out, "bounds": bounds}
