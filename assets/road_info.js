/* Snow-melting devices (消雪装置) and road restrictions (通行規制) on the map: functions handed to
   dash-leaflet by name ({variable: "ishikawaMap.melterPoint"}). Every text that came from data is
   escaped (ishikawaMap.esc); labels come from the layer's hideout in the viewer's language. */
(function () {
  "use strict";
  var NS = window.ishikawaMap = window.ishikawaMap || {};

  function esc(v) {
    return NS.esc ? NS.esc(v) : String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function hideoutOf(context) { return (context && context.hideout) || {}; }
  function row(label, value) {
    return "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>";
  }

  // --- snow-melting devices ---
  function melterColor(p, h) {
    var colors = h.colors || {};
    return p.stale ? (colors.stale || "#8a8a8a") : (colors[p.state] || colors[""] || "#8a8a8a");
  }
  function melterPopupHtml(p, h) {
    var l = h.melter || {}, states = l.states || {};
    var name = (h.lang === "en" ? p.name_en : p.name) || p.name || "";
    var state = states[p.state] || l.unknown || "";
    var html = '<div class="popup melter-popup"><div class="popup-title">' + esc(name) + "</div>";
    html += '<div class="melter-state" style="border-color:' + esc(melterColor(p, h)) + '">' + esc(state) + "</div>";
    html += '<table class="popup-table">';
    if (p.road) { html += row(l.road, p.road); }
    if (p.since_jst) { html += row(l.since, p.since_jst); }
    if (p.reported_jst) {
      var age = p.age_min === null || p.age_min === undefined ? "" :
        " (" + String(l.age || "").replace("{m}", p.age_min) + ")";
      html += row(l.reported, p.reported_jst + age);
    }
    html += "</table>";
    if (p.stale) { html += '<div class="popup-badge melter-stale">' + esc(l.stale) + "</div>"; }
    if (p.private) { html += '<div class="popup-badge">' + esc(l["private"]) + "</div>"; }
    if (p.demo) { html += '<div class="popup-badge">' + esc(l.demo) + "</div>"; }
    return html + "</div>";
  }
  NS.melterPopupHtml = melterPopupHtml;
  NS.melterPopup = function (feature, layer, context) {
    if (!feature.properties) { return; }
    var h = hideoutOf(context);
    layer.bindPopup(NS.once(function () { return melterPopupHtml(feature.properties, h); }), NS.popupOptions(layer, 300));
  };
  NS.melterPoint = function (feature, latlng, context) {
    var h = hideoutOf(context), p = feature.properties || {};
    var l = h.melter || {}, states = l.states || {};
    var name = (h.lang === "en" ? p.name_en : p.name) || "";
    var label = p.stale ? l.stale : (states[p.state] || l.unknown);
    var glyph = p.stale ? "?" : (p.state === "fault" ? "!" : (p.state === "running" ? "&#8776;" : "&#8722;"));
    return L.marker(latlng, {title: name + " — " + (label || ""), keyboard: true, icon: L.divIcon({
      className: "melter-marker melter-" + esc(p.stale ? "stale" : (p.state || "unknown")),
      html: '<span style="background:' + esc(melterColor(p, h)) + '">' + glyph + "</span>",
      iconSize: [20, 20], iconAnchor: [10, 10], popupAnchor: [0, -10]})});
  };
  // --- road restrictions ---
  function restrictionColor(p, h) {
    var colors = h.colors || {};
    return colors[p.kind] || colors.other || "#7f7f7f";
  }
  function restrictionPopupHtml(p, h) {
    var l = h.restriction || {}, kinds = l.kinds || {};
    var title = kinds[p.kind] || p.kind_text || "";
    var html = '<div class="popup restriction-popup"><div class="popup-title">' +
      '<span class="restriction-swatch" style="background:' + esc(restrictionColor(p, h)) + '"></span>' +
      esc(title) + "</div>";
    if (p.kind_text && p.kind_text !== title) { html += '<div class="restriction-text">' + esc(p.kind_text) + "</div>"; }
    html += '<table class="popup-table">';
    if (p.road) { html += row(l.road, p.road); }
    if (p.section) { html += row(l.section, p.section); }
    html += row(l.period, (p.start_jst || l.open || "") + " 〜 " + (p.end_jst || l.open || ""));
    if (p.reason) { html += row(l.reason, p.reason); }
    if (p.source) { html += row(l.source, p.source); }
    html += "</table>";
    if (p.state === "upcoming" || p.state === "ended") {  // /snow: 予定 / 終了 beside those in force
      html += '<div class="popup-badge restriction-state-' + p.state + '">' + esc((l.states || {})[p.state] || l.ended) +
        "</div>";
    } else if (p.in_force === false) { html += '<div class="popup-badge">' + esc(l.ended) + "</div>"; }
    if (p.private) { html += '<div class="popup-badge">' + esc(l["private"]) + "</div>"; }
    if (p.demo) { html += '<div class="popup-badge">' + esc(l.demo) + "</div>"; }
    return html + "</div>";
  }
  NS.restrictionPopupHtml = restrictionPopupHtml;
  NS.restrictionStyle = function (feature, context) {
    var h = hideoutOf(context), p = (feature && feature.properties) || {};
    var dash = p.kind === "winter_closure" ? "8 6" : (p.kind === "alternating" ? "4 4" : null);
    // /snow: upcoming ones dashed and lighter, ended ones dotted and fainter (in force: as on the public map)
    if (p.state === "upcoming") {
      return {color: restrictionColor(p, h), weight: 5, opacity: 0.6, dashArray: "10 8", lineCap: "butt",
              className: "restriction-upcoming"};
    }
    if (p.state === "ended") {
      return {color: restrictionColor(p, h), weight: 4, opacity: 0.4, dashArray: "2 7", lineCap: "round",
              className: "restriction-ended"};
    }
    return {color: restrictionColor(p, h), weight: 7, opacity: 0.85, dashArray: dash, lineCap: "butt"};
  };
  NS.restrictionPoint = function (feature, latlng, context) {
    var h = hideoutOf(context), p = feature.properties || {};
    if (p.state === "upcoming" || p.state === "ended") {  // /snow: a hollow ring, dashed when upcoming
      return L.circleMarker(latlng, {radius: 7, color: restrictionColor(p, h), weight: 3,
                                     dashArray: p.state === "upcoming" ? "4 3" : "1 4", fillColor: "#fff",
                                     fillOpacity: p.state === "upcoming" ? 0.7 : 0.4,
                                     opacity: p.state === "upcoming" ? 0.8 : 0.5, className: "restriction-" + p.state});
    }
    return L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 2, fillColor: restrictionColor(p, h),
                                   fillOpacity: 0.95});
  };
  NS.restrictionPopup = function (feature, layer, context) {
    if (!feature.properties) { return; }
    var h = hideoutOf(context), l = h.restriction || {}, kinds = l.kinds || {};
    layer.bindPopup(NS.once(function () { return restrictionPopupHtml(feature.properties, h); }), NS.popupOptions(layer, 320));
    var state = (l.states || {})[feature.properties.state];
    layer.bindTooltip(esc(kinds[feature.properties.kind] || feature.properties.kind_text || "") +
                      (state ? (h.lang === "en" ? " (" + esc(state) + ")" : "（" + esc(state) + "）") : ""), {sticky: true});
  };
}());
