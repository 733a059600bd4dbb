// One run: its step graph with each step's state, a timeline of attempts,
// each step's output, error and ledger events, model calls with tokens and
// cost, the ledger with a "verify" button, artifacts, and the actions the API
// has (cancel, resume, requeue a dead-lettered step). Live while the run is
// open: a long poll on its events redraws the page.

import { api } from "./api.js";
import { h, fill, badge, table, when, span, usd, pretty, notify, actionButton } from "./ui.js";
import { dag, timeline } from "./graph.js";

const FINISHED = ["succeeded", "failed", "cancelled"];

/** Draws the page of run `params[0]`. */
export async function runPage(main, { session, signal, params }) {
  const id = params[0];
  const base = `/v1/runs/${encodeURIComponent(id)}`;
  let lastSeq = 0;
  async function draw() {
    const [detail, ledger, flows, artifacts] = await Promise.all([
      api(base, { signal }),
      api(`${base}/events`, { signal }),
      api("/v1/flows", { signal }).catch(() => ({ flows: [] })),
      api(`${base}/artifacts`, { signal }).catch(() => ({ artifacts: {} })),
    ]);
    lastSeq = ledger.last_seq;
    drawRun(main, { detail, ledger, flows, artifacts, session, base, redraw: draw });
    return detail.run;
  }
  let run = await draw();
  while (!signal.aborted && !FINISHED.includes(run.status)) {
    try {
      const more = await api(`${base}/events`, { signal, query: { after: lastSeq, wait: 25 } });
      if (more.events.length || FINISHED.includes(more.status)) run = await draw();
    } catch {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

function graphOf(flows, run, tasks) {
  const flow = flows.flows.find((f) => f.id === run.flow_id);
  if (flow && flow.graph) return flow.graph;
  // The flow is gone or changed: draw the steps the run has tasks for.
  const ids = [...new Set(tasks.map((t) => t.step_id))];
  return ids.map((s) => ({ id: s, uses: "", needs: [] }));
}

function drawRun(main, { detail, ledger, flows, artifacts, session, base, redraw }) {
  const { run, tasks, outputs, dead_letters: dead } = detail;
  const events = ledger.events;
  const steps = graphOf(flows, run, tasks);
  const latest = new Map();
  for (const t of tasks) {
    const seen = latest.get(t.step_id);
    if (!seen || t.id > seen.id || t.attempt > seen.attempt) latest.set(t.step_id, t);
  }
  const stateOf = (step) => {
    const t = latest.get(step);
    if (t) return t.state;
    return FINISHED.includes(run.status) ? "skipped" : "pending";
  };
  const open = !FINISHED.includes(run.status);
  const act = (label, path, attrs) =>
    actionButton(label, async () => {
      const answer = await api(path, { method: "POST" });
      notify(`${label}: ${answer.status || "done"}`);
      await redraw();
    }, attrs);
  const actions = h("div", { class: "actions" },
    open ? act("Cancel run", `${base}/cancel`, { class: "danger" }) : null,
    act("Resume", `${base}/resume`),
    session.role === "admin"
      ? dead.map((d) => act(`Requeue ${d.step}`, `/v1/dlq/${d.task}/requeue`, { "data-requeue": d.task }))
      : null);
  const end = open ? Date.now() : run.updated_ms;

  fill(
    main,
    h("p", {}, h("a", { href: "/runs", "data-link": true }, "← Runs")),
    h("h1", {}, "Run ", h("span", { class: "mono" }, run.id), " ", badge(run.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "Flow"), h("dd", {}, `${run.flow_id} (version ${run.flow_version})`),
      h("dt", {}, "Tenant"), h("dd", {}, run.tenant),
      h("dt", {}, "Submitted"), h("dd", {}, when(run.created_ms)),
      h("dt", {}, "Duration"), h("dd", {}, span(end - run.created_ms)),
      h("dt", {}, "Cost"), h("dd", {}, `${usd(run.cost.micro_usd)} · ${run.cost.calls} model calls · ${run.cost.input_tokens} in / ${run.cost.output_tokens} out tokens`),
      run.error ? [h("dt", {}, "Error"), h("dd", { class: "error", id: "run-error" }, run.error)] : null),
    actions,
    h("h2", {}, "Steps"),
    dag(steps, stateOf),
    h("h2", {}, "Timeline"),
    events.length ? timeline(events, steps, open) : h("p", { class: "muted" }, "No events yet."),
    stepDetails(steps, latest, stateOf, outputs, events, dead),
    h("h2", {}, "Input"),
    h("pre", {}, pretty(run.input)),
    run.output !== null && run.output !== undefined ? [h("h2", {}, "Output"), h("pre", {}, pretty(run.output))] : null,
    modelCalls(events),
    artifactList(artifacts),
    ledgerTable(events, base),
  );
}

function stepDetails(steps, latest, stateOf, outputs, events, dead) {
  return h("section", { "aria-label": "Step details" },
    steps.map((s) => {
      const t = latest.get(s.id);
      const own = events.filter((e) => e.payload && e.payload.step === s.id);
      const letter = dead.find((d) => d.step === s.id);
      return h("details", { class: "step", "data-step": s.id, open: t && (t.state === "failed" || t.state === "dead") },
        h("summary", {}, `${s.id} `, badge(stateOf(s.id)), t ? ` attempt ${t.attempt}` : "", s.uses ? ` · ${s.uses}` : ""),
        t && t.error ? h("pre", { class: "error step-error" }, t.error) : null,
        letter ? h("p", { class: "error" }, `Dead-lettered: ${letter.reason}`) : null,
        s.with !== undefined && s.with !== null
          ? [h("h3", {}, "Input (as the flow writes it; templates are filled in when the step starts)"), h("pre", {}, pretty(s.with))]
          : null,
        outputs[s.id] !== undefined ? [h("h3", {}, "Output"), h("pre", {}, pretty(outputs[s.id]))] : null,
        own.length ? [h("h3", {}, "Log"), table(null, [
          ["Time", (e) => when(e.time_ms)],
          ["Event", (e) => e.type],
          ["Attempt", (e) => e.payload.attempt ?? ""],
          ["Detail", (e) => detailOf(e)],
        ], own)] : null);
    }));
}

function detailOf(e) {
  const p = { ...e.payload };
  delete p.step;
  delete p.attempt;
  delete p.task;
  const text = JSON.stringify(p);
  return text === "{}" ? "" : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function modelCalls(events) {
  const calls = events.filter((e) => e.type === "model-call-charged" || e.type === "model-call-journaled");
  if (!calls.length) return null;
  const field = (e, ...keys) => {
    for (const k of keys) if (e.payload[k] !== undefined) return e.payload[k];
    return "";
  };
  return [h("h2", {}, "Model calls"), table(null, [
    ["Time", (e) => when(e.time_ms)],
    ["Event", (e) => e.type],
    ["Step", (e) => field(e, "step")],
    ["Model", (e) => field(e, "model")],
    ["Tokens in", (e) => field(e, "input_tokens"), { num: true }],
    ["Tokens out", (e) => field(e, "output_tokens"), { num: true }],
    ["Cost", (e) => {
      const micro = e.payload.cost_micro_usd ?? e.payload.micro_usd;
      return micro !== undefined ? usd(micro) : "";
    }, { num: true }],
  ], calls)];
}

function artifactList(artifacts) {
  const entries = Object.entries(artifacts.artifacts || {});
  if (!entries.length) return null;
  return [h("h2", {}, "Artifacts"), table(null, [
    ["Key", ([k]) => h("code", {}, k)],
    ["Value", ([, v]) => h("pre", {}, pretty(v))],
  ], entries)];
}

function ledgerTable(events, base) {
  const result = h("div", { id: "verify-result", role: "status" });
  const head = events.length ? events[events.length - 1].hash : "";
  const verify = actionButton("Verify ledger", async () => {
    const report = await api(`${base}/verify`);
    fill(result, report.ok
      ? h("p", { class: "badge s-succeeded" }, `Verified: ${report.events} events, head hash ${head}`)
      : h("p", { class: "error" }, `Broken at seq ${report.first_bad && report.first_bad.seq}: ${report.first_bad && report.first_bad.reason}`));
  }, { id: "verify" });
  return [
    h("h2", {}, "Ledger"),
    h("div", { class: "actions" }, verify, result),
    table(null, [
      ["Seq", (e) => e.seq, { num: true }],
      ["Time", (e) => when(e.time_ms)],
      ["Event", (e) => e.type],
      ["Payload", (e) => h("code", {}, truncate(JSON.stringify(e.payload), 160))],
      ["Hash", (e) => h("code", { title: e.hash }, e.hash.slice(0, 12))],
    ], events),
  ];
}

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

