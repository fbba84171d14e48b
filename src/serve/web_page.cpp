#include "serve/web_page.h"

namespace mbert::serve {

namespace {

// Server text is put into the page with textContent only, never parsed as HTML.
constexpr const char* kHtml = R"mbert_page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mbert serve</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b;
         background: #f3f5f8; margin: 0; padding: 20px 16px 40px; }
  main { max-width: 820px; margin: 0 auto; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 0 0 10px; }
  .bar { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; color: #4a5563;
         margin-bottom: 16px; }
  section { background: #fff; border: 1px solid #d9dee5; border-radius: 8px; padding: 14px 16px;
            margin-bottom: 14px; }
  .row { display: flex; gap: 8px; align-items: stretch; }
  input[type=text], input[type=password], input[type=number], textarea, select {
    font: inherit; padding: 6px 8px; border: 1px solid #b9c1cc; border-radius: 5px;
    box-sizing: border-box; }
  .row input[type=text] { flex: 1; min-width: 0; }
  textarea { width: 100%; resize: vertical; }
  .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-bottom: 8px; }
  button { font: inherit; padding: 6px 16px; border: 0; border-radius: 5px; background: #2f6fde;
           color: #fff; cursor: pointer; }
  button:disabled { background: #9db4de; cursor: default; }
  table { border-collapse: collapse; width: 100%; margin-top: 10px; }
  td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff3; }
  th { font-weight: 600; color: #4a5563; font-size: 13px; }
  td.num { font-variant-numeric: tabular-nums; width: 70px; }
  .track { height: 8px; background: #e6ebf2; border-radius: 4px; width: 120px; }
  .meter { height: 8px; background: #2f6fde; border-radius: 4px; min-width: 2px; }
  .big { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 8px; }
  .time { color: #6b7684; font-size: 13px; margin-top: 6px; min-height: 1em; }
  .error { color: #b3261e; background: #fdecea; border-radius: 5px; padding: 6px 10px;
           margin-top: 10px; font-size: 14px; font-weight: normal; }
  .note { color: #6b7684; }
  .hint { color: #6b7684; font-size: 13px; margin: 0 0 8px; }
</style>
</head>
<body>
<main>
<h1>mbert serve</h1>
<div class="bar">
  <span id="model-info">loading /info …</span>
  <label>model <select id="model-select"></select></label>
  <label>API key <input type="password" id="api-key" size="16" placeholder="if --api-key"></label>
</div>

<section id="fill-mask">
  <h2>Fill-mask</h2>
  <p class="hint">Write [MASK] where a token is missing.</p>
  <div class="row">
    <input type="text" id="fm-input" value="The capital of France is [MASK].">
    <input type="number" id="fm-topk" value="5" min="1" max="50" title="top k" style="width:64px">
    <button id="fm-run">Fill</button>
  </div>
  <div id="fm-results"></div>
  <div class="time" id="fm-time"></div>
</section>

<section id="similarity">
  <h2>Similarity</h2>
  <p class="hint">Cosine of the two texts' embeddings (POST /embed), computed in the page.</p>
  <div class="pair">
    <textarea id="sim-a" rows="2">A cat sits on the mat.</textarea>
    <textarea id="sim-b" rows="2">A cat is lying on a rug.</textarea>
  </div>
  <button id="sim-run">Compare</button>
  <div id="sim-result" class="big"></div>
  <div class="time" id="sim-time"></div>
</section>

<section id="classify">
  <h2>Classification</h2>
  <p class="note" id="cls-note"></p>
  <div class="row">
    <input type="text" id="cls-input" value="I loved this film.">
    <button id="cls-run">Classify</button>
  </div>
  <div id="cls-results"></div>
  <div class="time" id="cls-time"></div>
</section>
</main>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
let models = [];

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// One request to the server: {ok, status, data, timing}, never throws.
async function call(method, path, body) {
  const headers = {};
  const key = $("api-key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  const init = { method, headers };
  if (body !== undefined) {
    const m = $("model-select").value;
    if (m) body.model = m;
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const t0 = performance.now();
  try {
    const res = await fetch(path, init);
    const text = await res.text();
    const parts = ["round trip " + (performance.now() - t0).toFixed(1) + " ms"];
    const total = res.headers.get("x-total-time");
    const inference = res.headers.get("x-inference-time");
    if (total !== null) parts.push("server " + Number(total).toFixed(1) + " ms");
    if (inference !== null) parts.push("inference " + Number(inference).toFixed(1) + " ms");
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = text; }
    const out = { ok: res.ok, status: res.status, data, timing: parts.join(" · ") };
    if (!res.ok) {
      let msg = data && data.error !== undefined ? data.error : text;
      if (msg && typeof msg === "object") msg = msg.message;
      out.error = "HTTP " + res.status + ": " + (msg || res.statusText);
    }
    return out;
  } catch (e) {
    return { ok: false, error: "request failed: " + e.message, timing: "" };
  }
}

// Runs `work` with the button disabled; the result area is cleared first.
async function run(button, results, timeEl, work) {
  $(button).disabled = true;
  $(results).replaceChildren();
  $(timeEl).textContent = "…";
  try {
    const r = await work();
    $(timeEl).textContent = r.timing;
    if (r.error) $(results).replaceChildren(el("div", r.error, "error"));
  } finally {
    $(button).disabled = false;
  }
}

function meter(score) {
  const track = el("div", undefined, "track");
  const bar = el("div", undefined, "meter");
  bar.style.width = Math.max(0, Math.min(1, score)) * 100 + "%";
  track.append(bar);
  const td = el("td");
  td.append(track);
  return td;
}

function table(head, rows) {
  const t = el("table");
  const tr = el("tr");
  for (const h of head) tr.append(el("th", h));
  t.append(tr, ...rows);
  return t;
}

async function fillMask() {
  const topK = parseInt($("fm-topk").value, 10) || 5;
  const r = await call("POST", "/fill-mask", { inputs: $("fm-input").value, top_k: topK });
  if (!r.ok) return r;
  // One mask: a list of candidates; several masks: a list per mask.
  const groups = Array.isArray(r.data[0]) ? r.data : [r.data];
  const out = [];
  groups.forEach((cands, g) => {
    if (groups.length > 1) out.push(el("div", "mask " + (g + 1), "hint"));
    out.push(table(["#", "token", "score", "", "sequence"], cands.map((c, i) => {
      const tr = el("tr", undefined, "fm-row");
      tr.append(el("td", String(i + 1)), el("td", JSON.stringify(c.token_str)),
                el("td", c.score.toFixed(4), "num"), meter(c.score), el("td", c.sequence));
      return tr;
    })));
  });
  $("fm-results").replaceChildren(...out);
  return r;
}

async function similarity() {
  const r = await call("POST", "/embed", { inputs: [$("sim-a").value, $("sim-b").value] });
  if (!r.ok) return r;
  const [a, b] = r.data;
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; ++i) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  const cos = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  $("sim-result").textContent = cos.toFixed(4);
  r.timing = a.length + "-dim embeddings · " + r.timing;
  return r;
}

async function classify() {
  const r = await call("POST", "/predict", { inputs: $("cls-input").value });
  if (!r.ok) return r;
  $("cls-results").replaceChildren(table(["label", "score", ""], r.data.map((p) => {
    const tr = el("tr", undefined, "cls-row");
    tr.append(el("td", p.label), el("td", p.score.toFixed(4), "num"), meter(p.score));
    return tr;
  })));
  return r;
}

// The classification section only works for sequence classifiers.
function selectModel() {
  const m = models.find((x) => x.id === $("model-select").value);
  const ok = m !== undefined && m.task === "sequence-classification";
  $("cls-input").disabled = !ok;
  $("cls-run").disabled = !ok;
  $("cls-note").textContent = m === undefined ? "" : ok
      ? "Labels: " + Object.values(m.model_type.classifier.id2label).join(", ")
      : "The model “" + m.id + "” (" + m.task + ") is not a sequence classifier, " +
        "so /predict is not available.";
}

async function loadInfo() {
  const r = await call("GET", "/info");
  if (!r.ok) {
    $("model-info").textContent = r.status === 401
        ? "the server needs an API key: type it here →" : r.error;
    return;
  }
  models = r.data.models || [];
  const sel = $("model-select");
  const keep = sel.value;
  sel.replaceChildren(...models.map((m) => el("option", m.id)));
  if (models.some((m) => m.id === keep)) sel.value = keep;
  $("model-info").textContent = "mbert " + r.data.version + " · " + r.data.model_dtype +
      " · " + models.length + (models.length === 1 ? " model" : " models");
  selectModel();
}

$("fm-run").onclick = () => run("fm-run", "fm-results", "fm-time", fillMask);
$("sim-run").onclick = () => run("sim-run", "sim-result", "sim-time", similarity);
$("cls-run").onclick = () => run("cls-run", "cls-results", "cls-time", classify);
for (const [input, button] of [["fm-input", "fm-run"], ["cls-input", "cls-run"]])
  $(input).addEventListener("keydown", (e) => { if (e.key === "Enter") $(button).click(); });
$("model-select").onchange = selectModel;
$("api-key").onchange = loadInfo;
loadInfo();
</script>
</body>
</html>
)mbert_page";

}  // namespace

const char* WebPageHtml() { return kHtml; }

Reply WebPage(ServerState&, const std::string&) {
  Reply reply;
  reply.content_type = "text/html; charset=utf-8";
  reply.body = kHtml;
  return reply;
}

}  // namespace mbert::serve
