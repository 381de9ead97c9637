// SLA countdowns: every badge with data-due counts down in the browser between page loads.
// The server decides the colour (it knows the warning thresholds); here a badge only turns red
// once its due time has passed. Without JavaScript the badges show the time at page load.
(function () {
  "use strict";
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return days + "d " + hours + "h";
    return hours ? hours + "h " + mins + "m" : mins + "m";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".badge[data-due]").forEach(function (badge) {
      var left = Date.parse(badge.dataset.due) - now;
      if (isNaN(left)) return;
      badge.textContent = left > 0 ? span(left) + " left" : span(left) + " late";
      if (left <= 0) { badge.classList.remove("green", "amber"); badge.classList.add("red"); }
    });
  }
  setInterval(tick, 30000);
  document.addEventListener("htmx:afterSettle", tick);
})();

// Keyboard shortcuts (the ? key lists them): j/k choose the next/previous row of a list of
// cases, Enter opens it, c claims it, r goes to the reply (on a case page, the first step's
// form), / to the search. Never while typing in a field, nor with Ctrl, Alt or Meta held.
(function () {
  "use strict";
  var current = -1;
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table.grid tbody tr"))
      .filter(function (row) { return row.querySelector("a[href^='/cases/']"); });
  }
  function choose(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.findIndex(function (row) { return row.classList.contains("current"); });
    current = Math.max(0, Math.min(list.length - 1, (at < 0 ? -1 : at) + step));
    if (at < 0 && step < 0) current = 0;
    list.forEach(function (row) { row.classList.remove("current"); row.removeAttribute("aria-current"); });
    var row = list[current];
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    row.scrollIntoView({block: "nearest"});
  }
  function chosen() { return document.querySelector("table.grid tbody tr.current"); }
  function reply() {
    var box = document.querySelector("[data-reply]");
    if (box) { box.focus(); return; }
    var step = document.querySelector("details.fire");
    if (!step) return;
    step.open = true;
    var field = step.querySelector("textarea, input:not([type=hidden]), select, button");
    if (field) field.focus();
  }
  function search() {
    var box = document.getElementById("q") || document.getElementById("find");
    if (box) { box.focus(); box.select(); }
  }
  var actions = {
    "j": function () { choose(1); },
    "k": function () { choose(-1); },
    "Enter": function () { var row = chosen(); if (row) row.querySelector("a[href^='/cases/']").click(); },
    "c": function () {
      var row = chosen(), claim = row && row.querySelector("button[name=claim]");
      if (claim) claim.click();
    },
    "r": reply,
    "/": search,
    "?": function () {
      var help = document.getElementById("shortcuts");
      if (help && !help.open) help.showModal();
    }
  };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    var action = actions[event.key];
    if (!action || (event.key === "Enter" && !chosen())) return;
    event.preventDefault();
    action();
  });
  // a saved view keeps the page as the address bar shows it now (HTMX filters change it)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("save-view")) {
      form.querySelector("input[name=link]").value = location.pathname + location.search;
    }
  });
})();

// Conditions on htmx requests, here rather than in hx-trigger's [filter] expressions: htmx
// evaluates those as JavaScript text, which the Content-Security-Policy refuses (no
// 'unsafe-eval', web/headers.py). A request is not sent when its element says
//   data-only-when="visible": the tab is hidden (a refresh nobody would see);
//   data-only-when="... unticked": a box of #rows is ticked (the refresh would clear it);
//   data-skip-change-of="ID": the event is the change of field ID (it fetches as one types).
(function () {
  "use strict";
  function unwanted(elt, event) {
    var when = (elt.getAttribute("data-only-when") || "").split(/\s+/);
    if (when.indexOf("visible") >= 0 && document.visibilityState !== "visible") return true;
    if (when.indexOf("unticked") >= 0 && document.querySelector("#rows input:checked")) return true;
    var skip = elt.getAttribute("data-skip-change-of");
    return !!(skip && event && event.type === "change" && event.target && event.target.id === skip);
  }
  document.addEventListener("htmx:confirm", function (e) {
    if (unwanted(e.detail.elt, e.detail.triggeringEvent)) e.preventDefault();
  });
})();
