/* Staff pages (issue 4): send a picked file with a progress bar, then hand the server's token to
   Dash (dash_clientside.set_props). Messages are set as text, never as HTML. */
(function () {
  "use strict";
  function onPick(input) {
    var box = input.closest(".staff-file");
    if (!box || !input.files || !input.files.length) { return; }
    var file = input.files[0];
    var wrap = box.querySelector(".staff-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".staff-progress-text");
    var err = box.querySelector(".staff-error");
    var storeId = box.getAttribute("data-store");
    err.textContent = "";
    wrap.hidden = false;
    bar.value = 0;
    text.textContent = "0%";
    var form = new FormData();
    form.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    var langEl = box.closest("[lang]");
    xhr.open("POST", "/staff/upload/file?lang=" + ((langEl && langEl.getAttribute("lang")) || "ja"));
    xhr.setRequestHeader("X-CSRF-Token", box.getAttribute("data-csrf") || "");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round(e.loaded / e.total * 100);
        bar.value = pct;
        text.textContent = pct + "%";
      }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 200 && body.token) {
        bar.value = 100;
        text.textContent = "100% — " + file.name;
        window.dash_clientside.set_props(storeId, {data: {token: body.token, filename: body.filename,
                                                          size: body.size, at: Date.now()}});
      } else {
        wrap.hidden = true;
        err.textContent = body.message || ("HTTP " + xhr.status);
      }
    };
    xhr.onerror = function () {
      wrap.hidden = true;
      err.textContent = "network error";
    };
    xhr.send(form);
  }
  function addInputs(root) {
    var slots = (root || document).querySelectorAll(".staff-file-slot");
    for (var i = 0; i < slots.length; i++) {
      if (!slots[i].querySelector("input")) {
        var input = document.createElement("input");
        input.type = "file";
        input.className = "staff-file-input";
        input.id = slots[i].getAttribute("data-input-id") || "";
        input.accept = ".csv,.txt,.tsv,.geojson,.json,.kml,.kmz,.gpx,.zip,.gpkg";
        slots[i].appendChild(input);
      }
    }
  }
  // only what was just added is searched: the map pages add thousands of SVG paths and markers while
  // they load and move, and a search of the whole page on each of those changes costs a phone seconds
  function onAdded(records) {
    for (var r = 0; r < records.length; r++) {
      var added = records[r].addedNodes;
      for (var n = 0; n < added.length; n++) {
        var node = added[n];
        if (node.nodeType !== 1 || !node.getElementsByClassName) { continue; }
        if (node.classList.contains("staff-file-slot") || node.getElementsByClassName("staff-file-slot").length) {
          addInputs(node.parentNode || node);
        }
      }
    }
  }
  // the file pickers are on staff pages only (/staff/upload, /staff/layers; the public pages reach
  // them by a full page load): elsewhere nothing is watched — even the watching itself costs a phone
  // about a second on /snow, whose roads are thousands of SVG paths
  if (window.location.pathname.indexOf("/staff/") !== -1) {
    new MutationObserver(onAdded).observe(document.documentElement, {childList: true, subtree: true});
    document.addEventListener("DOMContentLoaded", function () { addInputs(document); });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.classList && e.target.classList.contains("staff-file-input")) {
      onPick(e.target);
    }
  });
})();
