/* Snow removal (issue 3): road colours by time since cleared, plow markers, the /snow page's
   client-side state. Road geometry comes once by URL; colours come from a state map
   {segment id: [minute of last clearing, work 1=plowing 2=spreading]} and a time `t` (epoch s):
   on /snow through the GeoJSON's hideout (refreshes patch only the changed entries), on the public
   map from /api/snow/status (the first call gets everything, later ones only what changed).
   Every text that came from data is escaped (ishikawaMap.esc). */
(function () {
  "use strict";
  var NS = window.ishikawaMap = window.ishikawaMap || {};

  function esc(v) {
    return NS.esc ? NS.esc(v) : String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function hideoutOf(context) { return (context && context.hideout) || {}; }

  function band(minute, t, bands) {
    if (minute === null || minute === undefined) { return bands.length; }
    var age = (t - minute * 60) / 3600;
    for (var i = 0; i < bands.length; i++) { if (age < bands[i]) { return i; } }
    return bands.length;
  }

  var snowPage = {hideout: null};  // /snow: the road layer's hideout of the moment (for the tap layer)
  // states shared by the public-map layers (filled by the poller below)
  var live = {states: {}, t: null, since: null, layers: {}, timer: null, hideout: null};

  function statesFor(h) {
    return h.poll ? {s: live.states, t: live.t || Date.now() / 1000} : {s: h.s || {}, t: h.t || Date.now() / 1000};
  }

  function roadStyle(feature, h) {
    var st = statesFor(h), rec = st.s[feature.id] || st.s[(feature.properties || {}).id];
    var bands = h.bands || [1, 3, 6, 12, 24];
    var b = band(rec ? rec[0] : null, st.t, bands);
    if (h.win && b < bands.length && bands[b] > h.win) { b = bands.length; }  // older than the chosen window
    var color = b < bands.length ? (h.colors || [])[b] : (h.none || "#a50f15");
    var style = {color: color, weight: b < bands.length ? 5 : 3, opacity: 0.9, lineCap: "round"};
    if (rec && rec[1] === 2 && b < bands.length) { style.dashArray = "8 7"; }
    return style;
  }

  function roadPopup(feature, h) {
    var p = feature.properties || {}, L_ = h.labels || {};
    var st = statesFor(h), rec = st.s[feature.id] || st.s[p.id];
    var when = L_.never;
    if (rec && band(rec[0], st.t, h.bands || [1, 3, 6, 12, 24]) < (h.bands || [1, 3, 6, 12, 24]).length) {
      var d = new Date(rec[0] * 60000);
      when = d.toLocaleString("ja-JP", {timeZone: "Asia/Tokyo", month: "2-digit", day: "2-digit",
                                         hour: "2-digit", minute: "2-digit"}) +
        " (" + (rec[1] === 2 ? L_.spreading : L_.plowing) + ")";
    }
    return '<div class="popup"><div class="popup-title">' + esc(p.name) + '</div><table class="popup-table">' +
      "<tr><th>" + esc(L_.area) + "</th><td>" + esc(p.area) + "</td></tr>" +
      "<tr><th>" + esc(L_.cleared) + "</th><td>" + esc(when) + "</td></tr></table></div>";
  }

  function poll() {
    var h = live.hideout || {};
    var url = (h.poll && h.poll.url) || "/api/snow/status?geometry=false";
    if (live.since) { url += "&since=" + encodeURIComponent(live.since); }
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (!body) { return; }
      (body.segments || []).forEach(function (row) {
        if (row.cleared_at) {
          live.states[row.id] = [Math.floor(Date.parse(row.cleared_at) / 60000), row.work === "spreading" ? 2 : 1];
        }
      });
      live.t = Date.parse(body.generated_at) / 1000;
      // ask again a little before this answer: a pass may carry a fix time older than the answer
      live.since = new Date(Date.parse(body.generated_at) - 600000).toISOString();
      Object.keys(live.layers).forEach(function (id) {
        var layer = live.layers[id];
        if (!layer._map) { delete live.layers[id]; return; }
        layer.setStyle(roadStyle(layer.feature, live.hideout || {}));
      });
    }).catch(function () { /* the next poll tries again */ });
  }

  function arrowIcon(p) {
    var cls = "plow-marker plow-" + esc(p.state || "active") + " plow-work-" + esc(p.work || "travel") +
      (p.focus ? " plow-focus" : "");
    var rot = Number(p.heading) || 0;
    return L.divIcon({
      className: cls,
      html: '<span class="plow-arrow" style="transform: rotate(' + rot.toFixed(0) + 'deg)">' +
        '<svg viewBox="0 0 24 24" width="26" height="26"><path d="M12 2 L20 21 L12 16 L4 21 Z"/></svg></span>',
      iconSize: [26, 26], iconAnchor: [13, 13]
    });
  }

  Object.assign(NS, {
    snowBand: band,
    snowRoadStyle: function (feature, context) {
      snowPage.hideout = hideoutOf(context);
      return roadStyle(feature, snowPage.hideout);
    },
    // /snow: an invisible wide line over each road takes the taps (roads are 3–5 px wide)
    snowHitStyle: function () { return {color: "#000", opacity: 0, weight: 22, lineCap: "round"}; },
    snowHitPopup: function (feature, layer) {
      layer.bindPopup(function () { return roadPopup(feature, snowPage.hideout || {}); }, {maxWidth: 280});
    },
    // /snow: popup read at open time (the hideout of the moment)
    snowRoadPopup: function (feature, layer, context) {
      layer.bindPopup(function () { return roadPopup(feature, hideoutOf(context)); }, {maxWidth: 280});
    },
    // public map: register the layer, keep its colours fresh from /api/snow/status
    snowRoadLive: function (feature, layer, context) {
      var h = hideoutOf(context);
      live.hideout = h;
      live.layers[feature.id] = layer;
      layer.bindPopup(function () { return roadPopup(feature, h); }, {maxWidth: 280});
      if (!live.timer) {
        live.timer = setInterval(poll, 1000 * ((h.poll && h.poll.every) || 30));
        setTimeout(poll, 0);
      } else if (live.t) {
        layer.setStyle(roadStyle(feature, h));
      }
    },
    plowPoint: function (feature, latlng) {
      var p = feature.properties || {};
      return L.marker(latlng, {icon: arrowIcon(p), title: p.id || "", keyboard: false});
    },
    plowTooltip: function (feature, layer) {
      var p = feature.properties || {};
      layer.bindTooltip(esc(p.id) + " " + esc(p.work_label || "") + " " + esc(p.speed === null ? "" : p.speed + " km/h"),
                        {direction: "top", offset: [0, -12]});
    },
    trailStyle: function (feature) {
      var p = feature.properties || {}, w = p.work;
      return {color: w === "spreading" ? "#7b3294" : (w === "plowing" ? "#e7298a" : "#555"),
              weight: p.focus ? 6 : 3, opacity: p.dim ? 0.35 : 0.9,
              dashArray: w === "travel" ? "2 5" : null, className: p.focus ? "snow-trail-focus" : ""};
    }
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function jst(epoch) {
    if (epoch === null || epoch === undefined) { return ""; }
    var d = new Date((epoch + 9 * 3600) * 1000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    snow: {
      printReport: function (n) { if (n) { window.print(); } return window.dash_clientside.no_update; },
      // the server sends only what changed; the browser keeps the whole fleet here
      focusVehicle: function (cell, fleet) {
        var id = cell && cell.row_id, v = id && (fleet || {})[id];
        if (!v || v.lon === null || v.lon === undefined) { return [id || null, window.dash_clientside.no_update]; }
        return [id, {center: [v.lat, v.lon], zoom: 15, transition: "flyTo"}];
      },
      applyDelta: function (delta, focus, fleet, labels) {
        var trigger = (window.dash_clientside.callback_context.triggered || [])[0];
        if (trigger && trigger.prop_id === "snow-focus.data") { delta = null; }
        var WORK = ["plowing", "spreading", "travel"], STATE = ["active", "idle", "offline"];
        fleet = Object.assign({}, fleet || {});
        if (delta) {
          var fresh = delta.reset || delta.reset_vehicles;
          if (fresh) { fleet = {}; }
          (delta.gone_vehicles || []).forEach(function (id) { delete fleet[id]; });
          var cut = (delta.t || Date.now() / 1000) - 1800;
          Object.keys(delta.vehicles || {}).forEach(function (id) {
            // [lon, lat, heading, speed, work, t, state, trail points to add, bad fixes dropped]
            var r = delta.vehicles[id], old = fleet[id] || {trail: []};
            fleet[id] = {lon: r[0], lat: r[1], heading: r[2], speed: r[3], work: WORK[r[4]], t: r[5],
                         state: STATE[r[6]], trail: (old.trail || []).concat(r[7] || []),
                         rej: r[8] === undefined ? old.rej : r[8]};
          });
          Object.keys(fleet).forEach(function (id) {
            fleet[id].trail = (fleet[id].trail || []).filter(function (p) { return p[2] > cut; });
          });
        }
        labels = labels || {};
        var ids = Object.keys(fleet).sort();
        var plows = [], trails = [], rows = [];
        ids.forEach(function (id) {
          var v = fleet[id];
          if (v.lon === undefined || v.lon === null) { return; }
          var workLabel = (labels.work || {})[v.work] || v.work;
          plows.push({type: "Feature", id: id, geometry: {type: "Point", coordinates: [v.lon, v.lat]},
                      properties: {id: id, heading: v.heading, work: v.work, work_label: workLabel,
                                   speed: v.speed, state: v.state, focus: id === focus}});
          var line = (v.trail || []).map(function (p) { return [p[0], p[1]]; });
          var lastT = (v.trail || []).length ? v.trail[v.trail.length - 1][2] : null;
          if (lastT !== null && v.t > lastT) { line.push([v.lon, v.lat]); }  // the trail reaches the marker
          if (line.length > 1) {
            trails.push({type: "Feature", id: id, properties: {id: id, work: v.work, focus: id === focus,
                                                               dim: !!focus && id !== focus},
                         geometry: {type: "LineString", coordinates: line}});
          }
          rows.push({id: id, work: workLabel, speed: v.speed === null || v.speed === undefined ? "" : v.speed,
                     last: jst(v.t), state: (labels.state || {})[v.state] || v.state, state_key: v.state,
                     rej: v.rej === null || v.rej === undefined ? "" : v.rej});
        });
        return [fleet, {type: "FeatureCollection", features: plows},
                {type: "FeatureCollection", features: trails}, rows];
      }
    }
  });
})();
