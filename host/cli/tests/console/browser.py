"""The console's checks in a real headless Chromium, driven by Playwright.

Called by host/cli/tests/console_browser.rs with one argument: JSON facts about
the daemon it started (URL, tokens, run ids). Prints `ok <check>` for each check
that passed; any failure raises (non-zero exit) with what was on the page.
Waits are Playwright's auto-waiting `expect` (it polls the page until the
condition holds, up to a timeout), never fixed sleeps.
"""

import json
import re
import sys
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

facts = json.loads(sys.argv[1])
URL = facts["url"]
SHOTS = Path(facts["shots"])
TOKENS = facts["tokens"]
expect.set_options(timeout=30_000)


def ok(name):
    print(f"ok {name}", flush=True)


def api(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        URL + path,
        method=method,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def new_page(browser, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

    def on_console(message):
        # A refused request is logged by the browser itself; the page shows it.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    return context, page


def sign_in(page, token):
    """Signs in with the keyboard alone: the token field has the focus, Enter
    submits."""
    page.goto(URL + "/")
    expect(page).to_have_url(URL + "/sign-in")
    expect(page.locator("#token")).to_be_focused()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(URL + "/runs")


# WCAG's contrast ratio of every text element's colour against the background
# it is drawn on (the nearest ancestor with an opaque one); the lowest ones.
LOW_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("main *, header *")) {
    if (!el.childNodes.length || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (el.closest("svg") || el.offsetParent === null) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${el.textContent.trim().slice(0, 30)}"`);
  }
  return low;
}"""


def main():
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=facts["chromium"], args=["--no-sandbox", "--disable-gpu"]
        )
        tenant, page = new_page(browser, errors)

        # Sign-in: a wrong token is refused; the right one lands on the runs,
        # kept in an HttpOnly, SameSite=Strict cookie that scripts cannot read.
        page.goto(URL + "/")
        expect(page).to_have_url(URL + "/sign-in")
        page.fill("#token", "weft_not-a-token-anyone-has")
        page.click("button[type=submit]")
        expect(page.locator(".signin .error")).to_contain_text("unknown API token")
        page.fill("#token", TOKENS["acme"])
        page.click("button[type=submit]")
        expect(page).to_have_url(URL + "/runs")
        session = [c for c in tenant.cookies() if c["name"] == "weft_session"]
        assert session, tenant.cookies()
        assert session[0]["httpOnly"] and session[0]["sameSite"] == "Strict", session
        assert "weft_session" not in page.evaluate("document.cookie")
        assert TOKENS["acme"] not in page.url
        expect(page.locator("#who")).to_contain_text("tenant acme")
        ok("sign-in")

        # The tenant sees its own runs and not another tenant's, in the list
        # and by address.
        runs = page.locator("#runs-list")
        for run in facts["acme_runs"]:
            expect(runs).to_contain_text(run)
        expect(runs).to_contain_text(facts["failed_run"])
        expect(runs).not_to_contain_text(facts["globex_run"])
        page.screenshot(path=str(SHOTS / "runs.png"), full_page=True)
        page.goto(URL + "/runs/" + facts["globex_run"])
        expect(page.locator("main .error")).to_contain_text("no run")
        ok("tenant-scope")

        # A failed run: its graph marks the failed step, its error shows, and
        # its ledger verifies with the head hash shown.
        page.goto(URL + "/runs/" + facts["failed_run"])
        step = facts["failed_step"]
        node = page.locator(f'svg g.node[data-step="{step}"]')
        expect(node).to_have_attribute("data-state", re.compile("^(failed|dead)$"))
        expect(page.locator('svg g.node[data-step="prep"]')).to_have_attribute("data-state", "done")
        expect(page.locator("h1 .badge")).to_have_text("failed")
        expect(page.locator("#run-error")).to_contain_text(step)
        expect(page.locator(f'details[data-step="{step}"] .step-error')).to_contain_text(
            "fail permanently"
        )
        page.click("#verify")
        events = api("GET", f"/v1/runs/{facts['failed_run']}/events", TOKENS["acme"])["events"]
        expect(page.locator("#verify-result")).to_contain_text("Verified")
        expect(page.locator("#verify-result")).to_contain_text(events[-1]["hash"])
        page.screenshot(path=str(SHOTS / "run.png"), full_page=True)
        ok("failed-run")

        # A run started while the list is open appears without a reload.
        page.goto(URL + "/runs")
        expect(runs).to_contain_text(facts["acme_runs"][0])
        page.evaluate("window.__stillTheSamePage = true")
        started = api("POST", "/v1/runs", TOKENS["acme"], {"flow": "chain", "input": {"n": 42}})
        expect(runs).to_contain_text(started["run_id"])
        assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"
        ok("live")

        # A state-changing request with the session cookie but without the CSRF
        # proof is refused; with the proof it reaches the handler.
        refused = tenant.request.post(f"{URL}/v1/runs/{started['run_id']}/cancel")
        assert refused.status == 403, (refused.status, refused.text())
        assert "CSRF" in refused.text(), refused.text()
        proof = tenant.request.get(f"{URL}/console/session").json()["csrf"]
        allowed = tenant.request.post(
            f"{URL}/v1/runs/{started['run_id']}/cancel", headers={"X-Weft-Csrf": proof}
        )
        assert allowed.status in (200, 409), (allowed.status, allowed.text())
        forged = tenant.request.post(
            f"{URL}/v1/runs/{started['run_id']}/cancel", headers={"X-Weft-Csrf": "0" * 64}
        )
        assert forged.status == 403, (forged.status, forged.text())
        ok("csrf")

        # An admin requeues the dead letter from the console; its run finishes.
        admin, page = new_page(browser, errors)
        sign_in(page, TOKENS["admin"])
        page.goto(URL + "/dead-letters")
        requeue = page.locator(f'button[data-requeue="{facts["dead_task"]}"]')
        expect(requeue).to_be_visible()
        page.screenshot(path=str(SHOTS / "dead-letters.png"), full_page=True)
        requeue.click()
        expect(page.locator("#notice")).to_contain_text("requeued")
        page.goto(URL + "/runs/" + facts["dead_run"])
        expect(page.locator("h1 .badge")).to_have_text("succeeded")
        ok("requeue")

        # Every other page draws from the API without an error.
        for name, ready in [
            ("queue", "Pools"),
            ("schedules", "0 0 0 1 1 *"),
            ("costs", "Total:"),
            ("workers", "In-process workers"),
        ]:
            page.goto(f"{URL}/{name}")
            expect(page.locator("main")).to_contain_text(ready)
            expect(page.locator("main .error")).to_have_count(0)
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
            low = page.evaluate(LOW_CONTRAST)
            assert not low, f"{name}: text below a 4.5:1 contrast: {low}"
        # The keyboard reaches the skip link first, and it moves the focus to
        # the page's content.
        page.goto(URL + "/runs")
        expect(page.locator("#runs-list")).to_contain_text(facts["dead_run"])
        assert not page.evaluate(LOW_CONTRAST), page.evaluate(LOW_CONTRAST)
        page.keyboard.press("Tab")
        expect(page.locator("a.skip")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#main")).to_be_focused()
        # A tenant is not shown the operators' pages.
        tenant_page = tenant.pages[0]
        tenant_page.goto(URL + "/runs")
        expect(tenant_page.locator('#nav a[data-page="queue"]')).to_be_hidden()
        ok("pages")

        browser.close()
    assert not errors, "\n".join(errors)


if __name__ == "__main__":
    main()
