// modelwatch dashboard: the action buttons (acknowledge, approve, cancel) call the JSON API.
//
// Same-origin fetch with the session cookie, plus the X-Requested-With header the API requires
// for cookie-authenticated writes (its CSRF guard). Messages are set with textContent, never
// innerHTML, so a server message cannot inject markup. No other script runs on these pages.
"use strict";

const CSRF_HEADER = "X-Requested-With";
const CSRF_VALUE = "modelwatch";

function messageOf(data, text, response) {
  if (data && typeof data === "object") {
    const said = data.message ?? data.detail ?? data.status;
    if (typeof said === "string") return said;
    if (Array.isArray(said)) return said.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
    if (said !== undefined) return JSON.stringify(said);
  }
  return text.trim().slice(0, 300) || `HTTP ${response.status} ${response.statusText}`;
}

async function send(button) {
  const box = button.closest(".act");
  const output = box.querySelector("output.result");
  const reason = box.querySelector("input[name=reason]");
  const buttons = box.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  output.className = "result busy";
  output.textContent = `${button.textContent.trim()}…`;
  try {
    const response = await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", [CSRF_HEADER]: CSRF_VALUE },
      body: JSON.stringify({ reason: reason ? reason.value.trim() : "" }),
    });
    const text = await response.text();
    let data = null;
    try { data = JSON.parse(text); } catch (_) { /* not JSON: show the text */ }
    const message = messageOf(data, text, response);
    if (response.ok) {
      // the API answers with the changed alert or action: say its new state (an alert's own
      // "message" is its finding, not an answer to the click; the rest would be raw JSON)
      const state = data && typeof data.state === "string" ? `now ${data.state.replace(/_/g, " ")}` : null;
      output.className = "result ok";
      output.textContent = `${button.textContent.trim()}: ${state || message || "done"} (reload to see the new state)`;
      return;
    }
    output.className = "result error";
    output.textContent = `Failed (HTTP ${response.status}): ${message}`;
  } catch (error) {
    output.className = "result error";
    output.textContent = `Failed: ${error.message}`;
  }
  buttons.forEach((b) => { b.disabled = false; });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest(".act button[data-url]");
  if (button) send(button);
});

document.addEventListener("keydown", (event) => {
  // Enter in a reason box must not pick a button (it could approve); the person clicks one.
  if (event.key === "Enter" && event.target.matches(".act input")) event.preventDefault();
});
