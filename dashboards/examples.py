"""Two example dashboards made at first start from the demo feeds and the shipped real data, so a
newcomer sees what dashboards are: 羽咋の積雪と除雪 and 避難所とAED. They are ordinary public
dashboards: staff of their organisation may change or delete them (they are not made again)."""
from __future__ import annotations

from sqlalchemy import func, select

from dashboards.model import parse_dashboard
from store import dashboards as sd
from store.models import Organisation, Sensor


def _panel(pid, ptype, title_ja, title_en, query, grid, **options):
    return {"id": pid, "type": ptype, "title_ja": title_ja, "title_en": title_en, "query": query,
            "options": options, "grid": dict(zip("xywh", grid))}


SNOW = {
    "slug": "hakui-snow", "title_ja": "羽咋の積雪と除雪", "title_en": "Snow and snow removal in Hakui",
    "description_ja": "積雪センサーの現在値と推移、除雪の進み具合、発報中のアラート"
                      "（積雪値はデモ用の模擬データです）。",
    "description_en": "Snow depth now and over time, snow-removal progress and alerts "
                      "(snow depths are simulated demo data).",
    "visibility": "public", "time": {"from": "now-24h", "to": "now"}, "refresh": "1m",
    "variables": [{"name": "area", "type": "area", "label_ja": "市町", "label_en": "Municipality",
                   "default": "羽咋市"}],
    "panels": [
        _panel("now", "stat", "羽咋小学校の積雪深", "Snow depth at Hakui Elementary School",
               {"kind": "sensor_latest", "sensors": ["snow-hakui-01"]}, (0, 0, 3, 4),
               steps=[{"value": 0, "color": "#00703c"}, {"value": 10, "color": "#f47738"},
                      {"value": 30, "color": "#d4351c"}]),
        _panel("series", "timeseries", "積雪深の推移（1時間平均）", "Snow depth (hourly average)",
               {"kind": "sensor_series", "sensors": ["snow-hakui-01", "snow-hakui-02", "snow-hakui-04"],
                "agg": "hour", "fn": "avg"}, (3, 0, 9, 6)),
        _panel("gauge", "gauge", "神子原公民館の積雪深", "Snow depth at Mikohara",
               {"kind": "sensor_latest", "sensors": ["snow-hakui-05"]}, (0, 4, 3, 4), min=0, max=100,
               steps=[{"value": 0, "color": "#e6f2e8"}, {"value": 30, "color": "#fde4d3"},
                      {"value": 60, "color": "#f6d3cf"}]),
        _panel("progress", "bar", "除雪済みの割合（直近3時間・市町別）",
               "Roads cleared in the last 3 h (by municipality)",
               {"kind": "snow_progress", "by": "area", "hours": 3}, (3, 6, 5, 7), unit="%"),
        _panel("by-sensor", "bar", "市町内のセンサーの積雪深", "Snow depth of the sensors in the municipality",
               {"kind": "sensor_latest", "area": "$area"}, (8, 6, 4, 7), unit="cm"),
        _panel("alerts", "table", "アラートの発報（期間内）", "Alerts fired in the time range",
               {"kind": "alert_events", "by": "list", "kinds": ["fired", "nodata"]}, (0, 8, 3, 5)),
        _panel("table", "table", "積雪センサーの現在値", "Latest snow depths",
               {"kind": "sensor_latest", "layer": "snow-depth"}, (0, 13, 6, 6)),
        _panel("map", "map", "除雪状況と積雪センサー", "Snow removal and snow sensors",
               {"kind": "map_layers", "layers": ["snow-removal", "snow-depth"], "area": "$area"}, (6, 13, 6, 6)),
    ],
}

SHELTERS = {
    "slug": "shelters-aed", "title_ja": "避難所とAED", "title_en": "Shelters and AEDs",
    "description_ja": "国土地理院の指定緊急避難場所データ（加賀市・羽咋市・能美市）と白山市のAED設置場所（サンプル）。",
    "description_en": "GSI designated shelters (Kaga, Hakui, Nomi) and Hakusan City's AED locations (sample data).",
    "visibility": "public", "time": {"from": "now-24h", "to": "now"}, "refresh": "off", "variables": [],
    "panels": [
        _panel("shelters-count", "stat", "指定避難所の数", "Designated shelters",
               {"kind": "layer_stats", "layer": "shelters", "group_by": "@area"}, (0, 0, 3, 3),
               unit="か所", unit_en="sites"),
        _panel("aed-count", "stat", "AEDの数（白山市）", "AEDs (Hakusan)",
               {"kind": "layer_stats", "layer": "aed", "group_by": "@area"}, (3, 0, 3, 3), unit="台", unit_en="units"),
        _panel("about", "text", "このダッシュボードについて", "About this dashboard", {"kind": "none"}, (6, 0, 6, 3),
               markdown="出典: 国土地理院「指定緊急避難場所データ」、白山市オープンデータ（AED）。"
                        "地図と表は[カタログ](/catalog)のデータと同じです。",
               markdown_en="Sources: GSI designated emergency evacuation sites; Hakusan City open data (AEDs). "
                           "The same data as in the [catalog](/catalog)."),
        _panel("by-city", "bar", "市町別の指定避難所", "Shelters per municipality",
               {"kind": "layer_stats", "layer": "shelters", "group_by": "@area"}, (0, 3, 5, 5)),
        _panel("map", "map", "避難所とAEDの地図", "Map of shelters and AEDs",
               {"kind": "map_layers", "layers": ["shelters", "aed"]}, (5, 3, 7, 8)),
        _panel("list", "table", "指定避難所の一覧", "List of shelters",
               {"kind": "layer_items", "layer": "shelters",
                "columns": ["施設・場所名", "住所", "都道府県名及び市町村名"], "limit": 200}, (0, 8, 5, 6)),
    ],
}


def ensure_examples(s) -> int:
    """Create the examples when no dashboard exists yet (a fresh install); the number created."""
    if s.scalar(select(func.count()).select_from(sd.Dashboard)):
        return 0
    orgs = {o.code: o for o in s.scalars(select(Organisation))}
    have_sensors = {x for x in s.scalars(select(Sensor.id))}
    made = 0
    for data, org in ((SNOW, "hakui"), (SHELTERS, "ishikawa")):
        if org not in orgs:
            continue
        doc = parse_dashboard(data)
        doc["panels"] = [p for p in doc["panels"]
                         if not set(p["query"].get("sensors", [])) - have_sensors]  # no demo feed: no such panels
        doc["organisation"] = org
        sd.save(s, None, doc, orgs[org].id, "")
        made += 1
    return made
