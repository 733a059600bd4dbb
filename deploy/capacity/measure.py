#!/usr/bin/env python3
"""Capacity of a daemon + N `weft worker` processes on a slow step (docs/deploy.md,
"Capacity planning").

Makes a throwaway project whose one flow has one step, the `slow-agent` test
plugin (a journaled model call to `mock-model`, then a sleep of --sleep-ms),
starts `weft daemon --workers 0 --no-auth --no-index` on a loopback port and N
`weft worker --concurrency C` processes, submits --runs runs from --clients
threads (all queued first), waits for every one, and prints the throughput against the ideal
N × C / step time. Everything it starts is stopped at the end.

  python3 deploy/capacity/measure.py --weft target/release/weft --plugins plugins/dist \
      --workers 2 --concurrency 8 --sleep-ms 200 --runs 400
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def call(url: str, body: dict | None = None, timeout: float = 60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        total = 0.0
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", required=True)
    ap.add_argument("--plugins", required=True, help="a folder with slow-agent.wasm and mock-model.wasm")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--sleep-ms", type=int, default=200)
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--port", type=int, default=17979)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    plugins = Path(a.plugins).resolve()
    for p in ("slow-agent.wasm", "mock-model.wasm"):
        if not (plugins / p).is_file():
            sys.exit(f"measure: no {plugins / p} (scripts/build-plugins.sh builds it)")
    url = f"http://127.0.0.1:{a.port}"
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="weft-capacity-") as tmp:
        root = Path(tmp)
        (root / "flows").mkdir()
        (root / "plugins").mkdir()
        for p in ("slow-agent.wasm", "mock-model.wasm"):  # weft.yaml takes relative paths only
            (root / "plugins" / p).write_bytes((plugins / p).read_bytes())
        (root / "weft.yaml").write_text(f"""
id_prefix: cap
plugins:
  slow-agent: {{ path: plugins/slow-agent.wasm, kind: step }}
  mock-model: {{ path: plugins/mock-model.wasm, kind: model }}
models:
  mock: {{ adapter: mock-model, config: {{}} }}
pools:
  default: {{ max_concurrent: 4096 }}
state: .weft
""")
        (root / "flows/slow.yaml").write_text(f"""
id: slow
version: 1
steps:
  work:
    uses: slow-agent
    model: mock
    timeout: 60s
    with: {{ sleep_ms: {a.sleep_ms} }}
""")
        log = open(root / "daemon.log", "w")
        try:
            procs.append(subprocess.Popen(
                [a.weft, "daemon", "--listen", f"127.0.0.1:{a.port}", "--workers", "0", "--no-auth", "--no-index"],
                cwd=root, stdout=log, stderr=subprocess.STDOUT))
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.exit("measure: the daemon did not start:\n" + (root / "daemon.log").read_text())
            wlog = open(root / "workers.log", "w")
            for i in range(a.workers):
                procs.append(subprocess.Popen(
                    [a.weft, "worker", "--daemon", url, "--concurrency", str(a.concurrency), "--instance-id", f"w{i}"],
                    cwd=root, stdout=wlog, stderr=subprocess.STDOUT))
            # Warm up: one run through every worker's compile of the plugin.
            warm = [call(f"{url}/v1/runs", {"flow": "slow", "input": {}})["run_id"] for _ in range(a.workers * a.concurrency)]
            for r in warm:
                call(f"{url}/v1/runs/{r}?wait=60", timeout=90)
            completed0 = metric(url, "weft_tasks_completed_total")
            t0 = time.monotonic()

            def submit(_: int) -> str:
                return call(f"{url}/v1/runs", {"flow": "slow", "input": {}})["run_id"]

            def wait(rid: str) -> tuple[float, str]:
                while True:
                    got = call(f"{url}/v1/runs/{rid}?wait=30", timeout=60)
                    if got["run"]["status"] not in ("queued", "running"):
                        return time.monotonic(), got["run"]["status"]

            # The whole burst is queued first, so that the workers, not the
            # clients, are what limits the rate.
            with concurrent.futures.ThreadPoolExecutor(a.clients) as pool:
                ids = list(pool.map(submit, range(a.runs)))
                submitted = time.monotonic() - t0
                ends = list(pool.map(wait, ids))
            elapsed = max(t for t, _ in ends) - t0
            statuses = {s for _, s in ends}
            done = metric(url, "weft_tasks_completed_total") - completed0
            step_sum = metric(url, "weft_step_duration_seconds_sum")
            step_count = metric(url, "weft_step_duration_seconds_count")
        finally:
            for p in reversed(procs):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in reversed(procs):
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
    slots = a.workers * a.concurrency
    ideal = slots / (a.sleep_ms / 1000) if a.sleep_ms else float("inf")
    result = {
        "workers": a.workers, "concurrency": a.concurrency, "slots": slots, "sleep_ms": a.sleep_ms,
        "runs": a.runs, "clients": a.clients, "submit_s": round(submitted, 2), "statuses": sorted(statuses), "seconds": round(elapsed, 2),
        "steps_per_s": round(a.runs / elapsed, 1), "ideal_steps_per_s": round(ideal, 1),
        "efficiency": round(a.runs / elapsed / ideal, 3) if ideal != float("inf") else None,
        "mean_step_s": round(step_sum / step_count, 4) if step_count else None,
        "tasks_completed": int(done),
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 0 if statuses == {"succeeded"} else 1


if __name__ == "__main__":
    sys.exit(main())
