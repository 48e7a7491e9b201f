"use strict";
// Renders only the rows in view: thousands of artifacts sort, filter and scroll without freezing.
(function () {
  const ROW = 24, SPARE = 20;
  const rows = JSON.parse(document.getElementById("data").textContent);
  const RANK = {"": 0, info: 1, warning: 2, error: 3};
  rows.forEach(function (r) {
    r.hay = [r.path, r.format, r.worst, r.codes.join(" "), r.fails.map(function (l) { return "fails:" + l; }).join(" ")]
      .join(" ").toLowerCase();
  });
  const view = document.getElementById("view"), spacer = document.getElementById("spacer");
  const box = document.getElementById("rows"), count = document.getElementById("count"), q = document.getElementById("q");
  let shown = rows.slice(), key = "path", desc = false, timer = 0;

  function value(r, k) {
    if (k === "worst") return RANK[r.worst];
    if (k === "codes" || k === "fails") return r[k].join(" ");
    return r[k];
  }
  function compare(a, b) {
    const x = value(a, key), y = value(b, key);
    const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return (desc ? -c : c) || a.path.localeCompare(b.path);
  }
  function cell(text, cls) {
    const s = document.createElement("span");
    s.textContent = text;
    if (cls) s.className = cls;
    s.title = text;
    return s;
  }
  function paint() {
    const first = Math.max(0, Math.floor(view.scrollTop / ROW) - SPARE);
    const last = Math.min(shown.length, first + Math.ceil(view.clientHeight / ROW) + 2 * SPARE);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const r = shown[i], div = document.createElement("div");
      div.className = "row";
      div.append(cell(r.path), cell(r.format), cell(r.worst, "sev-" + r.worst), cell(String(r.findings)),
        cell(r.codes.join(" ")), cell(r.fails.join(" ")), cell(r.fetched ? r.fetched.toLocaleString() : ""));
      frag.append(div);
    }
    box.style.top = first * ROW + "px";
    box.replaceChildren(frag);
  }
  function apply() {
    const words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    shown = words.length ? rows.filter(function (r) { return words.every(function (w) { return r.hay.includes(w); }); }) : rows.slice();
    shown.sort(compare);
    spacer.style.height = shown.length * ROW + "px";
    count.textContent = shown.length + " of " + rows.length + " artifacts";
    document.querySelectorAll("[data-sort]").forEach(function (b) {
      b.classList.toggle("on", b.dataset.sort === key);
      b.classList.toggle("desc", b.dataset.sort === key && desc);
    });
    history.replaceState(null, "", "#" + new URLSearchParams({q: q.value, sort: key, desc: desc ? "1" : ""}));
    view.scrollTop = 0;
    paint();
  }
  const start = new URLSearchParams(location.hash.slice(1));
  q.value = start.get("q") || "";
  key = start.get("sort") || "path";
  desc = start.get("desc") === "1";
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  view.addEventListener("scroll", function () { requestAnimationFrame(paint); });
  document.querySelectorAll("[data-sort]").forEach(function (b) {
    b.addEventListener("click", function () { desc = key === b.dataset.sort ? !desc : false; key = b.dataset.sort; apply(); });
  });
  document.querySelectorAll("[data-q]").forEach(function (b) {
    b.addEventListener("click", function () { q.value = b.dataset.q; apply(); });
  });
  apply();
})();
