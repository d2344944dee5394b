// trialwatch UI: the eDISH and mDISH plots: peak transaminase against peak
// total bilirubin on log scales, one point per subject, the Hy's law lines
// and quadrant labels; a point opens its subject.
"use strict";
(function () {
  const tw = window.trialwatch, P = tw.plots, C = P.colours;
  const data = tw.plotData();
  const canvas = document.getElementById("edish");
  if (!data || !canvas) return;
  const controls = {
    plot: document.getElementById("edish-plot"),
    x: document.getElementById("edish-x"),
    colour: document.getElementById("edish-colour"),
  };
  const status = document.getElementById("edish-status");
  const xName = { tr: "ALT or AST (the higher)", alt: "ALT", ast: "AST" };
  const rColours = { hepatocellular: C.red, mixed: C.amber, cholestatic: "#0072b2", unknown: C.grey };
  const rNames = { hepatocellular: "Hepatocellular (R ≥ 5)", mixed: "Mixed (2 < R < 5)", cholestatic: "Cholestatic (R ≤ 2)", unknown: "R unknown (no ALP)" };

  // datasets groups the points the controls ask for, one dataset per
  // colour; points a log scale cannot place (no value) are counted.
  function datasets(view) {
    const groups = new Map();
    let skipped = 0;
    data.points.forEach(function (p, i) {
      const src = view.plot === "mdish" ? p.m : p;
      if (!src) return;
      const x = src[view.x], y = src.bili;
      if (!(x > 0) || !(y > 0)) { skipped++; return; }
      const key = view.colour === "rc" ? p.rc : (p.arm || "Arm not known");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ x: x, y: y, i: i });
    });
    const keys = Array.from(groups.keys());
    if (view.colour === "rc") keys.sort(function (a, b) { return Object.keys(rNames).indexOf(a) - Object.keys(rNames).indexOf(b); });
    else keys.sort();
    const out = keys.map(function (k, n) {
      // Sorted by x: the chart is told its data is (normalized), which
      // spares it a search of 20,000 points for each axis's extent.
      groups.get(k).sort(function (a, b) { return a.x - b.x; });
      const colour = view.colour === "rc" ? rColours[k] : C.categories[n % C.categories.length];
      return {
        label: view.colour === "rc" ? rNames[k] : k, data: groups.get(k),
        backgroundColor: colour + "b3", borderColor: colour, pointRadius: 3.5, pointHoverRadius: 6, borderWidth: 1,
      };
    });
    return { sets: out, skipped: skipped };
  }

  function view() {
    return { plot: controls.plot.value, x: controls.x.value, colour: controls.colour.value };
  }

  function lines(v) {
    const m = v.plot === "mdish", unit = m ? "×baseline" : "×ULN";
    const xl = m ? data.lines[2] : data.lines[0], yl = m ? data.lines[3] : data.lines[1];
    return {
      x: [{ value: xl, label: xl + unit }],
      y: [{ value: yl, label: yl + unit }],
      corners: { tr: "Potential Hy's law", br: "Temple's corollary", tl: "Cholestasis or hyperbilirubinemia", bl: "Normal range" },
    };
  }

  // axes reach a little past the points and always past both lines, so
  // no point sits on an edge and every quadrant shows.
  function axes(v, sets) {
    const unit = v.plot === "mdish" ? "× baseline" : "× ULN";
    const m = v.plot === "mdish";
    let x0 = m ? data.lines[2] : data.lines[0], y0 = m ? data.lines[3] : data.lines[1];
    let x1 = x0, y1 = y0;
    x0 /= 3; y0 /= 3; x1 *= 1.5; y1 *= 1.5;
    for (const s of sets) {
      for (const p of s.data) {
        if (p.x < x0) x0 = p.x; else if (p.x > x1) x1 = p.x;
        if (p.y < y0) y0 = p.y; else if (p.y > y1) y1 = p.y;
      }
    }
    // Ends at 1, 2 or 5 × a power of ten: the edge ticks read well.
    const nice = function (v, up) {
      const p = Math.pow(10, Math.floor(Math.log10(v)));
      const steps = [1, 2, 5, 10];
      if (up) return p * steps.find(function (k) { return p * k >= v; });
      return p * steps.slice().reverse().find(function (k) { return p * k <= v; });
    };
    // Labels at 1, 2, 3 and 5 × a power of ten only: others crowd.
    const ticks = {
      callback: function (v) {
        const m = Math.round(v / Math.pow(10, Math.floor(Math.log10(v))) * 1000) / 1000;
        return [1, 2, 3, 5].indexOf(m) >= 0 ? P.num(v) : "";
      },
    };
    return {
      x: { type: "logarithmic", ticks: ticks, min: nice(x0 / 1.1, false), max: nice(x1 * 1.1, true), title: { display: true, text: "Peak " + xName[v.x] + " " + unit }, grid: { color: C.grid } },
      y: { type: "logarithmic", ticks: ticks, min: nice(y0 / 1.1, false), max: nice(y1 * 1.1, true), title: { display: true, text: "Peak total bilirubin " + unit }, grid: { color: C.grid } },
    };
  }

  function say(v, shown, skipped) {
    let s = shown + " subjects on the " + (v.plot === "mdish" ? "mDISH" : "eDISH") + " plot";
    if (skipped) s += "; " + skipped + " not drawn (no on-treatment " + (v.plot === "mdish" ? xName[v.x] + " or bilirubin baseline" : xName[v.x]) + ")";
    status.textContent = s + ".";
  }

  function tooltipLines(p, v) {
    const d = p.d || [];
    const at = function (i) { return d[i] ? " on " + d[i] : ""; };
    const out = [
      "Site " + p.site + (p.arm ? ", " + p.arm : ""),
      "Peak ALT " + P.num(p.alt) + "×ULN" + at(0),
      "Peak AST " + P.num(p.ast) + "×ULN" + at(1),
      "Peak bilirubin " + P.num(p.bili) + "×ULN" + at(2),
    ];
    if (p.alp) out.push("Peak ALP " + P.num(p.alp) + "×ULN" + at(3));
    if (p.r != null) out.push("R of the peaks " + P.num(p.r, 2) + " (" + p.rc + ")");
    if (v.plot === "mdish" && p.m) {
      out.push("×baseline: ALT " + P.num(p.m.alt) + ", AST " + P.num(p.m.ast) + ", bilirubin " + P.num(p.m.bili) + (p.m.ceiling ? ", ≥ 500 U/L" : ""));
    }
    return out;
  }

  const t0 = performance.now();
  let first = true;
  const v0 = view();
  const d0 = datasets(v0);
  const chart = new Chart(canvas, {
    type: "scatter",
    data: { datasets: d0.sets },
    plugins: [P.lines, {
      id: "twTiming",
      afterRender: function () {
        if (!first) return;
        first = false;
        // How long the first drawing took, for the browser benchmark.
        tw.edishDrawnMs = performance.now() - t0;
        document.documentElement.dataset.edishDrawn = String(tw.edishDrawnMs);
      },
    }],
    options: Object.assign({}, P.base, {
      parsing: false,
      normalized: true,
      scales: axes(v0, d0.sets),
      onClick: function (evt, elements) {
        if (!elements.length) return;
        const el = elements[0];
        const p = data.points[chart.data.datasets[el.datasetIndex].data[el.index].i];
        window.location.href = "/ui/studies/" + encodeURIComponent(data.study) + "/subjects/" + encodeURIComponent(p.s);
      },
      onHover: function (evt, elements) { canvas.classList.toggle("pointer", elements.length > 0); },
      plugins: {
        twLines: lines(v0),
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            title: function (items) { return items.length ? data.points[items[0].raw.i].s : ""; },
            label: function (item) { return tooltipLines(data.points[item.raw.i], view()); },
          },
        },
      },
    }),
  });
  tw.edishChart = chart;

  function redraw() {
    const v = view();
    const d = datasets(v);
    chart.data.datasets = d.sets;
    chart.options.scales = axes(v, d.sets);
    chart.options.plugins.twLines = lines(v);
    chart.update();
    let shown = 0;
    d.sets.forEach(function (s) { shown += s.data.length; });
    say(v, shown, d.skipped);
  }
  for (const k in controls) controls[k].addEventListener("change", redraw);
  let shown = 0;
  d0.sets.forEach(function (s) { shown += s.data.length; });
  say(v0, shown, d0.skipped);
})();
