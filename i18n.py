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
    "legend.snow.number": {"ja": "円の中の数字は積雪深（cm）", "en": "The number is the depth in cm"},
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
    "status.layer_stale": {"ja": "「{layer}」の更新が止まっています（最終受信 {last}）。表示は古いデータです。",
                           "en": "\"{layer}\" has stopped updating (last received {last}); the map shows old data."},
    "status.never": {"ja": "なし", "en": "never"},
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
    "layer.snow_removal": {"ja": "除雪状況", "en": "Snow removal"},
    "attribution.snow_removal": {
        "ja": "道路：国土数値情報（緊急輸送道路・半島循環道路）（国土交通省）を加工して作成（非商用）／除雪車の位置はデモデータ",
        "en": "Roads: processed from National Land Numerical Information (MLIT), non-commercial; plow positions are demo data",
    },
    "legend.plow.lt1": {"ja": "除雪後 1時間未満", "en": "Cleared < 1 h ago"},
    "legend.plow.1_3": {"ja": "1〜3時間", "en": "1–3 h"},
    "legend.plow.3_6": {"ja": "3〜6時間", "en": "3–6 h"},
    "legend.plow.6_12": {"ja": "6〜12時間", "en": "6–12 h"},
    "legend.plow.12_24": {"ja": "12〜24時間", "en": "12–24 h"},
    "legend.plow.none": {"ja": "24時間以内の除雪なし", "en": "Not cleared in 24 h"},
    "legend.plow.spreading": {"ja": "破線：凍結防止剤散布", "en": "Dashed: de-icing spread"},
    "snow.title": {"ja": "除雪作業 ライブマップ", "en": "Snow removal live map"},
    "snow.updated": {"ja": "最終更新 {time}", "en": "Last update {time}"},
    "snow.feed_stopped": {"ja": "車両位置の受信が止まっています（最終受信 {time}）",
                          "en": "Vehicle positions have stopped arriving (last at {time})"},
    "snow.no_fixes": {"ja": "車両位置をまだ受信していません", "en": "No vehicle positions received yet"},
    "snow.live": {"ja": "ライブ", "en": "Live"},
    "snow.replay_at": {"ja": "再生中：{time}", "en": "Replaying {time}"},
    "snow.play": {"ja": "▶ 再生", "en": "▶ Play"},
    "snow.pause": {"ja": "⏸ 停止", "en": "⏸ Pause"},
    "snow.to_live": {"ja": "ライブに戻る", "en": "Back to live"},
    "snow.time": {"ja": "表示時刻（過去24時間）", "en": "Time shown (last 24 hours)"},
    "snow.hours_ago": {"ja": "{h}時間前", "en": "{h} h ago"},
    "snow.now": {"ja": "現在", "en": "Now"},
    "snow.vehicles": {"ja": "車両", "en": "Vehicles"},
    "snow.col.id": {"ja": "車両ID", "en": "Vehicle"},
    "snow.col.work": {"ja": "作業", "en": "Work"},
    "snow.col.speed": {"ja": "km/h", "en": "km/h"},
    "snow.col.last": {"ja": "最終受信", "en": "Last fix"},
    "snow.col.state": {"ja": "状態", "en": "State"},
    "snow.col.rejected": {"ja": "除外", "en": "Dropped"},
    "snow.col.rejected_help": {"ja": "受信を除外した不正な測位データの件数（(0,0)・県外・未来時刻・順序違い・重複・時速150km超）",
                               "en": "Bad fixes dropped: (0,0), outside the prefecture, future, out of order, duplicate, > 150 km/h"},
    "snow.state.active": {"ja": "走行中", "en": "Active"},
    "snow.state.idle": {"ja": "停車中", "en": "Idle"},
    "snow.state.offline": {"ja": "通信なし", "en": "Offline"},
    "snow.work.plowing": {"ja": "除雪", "en": "Plowing"},
    "snow.work.spreading": {"ja": "散布", "en": "Spreading"},
    "snow.work.travel": {"ja": "回送", "en": "Travel"},
    "snow.progress": {"ja": "進捗（直近{hours}時間に除雪した道路延長の割合）",
                      "en": "Progress (share of road length cleared in the last {hours} h)"},
    "snow.by_route": {"ja": "路線別", "en": "By route"},
    "snow.by_area": {"ja": "地区別", "en": "By area"},
    "snow.total": {"ja": "全体", "en": "Total"},
    "snow.share": {"ja": "除雪済み割合 (%)", "en": "Cleared (%)"},
    "snow.km": {"ja": "{done} / {total} km", "en": "{done} / {total} km"},
    "snow.segment": {"ja": "道路", "en": "Road"},
    "snow.route": {"ja": "路線", "en": "Route"},
    "snow.area": {"ja": "地区", "en": "Area"},
    "snow.cleared_at": {"ja": "最終除雪", "en": "Last cleared"},
    "snow.not_cleared_24h": {"ja": "24時間以内の除雪なし", "en": "Not cleared in the last 24 h"},
    "snow.demo": {"ja": "デモ：除雪車の位置は模擬データです（道路は国土数値情報）",
                  "en": "Demo: plow positions are simulated (roads from MLIT national land data)"},
    "snow.back": {"ja": "地図に戻る", "en": "Back to the map"},
    "snow.legend": {"ja": "凡例", "en": "Legend"},
    "snow.plow_marker": {"ja": "除雪車（矢印は進行方向、線は30分の軌跡）", "en": "Plow (arrow: heading; line: last 30 min)"},
    "snow.bad_json": {"ja": "本文は測位データの JSON 配列にしてください。", "en": "The body must be a JSON array of fixes."},
    "snow.too_many": {"ja": "一度に送れる測位データは {max} 件までです。", "en": "At most {max} fixes per request."},

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
