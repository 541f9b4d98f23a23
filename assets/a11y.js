/* Accessible names and roles for the controls Dash draws.
 *
 * Dash's radio and check lists wrap native <input type=radio|checkbox> in role="option" labels
 * inside a role="listbox" (an interactive control inside another, and a listbox without a name);
 * its dropdown keeps a focusable input with aria-hidden="true" that only hands focus on to the
 * real trigger; its slider thumbs have no name. Screen readers then announce the wrong thing or
 * nothing. The native inputs already say what they are and whether they are chosen, so the lists
 * become a named radiogroup/group of plain labels, the focus proxy leaves the tab order (the
 * trigger after it is focusable itself), and each list or slider takes its name from the page's
 * <label for=…> (or aria-label given on the page). Kept up to date as Dash redraws.
 */
(function () {
    "use strict";

    function labelIdFor(el) {
        if (!el.id) return null;
        var label = document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
        if (!label) return null;
        if (!label.id) label.id = el.id + "-label";
        return label.id;
    }

    function nameFrom(el, target) {
        if (target.hasAttribute("aria-label") || target.hasAttribute("aria-labelledby")) return;
        var lid = labelIdFor(el);
        if (lid) {
            target.setAttribute("aria-labelledby", lid);
        } else if (el.getAttribute("title")) {
            target.setAttribute("aria-label", el.getAttribute("title"));
        }
    }

    function fixLists(root) {
        // only the radio and check lists of the page: a dropdown's open menu is a real listbox of
        // options and keeps its roles
        root.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (list) {
            var input = list.querySelector('.dash-options-list-option input[type="radio"], ' +
                                           '.dash-options-list-option input[type="checkbox"]');
            if (list.closest(".dash-dropdown-options, .dash-dropdown, .dash-dropdown-content")) return;
            list.setAttribute("role", input && input.type === "radio" ? "radiogroup" : "group");
            nameFrom(list, list);
            list.querySelectorAll('.dash-options-list-option[role="option"], .dash-options-list-option[aria-selected]')
                .forEach(function (option) {
                    option.removeAttribute("role");
                    option.removeAttribute("aria-selected");
                });
        });
    }

    function fixDropdowns(root) {
        root.querySelectorAll('.dash-dropdown-focus-target[aria-hidden="true"]').forEach(function (proxy) {
            if (proxy.tabIndex !== -1) proxy.tabIndex = -1;
        });
    }

    function fixSliders(root) {
        root.querySelectorAll('[role="slider"]').forEach(function (thumb) {
            if (thumb.hasAttribute("aria-label") || thumb.hasAttribute("aria-labelledby")) return;
            var owner = thumb.closest("[id]");
            if (owner) nameFrom(owner, thumb);
        });
    }

    function fixFrames(root) {
        root.querySelectorAll("iframe:not([title])").forEach(function (frame) {
            var name = frame.getAttribute("aria-label") || frame.getAttribute("name");
            if (name) frame.setAttribute("title", name);
        });
    }

    function fixFileInputs(root) {
        // dcc.Upload's hidden <input type=file> is named by the drop zone's own text
        root.querySelectorAll('input[type="file"]').forEach(function (input) {
            if ((input.labels && input.labels.length) || input.hasAttribute("aria-label")) return;
            var zone = input.parentElement;
            var text = zone ? zone.textContent.trim() : "";
            if (text) input.setAttribute("aria-label", text);
        });
    }

    var pending = false;

    function fixAll() {
        pending = false;
        fixLists(document);
        fixDropdowns(document);
        fixSliders(document);
        fixFrames(document);
        fixFileInputs(document);
        foldMenus(document);
    }

    // the map's own drawing (tiles, markers, vector paths: thousands of changes while a map page
    // loads and its vehicles move) holds nothing of the above; changes only there are skipped
    var MAP_PANES = ".leaflet-tile-pane, .leaflet-overlay-pane, .leaflet-marker-pane, .leaflet-shadow-pane";

    // a burst of changes mostly shares one target (a pane's group): remember the last answer
    var lastTarget = null, lastInMap = false;

    function inMapPane(record) {
        var el = record.target;
        if (el !== lastTarget) {
            lastTarget = el;
            lastInMap = el.nodeType === 1 && el.closest ? el.closest(MAP_PANES) !== null : false;
        }
        return lastInMap;
    }

    function schedule(records) {
        if (pending) return;
        if (records && records.length && records.every(inMapPane)) return;
        pending = true;
        window.requestAnimationFrame(fixAll);
    }

    // the staff links fold into a menu on phones: closed there when a page opens
    var narrow = window.matchMedia("(max-width: 800px)");
    var folded = new WeakSet();

    function foldMenus(root) {
        root.querySelectorAll("details.staff-menu").forEach(function (menu) {
            if (folded.has(menu)) return;
            folded.add(menu);
            if (narrow.matches) menu.open = false;
        });
    }

    function start() {
        fixAll();
        new MutationObserver(schedule).observe(document.body, {
            childList: true, subtree: true, attributes: true,
            attributeFilter: ["role", "aria-selected", "tabindex"],
        });
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
