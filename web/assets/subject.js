// trialwatch UI: the subject page's plots: a timeline of doses and adverse
// events, and one plot per lab test with its reference range, CTCAE grade
// bands, baseline and the results behind findings.
"use strict";
(function () {
  const tw = window.trialwatch, P = tw.plots, C = P.colours;
  const data = tw.plotData();
  if (!data) return;
  const xAxis = {
    type: "linear",
    min: data.range[0], max: data.range[1],
    title: { display: true, text: data.axis },
    grid: { color: C.grid },
  };

  const severityColour = { mild: "#f4d03f", moderate: "#e67e22", severe: "#c0392b", "life threatening": "#7b241c", fatal: "#000000" };

  function timeline() {
    const canvas = document.getElementById("timeline");
    if (!canvas) return;
    // A span with no end recorded runs to the plot's edge.
    const rows = data.doses.concat(data.events).map(function (r) {
      return r.open ? Object.assign({}, r, { to: Math.max(r.to, data.range[1]) }) : r;
    });
    if (rows.length === 0) {
      canvas.parentElement.hidden = true;
      return;
    }
    const labels = rows.map(function (r, i) { return (i < data.doses.length ? "Dose: " : "AE: ") + r.label; });
    const dosesData = rows.map(function (r, i) { return i < data.doses.length ? [r.from, r.to] : null; });
    const eventsData = rows.map(function (r, i) { return i >= data.doses.length ? [r.from, r.to] : null; });
    // Its height follows its rows (set through the CSSOM, which the CSP allows).
    canvas.parentElement.style.height = (90 + 26 * rows.length) + "px";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Doses", data: dosesData, backgroundColor: "rgba(31, 95, 191, 0.55)", skipNull: true, grouped: false },
          {
            label: "Adverse events", data: eventsData, skipNull: true, grouped: false,
            backgroundColor: rows.map(function (r) { return severityColour[r.severity] || C.grey; }),
            borderColor: rows.map(function (r) { return r.serious ? "#000" : "rgba(0,0,0,0.25)"; }),
            borderWidth: rows.map(function (r) { return r.serious ? 3 : 1; }),
          },
        ],
      },
      options: Object.assign({}, P.base, {
        indexAxis: "y",
        scales: { x: xAxis, y: { ticks: { autoSkip: false } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                const r = rows[ctx.dataIndex];
                let s = r.dates;
                if (r.severity) s += ", " + r.severity;
                if (r.serious) s += ", serious";
                return s;
              },
            },
          },
        },
      }),
    });
  }

  // The grade bands of a test: for a "high" term grade g lies from its
  // limit up to the next grade's; for a "low" term from its limit down.
  function gradeBands(test) {
    const out = [];
    for (const b of test.bands) {
      for (let i = 0; i < b.limits.length; i++) {
        const colour = C.grades[Math.min(b.grades[i], 4) - 1];
        if (b.direction === "low") {
          out.push({ from: i + 1 < b.limits.length ? b.limits[i + 1] : null, to: b.limits[i], colour: colour });
        } else {
          out.push({ from: b.limits[i], to: i + 1 < b.limits.length ? b.limits[i + 1] : null, colour: colour });
        }
      }
    }
    return out;
  }

  function labPlot(test) {
    const canvas = document.getElementById(test.id);
    if (!canvas) return;
    if (test.points.length === 0) { // text results only: the table has them
      canvas.closest("figure").hidden = true;
      return;
    }
    const pts = test.points;
    const xy = function (p, y) { return { x: p.x, y: y }; };
    // The y axis reaches the first grade's limit when it lies near the
    // values, so where grade 1 starts shows without squashing them.
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) {
      for (const v of [p.y, p.low, p.high]) {
        if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    const near = (hi - lo) || Math.abs(hi) || 1;
    let suggestedMin, suggestedMax;
    for (const b of test.bands) {
      if (!b.limits.length) continue;
      const l = b.limits[0];
      if (b.direction === "low" && l < lo && lo - l <= near) suggestedMin = Math.min(suggestedMin == null ? Infinity : suggestedMin, l - 0.05 * near);
      if (b.direction !== "low" && l > hi && l - hi <= near) suggestedMax = Math.max(suggestedMax == null ? -Infinity : suggestedMax, l + 0.05 * near);
    }
    const datasets = [
      {
        label: "Reference range (low)", data: pts.map(function (p) { return xy(p, p.low); }),
        borderColor: C.rangeLine, borderWidth: 1, pointRadius: 0, fill: false, spanGaps: true, order: 3,
      },
      {
        label: "Reference range", data: pts.map(function (p) { return xy(p, p.high); }),
        borderColor: C.rangeLine, borderWidth: 1, pointRadius: 0, backgroundColor: C.range, fill: "-1", spanGaps: true, order: 3,
      },
      {
        label: test.code, data: pts.map(function (p) { return xy(p, p.y); }),
        borderColor: C.normal, backgroundColor: C.normal, pointRadius: 3, pointHoverRadius: 5, borderWidth: 1.5, order: 2,
      },
      {
        label: "Baseline", data: pts.filter(function (p) { return p.baseline; }).map(function (p) { return xy(p, p.y); }),
        pointStyle: "rect", pointRadius: 6, backgroundColor: "#fff", borderColor: C.ink, borderWidth: 2, showLine: false, order: 1,
      },
      {
        label: "Behind a finding", data: pts.filter(function (p) { return p.finding; }).map(function (p) { return xy(p, p.y); }),
        pointRadius: 8, pointHoverRadius: 9, backgroundColor: "rgba(0,0,0,0)", borderColor: C.red, borderWidth: 3, showLine: false, order: 0,
      },
    ];
    const byX = new Map(pts.map(function (p) { return [p.x + ":" + p.y, p]; }));
    new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      plugins: [P.bands],
      options: Object.assign({}, P.base, {
        parsing: true,
        scales: {
          x: Object.assign({}, xAxis, { title: { display: false } }),
          y: { suggestedMin: suggestedMin, suggestedMax: suggestedMax, grid: { color: C.grid }, title: { display: !!test.unit, text: test.unit } },
        },
        plugins: {
          twBands: { bands: gradeBands(test) },
          legend: { display: false },
          tooltip: {
            filter: function (item) { return item.datasetIndex >= 2; },
            callbacks: {
              title: function (items) {
                const p = items.length && byX.get(items[0].parsed.x + ":" + items[0].parsed.y);
                return p ? p.date + (p.visit ? " (" + p.visit + ")" : "") : "";
              },
              label: function (item) {
                const p = byX.get(item.parsed.x + ":" + item.parsed.y);
                if (!p) return "";
                if (item.datasetIndex === 3) return "baseline";
                if (item.datasetIndex === 4) return "behind a finding";
                let s = test.code + " " + P.num(p.y, 4) + " " + test.unit;
                if (p.low != null || p.high != null) s += " (range " + P.num(p.low, 4) + "–" + P.num(p.high, 4) + ")";
                if (p.grade) s += ", grade " + p.grade;
                return s;
              },
            },
          },
        },
      }),
    });
  }

  timeline();
  data.tests.forEach(labPlot);
})();
