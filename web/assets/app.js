// trialwatch UI: what every page shares. Loaded as a file (the CSP allows
// no inline script).
"use strict";
window.trialwatch = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  // The session's anti-forgery token, for requests that change something.
  const csrf = meta ? meta.content : "";
  // The JSON the server wrote for this page's plots, or null.
  function plotData() {
    const el = document.getElementById("plot-data");
    return el ? JSON.parse(el.textContent) : null;
  }
  return { csrf: csrf, plotData: plotData };
})();
