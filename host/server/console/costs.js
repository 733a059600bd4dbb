// Spend per day, tenant, pool and model: a bar chart of each day's total and
// a table grouped by the chosen field.

import { api } from "./api.js";
import { h, fill, svg, table, usd } from "./ui.js";

/** Draws the costs page. */
export async function costsPage(main, { signal, query }) {
  const since = query.get("since") || "";
  const group = query.get("group") || "tenant";
  const data = await api("/v1/costs", { signal, query: { since } });
  const form = h("form", { class: "filters", method: "get", action: "/costs" },
    h("label", { for: "c-since" }, "From day", h("input", { id: "c-since", name: "since", type: "date", value: since })),
    h("label", { for: "c-group" }, "Group by",
      h("select", { id: "c-group", name: "group" }, ["tenant", "pool", "model", "day"].map((g) => h("option", { value: g, selected: g === group }, g)))),
    h("button", { type: "submit", class: "primary" }, "Show"));
  const days = new Map();
  const groups = new Map();
  for (const r of data.rows) {
    days.set(r.day, (days.get(r.day) || 0) + r.micro_usd);
    const key = r[group];
    const g = groups.get(key) || { key, calls: 0, input_tokens: 0, output_tokens: 0, micro_usd: 0 };
    g.calls += r.calls;
    g.input_tokens += r.input_tokens;
    g.output_tokens += r.output_tokens;
    g.micro_usd += r.micro_usd;
    groups.set(key, g);
  }
  fill(
    main,
    h("h1", {}, "Costs"),
    form,
    h("p", {}, `Total: ${usd(data.total.micro_usd)} over ${data.total.calls} model calls (${data.total.input_tokens} tokens in, ${data.total.output_tokens} out).`),
    chart([...days.entries()].sort()),
    table(`Spend by ${group}`, [
      [group, (g) => g.key],
      ["Calls", (g) => g.calls, { num: true }],
      ["Tokens in", (g) => g.input_tokens, { num: true }],
      ["Tokens out", (g) => g.output_tokens, { num: true }],
      ["Spend", (g) => usd(g.micro_usd), { num: true }],
    ], [...groups.values()].sort((a, b) => b.micro_usd - a.micro_usd), "No model call has been charged yet."),
  );
}

function chart(days) {
  if (!days.length) return null;
  const max = Math.max(...days.map(([, v]) => v), 1);
  const BAR = 28, GAP = 8, H = 140;
  const width = 60 + days.length * (BAR + GAP);
  const bars = days.map(([day, v], i) => {
    const height = Math.max(1, (v / max) * H);
    const x = 50 + i * (BAR + GAP);
    return svg("g", {},
      svg("rect", { x, y: 10 + H - height, width: BAR, height, fill: "#218bff" }, svg("title", {}, `${day}: ${usd(v)}`)),
      svg("text", { x: x + BAR / 2, y: H + 26, "text-anchor": "middle" }, day.slice(5)));
  });
  return h("div", { class: "figure" },
    svg("svg", { width, height: H + 36, role: "img", "aria-label": `Spend per day: ${days.map(([d, v]) => `${d} ${usd(v)}`).join(", ")}` },
      svg("text", { x: 4, y: 18 }, usd(max)),
      svg("line", { x1: 48, y1: 10, x2: 48, y2: H + 10, stroke: "#8c959f" }),
      bars));
}
