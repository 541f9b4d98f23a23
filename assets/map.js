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
  // a popup's content, built when it first opens (not for every feature while the map loads)
  function once(build) {
    var html = null;
    return function () { if (html === null) { html = build(); } return html; };
  }
  // the window's width, read while this script loads (the page is still small to lay out) and again
  // after a resize: reading innerWidth while the map adds its markers makes the browser lay the
  // whole page out again
  var width = window.innerWidth || null;
  window.addEventListener("resize", function () { width = null; });
  function screenWidth() {
    if (width === null) { width = window.innerWidth || 400; }
    return width;
  }
  function shown(value) {
    // long decimals (coordinates, measurements from files) to 5 places (~1 m), zeros dropped
    var text = String(value);
    if ((typeof value === "number" && isFinite(value)) || /^-?\d+\.\d{6,}$/.test(text)) {
      if (/\.\d{6,}/.test(text)) {
        return String(Number(Number(value).toFixed(5)));
      }
    }
    return text;
  }
  // Every popup of every map opens beside the map buttons at the top left (zoom, location, full screen:
  // 44 px wide from 10 px on phones), on phones too: the map pans it at least 66 px from the left edge,
  // so it is no wider than the screen leaves beside them (its frame takes ~46 px). Beside, not below:
  // tall popups (camera images) would not fit under the buttons on a phone. At the top it opens below
  // what the map shows at its top right (the overlay list /snow keeps open), measured when it opens:
  // Leaflet reads the padding then, and the list's height depends on the screen and the language.
  function popupOptions(layer, max, min) {
    var width = Math.max(160, Math.min(max || 300, screenWidth() - 124));
    var topLeft = L.point(66, 12);
    Object.defineProperty(topLeft, "y", {enumerable: true, configurable: true,
                                         get: function () { return clearOfTopRight(layer._map); }});
    var options = {maxWidth: width, autoPanPaddingTopLeft: topLeft, autoPanPaddingBottomRight: [12, 12]};
    if (min) { options.minWidth = Math.min(width, min); }
    return options;
  }
  function clearOfTopRight(map) {
    var box = map && map.getContainer();
    if (!box) { return 12; }
    var top = box.getBoundingClientRect().top, clear = 12;
    // the map's own top-right controls, and the page's tools laid over the map (the public map's "check a
    // place" and "share": siblings of the map)
    var over = Array.prototype.slice.call(box.querySelectorAll(".leaflet-top.leaflet-right"));
    if (box.parentNode) {
      over = over.concat(Array.prototype.slice.call(box.parentNode.querySelectorAll(":scope > .map-tools")));
    }
    over.forEach(function (el) {
      var r = el.getBoundingClientRect(), below = Math.round(r.bottom - top + 8);
      // empty, or not at the map's top (on phones the tools sit at its bottom); taller than half the map:
      // no popup would fit below it
      if (!r.height || r.top - top > 60 || below >= box.clientHeight / 2) { return; }
      clear = Math.max(clear, below);
    });
    return clear;
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
      rows.push("<tr><th>" + esc(label) + "</th><td>" + esc(shown(value)) + esc(unit) + "</td></tr>");
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

  function cameraPopupHtml(p, h) {
    // the latest thumbnail by URL (our own path only), its time in JST, a badge when stopped
    var labels = h.camera || {};
    var name = (h.lang === "en" ? p.name_en : p.name) || p.name || "";
    var html = '<div class="popup camera-popup"><div class="popup-title">' + esc(name) + "</div>";
    var src = safeHref(p.thumb_url), full = safeHref(p.image_url);
    if (src && src.charAt(0) === "/") {
      html += '<a href="' + esc(full || src) + '" target="_blank" rel="noopener">' +
        '<img class="camera-thumb" width="320" src="' + esc(src) + '" alt="' +
        esc(String(labels.alt || "").replace("{name}", name)) + '"></a>';
      html += '<div class="camera-time">' + esc(String(labels.taken || "").replace("{time}", p.taken_jst || "")) +
        "</div>";
    } else {
      html += '<div class="popup-empty">' + esc(labels.none) + "</div>";
    }
    if (p.stale) {
      html += '<div class="popup-badge camera-stale">' + esc(labels.stale) + "</div>";
    }
    if (p.demo) {
      html += '<div class="popup-badge camera-demo">' + esc(labels.demo) + "</div>";
    }
    return html + "</div>";
  }

  return {
    esc: esc,
    once: once,
    screenWidth: screenWidth,
    popupOptions: popupOptions,
    shown: shown,
    popupHtml: popupHtml,
    cameraPopupHtml: cameraPopupHtml,
    cameraPopup: function (feature, layer, context) {
      if (!feature.properties) {
        return;
      }
      var h = hideoutOf(context);
      layer.bindPopup(once(function () { return cameraPopupHtml(feature.properties, h); }),
                      popupOptions(layer, 340));
    },
    cameraPoint: function (feature, latlng, context) {
      var h = hideoutOf(context), p = feature.properties || {};
      var color = p.stale ? (h.staleColor || "#8a8a8a") : (h.color || "#0b6e99");
      return L.marker(latlng, {title: (h.lang === "en" ? p.name_en : p.name) || "", icon: L.divIcon({
        className: "camera-marker", html: '<span style="background:' + esc(color) + '">&#128247;</span>',
        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12]})});
    },
    popup: function (feature, layer, context) {
      // no popup for clusters, nor for the legs drawn when a cluster spreads out ({id} only)
      var keys = Object.keys(feature.properties || {});
      if (!feature.properties || feature.properties.cluster || !keys.length ||
          (keys.length === 1 && keys[0] === "id")) {
        return;
      }
      var spec = hideoutOf(context).popup || {};
      layer.bindPopup(once(function () { return popupHtml(feature.properties, spec); }), popupOptions(layer, 300));
    },
    shelterPopup: function (feature, layer, context) {
      // the popup, then what the hazard maps show at the shelter's own spot (asked when opened)
      if (!feature.properties || !feature.geometry) {
        return;
      }
      var h = hideoutOf(context), spec = h.popup || {};
      layer.bindPopup(once(function () { return popupHtml(feature.properties, spec); }), popupOptions(layer, 300));
      layer.on("popupopen", function (ev) {
        var popup = ev.popup, c = feature.geometry.coordinates;
        if (popup._hazardsShown) {
          return;
        }
        fetch("/api/hazard-at?lat=" + encodeURIComponent(c[1]) + "&lon=" + encodeURIComponent(c[0]) +
              "&lang=" + encodeURIComponent(h.lang || "ja"))
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (body) {
            if (!body || !body.hazards) {
              return;
            }
            var known = body.hazards.filter(function (x) { return x.status !== "unknown"; });
            var rows = known.map(function (x) {
              return "<tr><th>" + esc(x.title) + "</th><td>" + esc(x.label) + "</td></tr>";
            });
            var html = '<div class="popup-hazards"><div class="popup-subtitle">' + esc(h.hazardTitle || "") +
              "</div>" + (rows.length ? '<table class="popup-table">' + rows.join("") + "</table>" :
              '<div class="popup-empty">' + esc(body.hazards[0] ? body.hazards[0].label : "") + "</div>") +
              '<div class="popup-badge">' + esc(body.caveat) + "</div></div>";
            popup._hazardsShown = true;
            popup.setContent(popupHtml(feature.properties, spec).replace(/<\/div>$/, html + "</div>"));
          })
          .catch(function () { /* offline: the popup stays as it is */ });
      });
    },
    tooltip: function (feature, layer, context) {
      // permanent, quiet labels: without tiles the outlines and names are the only base map
      var key = hideoutOf(context).label || "name";
      if (feature.properties && feature.properties[key]) {
        // 郡 names are long: "能美郡川北町" is labelled "川北町"; the labels sit below the markers
        var label = String(feature.properties[key]).replace(/^.+郡/, "");
        // a marker with a text icon, not a permanent tooltip: a tooltip measures itself as it
        // opens (a layout of the whole page for each of the 19 names while the map loads)
        var mark = null;
        layer.on("add", function () {
          if (!mark) {
            mark = L.marker(layer.getCenter(), {
              icon: L.divIcon({className: "outline-label", html: "<span>" + esc(label) + "</span>", iconSize: null}),
              interactive: false, keyboard: false, pane: "shadowPane"});
          }
          mark.addTo(layer._map);
        });
        layer.on("remove", function () { if (mark) { mark.remove(); } });
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
    aedCluster: function (feature, latlng, index, context) {
      // AED counts: a red rounded square with a white heart mark, unlike the round snow-depth discs
      var count = feature.properties.point_count;
      var size = count < 10 ? 32 : count < 50 ? 38 : 44;
      var icon = L.divIcon({
        className: "map-cluster aed-cluster",
        html: '<span style="background:' + esc(hideoutOf(context).color || "#d7263d") + '">' +
          esc(feature.properties.point_count_abbreviated) + "</span>",
        iconSize: L.point(size, size)
      });
      return L.marker(latlng, {icon: icon, title: "AED ×" + count});
    },
    squarePoint: function (feature, latlng, context) {
      var h = hideoutOf(context), p = feature.properties || {}, color = h.color || "#2b7a3d";
      var title = String(p[(h.popup || {}).title] || p.name || "");
      return L.marker(latlng, {title: title, icon: L.divIcon({
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
    // --- issue 4: uploaded layers (colour and shape chosen by staff, validated server-side) ---
    uploadedPoint: function (feature, latlng, context) {
      var h = hideoutOf(context), color = h.color || "#1d70b8";
      var title = String((feature.properties || {})[h.label] || "");
      if (h.shape === "square" || h.shape === "marker") {
        return L.marker(latlng, {title: title, icon: L.divIcon({
          className: h.shape === "square" ? "square-marker" : "pin-marker",
          html: '<span style="background:' + esc(color) + '"></span>',
          iconSize: h.shape === "square" ? [14, 14] : [18, 18],
          iconAnchor: h.shape === "square" ? [7, 7] : [9, 18], popupAnchor: [0, -12]})});
      }
      return L.circleMarker(latlng, {radius: 7, color: "#ffffff", weight: 2, fillColor: color,
                                     fillOpacity: 0.9, className: "uploaded-point"});
    },
    uploadedOrCluster: function (feature, latlng, context) {
      // big layers: the server sends grid clusters (properties.cluster) until the view is close
      if (feature.properties && feature.properties.cluster) {
        return window.ishikawaMap.cluster(feature, latlng, 0, context);
      }
      return window.ishikawaMap.uploadedPoint(feature, latlng, context);
    },
    uploadedStyle: function (feature, context) {
      var color = hideoutOf(context).color || "#1d70b8";
      var t = feature && feature.geometry ? feature.geometry.type : "";
      if (t.indexOf("Polygon") >= 0) {
        return {color: color, weight: 2, opacity: 0.9, fillColor: color, fillOpacity: 0.3};
      }
      return {color: color, weight: 4, opacity: 0.85};
    },
    outlineStyle: function (feature, context) {
      var h = hideoutOf(context);
      // interactive: false — an outline never takes a tap from a point, whatever loaded first
      return {color: h.color || "#3d4a5c", weight: 2, opacity: 0.85, fill: true, fillOpacity: 0,
              dashArray: "6 4", interactive: false};
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
    screenWidth: function () {
      return window.innerWidth;
    },
    toggleCard: function (openClicks, closeClicks, hidden) {
      var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      var hide = trigger.indexOf("home-tools-open") === 0 ? !hidden : true;
      // one card at a time: opening this one closes the share dialog
      return [hide, hide ? window.dash_clientside.no_update : true];
    },
    openShare: function (openClicks, closeClicks, hidden) {
      var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      var open = trigger.indexOf("home-share-open") === 0 ? !!hidden : false;
      var keep = window.dash_clientside.no_update;
      if (!open) {
        return [true, keep, keep, "", keep];
      }
      var path = window.location.pathname + window.location.search;
      // one card at a time: the place card steps aside
      return [false, window.location.href, "/api/share/qr.svg?path=" + encodeURIComponent(path), "", true];
    },
    copyShare: function (n, url, texts) {
      var ok = (texts || {}).ok || "OK", failed = (texts || {}).failed || "";
      var input = document.getElementById("home-share-url");
      function fallback() {
        try {
          input.select();
          return document.execCommand("copy") ? ok : failed;
        } catch (e) {
          return failed;
        }
      }
      if (navigator.clipboard && window.isSecureContext) {
        return navigator.clipboard.writeText(url || "").then(function () { return ok; }, fallback);
      }
      return fallback();
    },
    locate: function (n) {
      return new Promise(function (resolve) {
        if (!navigator.geolocation) {
          resolve({error: "unsupported", t: Date.now()});
          return;
        }
        navigator.geolocation.getCurrentPosition(function (pos) {
          resolve({lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy,
                   t: Date.now()});
        }, function (err) {
          resolve({error: String(err && err.code), t: Date.now()});
        }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
      });
    },
    togglePanel: function (openClicks, closeClicks, className) {
      var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      var open = trigger.indexOf("home-panel-toggle") === 0 ? !/\bopen\b/.test(className || "") : false;
      return [open ? "panel open" : "panel", open ? "true" : "false"];
    }
  }
});
