// What every page shares (loaded before each page's own script): element lookup and building,
// marking weighted phrases inside a text, and the review pages' token. Nothing here loads from
// the network.
"use strict";
const $ = (id) => document.getElementById(id);
const REVIEW_TOKEN_KEY = "oncoclass-review-token";

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Appends `text` to `box` with each phrase of `weights` (lower-case phrase → contribution) marked:
// green toward the class, red away from it. Built from text nodes, never from HTML, so the text
// cannot inject markup.
// A word in a negation's scope is a term of its own, "neg_response" (features/text.py): it is
// marked where the text says "response".
function markPhrases(box, text, given) {
  const weights = new Map();
  for (const [phrase, weight] of given) {
    const plain = phrase.split(/\s+/).map((w) => w.replace(/^neg_/, "")).join(" ");
    weights.set(plain, (weights.get(plain) || 0) + weight);
  }
  if (!weights.size) { box.append(document.createTextNode(text)); return; }
  const phrases = [...weights.keys()].sort((a, b) => b.length - a.length);
  // Words of a phrase may be separated by any run of non-word characters in the text.
  const pattern = new RegExp(`(?<![\\w-])(${phrases.map((p) => p.split(/\s+/).map(escapeRegExp).join("\\W+")).join("|")})(?![\\w-])`, "gi");
  let cursor = 0;
  for (const match of text.matchAll(pattern)) {
    const key = match[0].toLowerCase().split(/\W+/).join(" ");
    const weight = weights.get(key) ?? weights.get(match[0].toLowerCase()) ?? 0;
    box.append(document.createTextNode(text.slice(cursor, match.index)));
    box.append(el("mark", { class: weight >= 0 ? "toward" : "against", title: `contribution ${weight.toFixed(3)}` }, match[0]));
    cursor = match.index + match[0].length;
  }
  box.append(document.createTextNode(text.slice(cursor)));
}

function reviewAuth() {
  return { Authorization: `Bearer ${sessionStorage.getItem(REVIEW_TOKEN_KEY) || ""}` };
}
