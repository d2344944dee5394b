// trialwatch UI: one funnel plot per site KRI: each site's metric against
// its denominator, the study's value, and the bounds of every threshold;
// flagged sites stand out, and a site opens its page.
"use strict";
(function () {
  const tw = window.trialwatch, P = tw.plots, C = P.colours;
  const data = tw.plotData();
  if (!data) return;
  const flagColour = function (f) {
    if (f == null) return C.grey;
    if (f === 0) return C.normal;
    return Math.abs(f) >= 2 ? C.red : C.amber;
  };
  const flagName = function (f) {
    if (f == null) return "Too little data";
    if (f === 0) return "Not flagged";
    return (Math.abs(f) >= 2 ? "Red" : "Amber") + " (flag " + f + ")";
  };
  const order = ["Red", "Amber", "Not flagged", "Too little data"];

  function funnel(k) {
    const canvas = document.getElementById(k.canvas);
    if (!canvas) return;
    // The sites, one dataset per kind of flag (twSites marks them for tests).
    const groups = new Map();
    for (const s of k.sites) {
      const name = flagName(s.flag).split(" (")[0];
      if (!groups.has(name)) groups.set(name, { colour: flagColour(s.flag), points: [] });
      groups.get(name).points.push({ x: s.x, y: s.y, site: s });
    }
    const datasets = [];
    for (const name of order) {
      const g = groups.get(name);
      if (!g) continue;
      datasets.push({
        label: name, data: g.points, twSites: true, showLine: false,
        backgroundColor: name === "Too little data" ? "rgba(0,0,0,0)" : g.colour + "cc", borderColor: g.colour,
        pointRadius: name === "Not flagged" || name === "Too little data" ? 4 : 6, pointHoverRadius: 8, borderWidth: 1.5,
      });
    }
    const bx = k.bounds.map(function (b) { return b.x; });
    if (k.bounds.length) {
      datasets.push({
        label: "Study value", data: k.bounds.map(function (b) { return { x: b.x, y: b.expected }; }),
        showLine: true, pointRadius: 0, borderColor: C.muted, borderWidth: 1.5, borderDash: [2, 3],
      });
    }
    k.lines.forEach(function (l, i) {
      const pts = [];
      k.bounds.forEach(function (b, j) { if (b.limits[i] != null) pts.push({ x: bx[j], y: b.limits[i] }); });
      if (!pts.length) return;
      datasets.push({
        label: (l.threshold > 0 ? "+" : "") + l.key + " bound", data: pts, showLine: true, pointRadius: 0,
        borderColor: l.outer ? C.red : C.amber, borderWidth: 1.2, borderDash: l.outer ? [] : [6, 4],
      });
    });
    const chart = new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: Object.assign({}, P.base, {
        parsing: true,
        scales: {
          x: { title: { display: true, text: k.x }, grid: { color: C.grid }, beginAtZero: true },
          y: { title: { display: true, text: k.y }, grid: { color: C.grid } },
        },
        onClick: function (evt) {
          const els = chart.getElementsAtEventForMode(evt, "nearest", { intersect: true }, false)
            .filter(function (e) { return chart.data.datasets[e.datasetIndex].twSites; });
          if (!els.length) return;
          const s = chart.data.datasets[els[0].datasetIndex].data[els[0].index].site;
          window.location.href = "/ui/studies/" + encodeURIComponent(data.study) + "/sites/" + encodeURIComponent(s.site);
        },
        onHover: function (evt, els) { canvas.classList.toggle("pointer", els.some(function (e) { return chart.data.datasets[e.datasetIndex].twSites; })); },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: {
            filter: function (item) { return !!item.dataset.twSites; },
            callbacks: {
              title: function (items) { return items.length ? "Site " + items[0].raw.site.site : ""; },
              label: function (item) {
                const s = item.raw.site;
                const out = [P.num(s.num, 6) + " / " + P.num(s.x, 6) + " = " + P.num(s.y, 4), flagName(s.flag)];
                if (s.score != null) out.push("score " + P.num(s.score, 3));
                if (s.streak) out.push("flagged " + s.streak + " times in a row");
                return out;
              },
            },
          },
        },
      }),
    });
  }
  data.kris.forEach(funnel);
})();
