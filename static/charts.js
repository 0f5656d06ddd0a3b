// Draws uPlot charts for elements with data-chart="<id of a JSON script>". The data
// comes from templ.JSONScript, so no inline script is needed (strict CSP).
// JSON shape: {"x": [unix seconds...], "<series>": [numbers...], ...}.
(function () {
  "use strict";
  var COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd"];
  var LABELS = { stars: "Stars", forks: "Forks", watchers: "Watchers", issues: "Open issues",
    created: "Created", modified: "Modified", moved: "Moved", deleted: "Deleted" };

  function draw(el) {
    var src = document.getElementById(el.dataset.chart);
    if (!src || typeof uPlot === "undefined") return;
    var data = JSON.parse(src.textContent);
    var keys = Object.keys(data).filter(function (k) { return k !== "x"; });
    var cols = [data.x].concat(keys.map(function (k) { return data[k]; }));
    var series = [{}].concat(keys.map(function (k, i) {
      return { label: LABELS[k] || k, stroke: COLORS[i % COLORS.length], width: 2 };
    }));
    var width = function () { return Math.max(280, el.clientWidth); };
    var plot = new uPlot({ width: width(), height: 280, series: series, axes: [{}, {}] }, cols, el);
    // uPlot does not resize itself.
    window.addEventListener("resize", function () { plot.setSize({ width: width(), height: 280 }); });
  }

  function init(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (!el.dataset.drawn) { el.dataset.drawn = "1"; draw(el); }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(); });
  else init();
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
