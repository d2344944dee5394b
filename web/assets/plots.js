// trialwatch UI: what the plot pages (subject, eDISH, KRIs) share: colours
// and small Chart.js plugins for bands, reference lines and labels. Loaded
// after Chart.js and app.js.
"use strict";
window.trialwatch.plots = (function () {
  const colours = {
    ink: "#1d2330", muted: "#5b6475", grid: "#e3e7ee",
    normal: "#1f5fbf", amber: "#d68910", red: "#b3261e", grey: "#8a93a3",
    range: "rgba(46, 139, 87, 0.14)", rangeLine: "rgba(46, 139, 87, 0.55)",
    // CTCAE grade 1 to 4, light to dark.
    grades: ["rgba(241, 196, 15, 0.16)", "rgba(230, 126, 34, 0.18)", "rgba(192, 57, 43, 0.18)", "rgba(120, 0, 0, 0.22)"],
    // Arms and other categories, distinguishable in colour-blind vision (Okabe-Ito).
    categories: ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"],
  };

  // Shaded horizontal bands: options.plugins.twBands.bands = [{from, to, colour}]
  // in y values (null: the chart's edge).
  const bands = {
    id: "twBands",
    beforeDatasetsDraw(chart, args, opts) {
      const y = chart.scales.y, area = chart.chartArea, ctx = chart.ctx;
      if (!y || !opts || !opts.bands) return;
      ctx.save();
      for (const b of opts.bands) {
        let top = b.to == null ? area.top : y.getPixelForValue(b.to);
        let bottom = b.from == null ? area.bottom : y.getPixelForValue(b.from);
        top = Math.max(area.top, Math.min(top, area.bottom));
        bottom = Math.max(area.top, Math.min(bottom, area.bottom));
        if (bottom - top < 0.5) continue;
        ctx.fillStyle = b.colour;
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
      }
      ctx.restore();
    },
  };

  // Reference lines and corner labels: options.plugins.twLines =
  // {x: [{value, label}], y: [{value, label}], corners: {tl, tr, bl, br}}.
  const lines = {
    id: "twLines",
    afterDatasetsDraw(chart, args, opts) {
      if (!opts) return;
      const area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = colours.red;
      ctx.fillStyle = colours.red;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([6, 4]);
      ctx.font = "12px system-ui, sans-serif";
      for (const l of opts.x || []) {
        const px = chart.scales.x.getPixelForValue(l.value);
        if (px < area.left || px > area.right) continue;
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        if (l.label) ctx.fillText(l.label, px + 4, area.bottom - 6);
      }
      for (const l of opts.y || []) {
        const py = chart.scales.y.getPixelForValue(l.value);
        if (py < area.top || py > area.bottom) continue;
        ctx.beginPath(); ctx.moveTo(area.left, py); ctx.lineTo(area.right, py); ctx.stroke();
        if (l.label) ctx.fillText(l.label, area.left + 4, py - 4);
      }
      ctx.setLineDash([]);
      const c = opts.corners || {};
      ctx.fillStyle = colours.ink;
      ctx.font = "bold 13px system-ui, sans-serif";
      const pad = 8;
      ctx.textBaseline = "top";
      if (c.tl) { ctx.textAlign = "left"; ctx.fillText(c.tl, area.left + pad, area.top + pad); }
      if (c.tr) { ctx.textAlign = "right"; ctx.fillText(c.tr, area.right - pad, area.top + pad); }
      ctx.textBaseline = "bottom";
      if (c.bl) { ctx.textAlign = "left"; ctx.fillText(c.bl, area.left + pad, area.bottom - pad - 14); }
      if (c.br) { ctx.textAlign = "right"; ctx.fillText(c.br, area.right - pad, area.bottom - pad - 14); }
      ctx.restore();
    },
  };

  function num(v, digits) {
    if (v == null || !isFinite(v)) return "–";
    return Number(v.toPrecision(digits || 3)).toString();
  }

  // Options every plot starts from. No animation: 20,000 points drawn
  // once are faster, and nothing moves for those who asked for less motion.
  const base = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
  };

  return { colours: colours, bands: bands, lines: lines, num: num, base: base };
})();
