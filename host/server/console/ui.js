// Small DOM helpers: every text goes in as text (never as HTML), so nothing a
// run, a plugin or a tenant wrote can run as script in the console.

/** Creates an element: h("a", {href: "/runs"}, "Runs"). Attributes starting
 * with "on" are listeners; `class` and `for` are as in HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the contents of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A status badge: `succeeded`, `failed`, `ready`, … */
export function badge(status) {
  return h("span", { class: `badge s-${status}` }, status);
}

/** A table: columns are [heading, cell(row), {num: true}?]. */
export function table(caption, columns, rows, empty = "Nothing here.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([title, , o]) => h("th", { scope: "col", class: o && o.num ? "num" : null }, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell, o]) => h("td", { class: o && o.num ? "num" : null }, cell(row)))))),
  );
}

/** "3 s ago", "2 h ago" for a time in ms since the epoch. */
export function ago(ms) {
  if (!ms) return "–";
  return `${span(Date.now() - ms)} ago`;
}

/** A length of time in ms as "820 ms", "4.2 s", "3 min", "2 h". */
export function span(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const abs = Math.max(0, ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 172_800_000) return `${(abs / 3_600_000).toFixed(1)} h`;
  return `${Math.round(abs / 86_400_000)} d`;
}

/** A time in ms since the epoch, in the browser's zone. */
export function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "–";
}

/** Micro-dollars as "$0.0123". */
export function usd(micro) {
  const n = Number(micro || 0) / 1e6;
  return `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
}

/** JSON for people. */
export function pretty(value) {
  if (value === undefined) return "";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

/** A line telling what went wrong. */
export function problem(error) {
  return h("p", { class: "error", role: "alert" }, error && error.message ? error.message : String(error));
}

/** Shows a short message in the page's live region. */
export function notify(text, isError = false) {
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = isError ? "notice error" : "notice";
  el.textContent = text;
}

/** A button that runs `action` (async), disabled while it runs; its failure
 * is shown in the live region. */
export function actionButton(label, action, attrs = {}) {
  const button = h("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      notify(e.message || String(e), true);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
