// The run page's pictures, drawn as SVG: the flow's steps as a graph (columns
// by depth, each step coloured by its state) and a timeline of attempts.

import { svg, h } from "./ui.js";

const FILL = {
  done: "#dafbe1", succeeded: "#dafbe1", failed: "#ffebe9", dead: "#ffebe9",
  leased: "#ddf4ff", running: "#ddf4ff", ready: "#fff8c5", delayed: "#fff8c5",
  queued: "#fff8c5", cancelled: "#eaeef2", pending: "#ffffff", skipped: "#eaeef2",
};

/** Depth of each step: 0 for steps that need nothing, else 1 + the deepest need. */
function depths(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const needs = (byId.get(id) && byId.get(id).needs) || [];
    const d = needs.length ? 1 + Math.max(...needs.map((n) => visit(n, seen))) : 0;
    depth.set(id, d);
    return d;
  };
  for (const s of steps) visit(s.id);
  return depth;
}

/** The flow's steps as an SVG graph; `stateOf(step)` names each one's state. */
export function dag(steps, stateOf) {
  const depth = depths(steps);
  const columns = [];
  for (const s of steps) {
    const d = depth.get(s.id) || 0;
    (columns[d] = columns[d] || []).push(s);
  }
  const W = 170, H = 44, GX = 60, GY = 18;
  const place = new Map();
  columns.forEach((col, x) => col.forEach((s, y) => place.set(s.id, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
  const width = 20 + columns.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GY) - GY;
  const edges = [];
  for (const s of steps) {
    for (const n of s.needs || []) {
      const a = place.get(n), b = place.get(s.id);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      edges.push(svg("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`, "marker-end": "url(#arrow)" }));
    }
  }
  const nodes = steps.map((s) => {
    const p = place.get(s.id);
    const state = stateOf(s.id);
    return svg("g", { class: "node", "data-step": s.id, "data-state": state, transform: `translate(${p.x},${p.y})` },
      svg("title", {}, `${s.id}: ${state} (${s.uses})`),
      svg("rect", { width: W, height: H, rx: 6, fill: FILL[state] || "#ffffff", "stroke-width": state === "failed" || state === "dead" ? 2.5 : 1.2, stroke: state === "failed" || state === "dead" ? "#a40e26" : "#57606a" }),
      svg("text", { x: 10, y: 18, "font-weight": 600 }, s.id.length > 22 ? `${s.id.slice(0, 21)}…` : s.id),
      svg("text", { x: 10, y: 34, fill: "#57606a" }, state));
  });
  return h("div", { class: "figure" },
    svg("svg", { width, height, role: "img", "aria-label": `Step graph: ${steps.map((s) => `${s.id} ${stateOf(s.id)}`).join(", ")}` },
      svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }))),
      edges, nodes));
}

/** Attempts from the ledger: per step, [{attempt, ready, start, end, outcome}]. */
export function attempts(events, steps) {
  const created = (events.find((e) => e.type === "run-created") || {}).time_ms || 0;
  const out = new Map(steps.map((s) => [s.id, []]));
  const ends = new Map();
  for (const e of events) {
    const p = e.payload || {};
    const step = p.step;
    if (!step || !out.has(step)) continue;
    const list = out.get(step);
    if (e.type === "step-started") {
      const last = list[list.length - 1];
      const needs = (steps.find((s) => s.id === step) || {}).needs || [];
      const ready = last && last.end ? last.end : Math.max(created, ...needs.map((n) => ends.get(n) || created));
      list.push({ attempt: p.attempt, ready, start: e.time_ms, end: null, outcome: "running" });
    } else if (["step-succeeded", "step-failed", "step-dead-lettered"].includes(e.type)) {
      const last = list[list.length - 1];
      if (last && !last.end) {
        last.end = e.time_ms;
        last.outcome = e.type === "step-succeeded" ? "succeeded" : "failed";
        if (e.type === "step-succeeded") ends.set(step, e.time_ms);
      }
    }
  }
  return out;
}

/** A Gantt-style timeline of each step's attempts: waiting (queued or backing
 * off) in yellow, running in blue, then green or red by outcome; `open` runs
 * reach to now. */
export function timeline(events, steps, open) {
  const rows = attempts(events, steps);
  const times = events.map((e) => e.time_ms);
  const t0 = Math.min(...times), t1 = open ? Math.max(Date.now(), ...times) : Math.max(...times);
  const total = Math.max(1, t1 - t0);
  const LABEL = 150, W = 640, ROW = 22;
  const x = (t) => LABEL + ((t - t0) / total) * W;
  const bars = [];
  let y = 4;
  for (const s of steps) {
    bars.push(svg("text", { x: 4, y: y + 15 }, s.id.length > 20 ? `${s.id.slice(0, 19)}…` : s.id));
    for (const a of rows.get(s.id) || []) {
      const end = a.end || t1;
      if (a.start > a.ready) bars.push(svg("rect", { x: x(a.ready), y: y + 4, width: Math.max(1, x(a.start) - x(a.ready)), height: ROW - 8, fill: "#f2cc60" }, svg("title", {}, `${s.id} attempt ${a.attempt}: waited ${a.start - a.ready} ms`)));
      const colour = a.outcome === "succeeded" ? "#2da44e" : a.outcome === "failed" ? "#cf222e" : "#218bff";
      bars.push(svg("rect", { x: x(a.start), y: y + 2, width: Math.max(2, x(end) - x(a.start)), height: ROW - 4, fill: colour, "data-outcome": a.outcome }, svg("title", {}, `${s.id} attempt ${a.attempt}: ${a.outcome}, ran ${end - a.start} ms`)));
    }
    y += ROW;
  }
  bars.push(svg("text", { x: LABEL, y: y + 14, fill: "#57606a" }, "0"));
  bars.push(svg("text", { x: LABEL + W - 60, y: y + 14, fill: "#57606a" }, `${total} ms`));
  return h("div", { class: "figure" },
    svg("svg", { width: LABEL + W + 10, height: y + 22, role: "img", "aria-label": "Timeline of step attempts" }, bars));
}
