/* Functions the public map hands to dash-leaflet by name ({variable: "ishikawaMap.x"}).
   Every text that came from data is escaped here: Leaflet renders popups and tooltips as HTML. */
window.ishikawaMap = (function () {
  "use strict";
  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function safeHref(url) {
    // only our own paths and http(s) links become links
    url = String(url || "");
    return /^(\/(?!\/)|https?:\/\/)/i.test(url) ? url : "";
  }
  function hideoutOf(context) {
    return (context && context.hideout) || {};
  }

  function popupHtml(props, spec) {
    var title = props[spec.title] || props.name || "";
    var rows = [];
    (spec.fields || []).forEach(function (field) {
      var key = field[0], label = field[1], value = props[key];
      if (value === null || value === undefined || value === "") {
        return;
      }
      var unit = spec.unit && spec.unit[key] ? " " + spec.unit[key] : "";
      rows.push("<tr><th>" + esc(label) + "</th><td>" + esc(value) + esc(unit) + "</td></tr>");
    });
    var html = '<div class="popup"><div class="popup-title">' + esc(title) + "</div>";
    if (spec.empty && spec.fields && spec.fields.length && props[spec.fields[0][0]] == null) {
      html += '<div class="popup-empty">' + esc(spec.empty) + "</div>";
    }
    if (rows.length) {
      html += '<table class="popup-table">' + rows.join("") + "</table>";
    }
    if (spec.link && safeHref(props[spec.link.key])) {
      html += '<a class="popup-link" href="' + esc(safeHref(props[spec.link.key])) + '">' +
        esc(spec.link.label) + "</a>";
    }
    if (spec.badge) {
      html += '<div class="popup-badge">' + esc(spec.badge) + "</div>";
    }
    return html + "</div>";
  }

  function aedIcon(color) {
    return L.divIcon({
      className: "aed-marker",
      html: '<span style="background:' + esc(color) + '">AED</span>',
      iconSize: [34, 22], iconAnchor: [17, 11], popupAnchor: [0, -10]
    });
  }

  return {
    esc: esc,
    popupHtml: popupHtml,
    popup: function (feature, layer, context) {
      if (!feature.properties || feature.properties.cluster) {
        return;
      }
      var spec = hideoutOf(context).popup || {};
      layer.bindPopup(popupHtml(feature.properties, spec), {maxWidth: 300});
    },
    tooltip: function (feature, layer, context) {
      // permanent, quiet labels: without tiles the outlines and names are the only base map
      var key = hideoutOf(context).label || "name";
      if (feature.properties && feature.properties[key]) {
        // 郡 names are long: "能美郡川北町" is labelled "川北町"; the labels sit below the markers
        var label = String(feature.properties[key]).replace(/^.+郡/, "");
        layer.bindTooltip(esc(label), {permanent: true, direction: "center", pane: "shadowPane",
                                       className: "outline-label", interactive: false});
      }
    },
    aedPoint: function (feature, latlng, context) {
      return L.marker(latlng, {icon: aedIcon(hideoutOf(context).color || "#d7263d"),
                               title: (feature.properties || {}).name || "AED"});
    },
    cluster: function (feature, latlng, index, context) {
      var count = feature.properties.point_count;
      var size = count < 10 ? 30 : count < 50 ? 36 : 44;
      var icon = L.divIcon({
        className: "map-cluster",
        html: '<span style="background:' + esc(hideoutOf(context).color || "#d7263d") + '">' +
          esc(feature.properties.point_count_abbreviated) + "</span>",
        iconSize: L.point(size, size)
      });
      return L.marker(latlng, {icon: icon});
    },
    squarePoint: function (feature, latlng, context) {
      var color = hideoutOf(context).color || "#2b7a3d";
      return L.marker(latlng, {icon: L.divIcon({
        className: "square-marker", html: '<span style="background:' + esc(color) + '"></span>',
        iconSize: [14, 14], iconAnchor: [7, 7]})});
    },
    snowPoint: function (feature, latlng, context) {
      // a coloured disc with the depth in cm, above shelters and AEDs (sensors often share a site)
      var h = hideoutOf(context), p = feature.properties || {};
      var cls = p.depth_class, colors = h.colors || [];
      var noData = (cls === null || cls === undefined || cls < 0);
      var fill = noData ? (h.noData || "#9e9e9e") : colors[cls];
      var dark = !noData && cls >= 3;
      var label = noData ? "–" : String(Math.round(p.value));
      return L.marker(latlng, {
        zIndexOffset: 1000, title: p.name || "",
        icon: L.divIcon({
          className: "snow-marker",
          html: '<span style="background:' + esc(fill) + ";color:" + (dark ? "#fff" : "#0b2545") + '">' +
            esc(label) + "</span>",
          iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -14]})
      });
    },
    outlineStyle: function (feature, context) {
      var h = hideoutOf(context);
      return {color: h.color || "#3d4a5c", weight: 2, opacity: 0.85, fill: true, fillOpacity: 0,
              dashArray: "6 4"};
    },

    stateQuery: function (center, zoom, groups, base, opValues, opIds, lang) {
      var params = new URLSearchParams();
      var lat = center ? (center.lat !== undefined ? center.lat : center[0]) : null;
      var lon = center ? (center.lng !== undefined ? center.lng : center[1]) : null;
      if (lat !== null) { params.set("lat", Number(lat).toFixed(5)); }
      if (lon !== null) { params.set("lon", Number(lon).toFixed(5)); }
      if (zoom !== null && zoom !== undefined) { params.set("z", String(Math.round(zoom))); }
      var layers = [];
      (groups || []).forEach(function (g) { (g || []).forEach(function (x) { layers.push(x); }); });
      params.set("layers", layers.join(","));
      params.set("base", base || "std");
      params.set("lang", lang || "ja");
      var op = [];
      (opIds || []).forEach(function (id, i) {
        if (opValues && opValues[i] !== null && opValues[i] !== undefined) {
          op.push(id.layer + ":" + opValues[i]);
        }
      });
      if (op.length) { op.sort(); params.set("op", op.join(",")); }
      return "?" + params.toString().replace(/%2C/g, ",").replace(/%3A/g, ":");
    }
  };
})();

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  ishikawaMap: {
    syncUrl: function (center, zoom, groups, base, opValues, opIds, lang) {
      var q = window.ishikawaMap.stateQuery(center, zoom, groups, base, opValues, opIds, lang);
      if (window.location.search !== q) {
        window.history.replaceState(window.history.state, "", window.location.pathname + q);
      }
      var other = lang === "en" ? "ja" : "en";
      return window.ishikawaMap.stateQuery(center, zoom, groups, base, opValues, opIds, other);
    },
    togglePanel: function (openClicks, closeClicks, className) {
      var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      var open = trigger.indexOf("home-panel-toggle") === 0 ? !/\bopen\b/.test(className || "") : false;
      return [open ? "panel open" : "panel", open ? "true" : "false"];
    }
  }
});
