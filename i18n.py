"""Every string a person sees, in Japanese (default) and English. Nothing else holds UI text."""
from __future__ import annotations

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

STRINGS: dict[str, dict[str, str]] = {
    "app.title": {"ja": "石川県 データ連携基盤 マップ", "en": "Ishikawa Data Platform Map"},
    "app.short": {"ja": "いしかわマップ", "en": "Ishikawa Map"},
    "lang.switch": {"ja": "English", "en": "日本語"},
    "lang.switch.title": {"ja": "Switch to English", "en": "日本語に切り替え"},
    "panel.title": {"ja": "レイヤ", "en": "Layers"},
    "panel.toggle": {"ja": "レイヤ一覧", "en": "Layers"},
    "panel.close": {"ja": "閉じる", "en": "Close"},
    "panel.basemap": {"ja": "背景地図", "en": "Base map"},
    "panel.legend": {"ja": "凡例", "en": "Legend"},
    "panel.opacity": {"ja": "不透明度", "en": "Opacity"},
    "panel.source": {"ja": "出典", "en": "Source"},
    "panel.hazard_note": {
        "ja": "浸水深の色分けは洪水・津波・高潮で共通です。色がない場所が安全とは限りません。",
        "en": "Flood, tsunami and storm-surge depths share one colour scale. No colour does not mean safe.",
    },
    "group.boundaries": {"ja": "基本", "en": "Base data"},
    "group.bousai": {"ja": "防災", "en": "Disaster prevention"},
    "group.iryou": {"ja": "医療", "en": "Medical"},
    "group.yuki": {"ja": "雪", "en": "Snow"},
    "basemap.std": {"ja": "地理院タイル 標準地図", "en": "GSI Standard"},
    "basemap.pale": {"ja": "地理院タイル 淡色地図", "en": "GSI Pale"},
    "basemap.photo": {"ja": "地理院タイル 写真", "en": "GSI Aerial photo"},
    "basemap.osm": {"ja": "OpenStreetMap", "en": "OpenStreetMap"},
    "control.locate": {"ja": "現在地を表示", "en": "Show my location"},
    "control.fullscreen": {"ja": "全画面表示", "en": "Full screen"},
    "control.fullscreen_exit": {"ja": "全画面表示を終了", "en": "Exit full screen"},
    "control.locate_popup": {"ja": "現在地（誤差 {distance} {unit}）", "en": "You are within {distance} {unit}"},
    "layer.boundaries": {"ja": "市町境界", "en": "Municipal boundaries"},
    "layer.aed": {"ja": "AED設置場所", "en": "AED locations"},
    "layer.shelters": {"ja": "指定避難所", "en": "Designated shelters"},
    "layer.snow_depth": {"ja": "積雪深（センサー）", "en": "Snow depth (sensors)"},
    "layer.hazard_flood": {"ja": "洪水浸水想定区域（想定最大規模）", "en": "Flood inundation (maximum scale)"},
    "layer.hazard_sediment": {"ja": "土砂災害警戒区域", "en": "Sediment disaster warning areas"},
    "layer.hazard_tsunami": {"ja": "津波浸水想定", "en": "Tsunami inundation"},
    "layer.hazard_storm_surge": {"ja": "高潮浸水想定区域", "en": "Storm surge inundation"},
    "legend.aed": {"ja": "AED", "en": "AED"},
    "legend.cluster": {"ja": "AEDの数（クリックで拡大）", "en": "Number of AEDs (click to zoom)"},
    "legend.boundary": {"ja": "市町の境界", "en": "Municipal boundary"},
    "legend.shelter": {"ja": "指定避難所", "en": "Designated shelter"},
    "legend.depth.lt05": {"ja": "0.5m未満", "en": "< 0.5 m"},
    "legend.depth.05_3": {"ja": "0.5〜3m", "en": "0.5–3 m"},
    "legend.depth.3_5": {"ja": "3〜5m", "en": "3–5 m"},
    "legend.depth.5_10": {"ja": "5〜10m", "en": "5–10 m"},
    "legend.depth.10_20": {"ja": "10〜20m", "en": "10–20 m"},
    "legend.depth.ge20": {"ja": "20m以上", "en": "20 m or more"},
    "legend.sediment.debris": {"ja": "土石流 警戒区域", "en": "Debris flow: warning area"},
    "legend.sediment.debris_special": {"ja": "土石流 特別警戒区域", "en": "Debris flow: special warning area"},
    "legend.sediment.slope": {"ja": "急傾斜地の崩壊 警戒区域", "en": "Steep slope: warning area"},
    "legend.sediment.slope_special": {"ja": "急傾斜地の崩壊 特別警戒区域", "en": "Steep slope: special warning area"},
    "legend.sediment.landslide": {"ja": "地すべり 警戒区域", "en": "Landslide: warning area"},
    "legend.snow.0": {"ja": "積雪なし（0cm）", "en": "No snow (0 cm)"},
    "legend.snow.1": {"ja": "1〜10cm", "en": "1–10 cm"},
    "legend.snow.2": {"ja": "10〜30cm", "en": "10–30 cm"},
    "legend.snow.3": {"ja": "30〜50cm", "en": "30–50 cm"},
    "legend.snow.4": {"ja": "50〜100cm", "en": "50–100 cm"},
    "legend.snow.5": {"ja": "100cm以上", "en": "100 cm or more"},
    "legend.snow.none": {"ja": "データなし", "en": "No data"},
    "popup.name": {"ja": "名称", "en": "Name"},
    "popup.address": {"ja": "住所", "en": "Address"},
    "popup.location": {"ja": "設置場所", "en": "Where in the building"},
    "popup.hours": {"ja": "利用可能時間", "en": "Available hours"},
    "popup.days": {"ja": "利用可能日", "en": "Available days"},
    "popup.closed": {"ja": "休館日", "en": "Closed"},
    "popup.phone": {"ja": "電話番号", "en": "Phone"},
    "popup.note": {"ja": "備考", "en": "Note"},
    "popup.snow_depth": {"ja": "積雪深", "en": "Snow depth"},
    "popup.observed": {"ja": "観測時刻", "en": "Observed"},
    "popup.history": {"ja": "観測履歴を見る", "en": "View history"},
    "popup.no_data": {"ja": "データなし", "en": "No data"},
    "popup.demo": {"ja": "デモデータ（模擬値）", "en": "Demo data (simulated)"},
    "popup.sample": {"ja": "サンプルデータ", "en": "Sample data"},
    "popup.city": {"ja": "市町", "en": "Municipality"},
    "popup.shelter_for": {"ja": "受入対象者", "en": "For"},
    "attribution.gsi": {"ja": "地理院タイル", "en": "GSI Tiles"},
    "attribution.hazard": {"ja": "ハザードマップポータルサイト", "en": "Hazard Map Portal Site (GSI)"},
    "attribution.n03": {
        "ja": "国土数値情報（行政区域データ）（国土交通省）を加工して作成",
        "en": "Processed from National Land Numerical Information (Administrative Areas), MLIT",
    },
    "attribution.aed": {"ja": "白山市 AEDオープンデータ（サンプルデータ）", "en": "Hakusan City AED open data (sample)"},
    "attribution.shelters": {"ja": "出典：国土地理院（指定緊急避難場所・指定避難所データ）",
                             "en": "Source: GSI designated shelter data"},
    "attribution.snow_demo": {"ja": "デモフィード（津南 2020年1月の気象庁観測値の推移を模擬）",
                              "en": "Demo feed (simulated after JMA Tsunan, Jan 2020)"},
    "sensors.title": {"ja": "センサー観測履歴", "en": "Sensor history"},
    "sensors.back": {"ja": "地図に戻る", "en": "Back to the map"},
    "sensors.unknown": {"ja": "指定されたセンサーが見つかりません。", "en": "The sensor was not found."},
    "sensors.pick": {"ja": "センサーを選択", "en": "Choose a sensor"},
    "sensors.range": {"ja": "期間", "en": "Time range"},
    "sensors.range.1h": {"ja": "直近1時間", "en": "Last hour"},
    "sensors.range.24h": {"ja": "直近24時間", "en": "Last 24 hours"},
    "sensors.range.7d": {"ja": "直近7日間", "en": "Last 7 days"},
    "sensors.time_jst": {"ja": "時刻（日本時間）", "en": "Time (JST)"},
    "sensors.value_cm": {"ja": "積雪深（cm）", "en": "Snow depth (cm)"},
    "sensors.latest": {"ja": "最新値", "en": "Latest"},
    "sensors.empty": {"ja": "この期間の観測値はありません。", "en": "No readings in this period."},
    "notfound.title": {"ja": "ページが見つかりません", "en": "Page not found"},
    "notfound.body": {"ja": "URLをご確認ください。", "en": "Please check the address."},
    "unit.cm": {"ja": "cm", "en": "cm"},
    "status.feed_stale": {"ja": "データの更新が止まっています", "en": "Data updates have stopped"},
    "api.bad_bbox": {
        "ja": "bbox は「最小経度,最小緯度,最大経度,最大緯度」の4つの数値で指定してください（例: 136.2,36.2,137.4,37.6）。",
        "en": "bbox must be four numbers minLon,minLat,maxLon,maxLat (e.g. 136.2,36.2,137.4,37.6).",
    },
    "api.bad_bbox_range": {
        "ja": "bbox の値が範囲外です（経度 -180〜180、緯度 -90〜90、最小値 ≦ 最大値）。",
        "en": "bbox is out of range (longitude -180..180, latitude -90..90, min <= max).",
    },
    "api.bad_zoom": {"ja": "zoom は 0〜24 の整数で指定してください。", "en": "zoom must be an integer from 0 to 24."},
    "api.not_found": {"ja": "指定されたレイヤは存在しません。", "en": "No such layer."},
    "api.sensor_not_found": {"ja": "指定されたセンサーは存在しません。", "en": "No such sensor."},
    "api.bad_time": {"ja": "時刻は ISO 8601 形式で指定してください。", "en": "Times must be ISO 8601."},

    # --- /snow: live snow removal (issue 3) ---

    # --- staff: log-in, upload, layer management (issue 4) ---
    "auth.title": {"ja": "職員ログイン", "en": "Staff log-in"},
    "auth.email": {"ja": "メールアドレス", "en": "E-mail address"},
    "auth.password": {"ja": "パスワード", "en": "Password"},
    "auth.login": {"ja": "ログイン", "en": "Log in"},
    "auth.logout": {"ja": "ログアウト", "en": "Log out"},
    "auth.help": {"ja": "アカウントは県・市町の管理者が発行します。", "en": "Accounts are issued by the prefecture's or your city's administrator."},
    "auth.failed": {"ja": "メールアドレスまたはパスワードが違います。", "en": "Wrong e-mail address or password."},
    "auth.throttled": {"ja": "ログインの失敗が続いたため、{seconds} 秒後にもう一度お試しください。",
                       "en": "Too many failed log-ins. Please try again in {seconds} seconds."},
    "auth.csrf": {"ja": "フォームの有効期限が切れました。もう一度入力してください。", "en": "The form expired. Please try again."},
    "auth.logged_out": {"ja": "ログアウトしました。", "en": "You have logged out."},
    "auth.api_unauthorized": {"ja": "有効な API トークンを Authorization: Bearer ヘッダーで指定してください。",
                              "en": "Send a valid API token in an Authorization: Bearer header."},
    "layers.private_suffix": {"ja": "（非公開）", "en": " (private)"},
    "legend.uploaded": {"ja": "{count} 件", "en": "{count} items"},
    "upload.unplaceable": {"ja": "位置を特定できない行が {count} 件あります（details に行番号と理由）。ファイルを直すか、on_invalid=skip を付けてそれらを除いて公開してください。",
                           "en": "{count} rows cannot be placed (see details for row numbers and reasons). Fix the file, or send on_invalid=skip to publish without them."},
    "layers.forbidden": {"ja": "このレイヤを変更する権限がありません（他の団体のレイヤです）。", "en": "You may not change this layer (it belongs to another organisation)."},
    "layers.need_name": {"ja": "レイヤ名を入力してください。", "en": "Enter a layer name."},
    "layers.bad_visibility": {"ja": "公開設定は public（公開）か private（非公開）で指定してください。", "en": "visibility must be public or private."},
    "layers.bad_group": {"ja": "メニューグループ「{group}」がありません。", "en": "No menu group \"{group}\"."},
    "layers.bad_organisation": {"ja": "指定された団体がありません。", "en": "No such organisation."},
    "layers.unknown_field": {"ja": "変更できない項目です: {field}", "en": "These settings cannot be changed: {field}"},
    "layers.bad_color": {"ja": "色は #RRGGBB の形式で指定してください。", "en": "Colours are #RRGGBB."},
    "layers.bad_shape": {"ja": "記号は circle・square・marker のいずれかです。", "en": "shape is circle, square or marker."},
    "layers.bad_popup": {"ja": "ポップアップの項目がデータの列と合いません。", "en": "The popup fields do not match the data's columns."},
    "layers.no_version": {"ja": "戻せる以前のデータがありません。", "en": "There is no earlier data to go back to."},
    "layers.no_item": {"ja": "項目 {fid} がありません。", "en": "No item {fid}."},
    "layers.bad_point": {"ja": "地点の座標が正しくありません（日本の範囲の経度・緯度）。", "en": "The point's coordinates are not valid (longitude/latitude in Japan)."},
    "layers.not_a_point": {"ja": "点以外の位置は表では変更できません。", "en": "Only points can be moved in the table."},
    "layers.need_group_name": {"ja": "グループ名を入力してください。", "en": "Enter a group name."},
    "layers.no_group": {"ja": "そのグループは変更できません。", "en": "You may not change that group."},
    "api.bad_on_invalid": {"ja": "on_invalid は skip のみ指定できます。", "en": "on_invalid may only be skip."},
    "api.bad_json_body": {"ja": "変更内容を JSON オブジェクトで送ってください。", "en": "Send the changes as a JSON object."},
    "upload.bad_zip": {"ja": "ZIP ファイルを開けません（壊れているか、暗号化されています）。", "en": "The zip file cannot be opened (damaged or encrypted)."},
    "upload.zip_too_many": {"ja": "ZIP の中のファイルが多すぎます（{count} 個、上限 {limit} 個）。", "en": "The zip holds too many files ({count}; at most {limit})."},
    "upload.zip_too_big": {"ja": "ZIP を展開すると大きすぎます（上限 {limit} MB）。", "en": "The zip unpacks to too much data (at most {limit} MB)."},
    "upload.zip_ratio": {"ja": "ZIP の圧縮率が異常です（{name}）。安全のため受け付けません。", "en": "The zip compresses suspiciously well ({name}); refused for safety."},
    "upload.zip_bad_name": {"ja": "ZIP の中に不正なファイル名があります（{name}）。", "en": "The zip holds an unsafe file name ({name})."},
    "upload.excel": {"ja": "Excel ファイルはそのまま読めません。Excel で「CSV」形式で保存してからアップロードしてください。", "en": "Excel workbooks cannot be read directly: save as CSV in Excel, then upload."},
    "upload.zip_unknown": {"ja": "ZIP の中に KML もシェープファイル（.shp）も見つかりません。", "en": "The zip holds neither a KML nor a Shapefile (.shp)."},
    "upload.unsupported": {"ja": "このファイル形式には対応していません。CSV、GeoJSON、KML/KMZ、GPX、シェープファイル（ZIP）、GeoPackage を選んでください。", "en": "This file type is not supported. Use CSV, GeoJSON, KML/KMZ, GPX, a zipped Shapefile or GeoPackage."},
    "upload.empty": {"ja": "ファイルが空です。", "en": "The file is empty."},
    "upload.too_large": {"ja": "ファイルが大きすぎます（上限 {limit} MB）。", "en": "The file is too large (at most {limit} MB)."},
    "upload.no_file": {"ja": "ファイルを選んでください。", "en": "Choose a file."},
    "upload.bad_crs": {"ja": "座標参照系「{crs}」が分かりません（例: EPSG:6675）。", "en": "Unknown coordinate reference system \"{crs}\" (e.g. EPSG:6675)."},
    "upload.no_features": {"ja": "ファイルに地物（位置のあるデータ）がありません。", "en": "The file holds no features (nothing with a location)."},
    "upload.column_not_found": {"ja": "列「{column}」が見つかりません。", "en": "There is no column \"{column}\"."},
    "upload.no_coordinate_columns": {"ja": "緯度・経度の列が見つかりません。見出しに「緯度」「経度」などを付けるか、列を選んでください（見出し: {columns}）。", "en": "No latitude/longitude columns found. Name them (緯度/経度, lat/lon…) or choose them (columns: {columns})."},
    "upload.bad_encoding": {"ja": "文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。", "en": "Unknown text encoding: save the file as UTF-8 or Shift_JIS."},
    "upload.row_no_coords": {"ja": "緯度・経度が空欄です", "en": "Latitude/longitude is empty"},
    "upload.row_bad_coords": {"ja": "座標を数値として読めません（緯度「{lat}」、経度「{lon}」）", "en": "Coordinates are not numbers (lat \"{lat}\", lon \"{lon}\")"},
    "upload.row_outside": {"ja": "座標が日本の範囲外です（{lat}, {lon}）。緯度と経度の入れ違いや座標系をご確認ください", "en": "Coordinates fall outside Japan ({lat}, {lon}): check for swapped columns or the CRS"},
    "upload.crs_guessed": {"ja": "座標が度の値ではないため、平面直角座標系 VII系（{crs}、石川県）とみなしました。違う場合は座標系を選んでください。", "en": "The coordinates are not degrees, so plane-rectangular zone VII ({crs}, Ishikawa) was assumed. Choose the CRS if that is wrong."},
    "upload.xy_swapped": {"ja": "X と Y を入れ替えて読みました（平面直角座標系では X が北向きです）。", "en": "X and Y were read the other way round (in plane-rectangular zones X points north)."},
    "upload.bad_geojson": {"ja": "GeoJSON の形式ではありません（FeatureCollection が必要です）。", "en": "Not GeoJSON (a FeatureCollection is expected)."},
    "upload.bad_json": {"ja": "JSON として読めません。", "en": "The file is not valid JSON."},
    "upload.row_no_geometry": {"ja": "位置（ジオメトリ）がありません", "en": "No geometry"},
    "upload.row_bad_geometry": {"ja": "位置（ジオメトリ）が壊れています", "en": "Broken geometry"},
    "upload.row_outside_geom": {"ja": "位置が日本の範囲外です（座標系をご確認ください）", "en": "Lies outside Japan (check the CRS)"},
    "upload.bad_kml": {"ja": "KML として読めません。", "en": "The KML cannot be read."},
    "upload.xml_dtd": {"ja": "DTD やエンティティ宣言を含む XML は安全のため受け付けません。", "en": "XML with a DTD or entity declarations is refused for safety."},
    "upload.bad_xml": {"ja": "XML の形式が壊れています（{line} 行目付近）。", "en": "The XML is malformed (near line {line})."},
    "upload.bad_shapefile": {"ja": "シェープファイルを読めません（.shp・.shx・.dbf を同じ名前で ZIP に入れてください）。", "en": "The Shapefile cannot be read (zip the .shp, .shx and .dbf with the same name)."},
    "upload.bad_gpkg": {"ja": "GeoPackage を読めません。", "en": "The GeoPackage cannot be read."},
    "upload.bad_geopackage": {"ja": "GeoPackage に地物のレイヤがありません。", "en": "The GeoPackage has no feature layer."},
    "upload.first_layer_only": {"ja": "複数のレイヤがあるため、最初のレイヤ（{name}）だけを読みました。", "en": "Only the first layer ({name}) was read."},
    "upload.need_crs": {"ja": "座標系が書かれていません。座標系を選んでください（石川県の平面直角座標系は VII系 EPSG:6675）。", "en": "The file does not say its CRS: choose one (Ishikawa's plane-rectangular zone is VII, EPSG:6675)."},

    # --- alerts and mail (issue 5) ---

    # --- FIWARE, sensor dashboards, catalog, OGC API (issue 6) ---

}


def normalize_lang(lang: str | None) -> str:
    lang = (lang or "").lower()[:2]
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = DEFAULT_LANG, **fmt) -> str:
    """The string for key in lang; a missing key shows itself (and fails the table test)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(normalize_lang(lang)) or entry[DEFAULT_LANG]
    return text.format(**fmt) if fmt else text


def lang_from_accept(header: str | None) -> str:
    """Pick ja/en from an Accept-Language header, Japanese when unsure."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return DEFAULT_LANG
