// The operator pages (admin tokens): queue and pools, dead letters, schedules
// and workers. Each reads the API once when drawn and again every few seconds
// while it is open.

import { api } from "./api.js";
import { h, fill, badge, table, ago, when, span, notify, actionButton } from "./ui.js";
import { runLink } from "./runs.js";

/** Calls `draw` now and every `ms` until the page is left. */
async function refreshing(signal, ms, draw) {
  await draw();
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (signal.aborted) return;
    try {
      await draw();
    } catch (e) {
      if (!signal.aborted) notify(e.message, true);
    }
  }
}

function card(label, value) {
  return h("div", { class: "card" }, h("div", { class: "muted" }, label), h("div", { class: "v" }, value));
}

/** Queue depth, in flight and lag; each pool with its limits, spend and
 * policy; each model's circuit. */
export async function queuePage(main, { signal }) {
  const body = h("div");
  fill(main, h("h1", {}, "Queue & pools"), body);
  await refreshing(signal, 3000, async () => {
    const [stats, pools] = await Promise.all([api("/v1/queue/stats", { signal }), api("/v1/pools", { signal })]);
    const swaps = await Promise.all(pools.pools.map((p) => api(`/v1/pools/${encodeURIComponent(p.name)}/swaps`, { signal }).catch(() => ({ events: [] }))));
    const history = pools.pools.flatMap((p, i) => swaps[i].events.map((e) => ({ pool: p.name, ...e })));
    fill(
      body,
      h("div", { class: "grid" },
        card("Ready", stats.depth),
        card("In flight", stats.inflight),
        card("Delayed", stats.delayed),
        card("Dead letters", stats.dlq),
        card("Oldest ready waits", span((stats.oldest_ready_lag_seconds || 0) * 1000))),
      table("Pools", [
        ["Pool", (p) => h("strong", {}, p.name)],
        ["Active / max", (p) => `${p.active} / ${p.max_concurrent}`, { num: true }],
        ["Queued", (p) => p.queued, { num: true }],
        ["Cost today", (p) => `$${p.cost_today_usd.toFixed(4)}${p.cost_limit_daily_usd != null ? ` of $${p.cost_limit_daily_usd}` : ""}`, { num: true }],
        ["Rate limit", (p) => (p.rate_limit ? `${p.rate_limit[0]}/min, burst ${p.rate_limit[1]}` : "none")],
        ["When full", (p) => p.on_exhausted],
        ["Policy in force", (p) => [p.policy || "priority order", p.policy_swapped ? h("span", { class: "badge s-running" }, " swapped") : null, p.policy_sha256 ? h("div", { class: "muted mono" }, p.policy_sha256.slice(0, 16)) : null]],
        ["Configured", (p) => p.configured_policy || "–"],
      ], pools.pools, "No pools."),
      table("Policy swaps (the ledger stream @pool:<name>)", [
        ["Pool", (e) => e.pool],
        ["When", (e) => when(e.time_ms)],
        ["Name", (e) => e.payload.name || "–"],
        ["From", (e) => h("code", {}, String(e.payload.old_sha256 || "–").slice(0, 16))],
        ["To", (e) => h("code", {}, String(e.payload.new_sha256 || "").slice(0, 16))],
        ["Event", (e) => e.type],
      ], history.reverse(), "No pool policy was swapped at run time."),
      table("Model circuits", [
        ["Model", (c) => c.model],
        ["State", (c) => badge(c.state)],
        ["Failures in a row", (c) => c.consecutive_failures, { num: true }],
        ["Half-open at", (c) => (c.half_open_at_ms ? when(c.half_open_at_ms) : "–")],
      ], pools.circuits, "No model has been called since the daemon started."),
    );
  });
}

/** Dead letters with their reason; requeue, or purge after a confirmation. */
export async function deadLettersPage(main, { signal }) {
  const body = h("div");
  fill(main, h("h1", {}, "Dead letters"), body);
  const draw = async () => {
    const { dead_letters: letters } = await api("/v1/dlq", { signal });
    fill(body, table(null, [
      ["Task", (d) => d.task, { num: true }],
      ["Run", (d) => runLink(d.run)],
      ["Step", (d) => d.step],
      ["Reason", (d) => h("span", { class: "mono" }, d.reason)],
      ["Since", (d) => ago(d.time_ms)],
      ["", (d) => h("div", { class: "actions" },
        actionButton("Requeue", async () => {
          await api(`/v1/dlq/${d.task}/requeue`, { method: "POST" });
          notify(`Task ${d.task} (${d.step}) requeued: it runs again.`);
          await draw();
        }, { "data-requeue": d.task }),
        actionButton("Purge…", async () => {
          if (!window.confirm(`Purge task ${d.task} (${d.step}) for good? Its run fails if it is still open.`)) return;
          const answer = await api(`/v1/dlq/${d.task}`, { method: "DELETE" });
          notify(`Task ${d.task} purged; run ${answer.run_id} is ${answer.run_status}.`);
          await draw();
        }, { class: "danger", "data-purge": d.task }))],
    ], letters, "No dead letters: every failed step was retried or its run has ended."));
  };
  await refreshing(signal, 5000, draw);
}

/** Cron schedules: next fire, last run; pause, resume, trigger. */
export async function schedulesPage(main, { signal }) {
  const body = h("div");
  fill(main, h("h1", {}, "Schedules"), body);
  const draw = async () => {
    const { schedules } = await api("/v1/schedules", { signal });
    const path = (s, verb) => `/v1/schedules/${encodeURIComponent(s.flow)}/${s.index}/${verb}`;
    fill(body, table(null, [
      ["Flow", (s) => s.flow],
      ["Cron", (s) => h("code", {}, s.cron), {}],
      ["Zone", (s) => s.timezone],
      ["State", (s) => badge(s.paused ? "paused" : "active")],
      ["Next fire", (s) => (s.paused ? "–" : when(s.next_fire_ms))],
      ["Last fire", (s) => when(s.last_fire_ms)],
      ["Last run", (s) => (s.last_run ? runLink(s.last_run) : "–")],
      ["Fires", (s) => s.fires, { num: true }],
      ["", (s) => h("div", { class: "actions" },
        actionButton(s.paused ? "Resume" : "Pause", async () => {
          await api(path(s, s.paused ? "resume" : "pause"), { method: "POST" });
          await draw();
        }),
        actionButton("Trigger now", async () => {
          const fired = await api(path(s, "trigger"), { method: "POST" });
          notify(`Triggered: run ${fired.run_id}`);
          await draw();
        }))],
    ], schedules, "No flow has a cron schedule."));
  };
  await refreshing(signal, 5000, draw);
}

/** Connected workers, their slots and what each runs. */
export async function workersPage(main, { signal }) {
  const body = h("div");
  fill(main, h("h1", {}, "Workers"), body);
  await refreshing(signal, 3000, async () => {
    const w = await api("/v1/workers", { signal });
    const byWorker = new Map();
    for (const s of w.remote) (byWorker.get(s.worker) || byWorker.set(s.worker, []).get(s.worker)).push(s);
    fill(
      body,
      h("div", { class: "grid" },
        card("In-process workers", w.in_process),
        card("Remote workers", byWorker.size),
        card("Remote slots", w.remote.length)),
      table("Remote worker slots (heard from in the last 90 s)", [
        ["Worker", (s) => s.worker],
        ["Slot", (s) => h("code", {}, s.owner)],
        ["Last heard", (s) => `${span(s.seen_ms_ago)} ago`],
        ["Runs", (s) => (s.running ? [runLink(s.running.run), ` ${s.running.step} (attempt ${s.running.attempt})`] : h("span", { class: "muted" }, "idle"))],
      ], w.remote, "No remote worker has asked for work in the last 90 s."),
      table("Running in the daemon's own workers", [
        ["Task", (t) => t.task, { num: true }],
        ["Run", (t) => runLink(t.run)],
        ["Step", (t) => t.step],
        ["Pool", (t) => t.pool],
        ["Since", (t) => ago(t.since_ms)],
      ], w.in_process_running, "Nothing running in-process."),
    );
  });
}

