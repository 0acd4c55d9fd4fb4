// golive report: draws the weight and metric charts from the JSON embedded in the page, with
// the inlined uPlot. No network: everything it needs is in this file.
(function () {
  "use strict";
  var COLORS = { stable: "#2563eb", canary: "#ea580c" };
  var node = document.getElementById("chart-data");
  if (!node || typeof uPlot === "undefined") return;
  var d = JSON.parse(node.textContent);
  if (!d.t.length) return;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(t) {
    var x = new Date(t * 1000);
    return pad(x.getUTCHours()) + ":" + pad(x.getUTCMinutes()) + ":" + pad(x.getUTCSeconds());
  }
  function line(label, color, dash, width, unit) {
    return { label: label, stroke: color, width: width || 2, dash: dash || [], spanGaps: true,
             points: { size: 5 },
             value: function (u, v) { return v === null ? "–" : v.toFixed(1) + (unit || ""); } };
  }
  function chart(id, specs, data, unit, max) {
    var el = document.getElementById(id);
    if (!el) return;
    var opts = {
      width: Math.max(280, el.clientWidth), height: 220,
      series: [{ value: function (u, t) { return t === null ? "" : clock(t) + " UTC"; } }]
        .concat(specs),
      axes: [{ stroke: "#444", grid: { stroke: "#eee" }, space: 80,
               values: function (u, ticks) { return ticks.map(clock); } },
             { stroke: "#444", grid: { stroke: "#eee" }, size: 60,
               values: function (u, ticks) { return ticks.map(function (v) { return v + unit; }); } }],
      scales: { x: { time: true },
                y: { range: function (u, lo, hi) { return [0, max || Math.max(hi, 1)]; } } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    var u = new uPlot(opts, data, el);
    window.addEventListener("resize", function () {
      u.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    });
  }
  chart("chart-weight", [line("canary weight", COLORS.canary, [], 2, "%")],
        [d.t, d.weight], "%", 100);
  chart("chart-rps", [line("stable", COLORS.stable), line("canary", COLORS.canary)],
        [d.t, d.rps[0], d.rps[1]], "");
  chart("chart-errors", [line("stable", COLORS.stable, [], 2, "%"),
                         line("canary", COLORS.canary, [], 2, "%")],
        [d.t, d.errors[0], d.errors[1]], "%");
  chart("chart-latency", [
    line("stable p50", COLORS.stable, [], 1.5, " ms"), line("stable p95", COLORS.stable, [6, 4], 1.5, " ms"),
    line("stable p99", COLORS.stable, [2, 3], 1.5, " ms"),
    line("canary p50", COLORS.canary, [], 2, " ms"), line("canary p95", COLORS.canary, [6, 4], 2, " ms"),
    line("canary p99", COLORS.canary, [2, 3], 2, " ms")],
    [d.t].concat(d.latency[0]).concat(d.latency[1]), " ms");
  document.body.setAttribute("data-charts", "drawn");
})();
