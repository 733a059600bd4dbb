// The runs list: filters (status, flow, time range), the search box (keyword,
// or semantic when the daemon has an embedding model), pages from the store
// (`GET /v1/runs?before=`), and live: the first page is read again whenever
// the store changes (a long poll on `GET /v1/changes`), without a reload.

import { api } from "./api.js";
import { h, fill, badge, table, ago, span, usd, problem } from "./ui.js";

const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled"];
const PAGE = 50;

function finished(run) {
  return ["succeeded", "failed", "cancelled"].includes(run.status);
}

function runLink(id) {
  return h("a", { href: `/runs/${encodeURIComponent(id)}`, "data-link": true, class: "mono" }, id);
}

function toMs(value) {
  if (!value) return undefined;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/** Draws the runs page into `main`. */
export async function runsPage(main, { session, signal, navigate, query }) {
  const flows = await api("/v1/flows", { signal }).catch(() => ({ flows: [] }));
  const state = {
    status: query.get("status") || "",
    flow: query.get("flow") || "",
    since: query.get("since") || "",
    until: query.get("until") || "",
    q: query.get("q") || "",
    semantic: query.get("semantic") === "true",
    cursors: [],
  };
  const select = (name, options, value, label) =>
    h("label", { for: `f-${name}` }, label,
      h("select", { id: `f-${name}`, name }, options.map((o) => h("option", { value: o, selected: o === value }, o || "any"))));
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter runs" },
    h("label", { for: "f-q" }, "Search", h("input", { id: "f-q", name: "q", type: "search", value: state.q, placeholder: "words, field:value…", size: 28 })),
    h("label", { class: "inline", for: "f-semantic" }, h("input", { id: "f-semantic", name: "semantic", type: "checkbox", checked: state.semantic }), " by meaning"),
    select("status", STATUSES, state.status, "Status"),
    select("flow", ["", ...flows.flows.map((f) => f.id)], state.flow, "Flow"),
    h("label", { for: "f-since" }, "Submitted from", h("input", { id: "f-since", name: "since", type: "datetime-local", value: state.since })),
    h("label", { for: "f-until" }, "until", h("input", { id: "f-until", name: "until", type: "datetime-local", value: state.until })),
    h("button", { type: "submit", class: "primary" }, "Apply"),
  );
  const list = h("div", { id: "runs-list", "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  fill(main, h("h1", {}, session.role === "tenant" ? `Runs of ${session.tenant}` : "Runs"), form, list, pager);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const key of ["q", "status", "flow", "since", "until"]) {
      const v = data.get(key);
      if (v) params.set(key, v);
    }
    if (data.get("semantic")) params.set("semantic", "true");
    const text = params.toString();
    navigate(text ? `/runs?${text}` : "/runs");
  });

  let next = null;
  async function draw() {
    try {
      if (state.q) return drawHits(await search(state, signal), list, pager);
      const page = await api("/v1/runs", {
        signal,
        query: {
          limit: PAGE,
          status: state.status,
          flow: state.flow,
          since_ms: toMs(state.since),
          until_ms: toMs(state.until),
          before: state.cursors[state.cursors.length - 1],
        },
      });
      next = page.next;
      drawRuns(page.runs, list);
      drawPager();
    } catch (e) {
      if (!signal.aborted) fill(list, problem(e));
    }
  }
  function drawPager() {
    fill(
      pager,
      h("button", { type: "button", disabled: !state.cursors.length, onclick: () => { state.cursors.pop(); draw(); } }, "← Newer"),
      h("span", { class: "muted" }, `page ${state.cursors.length + 1}`),
      h("button", { type: "button", disabled: !next, onclick: () => { state.cursors.push(next); draw(); } }, "Older →"),
    );
  }
  await draw();
  live(signal, () => !state.q && !state.cursors.length, draw);
}

async function search(state, signal) {
  return api("/v1/search", {
    signal,
    query: {
      q: state.q,
      status: state.status,
      flow: state.flow,
      since: state.since ? new Date(state.since).toISOString() : "",
      until: state.until ? new Date(state.until).toISOString() : "",
      semantic: state.semantic ? "true" : "",
      limit: 100,
    },
  });
}

function drawRuns(runs, list) {
  fill(
    list,
    table(
      null,
      [
        ["Status", (r) => badge(r.status)],
        ["Run", (r) => runLink(r.id)],
        ["Flow", (r) => r.flow_id],
        ["Tenant", (r) => r.tenant],
        ["Age", (r) => ago(r.created_ms)],
        ["Duration", (r) => span((finished(r) ? r.updated_ms : Date.now()) - r.created_ms), { num: true }],
        ["Cost", (r) => usd(r.cost && r.cost.micro_usd), { num: true }],
      ],
      runs,
      "No runs match.",
    ),
  );
}

function drawHits(found, list, pager) {
  fill(pager, h("span", { class: "muted" }, `${found.hits.length} hits (${found.mode} search)`));
  fill(
    list,
    table(
      null,
      [
        ["Status", (r) => badge(r.status)],
        ["Run", (r) => runLink(r.run_id)],
        ["Step", (r) => r.step_id || ""],
        ["Flow", (r) => r.flow],
        ["Tenant", (r) => r.tenant],
        ["Age", (r) => ago(r.created_ms)],
        ["Match", (r) => (r.snippet ? `${r.snippet.field}: ${r.snippet.text}` : "")],
      ],
      found.hits,
      "Nothing matches.",
    ),
  );
}

/** While the page is open: waits for the store to change and calls `redraw`
 * (when `wanted()`), at most once a second. */
async function live(signal, wanted, redraw) {
  let head = 0;
  try {
    head = (await api("/v1/changes", { signal })).head;
  } catch {
    return;
  }
  while (!signal.aborted) {
    try {
      const answer = await api("/v1/changes", { signal, query: { after: head, wait: 25 } });
      if (answer.head !== head) {
        head = answer.head;
        if (wanted()) await redraw();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

export { live, runLink };
