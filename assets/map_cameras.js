/* The camera popup with the last 24 hours: the popup of assets/map.js (latest thumbnail, time,
   stopped badge) plus a slider over every snapshot of the last 24 h and a strip of hourly
   thumbnails, loaded from /api/cameras/<id>/images when the popup opens (by URL, never inlined).
   Times are shown in JST; every text is escaped. */
(function () {
  "use strict";
  var NS = window.ishikawaMap = window.ishikawaMap || {};

  function esc(v) {
    return NS.esc ? NS.esc(v) : String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function hideoutOf(context) { return (context && context.hideout) || {}; }
  function ownPath(url) { url = String(url || ""); return /^\/(?!\/)/.test(url) ? url : ""; }
  function jst(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    var j = new Date(d.getTime() + 9 * 3600 * 1000);  // JST has no daylight saving
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return j.getUTCFullYear() + "-" + two(j.getUTCMonth() + 1) + "-" + two(j.getUTCDate()) + " " +
      two(j.getUTCHours()) + ":" + two(j.getUTCMinutes());
  }

  function stripHtml(labels) {
    return '<div class="camera-strip"><div class="camera-strip-title">' + esc(labels.strip) + "</div>" +
      '<div class="camera-strip-status">' + esc(labels.loading) + "</div></div>";
  }

  function fill(root, images, labels) {
    var strip = root.querySelector(".camera-strip");
    if (!strip) { return; }
    images = images.filter(function (im) { return ownPath(im.thumb_url); });
    if (!images.length) {
      strip.querySelector(".camera-strip-status").textContent = labels.empty || "";
      return;
    }
    var img = root.querySelector("img.camera-thumb"), link = img ? img.parentNode : null;
    var time = root.querySelector(".camera-time");
    var n = images.length;
    var html = '<input type="range" class="camera-slider" min="0" max="' + (n - 1) + '" value="' + (n - 1) +
      '" step="1" aria-label="' + esc(labels.slider) + '">' +
      '<div class="camera-strip-thumbs">';
    // about one thumbnail an hour in the strip (the slider reaches every snapshot)
    var step = Math.max(1, Math.ceil(n / 24)), picks = [];
    for (var i = n - 1; i >= 0; i -= step) { picks.unshift(i); }
    picks.forEach(function (k) {
      html += '<button type="button" class="camera-strip-item" data-k="' + k + '" title="' + esc(jst(images[k].taken_at)) +
        '"><img loading="lazy" width="64" src="' + esc(ownPath(images[k].thumb_url)) + '" alt="' +
        esc(jst(images[k].taken_at)) + '"></button>';
    });
    html += "</div>";
    strip.querySelector(".camera-strip-status").outerHTML = html;
    var slider = strip.querySelector(".camera-slider");
    function show(k) {
      var im = images[k];
      if (img) { img.src = ownPath(im.thumb_url); }
      if (link) { link.href = ownPath(im.url) || ownPath(im.thumb_url); }
      if (time) { time.textContent = String(labels.taken || "").replace("{time}", jst(im.taken_at)); }
      slider.value = k;
      strip.querySelectorAll(".camera-strip-item").forEach(function (b) {
        b.classList.toggle("active", Number(b.getAttribute("data-k")) === k);
      });
    }
    slider.addEventListener("input", function () { show(Number(slider.value)); });
    strip.querySelectorAll(".camera-strip-item").forEach(function (b) {
      b.addEventListener("click", function () { show(Number(b.getAttribute("data-k"))); });
    });
    show(n - 1);
  }

  NS.cameraPopupWithStrip = function (feature, layer, context) {
    var p = feature && feature.properties;
    if (!p || p.cluster || !NS.cameraPopupHtml) { return; }
    var h = hideoutOf(context), labels = (h.camera || {});
    // the content is an element of its own, so Leaflet's update() keeps what the strip added; it is
    // made when the popup first opens (its thumbnail is not fetched for every camera on load)
    var box = null, html = "";
    function content() {
      if (!box) {
        var base = NS.cameraPopupHtml(p, h);
        html = p.thumb_url ? base.replace(/<\/div>$/, stripHtml(labels) + "</div>") : base;
        box = document.createElement("div");
        box.innerHTML = html;
      }
      return box;
    }
    layer.bindPopup(content, NS.popupOptions(layer, 340, 240));
    if (!p.thumb_url) { return; }
    layer.on("popupopen", function (e) {
      content();
      if (box.getAttribute("data-strip") === "1") { return; }
      box.setAttribute("data-strip", "1");
      fetch("/api/cameras/" + encodeURIComponent(p.id) + "/images", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {images: []}; })
        .then(function (body) { fill(box, body.images || [], labels); e.popup.update(); })
        .catch(function () {
          var st = box.querySelector(".camera-strip-status");
          if (st) { st.textContent = labels.empty || ""; }
        });
    });
    layer.on("popupclose", function () {
      // the next opening starts again from the newest snapshot
      if (!box) { return; }
      box.removeAttribute("data-strip");
      box.innerHTML = html;
    });
  };
}());
