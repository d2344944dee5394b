// Uploads page: choose or drop files, send them with the session's
// anti-forgery token, show the progress, then what was stored per domain
// or every problem by file, line or row, and column. The DOM is built
// with textContent only: file names and messages are never HTML.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const chosenList = document.getElementById("chosen");
  const send = document.getElementById("send");
  const box = document.getElementById("progress-box");
  const bar = document.getElementById("progress");
  const barText = document.getElementById("progress-text");
  const result = document.getElementById("result");
  let chosen = [];

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function sizeOf(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }
  function showChosen() {
    chosenList.replaceChildren(...chosen.map((f) => el("li", f.name + " (" + sizeOf(f.size) + ")")));
  }
  input.addEventListener("change", () => { chosen = Array.from(input.files); showChosen(); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    chosen = Array.from(e.dataTransfer.files);
    showChosen();
  });

  function table(caption, head, rows) {
    const t = el("table", null, "grid");
    t.append(el("caption", caption));
    const tr = el("tr");
    head.forEach((h) => { const th = el("th", h); th.scope = "col"; tr.append(th); });
    const thead = el("thead"); thead.append(tr); t.append(thead);
    const body = el("tbody");
    rows.forEach((r) => { const row = el("tr"); r.forEach((c) => row.append(el("td", c))); body.append(row); });
    t.append(body);
    const wrap = el("div", null, "table-wrap"); wrap.append(t);
    // A table wider than the window scrolls in its box, which the
    // keyboard must reach too.
    wrap.tabIndex = 0; wrap.setAttribute("role", "region"); wrap.setAttribute("aria-label", caption);
    return wrap;
  }
  function showStored(ans) {
    const files = (ans.files || []).join(", ");
    result.append(el("h2", "Stored"), el("p", "From " + files + ". " + (ans.checks_queued || 0) + " subject check(s) queued."));
    const rows = Object.keys(ans.domains || {}).sort().map((d) => {
      const s = ans.domains[d];
      return [d, s.inserted, s.updated, s.unchanged];
    });
    result.append(table("What each domain stored", ["Domain", "Inserted", "Updated", "Unchanged"], rows));
  }
  function showProblems(ans) {
    const ps = ans.problems || [];
    result.append(el("h2", "Nothing stored", "error"), el("p", ans.error || (ps.length + " problem(s)"), "error"));
    const rows = ps.map((p) => [p.file, p.line ? "line " + p.line : (p.row ? "row " + p.row : ""), p.column || "", p.message]);
    result.append(table("Problems, by file", ["File", "Line or row", "Column", "Problem"], rows));
  }
  function showError(status, text) {
    result.append(el("h2", "Nothing stored", "error"), el("p", text || ("The server answered " + status + "."), "error"));
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    result.replaceChildren();
    if (chosen.length === 0) {
      showError(0, "Choose or drop at least one file first.");
      result.focus();
      return;
    }
    const data = new FormData();
    chosen.forEach((f) => data.append("file", f, f.name));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", window.trialwatch.csrf);
    xhr.responseType = "text";
    box.hidden = false;
    bar.value = 0;
    barText.textContent = "";
    send.disabled = true;
    xhr.upload.addEventListener("progress", (ev) => {
      if (!ev.lengthComputable) return;
      bar.value = Math.round((100 * ev.loaded) / ev.total);
      barText.textContent = sizeOf(ev.loaded) + " of " + sizeOf(ev.total);
    });
    xhr.upload.addEventListener("load", () => { barText.textContent = "Sent; checking the files…"; });
    xhr.addEventListener("error", () => { send.disabled = false; showError(0, "The upload failed: the connection was lost."); result.focus(); });
    xhr.addEventListener("load", () => {
      send.disabled = false;
      barText.textContent = "Done.";
      let ans = null;
      if ((xhr.getResponseHeader("Content-Type") || "").startsWith("application/json")) {
        try { ans = JSON.parse(xhr.responseText); } catch (_) { ans = null; }
      }
      if (xhr.status === 200 && ans) showStored(ans);
      else if (ans && ans.problems) showProblems(ans);
      else if (xhr.status === 401 || xhr.status === 303) showError(xhr.status, "Your session has ended: sign in again, then upload.");
      else showError(xhr.status, ans && ans.error ? ans.error : null);
      result.focus();
    });
    xhr.send(data);
  });
})();
