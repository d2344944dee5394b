// trialwatch UI: a site's KRIs over time, one small plot per KRI, each
// computation's point coloured by its flag.
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
  data.kris.forEach(function (k) {
    const canvas = document.getElementById(k.canvas);
    if (!canvas || !k.points.length) return;
    new Chart(canvas, {
      type: "line",
      data: {
        labels: k.points.map(function (p) { return p.t; }),
        datasets: [{
          label: k.name, data: k.points.map(function (p) { return p.y; }),
          borderColor: C.muted, borderWidth: 1.5,
          pointBackgroundColor: k.points.map(function (p) { return flagColour(p.flag); }),
          pointBorderColor: k.points.map(function (p) { return flagColour(p.flag); }),
          pointRadius: k.points.map(function (p) { return p.flag ? 6 : 4; }),
        }],
      },
      options: Object.assign({}, P.base, {
        scales: { y: { grid: { color: C.grid }, beginAtZero: true }, x: { grid: { color: C.grid } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                const p = k.points[item.dataIndex];
                let s = P.num(p.y, 4);
                if (p.flag != null) s += ", flag " + p.flag;
                if (p.score != null) s += ", score " + P.num(p.score, 3);
                return s;
              },
            },
          },
        },
      }),
    });
  });
})();
