// golive dashboard: follows a rollout's event stream, draws its charts (uPlot), swaps in fresh
// server-rendered panels, and sends the buttons' actions to the API with the CSRF token.
// Data is only ever written with textContent; panels come from the server, already escaped.
(function () {
  "use strict";
  var body = document.body;
  var view = body.dataset.view;
  var rid = body.dataset.rollout;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var UNSHOWN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  var WINDOW = 5; // seconds the rates and quantiles are computed over
  var KEEP = 900; // points kept per chart
  var COLORS = { stable: "#2563eb", canary: "#ea580c" };

  function shown(text) {
    return String(text).replace(UNSHOWN, "\ufffd");
  }
  function setText(el, text) {
    if (el) el.textContent = shown(text);
  }
  function fmt(value, digits, unit) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    return value.toFixed(digits) + (unit || "");
  }

  // -- measurements -> series ------------------------------------------------------------------
  var points = { stable: [], canary: [] }; // {at, requests, errors, buckets: [[bound, count]]}
  var lastAt = 0;
  var series = { t: [], rate: { stable: [], canary: [] }, err: { stable: [], canary: [] },
                 lat: { stable: [[], [], []], canary: [[], [], []] } };
  var latest = { stable: {}, canary: {}, weight: null };

  function bound(b) {
    return b === "inf" ? Infinity : Number(b);
  }
  function quantile(buckets, q) {
    // buckets: [[bound, cumulative count]] sorted; interpolated as the server's analysis does
    if (!buckets.length) return null;
    var total = buckets[buckets.length - 1][1];
    if (total <= 0) return null;
    var rank = q * total, lowerBound = 0, lowerCount = 0;
    for (var i = 0; i < buckets.length; i++) {
      var b = buckets[i][0], c = buckets[i][1];
      if (c >= rank && c > lowerCount) {
        if (!isFinite(b)) return lowerBound;
        return lowerBound + (b - lowerBound) * (rank - lowerCount) / (c - lowerCount);
      }
      lowerBound = b; lowerCount = c;
    }
    return lowerBound;
  }
  function windowed(list) {
    // the change over the last WINDOW seconds, or null when there is too little to say
    var cur = list[list.length - 1], prev = null;
    for (var i = list.length - 2; i >= 0; i--) {
      prev = list[i];
      if (cur.at - list[i].at >= WINDOW) break;
    }
    if (!prev || cur.at <= prev.at || cur.requests < prev.requests) return null;
    var dt = cur.at - prev.at, dr = cur.requests - prev.requests;
    var before = {};
    prev.buckets.forEach(function (b) { before[b[0]] = b[1]; });
    var buckets = cur.buckets.map(function (b) { return [bound(b[0]), b[1] - (before[b[0]] || 0)]; })
      .sort(function (x, y) { return x[0] - y[0]; });
    return {
      rate: dr / dt,
      errorRate: dr > 0 ? (cur.errors - prev.errors) / dr : null,
      p50: quantile(buckets, 0.5), p95: quantile(buckets, 0.95), p99: quantile(buckets, 0.99),
    };
  }
  function onMeasurement(m) {
    if (m.at <= lastAt) return; // resumed streams may repeat
    lastAt = m.at;
    latest.weight = m.canary_weight;
    series.t.push(m.at);
    ["stable", "canary"].forEach(function (which) {
      var list = points[which];
      list.push({ at: m.at, requests: m[which].requests, errors: m[which].errors,
                  buckets: m[which].buckets });
      if (list.length > 60) list.shift();
      var w = windowed(list) || {};
      latest[which] = w;
      series.rate[which].push(w.rate === undefined ? null : w.rate);
      series.err[which].push(w.errorRate === undefined || w.errorRate === null ? null
        : w.errorRate * 100);
      series.lat[which][0].push(w.p50 === undefined ? null : w.p50);
      series.lat[which][1].push(w.p95 === undefined ? null : w.p95);
      series.lat[which][2].push(w.p99 === undefined ? null : w.p99);
    });
    if (series.t.length > KEEP) {
      series.t.shift();
      ["stable", "canary"].forEach(function (w) {
        series.rate[w].shift(); series.err[w].shift();
        series.lat[w].forEach(function (s) { s.shift(); });
      });
    }
    scheduleDraw();
  }

  // -- charts ----------------------------------------------------------------------------------
  var charts = [];
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(t) {
    var d = new Date(t * 1000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  function chart(id, seriesSpec, data, unit) {
    var el = document.getElementById(id);
    if (!el || typeof uPlot === "undefined") return null;
    var opts = {
      width: Math.max(240, el.clientWidth), height: 220,
      series: [{ value: function (u, t) { return t === null ? "" : clock(t) + " UTC"; } }]
        .concat(seriesSpec),
      axes: [{ stroke: "#444", grid: { stroke: "#eee" }, space: 80,
               incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
               values: function (u, ticks) { return ticks.map(clock); } },
             { stroke: "#444", grid: { stroke: "#eee" }, size: 60,
               values: function (u, ticks) { return ticks.map(function (v) { return v + unit; }); } }],
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    var u = new uPlot(opts, data(), el);
    var entry = { u: u, el: el, data: data };
    charts.push(entry);
    return entry;
  }
  function line(label, color, dash, width, unit) {
    return { label: label, stroke: color, width: width || 2, dash: dash, spanGaps: true,
             points: { show: false },
             value: function (u, v) { return v === null ? "–" : v.toFixed(1) + (unit || ""); } };
  }
  function setupCharts() {
    chart("chart-rate", [line("stable", COLORS.stable), line("canary", COLORS.canary)],
      function () { return [series.t, series.rate.stable, series.rate.canary]; }, "");
    chart("chart-errors", [line("stable", COLORS.stable), line("canary", COLORS.canary)],
      function () { return [series.t, series.err.stable, series.err.canary]; }, "%");
    chart("chart-latency", [
      line("stable p50", COLORS.stable, [], 1.5), line("stable p95", COLORS.stable, [6, 4], 1.5),
      line("stable p99", COLORS.stable, [2, 3], 1.5),
      line("canary p50", COLORS.canary, [], 2), line("canary p95", COLORS.canary, [6, 4], 2),
      line("canary p99", COLORS.canary, [2, 3], 2)],
      function () {
        return [series.t].concat(series.lat.stable).concat(series.lat.canary);
      }, " ms");
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.u.setSize({ width: Math.max(240, c.el.clientWidth), height: 220 }); });
    });
  }
  var drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    window.requestAnimationFrame(function () {
      drawPending = false;
      charts.forEach(function (c) { c.u.setData(c.data()); });
      showFigures();
    });
  }
  function showFigures() {
    setText(document.querySelector('[data-live="measured"]'),
      latest.weight === null ? "–" : fmt(latest.weight, latest.weight % 1 ? 1 : 0, "%"));
    if (view !== "warroom") return;
    var head = document.querySelector('[data-panel="warroom-head"]');
    var desired = head ? Number(head.dataset.desired) : 0;
    ["stable", "canary"].forEach(function (which) {
      var w = latest[which] || {};
      var weight = which === "canary" ? desired : 100 - desired;
      setText(document.querySelector('[data-fig="' + which + '-weight"]'), fmt(weight, weight % 1 ? 1 : 0, "%"));
      setText(document.querySelector('[data-fig="' + which + '-rate"]'), fmt(w.rate, 0));
      setText(document.querySelector('[data-fig="' + which + '-success"]'),
        w.errorRate === null || w.errorRate === undefined ? "–"
          : w.errorRate === 0 ? "100%" : fmt(100 - w.errorRate * 100, 2, "%"));
      setText(document.querySelector('[data-fig="' + which + '-p50"]'), fmt(w.p50, 0, " ms"));
      setText(document.querySelector('[data-fig="' + which + '-p95"]'), fmt(w.p95, 0, " ms"));
      setText(document.querySelector('[data-fig="' + which + '-p99"]'), fmt(w.p99, 0, " ms"));
    });
  }

  // -- panels ----------------------------------------------------------------------------------
  var refreshing = null, again = false;
  function refreshPanels() {
    if (refreshing) { again = true; return; }
    var url = "/ui/rollouts/" + encodeURIComponent(rid) + "/panels" + (view === "warroom" ? "?view=warroom" : "");
    refreshing = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/ui/login"); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, "text/html");
        fresh.querySelectorAll("[data-panel]").forEach(function (panel) {
          var old = document.querySelector('[data-panel="' + panel.dataset.panel + '"]');
          if (old && old.isEqualNode(panel) === false) {
            old.replaceWith(document.importNode(panel, true));
          }
        });
        showFigures();
      })
      .catch(function () {})
      .finally(function () {
        refreshing = null;
        if (again) { again = false; refreshPanels(); }
      });
  }
  var refreshTimer = null;
  function soon() {
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refreshPanels(); }, 150);
  }

  // -- the event stream ------------------------------------------------------------------------
  function follow() {
    var source = new EventSource("/api/v1/rollouts/" + encodeURIComponent(rid) + "/events");
    source.addEventListener("measurement", function (e) { onMeasurement(JSON.parse(e.data)); });
    source.addEventListener("journal", function () { soon(); });
    source.addEventListener("end", function (e) {
      var why = JSON.parse(e.data).reason;
      soon();
      if (why === "settled") {
        source.close();
        setText(document.querySelector('[data-live="connection"]'), "ended");
      }
    });
    source.onerror = function () {
      setText(document.querySelector('[data-live="connection"]'), "reconnecting…");
    };
    source.onopen = function () {
      setText(document.querySelector('[data-live="connection"]'), "live");
    };
  }

  // -- actions ---------------------------------------------------------------------------------
  var dialog = document.getElementById("confirm-dialog");
  function ask(title, okLabel) {
    return new Promise(function (resolve) {
      if (!dialog) { resolve(null); return; }
      var reason = document.getElementById("dialog-reason");
      reason.value = "";
      setText(dialog.querySelector('[data-live="dialog-title"]'), title);
      setText(dialog.querySelector('[data-live="dialog-ok"]'), okLabel);
      dialog.addEventListener("close", function closed() {
        dialog.removeEventListener("close", closed);
        resolve(dialog.returnValue === "ok" && reason.value.trim() ? reason.value.trim() : null);
      });
      dialog.showModal();
    });
  }
  var QUESTIONS = {
    rollback: ["Roll back now? All traffic goes to stable.", "Roll back"],
    abort: ["Abort the rollout? It is rolled back and ends.", "Abort"],
    reject: ["Reject this gate? The rollout is aborted.", "Reject"],
  };
  function act(button) {
    var action = button.dataset.action;
    var payload = {};
    if (button.dataset.role) payload.role = button.dataset.role;
    if (button.dataset.revision) payload.revision = button.dataset.revision;
    if (button.dataset.item) payload.item = button.dataset.item;
    var asked = button.dataset.confirm
      ? ask(QUESTIONS[action][0], QUESTIONS[action][1])
      : Promise.resolve("");
    asked.then(function (reason) {
      if (reason === null) return;
      if (reason) payload.reason = reason;
      button.disabled = true;
      var result = document.querySelector('[data-live="action-result"]');
      fetch("/api/v1/rollouts/" + encodeURIComponent(rid) + "/" + action, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(payload),
      }).then(function (r) {
        return r.json().then(function (doc) {
          if (r.ok) {
            setText(result, action + ": done");
          } else {
            setText(result, action + " refused: " + (doc.error || r.status));
            button.disabled = false;
          }
          soon();
        });
      }).catch(function () {
        setText(result, action + ": the server did not answer");
        button.disabled = false;
      });
    });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-action]") : null;
    if (button) act(button);
  });

  // -- the rollouts list: a fresh table every few seconds ---------------------------------------
  function pollList() {
    window.setInterval(function () {
      fetch("/ui/", { credentials: "same-origin" }).then(function (r) {
        if (r.redirected) { window.location.assign("/ui/login"); return null; }
        return r.ok ? r.text() : null;
      }).then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("main");
        var old = document.querySelector("main");
        if (fresh && old && !old.isEqualNode(fresh)) old.replaceWith(document.importNode(fresh, true));
      }).catch(function () {});
    }, 3000);
  }

  if ((view === "rollout" || view === "warroom") && rid) {
    setupCharts();
    follow();
  } else if (view === "list") {
    pollList();
  }
})();
