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

    # --- staff: log-in, upload, layer management (issue 4) ---

    # --- alerts and mail (issue 5) ---
    "alerts.attr.snowDepth": {"ja": "積雪深", "en": "Snow depth"},
    "alerts.attr.road_hours": {"ja": "未除雪の時間（h）", "en": "Hours not cleared"},
    "alerts.dur.days": {"ja": "{n}日", "en": "{n} d"},
    "alerts.dur.hours": {"ja": "{n}時間", "en": "{n} h"},
    "alerts.dur.minutes": {"ja": "{n}分", "en": "{n} min"},
    "alerts.mail.state.fired": {"ja": "発報", "en": "ALERT"},
    "alerts.mail.state.repeat": {"ja": "継続", "en": "STILL ACTIVE"},
    "alerts.mail.state.delayed": {"ja": "発報", "en": "ALERT"},
    "alerts.mail.state.cleared": {"ja": "復旧", "en": "RECOVERED"},
    "alerts.mail.state.nodata": {"ja": "データ途絶", "en": "NO DATA"},
    "alerts.mail.state.data_back": {"ja": "データ再開", "en": "DATA BACK"},
    "alerts.mail.state.test": {"ja": "テスト", "en": "TEST"},
    "alerts.mail.lead.fired": {"ja": "しきい値を超えました。", "en": "The threshold has been crossed."},
    "alerts.mail.lead.repeat": {"ja": "しきい値を超えた状態が続いています。", "en": "The alert is still active."},
    "alerts.mail.lead.delayed": {"ja": "しきい値を超えました（通知停止時間帯の後に送信）。",
                                 "en": "The threshold has been crossed (sent after the quiet hours)."},
    "alerts.mail.lead.cleared": {"ja": "解除しきい値まで戻り、警報は解除されました。",
                                 "en": "The value is back past the clear threshold; the alert has cleared."},
    "alerts.mail.lead.nodata": {"ja": "センサーからのデータが届いていません。", "en": "The sensor has gone silent."},
    "alerts.mail.lead.data_back": {"ja": "センサーからのデータが再び届きました。", "en": "Data is arriving again."},
    "alerts.mail.lead.test": {"ja": "これはテストメールです（実際の警報ではありません）。",
                              "en": "This is a test mail (not a real alert)."},
    "alerts.mail.nodata_for": {"ja": "{n}分以上データなし", "en": "no data for {n} min or more"},
    "alerts.mail.last_value": {"ja": "最後の値 {v}", "en": "last value {v}"},
    "alerts.mail.what": {"ja": "内容", "en": "What"},
    "alerts.mail.value": {"ja": "値", "en": "Value"},
    "alerts.mail.threshold": {"ja": "条件", "en": "Condition"},
    "alerts.mail.clear_threshold": {"ja": "解除しきい値", "en": "Clear threshold"},
    "alerts.mail.time": {"ja": "日時", "en": "Time"},
    "alerts.mail.duration": {"ja": "継続時間", "en": "Lasted"},
    "alerts.mail.peak": {"ja": "最大値", "en": "Peak"},
    "alerts.mail.place": {"ja": "場所", "en": "Place"},
    "alerts.mail.coords": {"ja": "緯度, 経度", "en": "Lat, lon"},
    "alerts.mail.map": {"ja": "地図", "en": "Map"},
    "alerts.mail.history": {"ja": "観測履歴", "en": "History"},
    "alerts.mail.rule": {"ja": "ルール", "en": "Rule"},
    "alerts.mail.owner": {"ja": "作成者", "en": "Owner"},
    "alerts.mail.open_map": {"ja": "地図で見る", "en": "Open the map"},
    "alerts.mail.footer": {"ja": "このメールは石川県 データ連携基盤 マップの警報ルールにより自動送信されています。",
                           "en": "Sent automatically by an alert rule of the Ishikawa Data Platform Map."},
    "alerts.mail.unsubscribe": {"ja": "配信停止", "en": "Unsubscribe"},
    "alerts.sub.bad_email": {"ja": "メールアドレスを正しく入力してください。", "en": "Please enter a valid e-mail address."},
    "alerts.sub.bad_rule": {"ja": "この警報は登録できません。", "en": "This alert cannot be subscribed to."},
    "alerts.sub.limited": {"ja": "申し込みが多すぎます。しばらくしてからお試しください。",
                           "en": "Too many requests. Please try again later."},
    "alerts.sub.confirm_subject": {"ja": "配信登録の確認: {rule}", "en": "Please confirm your subscription: {rule}"},
    "alerts.sub.confirm_lead": {"ja": "「{rule}」の警報メール配信の申し込みを受け付けました。下のリンクを開くと登録が完了します。",
                                "en": "We received a request to send you the alerts of “{rule}”. Open the link below to confirm."},
    "alerts.sub.confirm_text": {"ja": "「{rule}」の警報メール配信の申し込みを受け付けました。\n次のリンクを開くと登録が完了します:\n{url}\n\n心当たりがない場合はこのメールを破棄してください。登録されません。",
                                "en": "We received a request to send you the alerts of “{rule}”.\nOpen this link to confirm:\n{url}\n\nIf this was not you, ignore this mail; nothing will be sent."},
    "alerts.sub.confirm_button": {"ja": "登録を完了する", "en": "Confirm the subscription"},
    "alerts.sub.confirm_ignore": {"ja": "心当たりがない場合はこのメールを破棄してください。登録されません。",
                                  "en": "If this was not you, ignore this mail; nothing will be sent."},

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
