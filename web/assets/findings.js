// Findings queue: "select all" ticks every finding of the page. Without
// this script each box is ticked by hand; nothing else depends on it.
"use strict";
(function () {
  const all = document.getElementById("select-all");
  if (!all) return;
  const picks = () => document.querySelectorAll("#review input.pick");
  all.addEventListener("change", () => picks().forEach((box) => { box.checked = all.checked; }));
  document.getElementById("review").addEventListener("change", (e) => {
    if (!e.target.classList.contains("pick")) return;
    const boxes = Array.from(picks());
    all.checked = boxes.every((b) => b.checked);
    all.indeterminate = !all.checked && boxes.some((b) => b.checked);
  });
})();
