// The review dashboard: the team's counts from GET /review/stats, with the same token as the review
// page (kept for this tab only).
"use strict";

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function percent(value) {
  return value === null || value === undefined ? "n/a" : `${(100 * value).toFixed(0)}%`;
}

async function load() {
  const response = await fetch("/review/stats", {
    headers: reviewAuth(),
  });
  const body = await response.json().catch(() => null);
  if (response.status !== 200) {
    sessionStorage.removeItem(REVIEW_TOKEN_KEY);
    $("signin-form").hidden = false;
    if (response.status !== 401 || $("token").value) {
      $("error").textContent = (body && body.error) || `status ${response.status}`;
      $("error").hidden = false;
    }
    return;
  }
  $("error").hidden = true;
  $("signin-form").hidden = true;
  $("stats").hidden = false;
  $("pending").textContent = `${body.pending} pending`;
  $("reviewed").textContent = `${body.reviewed} reviewed`;
  $("agreement").textContent = `${percent(body.agreement)} kept the proposal`;
  const days = $("by-day").querySelector("tbody");
  days.replaceChildren();
  for (const day of body.by_day) {
    const row = document.createElement("tr");
    cell(row, day.day); cell(row, day.decisions); cell(row, day.decided); cell(row, percent(day.agreement));
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round(160 * (day.agreement || 0))}px`;
    bar.style.height = "0.8rem";
    cell(row, "").append(bar);
    days.append(row);
  }
  const people = $("by-curator").querySelector("tbody");
  people.replaceChildren();
  for (const person of body.by_curator) {
    const row = document.createElement("tr");
    for (const value of [person.curator, person.decisions, person.accept, person.correct, person.skip, person.comment]) cell(row, value);
    people.append(row);
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(REVIEW_TOKEN_KEY, $("token").value.trim());
  load();
});
load();
