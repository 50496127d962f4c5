// The page talks to the same service that serves it; no external scripts, fonts or styles.
"use strict";

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["X-API-Key"] = key;
  return h;
}

function explainError(status, body) {
  const detail = body && (body.error || body.detail) ? (body.error || body.detail) : "";
  const hint = body && body.hint ? " " + body.hint : "";
  const words = {
    401: "The service needs an API key. Open “API key” above and enter the key you were given.",
    413: "The request is too large for this service.",
    422: "The service could not use this input.",
    500: "The service failed on this input. Try again; if it keeps failing, tell whoever runs the service.",
  };
  return (words[status] || `The service answered with status ${status}.`) + (detail ? " " + detail : "") + hint;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

const SHOWN_CLASSES = 5;

function barRow(name, p, top) {
  const row = el("div", { class: "bar-row", "data-label": name });
  row.append(el("span", { class: "bar-label", title: name }, name));
  const track = el("div", { class: "bar-track" });
  const bar = el("div", { class: "bar" + (top ? " top" : "") });
  bar.style.width = `${(100 * p).toFixed(1)}%`;
  track.append(bar);
  row.append(track, el("span", { class: "bar-value" }, (100 * p).toFixed(1) + "%"));
  return row;
}

// The five likeliest classes, the rest folded into one "others" bar; a label is never cut.
function renderChart(result) {
  const chart = $("chart");
  chart.replaceChildren();
  const explained = result.classes[0];
  const entries = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1]);
  for (const [label, p] of entries.slice(0, SHOWN_CLASSES)) {
    const name = (result.meanings && result.meanings[label]) ? `${label} · ${result.meanings[label]}` : label;
    chart.append(barRow(name, p, label === explained.label));
  }
  const rest = entries.slice(SHOWN_CLASSES);
  if (rest.length) {
    const row = barRow(`${rest.length} other classes`, rest.reduce((sum, [, p]) => sum + p, 0), false);
    row.title = rest.map(([label, p]) => `${label}: ${(100 * p).toFixed(1)}%`).join(", ");
    chart.append(row);
  }
  const top = entries[0];
  $("calibration-note").textContent = `Calibrated: of the variants this model gives ${(100 * top[1]).toFixed(0)}% ` +
    `to a class, about ${(100 * top[1]).toFixed(0)}% truly belong to it.`;
}

function renderFeatures(list, target, cls) {
  target.replaceChildren();
  for (const f of list) {
    const li = el("li");
    // The phrase a curator reads; the raw feature name and its block behind the details switch.
    li.append(el("span", {}, `${f.phrase || f.feature} `),
      el("span", { class: cls }, (f.contribution > 0 ? "+" : "") + f.contribution.toFixed(3)),
      el("span", { class: "note raw" }, ` ${f.feature} [${f.source}]`));
    target.append(li);
  }
  if (!list.length) target.append(el("li", { class: "note" }, "none"));
}

const TEXT_SOURCES = new Set(["text", "text near the mention"]);

// The decisive words and phrases marked inside the text (green toward the class, red away), not
// whole sentences; built from text nodes, so the text cannot inject markup.
function renderText(text, toward, against) {
  const box = $("highlighted");
  box.replaceChildren();
  if (!text) { box.append(el("span", { class: "note" }, "No text was given: the prediction rests on the gene and variation.")); return; }
  const weights = new Map();
  for (const f of [...toward, ...against]) {
    if (TEXT_SOURCES.has(f.source) && f.feature.trim()) {
      const key = f.feature.toLowerCase();
      weights.set(key, (weights.get(key) || 0) + f.contribution);
    }
  }
  markPhrases(box, text, weights);
}

function safeLink(url, text) {
  // Only web addresses become links: an item's URL comes from imported data, and a javascript:
  // or data: address must never be clickable.
  if (/^https?:\/\//i.test(url || "")) {
    return el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, text);
  }
  return el("span", {}, text);
}

function renderEvidence(result) {
  const list = $("evidence");
  list.replaceChildren();
  const similar = result.similar || [];
  $("evidence-section").hidden = !similar.length;
  $("text-source").textContent = {
    given: "", retrieved: "No text was given: predicted from what the evidence store holds on this variant.",
    none: "",
  }[result.text_source] || "";
  for (const item of similar) {
    const li = el("li", { class: "evidence-item" });
    li.append(el("strong", {}, item.label + " "), el("span", {}, `${item.gene} ${item.variation} `),
      el("span", { class: "note" }, `(${item.tier}${item.disease ? ", " + item.disease : ""}) `),
      safeLink(item.url, item.citation || `${item.source}:${item.source_id}`));
    list.append(li);
  }
}

function render(result) {
  const top = result.classes[0];
  $("top-class").textContent = `${top.label}${top.meaning ? " · " + top.meaning : ""} (${(100 * top.probability).toFixed(1)}%)`;
  $("model-used").textContent = `Model ${result.model_id} (recipe ${result.recipe}), oncoclass ${result.oncoclass_version}.`;
  renderChart(result);
  document.querySelectorAll(".cls-name").forEach((n) => { n.textContent = top.label; });
  renderFeatures(top.toward, $("toward"), "pos");
  renderFeatures(top.against, $("against"), "neg");
  const sources = $("sources");
  sources.replaceChildren();
  for (const [name, value] of Object.entries(top.by_source)) {
    sources.append(el("li", {}, `${name}: ${(value > 0 ? "+" : "") + value.toFixed(3)}`));
  }
  $("method").textContent = result.note;
  renderText($("text").value, top.toward, top.against);
  renderEvidence(result);
  $("result").hidden = false;
}

async function post(path, payload) {
  const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(payload) });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error(explainError(response.status, body));
  return body;
}

async function submit(event) {
  event.preventDefault();
  $("error").hidden = true;
  const payload = {
    gene: $("gene").value.trim(),
    variation: $("variation").value.trim(),
    text: $("text").value,
    context: $("context").value.trim(),
  };
  if (!payload.gene || !payload.variation) { showError("Enter both a gene (e.g. BRAF) and a variation (e.g. V600E)."); return; }
  $("submit").disabled = true;
  $("busy").hidden = false;
  try {
    render(await post("/explain", payload));
  } catch (error) {
    showError(error.message.startsWith("The ") ? error.message : "Could not reach the service: " + error.message);
  } finally {
    $("submit").disabled = false;
    $("busy").hidden = true;
  }
}

function loadFile() {
  const file = $("file").files[0];
  if (!file) return;
  if (file.size > 5e6) { showError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; paste or load at most 5 MB of text.`); return; }
  const reader = new FileReader();
  reader.onload = () => { $("text").value = reader.result; };
  reader.onerror = () => showError(`Could not read ${file.name}.`);
  reader.readAsText(file);
}

async function loadModel() {
  try {
    const response = await fetch("/health");
    const body = await response.json();
    $("model-line").textContent = `Model ${body.model_id}.`;
  } catch (e) {
    $("model-line").textContent = "The service is not answering.";
  }
}

async function annotateFile(event) {
  event.preventDefault();
  $("error").hidden = true;
  const file = $("annotate-file").files[0];
  if (!file) { showError("Choose a MAF, VCF or table to annotate."); return; }
  const h = headers();
  h["Content-Type"] = "application/octet-stream";
  $("annotate-submit").disabled = true;
  $("annotate-summary").textContent = "Working…";
  try {
    const response = await fetch("/annotate", { method: "POST", headers: h, body: file });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      throw new Error(explainError(response.status, body));
    }
    const blob = await response.blob();
    const given = (response.headers.get("content-disposition") || "").match(/filename="annotated([^"]*)"/);
    const link = $("annotate-link");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = file.name.replace(/(\.gz)?(\.[^.]*)?$/, "") + ".oncoclass" + (given ? given[1] : "");
    link.hidden = false;
    let notes = [];
    try { notes = JSON.parse(response.headers.get("x-oncoclass-notes") || "[]"); } catch (e) { notes = []; }
    $("annotate-summary").textContent = [(response.headers.get("x-oncoclass-summary") || "") + ".",
      ...notes.map((note) => "Note: " + note)].join(" ");
  } catch (error) {
    $("annotate-summary").textContent = "";
    showError(error.message.startsWith("The ") ? error.message : "Could not reach the service: " + error.message);
  } finally {
    $("annotate-submit").disabled = false;
  }
}

$("variant-form").addEventListener("submit", submit);
$("annotate-form").addEventListener("submit", annotateFile);
$("file").addEventListener("change", loadFile);
loadModel();
$("show-raw").addEventListener("change", () => document.body.classList.toggle("raw-on", $("show-raw").checked));
