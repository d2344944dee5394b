// Operations page: goroutines and in-flight requests over the last hour,
// from the JSON block the server wrote (window.trialwatch.plotData).
"use strict";
(function () {
  const data = window.trialwatch.plotData();
  const canvas = document.getElementById("ops-plot");
  if (!data || !canvas || !window.Chart) return;
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.times,
      datasets: [
        { label: "Goroutines", data: data.goroutines, yAxisID: "g", borderColor: "#1f5fbf", backgroundColor: "#1f5fbf", pointRadius: 0, borderWidth: 2 },
        { label: "Requests in flight", data: data.in_flight, yAxisID: "r", borderColor: "#c0392b", backgroundColor: "#c0392b", pointRadius: 0, borderWidth: 2, stepped: true },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { title: { display: true, text: "time (UTC)" }, ticks: { maxTicksLimit: 12 } },
        g: { position: "left", beginAtZero: true, title: { display: true, text: "goroutines" } },
        r: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "requests in flight" } },
      },
    },
  });
})();
