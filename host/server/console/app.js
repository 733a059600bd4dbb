// The console's entry point: who is signed in, the sign-in page, and the
// router that draws the page the address names (links change the address
// without a reload; Back and Forward work).

import { api, ApiError, setCsrf } from "./api.js";
import { h, fill, notify } from "./ui.js";
import { runsPage } from "./runs.js";
import { runPage } from "./run.js";
import { queuePage, deadLettersPage, schedulesPage, workersPage } from "./ops.js";
import { costsPage } from "./costs.js";

const routes = [
  [/^\/(runs)?$/, "runs", runsPage],
  [/^\/runs\/([^/]+)$/, "runs", runPage],
  [/^\/queue$/, "queue", queuePage],
  [/^\/dead-letters$/, "dead-letters", deadLettersPage],
  [/^\/schedules$/, "schedules", schedulesPage],
  [/^\/costs$/, "costs", costsPage],
  [/^\/workers$/, "workers", workersPage],
];

let session = null;
let current = null;

/** Goes to `path` in the console without reloading the page. */
export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState({}, "", path);
  render();
}

async function loadSession() {
  try {
    session = await api("/console/session");
    setCsrf(session.csrf);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) session = null;
    else throw e;
  }
}

function drawWho() {
  const who = document.getElementById("who");
  const admin = session && session.role === "admin";
  for (const li of document.querySelectorAll("[data-admin]")) li.hidden = !admin;
  if (!session) return fill(who);
  const label = session.role === "tenant" ? `tenant ${session.tenant}` : session.role;
  fill(
    who,
    h("span", {}, `${label} · token ${session.token}`),
    session.auth
      ? h("button", {
          type: "button",
          onclick: async () => {
            await api("/console/session", { method: "DELETE" });
            session = null;
            setCsrf("");
            navigate("/sign-in");
          },
        }, "Sign out")
      : null,
  );
}

function signInPage(main) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true });
  const message = h("div", { role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        fill(message);
        try {
          await api("/console/sign-in", { method: "POST", body: { token: input.value } });
          input.value = "";
          await loadSession();
          navigate("/runs");
        } catch (e) {
          fill(message, h("p", { class: "error" }, e.message));
        }
      },
    },
    h("label", { for: "token" }, "API token", input),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    message,
  );
  fill(
    main,
    h("section", { class: "signin" },
      h("h1", {}, "Sign in to weft"),
      h("p", { class: "muted" }, "Use an API token from weft.yaml: a tenant token shows that tenant's runs; an admin token shows everything. The token stays in a cookie scripts cannot read."),
      form),
  );
  input.focus();
}

async function render() {
  if (current) current.abort();
  current = new AbortController();
  const signal = current.signal;
  const main = document.getElementById("main");
  notify("");
  const path = location.pathname;
  if (!session && path !== "/sign-in") {
    history.replaceState({}, "", "/sign-in");
    return render();
  }
  drawWho();
  if (path === "/sign-in") {
    if (session) {
      history.replaceState({}, "", "/runs");
      return render();
    }
    markNav(null);
    return signInPage(main);
  }
  for (const [pattern, nav, page] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    markNav(nav);
    fill(main, h("p", { class: "muted" }, "Loading…"));
    try {
      await page(main, { session, signal, navigate, params: match.slice(1).map(decodeURIComponent), query: new URLSearchParams(location.search) });
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) {
        session = null;
        return navigate("/sign-in");
      }
      fill(main, h("p", { class: "error", role: "alert" }, e.message || String(e)));
    }
    return;
  }
  markNav(null);
  fill(main, h("h1", {}, "Not found"), h("p", {}, "No console page at this address. ", h("a", { href: "/runs", "data-link": true }, "See the runs.")));
}

function markNav(page) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("a.skip")) {
    // The skip link moves the focus only; following `#main` would change the
    // address and redraw the page.
    event.preventDefault();
    document.getElementById("main").focus();
    return;
  }
  const a = event.target.closest && event.target.closest("a[data-link]");
  if (!a || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
  document.getElementById("main").focus();
});
window.addEventListener("popstate", render);

loadSession()
  .then(render)
  .catch((e) => fill(document.getElementById("main"), h("p", { class: "error" }, `The daemon did not answer: ${e.message}`)));
