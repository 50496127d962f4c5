// The review page: signs in with a curator's token (kept for this tab only), shows the next item,
// and sends decisions. Keyboard first: a accept, 1-9 correct to a label, s/n skip, h history.
"use strict";
let current = null;
let choices = [];
let busy = false;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function notice(message) {
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

async function call(method, path, payload) {
  const headers = reviewAuth();
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  return { status: response.status, body };
}

function problem(status, body) {
  const text = body && body.error ? body.error + (body.hint ? " " + body.hint : "") : `status ${status}`;
  if (status === 401) return "Sign-in failed: " + text;
  if (status === 403) return "Not allowed: " + text;
  return "The service refused this: " + text;
}

async function signIn(event) {
  if (event) event.preventDefault();
  const typed = $("token").value.trim();
  if (typed) sessionStorage.setItem(REVIEW_TOKEN_KEY, typed);
  const { status, body } = await call("GET", "/review/me");
  if (status !== 200) {
    sessionStorage.removeItem(REVIEW_TOKEN_KEY);
    if (typed) showError(problem(status, body));
    return;
  }
  showError("");
  $("token").value = "";
  $("signin-form").hidden = true;
  $("workspace").hidden = false;
  $("who").textContent = `Signed in as ${body.name} (${body.role}).`;
  await loadNext();
}

function signOut() {
  sessionStorage.removeItem(REVIEW_TOKEN_KEY);
  current = null;
  $("workspace").hidden = true;
  $("signin-form").hidden = false;
}

// The statement with the words that pushed the model toward its proposal marked.
function renderStatement(text, explanation) {
  const box = $("statement");
  box.replaceChildren();
  if (!text) {
    box.append(el("p", { class: "note" }, "No text: the proposal rests on the gene, the variation and the store's evidence."));
    return;
  }
  const words = new Set((explanation.words || []).map((w) => w.toLowerCase()));
  const weights = new Map((explanation.toward || [])
    .filter((f) => words.has(f.feature.toLowerCase())).map((f) => [f.feature.toLowerCase(), f.contribution]));
  markPhrases(box, text, weights);
}

function renderChoices(item) {
  const box = $("choices");
  box.replaceChildren();
  choices = Object.entries(item.probabilities).sort((a, b) => b[1] - a[1]).map(([label]) => label);
  choices.forEach((label, i) => {
    const p = item.probabilities[label];
    const button = el("button", { type: "button", class: "choice" + (label === item.prediction ? " proposed" : ""),
      "data-label": label, title: label });
    const meaning = item.meanings && item.meanings[label] ? ` ${item.meanings[label]}` : "";
    if (i < 9) button.append(el("kbd", {}, String(i + 1)), document.createTextNode(" "));
    button.append(document.createTextNode(`${label}${meaning} · ${(100 * p).toFixed(0)}%`));
    button.addEventListener("click", () => pick(label));
    box.append(button);
  });
}

function renderReasons(explanation) {
  const list = $("reasons");
  list.replaceChildren();
  for (const reason of (explanation.toward || []).slice(0, 8)) {
    const li = el("li", { title: `${reason.feature} [${reason.source}]` }, `${reason.phrase || reason.feature} `);
    li.append(el("span", { class: "pos" }, `+${reason.contribution.toFixed(2)}`));
    list.append(li);
  }
  if (!list.children.length) list.append(el("li", { class: "note" }, "No explanation for this item."));
}

function renderEvidence(evidence) {
  const list = $("evidence");
  list.replaceChildren();
  for (const hit of evidence || []) {
    const li = el("li", { class: "evidence-item" });
    li.append(el("strong", {}, `${hit.gene} ${hit.variation}`), document.createTextNode(
      ` ${hit.label ? "[" + hit.label + "] " : ""}${hit.citation || hit.source + ":" + hit.source_id} — ${hit.statement.slice(0, 240)}`));
    list.append(li);
  }
  if (!list.children.length) list.append(el("li", { class: "note" }, "Nothing in the store on this variant or gene."));
}

function render(item) {
  current = item;
  $("empty").hidden = true;
  $("item").hidden = false;
  $("variant").textContent = `${item.gene} ${item.variation}`;
  $("item-meta").textContent = `item ${item.id} · ${item.status} · version ${item.version}` +
    (item.label ? ` · label ${item.label}` : "");
  $("context-line").textContent = [item.disease && `Disease: ${item.disease}`, item.drugs && `Drugs: ${item.drugs}`,
    item.citation && `Citation: ${item.citation}`].filter(Boolean).join(" · ");
  renderStatement(item.text, item.explanation || {});
  const meaning = item.meanings && item.meanings[item.prediction] ? ` ${item.meanings[item.prediction]}` : "";
  $("proposal").textContent = `${item.prediction}${meaning} (${(100 * item.probability).toFixed(0)}%)`;
  $("proposal-note").textContent = `Proposed by model ${item.model_id}. A calibrated ${(100 * item.probability).toFixed(0)}% ` +
    `means that of the items proposed with this confidence, about that share carry this label.`;
  renderChoices(item);
  renderReasons(item.explanation || {});
  renderEvidence(item.evidence);
  for (const name of ["gene", "variation", "disease", "drugs"]) $(`edit-${name}`).value = item[name];
  $("comment").value = "";
  $("history").replaceChildren();
  $("history-box").open = false;
  if (item.remaining !== null && item.remaining !== undefined) $("remaining").textContent = `${item.remaining} open for you`;
}

async function loadNext() {
  const order = $("order").value;
  const { status, body } = await call("GET", "/review/next" + (order ? `?order=${encodeURIComponent(order)}` : ""));
  if (status === 204) {
    current = null;
    $("item").hidden = true;
    $("empty").hidden = false;
    $("remaining").textContent = "0 open for you";
    return;
  }
  if (status !== 200) return showError(problem(status, body));
  showError("");
  render(body);
}

function changedFields() {
  const changes = {};
  for (const name of ["gene", "variation", "disease", "drugs"]) {
    const value = $(`edit-${name}`).value.trim();
    if (value !== current[name]) changes[name] = value;
  }
  return changes;
}

async function decide(payload, advance) {
  if (!current || busy) return;
  busy = true;
  try {
    const { status, body } = await call("POST", `/review/items/${current.id}/decision`, { version: current.version, ...payload });
    if (status === 409) {
      notice(`Someone decided on this item first; it is now at version ${body.current.version}` +
        (body.current.label ? ` with label ${body.current.label}` : "") + ". Review it again.");
      render({ ...body.current, remaining: current.remaining });
      return;
    }
    if (status !== 200) return showError(problem(status, body));
    showError("");
    notice(payload.action === "comment" ? "Comment saved." :
      payload.action === "skip" ? "Skipped." : `Saved: ${body.label}.`);
    if (advance) await loadNext(); else render({ ...body, remaining: current.remaining });
  } finally {
    busy = false;
  }
}

function pick(label) {
  const changes = changedFields();
  if (label === current.prediction && !Object.keys(changes).length) return decide({ action: "accept" }, true);
  return decide({ action: "correct", label, changes: Object.keys(changes).length ? changes : undefined }, true);
}

async function showHistory() {
  if (!current) return;
  const { status, body } = await call("GET", `/review/items/${current.id}/history`);
  if (status !== 200) return showError(problem(status, body));
  const list = $("history");
  list.replaceChildren();
  for (const step of body) {
    const what = step.action + (step.label ? ` → ${step.label}` : "") + (step.comment ? ` “${step.comment}”` : "");
    list.append(el("li", {}, `${step.created_at.slice(0, 19).replace("T", " ")} ${step.curator}: ${what} (proposal ${step.proposed})`));
  }
  if (!body.length) list.append(el("li", { class: "note" }, "No decisions yet."));
  $("history-box").open = true;
}

document.addEventListener("keydown", (event) => {
  if ($("workspace").hidden || !current) return;
  const target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "a") decide({ action: "accept" }, true);
  else if (event.key === "s" || event.key === "n") decide({ action: "skip" }, true);
  else if (event.key === "h") showHistory();
  else if (/^[1-9]$/.test(event.key) && choices[Number(event.key) - 1]) pick(choices[Number(event.key) - 1]);
  else return;
  event.preventDefault();
});

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
$("order").addEventListener("change", loadNext);
$("accept").addEventListener("click", () => decide({ action: "accept" }, true));
$("skip").addEventListener("click", () => decide({ action: "skip" }, true));
$("comment-save").addEventListener("click", () => {
  const text = $("comment").value.trim();
  if (text) decide({ action: "comment", comment: text }, false);
});
$("history-box").addEventListener("toggle", () => { if ($("history-box").open && !$("history").children.length) showHistory(); });
if (sessionStorage.getItem(REVIEW_TOKEN_KEY)) signIn();
