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
