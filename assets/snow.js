/* Snow removal: road colours by time since cleared, plow markers, the /snow page's
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

  // /snow: the road layer's hideout of the moment (for popups) and its layers by segment id
  var snowPage = {hideout: null, layers: {}};
  var TAP_TOLERANCE = 10;

  // one canvas per map, in its own pane under the overlay pane (SVG there stays on top)
  function roadCanvas(map) {
    if (!map._ishikawaRoadCanvas) {
      if (!map.getPane("snowRoads")) { map.createPane("snowRoads").style.zIndex = 350; }
      map._ishikawaRoadCanvas = L.canvas({pane: "snowRoads", tolerance: TAP_TOLERANCE, padding: 0.3});
    }
    return map._ishikawaRoadCanvas;
  }
  // /snow's layer list stays open (collapsed=False): Leaflet then re-measures the map after each
  // overlay it adds (a layout of the whole page per overlay while the page loads). Those measures
  // are coalesced into one per frame; the list still fits the map's height as before.
  if (window.L && L.Control && L.Control.Layers && !L.Control.Layers.prototype._ishikawaOnce) {
    var expandNow = L.Control.Layers.prototype._expandIfNotCollapsed;
    L.Control.Layers.prototype._ishikawaOnce = true;
    L.Control.Layers.prototype._expandIfNotCollapsed = function () {
      var control = this;
      if (!control._map || control.options.collapsed || control._expandQueued) { return control; }
      control._expandQueued = true;
      window.requestAnimationFrame(function () {
        control._expandQueued = false;
        if (control._map) { expandNow.call(control); }
      });
      return control;
    };
  }

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
      snowPage.hideout = page.hideout || hideoutOf(context);  // the live state this browser holds wins
      return roadStyle(feature, snowPage.hideout);
    },
    // /snow: the roads (about 1,100 lines) draw on one canvas under the other vector layers: a
    // phone's CPU builds no SVG element per road, and the canvas takes taps within TAP_TOLERANCE px
    // of a line (roads are 3–5 px wide); restrictions and trails stay SVG above it, tappable first
    snowRoadTap: function (feature, layer, context) {
      var map = context && context.map;
      if (map) { layer.options.renderer = roadCanvas(map); }
      snowPage.layers[feature.id] = layer;
      layer.bindPopup(function () { return roadPopup(feature, snowPage.hideout || {}); }, NS.popupOptions(layer, 280));
    },
    // the road layers of /snow by segment id (what the canvas draws: colour, weight, dashes)
    snowRoadLayers: function () { return snowPage.layers; },
    // public map: register the layer, keep its colours fresh from /api/snow/status
    snowRoadLive: function (feature, layer, context) {
      var h = hideoutOf(context);
      live.hideout = h;
      live.layers[feature.id] = layer;
      layer.bindPopup(function () { return roadPopup(feature, h); }, NS.popupOptions(layer, 280));
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
      // interactive: false — a trail never takes a tap from the road under it (the GeoJSON's own
      // interactive=False does not reach the lines it makes; their style does, before they are drawn)
      return {color: w === "spreading" ? "#7b3294" : (w === "plowing" ? "#e7298a" : "#555"), interactive: false,
              weight: p.focus ? 6 : 3, opacity: p.dim ? 0.35 : 0.9,
              dashArray: w === "travel" ? "2 5" : null, className: p.focus ? "snow-trail-focus" : ""};
    }
  });

  // a snow-depth sensor's popup (assets/map.js popupHtml) with the nearest camera's latest thumbnail,
  // a link to the full image: the road as it looks beside the number (our own paths only)
  NS.snowDepthPopup = function (feature, layer, context) {
    var p = feature.properties || {}, keys = Object.keys(p);
    if (!feature.properties || p.cluster || !keys.length || (keys.length === 1 && keys[0] === "id") || !NS.popupHtml) {
      return;
    }
    var h = (context && context.hideout) || {};
    layer.bindPopup(NS.once(function () { return snowDepthHtml(p, h); }), NS.popupOptions(layer, 300));
  };

  function snowDepthHtml(p, h) {
    var html = NS.popupHtml(p, h.popup || {});
    var own = function (u) { u = String(u || ""); return /^\/api\/cameras\/[^/?#]+\/(thumb|latest)\.jpg$/.test(u) ? u : ""; };
    if (p.camera_id && own(p.camera_thumb) && own(p.camera_url)) {
      var labels = h.camera || {}, name = (h.lang === "en" ? p.camera_name_en : p.camera_name) || p.camera_name || "";
      var title = fill(labels.title, {name: name, m: p.camera_m});
      html = html.replace(/<\/div>$/, '<div class="snow-depth-camera"><a href="' + esc(own(p.camera_url)) +
        '" target="_blank" rel="noopener">' + esc(title) + '<br><img class="camera-thumb" width="240" loading="lazy" src="' +
        esc(own(p.camera_thumb)) + '" alt="' + esc(fill(labels.alt, {name: name})) + '"></a></div></div>');
    }
    return html;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function jstParts(epoch) { return new Date((epoch + 9 * 3600) * 1000); }
  function jst(epoch) {
    if (epoch === null || epoch === undefined) { return ""; }
    var d = jstParts(epoch);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  function jstDate(epoch) {  // MM/DD HH:MM:SS
    var d = jstParts(epoch);
    return pad(d.getUTCMonth() + 1) + "/" + pad(d.getUTCDate()) + " " + jst(epoch);
  }
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "style") { e.style.cssText = attrs[k]; }
      else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }

  // /snow: the state this browser holds, fed by GET /api/snow/live (the same bytes for every viewer
  // of a refresh interval; the browser sends the key of the state it holds and gets what changed)
  var page = {key: null, hideout: null, progress: null, received: null, live: true, t: null,
              hours: 24, minutes: 0, labels: {}, inflight: false, again: false, fleet: {}, focus: null,
              sort: {col: "id", dir: 1}};

  function setProps(id, props) { window.dash_clientside.set_props(id, props); }

  function km(m) { return (m / 1000).toFixed(1); }

  // progress figures arrive as metres per window; the browser turns them into shares, a table and bars
  function drawProgress() {
    var P = page.progress, L_ = page.labels;
    var box = document.getElementById("snow-progress"), bars = document.getElementById("snow-progress-bars");
    if (!P || !box || !bars) { return; }
    var w = Math.max(0, P.hours.indexOf(page.hours));
    function row(name, done, total, cls) {
      var share = total ? done / total : 0;
      return el("tr", cls ? {"class": cls} : {}, [el("th", {text: name}), el("td", {text: (share * 100).toFixed(1) + "%"}),
        el("td", {text: fill(L_.km, {done: km(done), total: km(total)})})]);
    }
    var rows = [row(L_.total, P.total.cleared_m[w], P.total.total_m, "progress-total")];
    P.area.names.forEach(function (name, i) { rows.push(row(name, P.area.cleared_m[w][i], P.area.total_m[i])); });
    box.replaceChildren(el("table", {"class": "progress-table", id: "snow-progress-table"}, [el("tbody", {}, rows)]));

    function barRows(group, order, cls) {
      return order.map(function (i) {
        var done = group.cleared_m[w][i], total = group.total_m[i], share = total ? done / total : 0;
        var pct = Math.round(share * 1000) / 10;
        return el("div", {"class": "bar-row " + cls,
                          title: group.names[i] + ": " + pct + "% (" + fill(L_.km, {done: km(done), total: km(total)}) + ")"}, [
          el("span", {"class": "bar-label", text: group.names[i]}),
          el("span", {"class": "bar-track"}, [el("span", {"class": "bar-fill", style: "width: " + pct + "%"})]),
          el("span", {"class": "bar-value", text: Math.round(pct) + "%"})]);
      });
    }
    var areas = P.area.names.map(function (n, i) { return i; });
    var routes = P.route.names.map(function (n, i) { return i; }).sort(function (a, b) {
      return (P.route.total_m[b] - P.route.total_m[a]) || (P.route.names[a] < P.route.names[b] ? -1 : 1);
    });
    bars.replaceChildren(el("div", {"class": "bar-chart", role: "img", "aria-label": L_.share},
      [el("div", {"class": "bar-head", text: L_.by_area})].concat(barRows(P.area, areas, "bar-area"),
        [el("div", {"class": "bar-head", text: L_.by_route})], barRows(P.route, routes, "bar-route"))));
    setProps("snow-progress-title", {children: fill(L_.progress, {hours: page.hours})});
  }

  function drawBadge() {
    var L_ = page.labels, now = Date.now() / 1000, text, stale = true;
    if (page.received === null || page.received === undefined) { text = L_.no_fixes; }
    else if (now - page.received > (L_.stale_s || 120)) { text = fill(L_.stopped, {time: jstDate(page.received)}); }
    else { text = fill(L_.updated, {time: jst(page.received)}); stale = false; }
    setProps("snow-badge", {children: text, className: "snow-badge" + (stale ? " stale" : "")});
    setProps("snow-mode", {children: page.live ? L_.live : fill(L_.replay, {time: jstDate(page.t).slice(0, -3)}),
                           className: "snow-mode" + (page.live ? "" : " replay")});
  }

  function pushHideout() {
    page.hideout = Object.assign({}, page.hideout, {win: page.hours});
    restyleRoads();
  }

  // The roads take their new colours in place. Handing dash-leaflet a new hideout would make it
  // rebuild all ~1,100 road layers on every change of the live state: an open road popup closed by
  // itself every few seconds, and a phone's CPU redid the whole network. Only roads whose look
  // changed are restyled (the canvas redraws once per frame).
  function restyleRoads() {
    var h = page.hideout || {};
    snowPage.hideout = h;
    Object.keys(snowPage.layers).forEach(function (id) {
      var layer = snowPage.layers[id];
      if (!layer._map) { return; }
      var style = roadStyle(layer.feature, h), o = layer.options;
      if (o.color !== style.color || o.weight !== style.weight || (o.dashArray || null) !== (style.dashArray || null)) {
        layer.setStyle({color: style.color, weight: style.weight, dashArray: style.dashArray || null});
      }
    });
  }

  function apply(d) {
    if (!d || (!d.reset && d.since !== page.key)) { return; }  // a delta for a state this browser no longer holds
    if (d.live) { page.received = d.received; }
    page.live = d.live;
    page.t = d.t;
    page.progress = d.progress;
    if (d.key !== page.key || d.reset) {
      var states = d.reset ? {} : Object.assign({}, page.hideout.s || {});
      Object.keys(d.roads || {}).forEach(function (id) { states[id] = d.roads[id]; });
      (d.gone || []).forEach(function (id) { delete states[id]; });
      page.hideout = Object.assign({}, page.hideout, {s: states, t: d.t, win: page.hours});
      page.key = d.key;
      restyleRoads();
      setProps("snow-key", {data: d.key});
      if (d.reset || d.reset_vehicles || Object.keys(d.vehicles || {}).length || (d.gone_vehicles || []).length) {
        setProps("snow-delta", {data: {t: d.t, vehicles: d.vehicles, reset: d.reset, reset_vehicles: d.reset_vehicles,
                                       gone_vehicles: d.gone_vehicles}});
      }
    }
    drawProgress();
    drawBadge();
    if (!document.querySelector("#snow-vehicles table")) { drawTable(); }
  }

  function request() {
    if (page.inflight) { page.again = true; return; }
    page.inflight = true;
    var url = "/api/snow/live?since=" + encodeURIComponent(page.key || "");
    if (page.minutes < 0) {  // whole minutes: every viewer of that moment asks the same URL
      url += "&at=" + Math.floor((Date.now() / 1000 + page.minutes * 60) / 60) * 60;
    }
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(apply).catch(function () { /* the next refresh tries again */ })
      .then(function () {
        page.inflight = false;
        if (page.again) { page.again = false; request(); }
      });
  }

  // the vehicle table: plain HTML, sortable by any column, a row (or its button) focuses the vehicle
  var COLS = ["id", "work", "speed", "last", "state", "rejected"], NUMERIC = {speed: 1, rejected: 1};
  function cell(v, col) {
    var L_ = page.labels;
    if (col === "work") { return (L_.work || {})[v.work] || v.work || ""; }
    if (col === "speed") { return v.speed === null || v.speed === undefined ? "" : Math.round(v.speed); }
    if (col === "last") { return jst(v.t); }
    if (col === "state") { return (L_.state || {})[v.state] || v.state || ""; }
    if (col === "rejected") { return v.rej === null || v.rej === undefined ? "" : v.rej; }
    return v.id;
  }
  function drawTable() {
    var box = document.getElementById("snow-vehicles"), L_ = page.labels;
    if (!box) { return; }
    var fleet = page.fleet, col = page.sort.col, dir = page.sort.dir;
    var list = Object.keys(fleet).filter(function (id) { var v = fleet[id]; return v.lon !== undefined && v.lon !== null; })
      .map(function (id) { return Object.assign({id: id}, fleet[id]); });
    list.sort(function (a, b) {
      var x = col === "last" ? a.t : cell(a, col), y = col === "last" ? b.t : cell(b, col);
      if (NUMERIC[col]) { x = x === "" ? -1 : Number(x); y = y === "" ? -1 : Number(y); }
      return (x < y ? -1 : x > y ? 1 : (a.id < b.id ? -1 : 1)) * dir;
    });
    var head = el("tr", {}, COLS.map(function (c) {
      var label = (L_.cols || {})[c] || c;
      var attrs = {scope: "col", "class": NUMERIC[c] ? "num" : ""};
      if (c === col) { attrs["aria-sort"] = dir > 0 ? "ascending" : "descending"; }
      if (c === "rejected" && L_.rejected_help) { attrs.title = L_.rejected_help; }
      return el("th", attrs, [el("button", {type: "button", "class": "snow-sort", "data-sort": c,
                                            "aria-label": label + " " + (L_.sort || "")}, [document.createTextNode(label)])]);
    }));
    var body = list.map(function (v) {
      var tr = el("tr", {"data-id": v.id, "class": "state-" + v.state + (v.id === page.focus ? " focused" : "")});
      COLS.forEach(function (c) {
        var td = el("td", {"data-col": c, "class": NUMERIC[c] ? "num" : ""});
        if (c === "id") { td.appendChild(el("button", {type: "button", "class": "snow-veh", text: v.id})); }
        else { td.textContent = cell(v, c); }
        tr.appendChild(td);
      });
      return tr;
    });
    box.replaceChildren(el("table", {"class": "snow-vehicle-table"}, [el("thead", {}, [head]), el("tbody", {}, body)]));
  }
  document.addEventListener("click", function (ev) {
    var box = document.getElementById("snow-vehicles");
    if (!box || !box.contains(ev.target)) { return; }
    var sortBtn = ev.target.closest("button.snow-sort");
    if (sortBtn) {
      var c = sortBtn.getAttribute("data-sort");
      page.sort = {col: c, dir: page.sort.col === c ? -page.sort.dir : 1};
      drawTable();
      return;
    }
    var tr = ev.target.closest("tbody tr");
    if (!tr) { return; }
    var id = tr.getAttribute("data-id"), v = page.fleet[id];
    page.focus = id;
    setProps("snow-focus", {data: id});
    if (v && v.lon !== null && v.lon !== undefined) {
      setProps("snow-map", {viewport: {center: [v.lat, v.lon], zoom: 15, transition: "flyTo"}});
    }
  });

  // the overlays beside the roads (cameras, snow-melting devices, restrictions): their own
  // slower refresh, never part of the live state; every request carries the viewer's cookie, so
  // private ones come only to their organisation's staff
  var overlay = {inflight: false, again: false, minute: null, body: null, minutes: 0};
  function jstText(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d.getTime())) { return null; }
    var j = jstParts(d.getTime() / 1000);
    return j.getUTCFullYear() + "-" + pad(j.getUTCMonth() + 1) + "-" + pad(j.getUTCDate()) + " " +
      pad(j.getUTCHours()) + ":" + pad(j.getUTCMinutes());
  }
  // every restriction the viewer may see comes once a refresh (GET /api/restrictions?all=1); the moment
  // shown sorts them: in force (drawn as on the public map), upcoming within UPCOMING_S, ended within
  // ENDED_S (pages/snow.py's labels; drawn dashed and lighter, 予定 / 終了 with the period in the popup); older or later ones
  // are left off. The replay slider only sorts again, without a request.
  function restrictionState(r, t) {
    var w = overlay.window || {}, UPCOMING_S = w.upcoming_s || 7 * 86400, ENDED_S = w.ended_s || 86400;
    var start = r.start ? Date.parse(r.start) / 1000 : null, end = r.end ? Date.parse(r.end) / 1000 : null;
    if (start !== null && start > t) { return start - t <= UPCOMING_S ? "upcoming" : null; }
    if (end !== null && end <= t) { return t - end <= ENDED_S ? "ended" : null; }
    return "in_force";
  }
  function restrictionFeatures(body, kindsJa, t) {
    var out = [];
    (body.restrictions || []).forEach(function (r) {
      var state = r.geometry ? restrictionState(r, t) : null;
      if (!state) { return; }
      out.push({type: "Feature", id: r.id, geometry: r.geometry, properties: {
        id: r.id, kind: r.type, kind_text: r.type_text === (kindsJa || {})[r.type] ? "" : (r.type_text || ""),
        road: r.road, section: r.section, reason: r.reason, source: r.source, start_jst: jstText(r.start),
        end_jst: jstText(r.end), in_force: state === "in_force", state: state, demo: r.origin === "demo",
        "private": r.visibility !== "public"}});
    });
    // in force on top: drawn last
    var order = {ended: 0, upcoming: 1, in_force: 2};
    return out.sort(function (a, b) { return order[a.properties.state] - order[b.properties.state]; });
  }
  function momentOf(minutes) {  // the moment shown, in whole minutes (as the live state asks it)
    var now = Date.now() / 1000;
    return minutes < 0 ? Math.floor((now + minutes * 60) / 60) * 60 : now;
  }
  function drawRestrictions() {
    if (!overlay.body) { return; }
    setProps("snow-restrictions", {data: {type: "FeatureCollection",
                                          features: restrictionFeatures(overlay.body, overlay.kindsJa,
                                                                        momentOf(overlay.minutes))}});
  }
  function loadRestrictions() {
    if (overlay.inflight) { overlay.again = true; return; }
    overlay.inflight = true;
    fetch("/api/restrictions?all=1", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        overlay.body = body;
        drawRestrictions();
      }).catch(function () { /* the next refresh tries again */ })
      .then(function () {
        overlay.inflight = false;
        if (overlay.again) { overlay.again = false; loadRestrictions(); }
      });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    snow: {
      // the overlays' slow tick, or another replay moment: reload what changed
      overlays: function (_n, minutes, ids, labels) {
        overlay.kindsJa = (labels || {}).kinds_ja || {};
        overlay.window = (labels || {}).restriction_window || {};
        var trigger = ((window.dash_clientside.callback_context.triggered || [])[0] || {}).prop_id || "";
        ids = ids || [];
        minutes = minutes || 0;
        if (trigger !== "snow-time.value") {
          var stamp = Math.floor(Date.now() / 60000);
          if (overlay.minute !== null && stamp !== overlay.minute) {  // a new URL: the map reloads the markers
            [["snow-cameras", "cameras"], ["snow-melters", "snow-melters"]].forEach(function (o) {
              if (ids.indexOf(o[0]) >= 0) { setProps(o[0], {url: "/api/layers/" + o[1] + "/features?v=" + stamp}); }
            });
          }
          overlay.minute = stamp;
        }
        overlay.minutes = minutes;
        if (ids.indexOf("snow-restrictions") >= 0) {
          // another replay moment sorts again what this browser holds; the slow tick reloads them
          if (trigger === "snow-time.value" && overlay.body) { drawRestrictions(); } else { loadRestrictions(); }
        }
        return window.dash_clientside.no_update;
      },
      printReport: function (n) { if (n) { window.print(); } return window.dash_clientside.no_update; },
      // a refresh tick, a moment on the slider or another window: fetch the shared live state
      refresh: function (_n, minutes, hours, key, hideout, labels) {
        var trigger = ((window.dash_clientside.callback_context.triggered || [])[0] || {}).prop_id;
        if (!page.hideout) { page.hideout = hideout; page.key = key; }
        page.labels = labels || {};
        page.minutes = minutes || 0;
        page.hours = hours || 24;
        if (trigger === "snow-hours.value") {  // the window is the browser's own: no request needed
          pushHideout();
          drawProgress();
          return window.dash_clientside.no_update;
        }
        request();
        return window.dash_clientside.no_update;
      },
      // the server sends only what changed; the browser keeps the whole fleet here
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
                         rej: r[8] === undefined || r[8] === null ? old.rej : r[8]};
          });
          Object.keys(fleet).forEach(function (id) {
            fleet[id].trail = (fleet[id].trail || []).filter(function (p) { return p[2] > cut; });
          });
        }
        labels = labels || {};
        page.labels = Object.keys(page.labels).length ? page.labels : labels;
        page.fleet = fleet;
        page.focus = focus;
        var ids = Object.keys(fleet).sort();
        var plows = [], trails = [];
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
        });
        drawTable();
        return [fleet, {type: "FeatureCollection", features: plows},
                {type: "FeatureCollection", features: trails}];
      }
    }
  });
})();
