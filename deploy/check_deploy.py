#!/usr/bin/env python3
"""The offline checks of deploy/ (run by scripts/check-deploy.sh, which installs
what they need): the Kubernetes overlays rendered and validated, the KEDA and
HPA autoscalers against the scaling rule, the Compose file, the Prometheus
rules, the Grafana dashboard, the Containerfile, and that everything they
mount, probe or pass on a command line exists in the repo, the daemon's router
and `weft --help`.

Every failed check is printed as `FAIL <check>: <why>`; the exit code is 1 if
any failed. Usage: check_deploy.py REPO (tool paths from the environment:
KUBECTL, KUBERNETES_VALIDATE, PODMAN_COMPOSE, PROMTOOL, WEFT_BIN, K8S_VERSION).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

REPO = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
K8S_VERSION = os.environ.get("K8S_VERSION", "1.32.0")
FAILURES: list[str] = []
PASSED: list[str] = []


def fail(check: str, why: str) -> None:
    FAILURES.append(f"{check}: {why}")
    print(f"FAIL {check}: {why}", flush=True)


def ok(check: str) -> None:
    PASSED.append(check)


def check(name: str, cond: bool, why: str) -> bool:
    if cond:
        ok(name)
    else:
        fail(name, why)
    return cond


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def seconds(text: str | int) -> float:
    """A weft duration (`30s`, `1m30s`, `1.5s`, `250ms`, `7d`) in seconds, in the
    grammar of host/flow/src/duration.rs; a bare number (compose, Kubernetes) is
    seconds."""
    t = str(text).strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return float(t)
    part = r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)"
    if not re.fullmatch(rf"(?:\s*{part})+", t):
        raise ValueError(f"not a duration: {text!r}")
    size = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * size[u] for n, u in re.findall(part, t))


def flag_value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return str(args[i + 1])
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


# ---------------------------------------------------------------- sources of truth


def router_paths() -> set[str]:
    text = (REPO / "host/server/src/lib.rs").read_text()
    return set(re.findall(r'\.route\(\s*"([^"]+)"', text))


def metric_names() -> set[str]:
    """The metrics the daemon exports: its one list of declarations
    (`declare_metrics!` in host/server/src/metrics/decls.rs)."""
    text = (REPO / "host/server/src/metrics/decls.rs").read_text()
    block = re.search(r"^declare_metrics! \{(.*?)^\}", text, re.S | re.M)
    if not block:
        return set()
    return set(re.findall(r'^\s*\w+: \w+ = "(weft_[a-z_]+)"', block.group(1), re.M))


def scale_defaults() -> dict[str, float]:
    """The defaults of `weft workers start`'s scaling knobs (cli_workers.rs)."""
    text = (REPO / "host/cli/src/cli_workers.rs").read_text()
    out: dict[str, float] = {}
    for attr, field in re.findall(r"#\[arg\(([^\]]*)\)\]\s*(?:///[^\n]*\n\s*)*pub (\w+):", text):
        m = re.search(r'default_value(?:_t)? = "?([^",)]+)"?', attr)
        if m:
            try:
                out[field] = seconds(m.group(1)) if "parse_duration" in attr else float(m.group(1))
            except ValueError:
                pass
    return out


def weft_help() -> dict[str, set[str]] | None:
    """The long flags of each subcommand the deploy files run, from `weft SUB --help`."""
    candidates = [os.environ.get("WEFT_BIN", "")]
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    candidates += [f"{target}/release/weft", f"{target}/debug/weft"]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            flags: dict[str, set[str]] = {}
            for sub in ["daemon", "worker"]:
                r = run([c, sub, "--help"])
                if r.returncode != 0:
                    fail("weft --help", f"`{c} {sub} --help` exited {r.returncode}: {r.stderr.strip()}")
                    return None
                flags[sub] = set(re.findall(r"(--[a-z][a-z0-9-]*)", r.stdout))
            print(f"  flags checked against `{c} daemon|worker --help`")
            return flags
    return None


def source_flags() -> dict[str, set[str]]:
    """The long flags of `weft daemon` / `weft worker` from their clap structs."""
    text = (REPO / "host/cli/src/cli_service.rs").read_text()
    out = {}
    for sub, struct in [("daemon", "DaemonArgs"), ("worker", "WorkerArgs")]:
        body = re.search(rf"pub struct {struct} \{{(.*?)\n\}}", text, re.S).group(1)
        out[sub] = {"--" + f.replace("_", "-") for f in re.findall(r"pub (\w+):", body)}
    return out


HELP = weft_help()
FLAGS = HELP if HELP is not None else source_flags()
if HELP is None:
    print("  no weft binary found (WEFT_BIN, $CARGO_TARGET_DIR/{release,debug}/weft): flags checked against host/cli/src/cli_service.rs")


def check_flags(where: str, args: list[str]) -> None:
    args = [str(a) for a in args]
    if not args or args[0] not in FLAGS:
        fail(f"{where} command", f"runs `weft {' '.join(args[:1])}`, expected daemon or worker")
        return
    for a in args[1:]:
        if a.startswith("--"):
            flag = a.split("=", 1)[0]
            check(f"{where} flag {flag}", flag in FLAGS[args[0]], f"`weft {args[0]}` has no {flag}")


# ---------------------------------------------------------------- weft.yaml copies


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


REPO_PROJECT = load_yaml(REPO / "weft.yaml")


def check_project_copy(where: str, text: str, postgres: bool) -> dict:
    cfg = yaml.safe_load(text)
    core = {k: v for k, v in cfg.items() if k not in ("state", "auth", "store", "tenants")}
    base = {k: v for k, v in REPO_PROJECT.items() if k != "state"}
    check(f"{where} = weft.yaml", core == base,
          "differs from the repo's weft.yaml in more than state/auth/store: "
          + ", ".join(sorted(k for k in set(core) | set(base) if core.get(k) != base.get(k))))
    check(f"{where} state", cfg.get("state") == "/var/lib/weft", f"state is {cfg.get('state')!r}, expected /var/lib/weft")
    store = cfg.get("store")
    if postgres:
        check(f"{where} store", store == {"backend": "postgres", "url_env": "WEFT_DATABASE_URL"},
              f"store is {store!r}, expected postgres with url_env WEFT_DATABASE_URL")
    else:
        check(f"{where} store", store in (None, {"backend": "redb"}), f"store is {store!r}, expected the embedded one")
    return cfg


def token_hashes(cfg: dict) -> dict[str, set[str]]:
    auth = cfg.get("auth") or {}
    return {role: {t["sha256"] for t in auth.get(f"{role}_tokens", [])} for role in ("admin", "worker")}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- Kubernetes

KEDA_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "additionalProperties": False, "required": ["name"],
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "name": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "idleReplicaCount": {"type": "integer"},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "fallback": {"type": "object"},
                "advanced": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "scalingModifiers": {"type": "object"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "behavior": {"$ref": "#/$defs/behavior"}},
                        },
                    },
                },
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object", "additionalProperties": False, "required": ["type", "metadata"],
                        "properties": {
                            "type": {"type": "string"}, "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {"type": "object"},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "rules": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "stabilizationWindowSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
                "selectPolicy": {"enum": ["Max", "Min", "Disabled"]},
                "tolerance": {},
                "policies": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["type", "value", "periodSeconds"],
                    "properties": {"type": {"enum": ["Pods", "Percent"]}, "value": {"type": "integer", "minimum": 1},
                                   "periodSeconds": {"type": "integer", "minimum": 1, "maximum": 1800}}}},
            },
        },
        "behavior": {"type": "object", "additionalProperties": False,
                     "properties": {"scaleUp": {"$ref": "#/$defs/rules"}, "scaleDown": {"$ref": "#/$defs/rules"}}},
    },
}
PROMETHEUS_TRIGGER_KEYS = {"serverAddress", "query", "threshold"}


def kustomize(path: Path) -> list[dict] | None:
    kubectl = os.environ.get("KUBECTL", "kubectl")
    r = run([kubectl, "kustomize", str(path)])
    if not check(f"kustomize {path.relative_to(REPO)}", r.returncode == 0, r.stderr.strip()):
        return None
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def validate_core(name: str, docs: list[dict]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump_all(docs, f)
    r = run([os.environ.get("KUBERNETES_VALIDATE", "kubernetes-validate"), "-k", K8S_VERSION, "--strict", "--quiet", f.name])
    os.unlink(f.name)
    core = [d for d in docs if "keda.sh" not in d["apiVersion"]]
    check(f"kubernetes-validate {name} ({len(core)} objects, k8s {K8S_VERSION}, strict)", r.returncode == 0,
          (r.stdout + r.stderr).strip())


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str, name: str) -> dict | None:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"].startswith(name):
            return d
    return None


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def check_references(name: str, docs: list[dict]) -> None:
    """Every Secret and ConfigMap a pod uses exists in the render (or is optional)."""
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for w in docs:
        if w["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = pod_spec(w)
        refs = []
        for v in spec.get("volumes", []):
            if "configMap" in v:
                refs.append(("ConfigMap", v["configMap"]["name"], v["configMap"].get("optional", False)))
            if "secret" in v:
                refs.append(("Secret", v["secret"]["secretName"], v["secret"].get("optional", False)))
        for c in spec["containers"]:
            for e in c.get("env", []):
                src = e.get("valueFrom", {})
                if "secretKeyRef" in src:
                    refs.append(("Secret", src["secretKeyRef"]["name"], src["secretKeyRef"].get("optional", False)))
                if "configMapKeyRef" in src:
                    refs.append(("ConfigMap", src["configMapKeyRef"]["name"], src["configMapKeyRef"].get("optional", False)))
            for e in c.get("envFrom", []):
                for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    if key in e:
                        refs.append((kind, e[key]["name"], e[key].get("optional", False)))
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"] for v in spec.get("volumes", [])} | {
                t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
            check(f"{name} {w['metadata']['name']} mounts", mounts <= vols, f"mounts {sorted(mounts - vols)} that no volume defines")
        for kind, ref, optional in refs:
            check(f"{name} {w['metadata']['name']} uses {kind} {ref}", optional or (kind, ref) in have,
                  f"{kind} {ref} is not in the render")


def check_probes(name: str, container: dict, paths: set[str]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        p = container.get(probe)
        if not check(f"{name} {probe}", p is not None, "missing"):
            continue
        get = p.get("httpGet", {})
        check(f"{name} {probe} path {get.get('path')}", get.get("path") in paths,
              f"{get.get('path')} is not a route of host/server/src/lib.rs (routes: {sorted(p for p in paths if not p.startswith('/v1'))})")
        check(f"{name} {probe} port", get.get("port") in ports or get.get("port") in ports.values(),
              f"port {get.get('port')} is not a container port")
    check(f"{name} liveness on /healthz", (container.get("livenessProbe") or {}).get("httpGet", {}).get("path") == "/healthz", "liveness must be /healthz")
    check(f"{name} readiness on /readyz", (container.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz", "readiness must be /readyz")


def check_security(name: str, workload: dict) -> None:
    spec = pod_spec(workload)
    psc = spec.get("securityContext", {})
    check(f"{name} runs as non-root", psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"pod securityContext {psc}")
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        check(f"{name} {c['name']} hardened",
              sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
              and sc.get("capabilities", {}).get("drop") == ["ALL"], f"container securityContext {sc}")


def check_daemon(name: str, docs: list[dict], kind: str, paths: set[str]) -> dict | None:
    w = one(docs, kind, "weft-daemon")
    if not check(f"{name} daemon is a {kind}", w is not None, f"no {kind} weft-daemon"):
        return None
    c = pod_spec(w)["containers"][0]
    check_flags(f"{name} daemon", c["args"])
    check_probes(f"{name} daemon", c, paths)
    check_security(f"{name} daemon", w)
    check(f"{name} daemon has no in-process workers", flag_value(c["args"], "--workers") == "0",
          "the scaling rule assumes --workers 0 (weft_workers_live then counts remote slots only)")
    listen = flag_value(c["args"], "--listen") or ""
    metrics = flag_value(c["args"], "--metrics-listen") or ""
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(f"{name} daemon listens on all addresses", listen.startswith("0.0.0.0:"), f"--listen {listen}")
    check(f"{name} daemon ports", ports.get("http") == int(listen.rsplit(":", 1)[-1] or 0)
          and ports.get("metrics") == int(metrics.rsplit(":", 1)[-1] or 0), f"ports {ports} vs --listen {listen} --metrics-listen {metrics}")
    stop = c.get("lifecycle", {}).get("preStop", {})
    pre = stop.get("sleep", {}).get("seconds", 0)
    check(f"{name} daemon preStop", pre > 0, "no preStop delay: the Service would still send requests to a stopping daemon")
    grace = pod_spec(w).get("terminationGracePeriodSeconds", 30)
    check(f"{name} daemon grace", grace >= pre + 30, f"terminationGracePeriodSeconds {grace} < preStop {pre} + 30")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    check(f"{name} daemon mounts weft.yaml", mounts.get("/srv/weft/weft.yaml", {}).get("subPath") == "weft.yaml", "weft.yaml is not mounted at /srv/weft/weft.yaml")
    check(f"{name} daemon mounts flows", "/srv/weft/flows" in mounts, "flows are not mounted at /srv/weft/flows")
    check(f"{name} daemon state", flag_value(c["args"], "--state") == "/var/lib/weft" and "/var/lib/weft" in mounts, "state is not /var/lib/weft on a volume")
    svc = one(docs, "Service", "weft-daemon")
    if check(f"{name} daemon Service", svc is not None, "no Service weft-daemon"):
        sel = svc["spec"]["selector"]
        labels = w["spec"]["template"]["metadata"]["labels"]
        check(f"{name} Service selects the daemon", all(labels.get(k) == v for k, v in sel.items()), f"selector {sel} vs labels {labels}")
        check(f"{name} Service ports", {p["targetPort"] for p in svc["spec"]["ports"]} <= set(ports), "a Service targetPort is not a daemon port")
    return c


def check_workers(name: str, docs: list[dict]) -> tuple[dict, dict] | None:
    w = one(docs, "Deployment", "weft-worker")
    if not check(f"{name} workers", w is not None, "no Deployment weft-worker"):
        return None
    c = pod_spec(w)["containers"][0]
    args = [str(a) for a in c["args"]]
    check_flags(f"{name} workers", args)
    check_security(f"{name} workers", w)
    daemon = flag_value(args, "--daemon") or ""
    m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", daemon)
    svc = one(docs, "Service", "weft-daemon")
    check(f"{name} workers reach the Service", bool(m) and svc is not None and m.group(1) == svc["metadata"]["name"]
          and int(m.group(2)) in {p["port"] for p in svc["spec"]["ports"]}, f"--daemon {daemon}")
    drain = seconds(flag_value(args, "--drain-grace") or "30s")
    grace = pod_spec(w).get("terminationGracePeriodSeconds", 30)
    pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    check(f"{name} workers terminationGracePeriodSeconds", drain + pre + 10 <= grace <= drain + pre + 60,
          f"terminationGracePeriodSeconds {grace} does not match --drain-grace {drain:g}s (+ preStop {pre}s): it must leave 10–60 s for the leave request and the exit")
    env = {e["name"]: e for e in c.get("env", [])}
    check(f"{name} workers token", env.get("WEFT_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key") == "worker-token",
          "WEFT_TOKEN does not come from the Secret's worker-token")
    pdb = [p for p in by_kind(docs, "PodDisruptionBudget") if p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == "weft-worker"]
    check(f"{name} workers PodDisruptionBudget", len(pdb) == 1, "no PodDisruptionBudget selects the workers")
    return w, c


def check_tokens(name: str, docs: list[dict], cfg: dict) -> None:
    sec = one(docs, "Secret", "weft-tokens")
    if not check(f"{name} Secret weft-tokens", sec is not None, "missing"):
        return
    data = sec.get("stringData", {})
    hashes = token_hashes(cfg)
    check(f"{name} worker token matches weft.yaml", sha(data.get("worker-token", "")) in hashes["worker"],
          "the SHA-256 of the Secret's worker-token is not under auth.worker_tokens in the weft.yaml ConfigMap")
    check(f"{name} admin token matches weft.yaml", sha(data.get("admin-token", "")) in hashes["admin"],
          "the SHA-256 of the Secret's admin-token is not under auth.admin_tokens in the weft.yaml ConfigMap")


def check_flows_configmap(name: str, docs: list[dict]) -> None:
    cm = one(docs, "ConfigMap", "weft-flows")
    if not check(f"{name} ConfigMap weft-flows", cm is not None, "missing"):
        return
    repo_flows = {p.name: p.read_text() for p in sorted((REPO / "flows").glob("*.y*ml"))}
    check(f"{name} flows = flows/", cm["data"] == repo_flows,
          f"the ConfigMap's flows differ from flows/ (copy flows/*.yaml to deploy/kubernetes/base/project/flows/ and list them in base/kustomization.yaml): "
          f"only in ConfigMap {sorted(set(cm['data']) - set(repo_flows))}, only in flows/ {sorted(set(repo_flows) - set(cm['data']))}, "
          f"different {sorted(k for k in set(cm['data']) & set(repo_flows) if cm['data'][k] != repo_flows[k])}")


def scaling_exprs() -> dict[str, str]:
    rules = load_yaml(DEPLOY / "prometheus/scaling-rules.yaml")["groups"][0]["rules"]
    return {r["record"]: r["expr"] for r in rules}


def norm(q: str) -> str:
    return re.sub(r"\s+", "", q)


def check_autoscaling(name: str, so: dict | None, hpa: dict | None, worker: tuple[dict, dict]) -> None:
    """Both autoscalers encode the rule of docs/deploy.md with the supervisor's defaults."""
    d = scale_defaults()
    _, c = worker
    slots = float(flag_value([str(a) for a in c["args"]], "--concurrency") or 4)
    target = slots * d["up_depth_per_slot"]
    exprs = scaling_exprs()
    depth_q, lag_q = exprs["weft:queue_depth_for_scaling"], exprs["weft:queue_lag_seconds_max"]
    behavior_want = {
        "scaleUp": {"stabilizationWindowSeconds": int(d["up_after"])},
        "scaleDown": {"stabilizationWindowSeconds": int(d["down_after"]),
                      "policies": [{"type": "Pods", "value": 1, "periodSeconds": int(d["down_after"])}]},
    }

    def check_behavior(who: str, behavior: dict, max_replicas: int) -> None:
        for way, want in behavior_want.items():
            got = behavior.get(way, {})
            for k, v in want.items():
                check(f"{who} {way}.{k}", got.get(k) == v, f"is {got.get(k)!r}, the rule says {v!r}")
        ups = behavior.get("scaleUp", {}).get("policies", [])
        check(f"{who} scaleUp reaches what is wanted in one step",
              any(p["type"] == "Pods" and p["value"] >= max_replicas for p in ups) or any(p["type"] == "Percent" and p["value"] >= 100 * max_replicas for p in ups),
              "the supervisor scales straight to ceil(depth / target); a scaleUp policy must allow that")

    if so is not None:
        try:
            jsonschema.validate(so, KEDA_SCHEMA)
            ok(f"{name} ScaledObject schema")
        except jsonschema.ValidationError as e:
            fail(f"{name} ScaledObject schema", f"{e.message} at {'/'.join(map(str, e.absolute_path))}")
        spec = so["spec"]
        check(f"{name} ScaledObject target", spec["scaleTargetRef"]["name"] == worker[0]["metadata"]["name"], "does not scale the workers")
        check(f"{name} ScaledObject polling = --scale-interval", spec.get("pollingInterval", 30) == int(d["scale_interval"]), f"pollingInterval {spec.get('pollingInterval', 30)}")
        trig = {t.get("name"): t for t in spec["triggers"]}
        dt, lt = trig.get("weft-queue-depth"), trig.get("weft-queue-lag")
        if check(f"{name} ScaledObject triggers", dt is not None and lt is not None, f"triggers {sorted(trig)}"):
            for t in (dt, lt):
                check(f"{name} trigger {t['name']} is prometheus", t["type"] == "prometheus" and PROMETHEUS_TRIGGER_KEYS <= set(t["metadata"]),
                      f"type {t['type']}, metadata keys {sorted(t['metadata'])}")
            check(f"{name} depth query = scaling-rules.yaml", norm(dt["metadata"]["query"]) == norm(depth_q), "the KEDA depth query differs from weft:queue_depth_for_scaling")
            check(f"{name} depth target = slots × up-depth-per-slot", dt.get("metricType", "AverageValue") == "AverageValue" and float(dt["metadata"]["threshold"]) == target,
                  f"{dt.get('metricType')} {dt['metadata']['threshold']}, expected AverageValue {target:g}")
            check(f"{name} lag query = scaling-rules.yaml", norm(lt["metadata"]["query"]) == norm(lag_q), "the KEDA lag query differs from weft:queue_lag_seconds_max")
            check(f"{name} lag target = --up-lag", lt.get("metricType") == "Value" and float(lt["metadata"]["threshold"]) == d["up_lag"],
                  f"{lt.get('metricType')} {lt['metadata']['threshold']}, expected Value {d['up_lag']:g}")
        check_behavior(f"{name} ScaledObject", spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {}), spec.get("maxReplicaCount", 100))
    if hpa is not None:
        spec = hpa["spec"]
        check(f"{name} HPA target", spec["scaleTargetRef"]["name"] == worker[0]["metadata"]["name"], "does not scale the workers")
        metrics = {m["external"]["metric"]["name"]: m["external"]["target"] for m in spec["metrics"] if m["type"] == "External"}
        dm, lm = metrics.get("weft_queue_depth_for_scaling"), metrics.get("weft_queue_lag_seconds_max")
        if check(f"{name} HPA metrics", dm is not None and lm is not None, f"external metrics {sorted(metrics)}"):
            check(f"{name} HPA depth target", dm["type"] == "AverageValue" and float(dm["averageValue"]) == target, f"{dm}, expected AverageValue {target:g}")
            check(f"{name} HPA lag target", lm["type"] == "Value" and float(lm["value"]) == d["up_lag"], f"{lm}, expected Value {d['up_lag']:g}")
        check_behavior(f"{name} HPA", spec.get("behavior", {}), spec["maxReplicas"])
        values = load_yaml(K8S / "components/hpa/prometheus-adapter-values.yaml")
        rules = {r["name"]["as"]: r["metricsQuery"] for r in values["rules"]["external"]}
        check(f"{name} adapter depth query", norm(rules.get("weft_queue_depth_for_scaling", "")) == norm(depth_q), "prometheus-adapter's query differs from weft:queue_depth_for_scaling")
        check(f"{name} adapter lag query", norm(rules.get("weft_queue_lag_seconds_max", "")) == norm(lag_q), "prometheus-adapter's query differs from weft:queue_lag_seconds_max")
    if so is not None and hpa is not None:
        keda_b = so["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        check(f"{name} KEDA and HPA behave alike", keda_b == hpa["spec"].get("behavior")
              and so["spec"].get("minReplicaCount") == hpa["spec"].get("minReplicas")
              and so["spec"].get("maxReplicaCount") == hpa["spec"].get("maxReplicas"), "their behavior or min/max differ")


def kubernetes() -> None:
    paths = router_paths()
    renders: dict[str, list[dict]] = {}
    for overlay in ("single", "postgres"):
        docs = kustomize(K8S / "overlays" / overlay)
        if docs is not None:
            renders[overlay] = docs
    # The HPA component, as a cluster without KEDA would use it: rendered over base.
    with tempfile.TemporaryDirectory(dir=K8S, prefix=".check-") as tmp:
        Path(tmp, "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [../base]\ncomponents: [../components/hpa]\n")
        hpa_docs = kustomize(Path(tmp))
    for name, docs in renders.items():
        validate_core(f"overlays/{name}", docs)
        check_references(name, docs)
        cm = one(docs, "ConfigMap", "weft-project")
        cfg = check_project_copy(f"{name} weft.yaml ConfigMap", cm["data"]["weft.yaml"], postgres=(name == "postgres")) if cm else {}
        check_tokens(name, docs, cfg)
        check_flows_configmap(name, docs)
        workers = check_workers(name, docs)
        daemon = check_daemon(name, docs, "StatefulSet" if name == "single" else "Deployment", paths)
        if daemon is not None and name == "postgres":
            env = {e["name"]: e for e in daemon.get("env", [])}
            check("postgres daemon WEFT_DATABASE_URL", "secretKeyRef" in env.get("WEFT_DATABASE_URL", {}).get("valueFrom", {}),
                  "WEFT_DATABASE_URL does not come from a Secret")
            dep = one(docs, "Deployment", "weft-daemon")
            check("postgres 2+ daemons", dep["spec"]["replicas"] >= 2, f"replicas {dep['spec']['replicas']}")
            check("postgres daemon PodDisruptionBudget", any(p["metadata"]["name"] == "weft-daemon" for p in by_kind(docs, "PodDisruptionBudget")), "missing")
        if daemon is not None and name == "single":
            sts = one(docs, "StatefulSet", "weft-daemon")
            check("single one daemon", sts["spec"]["replicas"] == 1, "the embedded store takes one daemon")
            check("single PVC for the store", any(t["metadata"]["name"] == "state" for t in sts["spec"].get("volumeClaimTemplates", [])), "no volumeClaimTemplate `state`")
        if workers:
            so = one(docs, "ScaledObject", "weft-worker")
            check(f"{name} ScaledObject", so is not None, "the overlay has no KEDA ScaledObject")
            check(f"{name} one autoscaler", not by_kind(docs, "HorizontalPodAutoscaler"), "an HPA besides the ScaledObject")
            check_autoscaling(name, so, None, workers)
    if "single" in renders and "postgres" in renders:
        a = pod_spec(one(renders["single"], "StatefulSet", "weft-daemon"))["containers"][0]
        b = pod_spec(one(renders["postgres"], "Deployment", "weft-daemon"))["containers"][0]
        same = ["args", "ports", "startupProbe", "livenessProbe", "readinessProbe", "lifecycle", "securityContext", "volumeMounts"]
        check("single and postgres daemons alike", all(a.get(k) == b.get(k) for k in same),
              "differ in " + ", ".join(k for k in same if a.get(k) != b.get(k)))
    if hpa_docs is not None:
        validate_core("base + components/hpa", hpa_docs)
        workers = check_workers("hpa", hpa_docs)
        hpa = one(hpa_docs, "HorizontalPodAutoscaler", "weft-worker")
        if check("hpa HorizontalPodAutoscaler", hpa is not None and hpa["apiVersion"] == "autoscaling/v2", "no autoscaling/v2 HPA") and workers:
            so = one(renders.get("single", []), "ScaledObject", "weft-worker")
            check_autoscaling("hpa", so, hpa, workers)


# ---------------------------------------------------------------- Compose


def compose() -> None:
    path = DEPLOY / "compose.yaml"
    r = run([os.environ.get("PODMAN_COMPOSE", "podman-compose"), "-f", str(path), "config"], cwd=DEPLOY)
    check("podman-compose config", r.returncode == 0, (r.stderr or r.stdout).strip()[-2000:])
    doc = load_yaml(path)
    services = doc.get("services", {})
    volumes = set((doc.get("volumes") or {}).keys())
    paths = router_paths()
    host_ports: dict[str, str] = {}
    mounts: dict[str, dict[str, Path]] = {}
    for name, svc in services.items():
        check(f"compose {name} image", bool(svc.get("image")) and ":" in svc["image"], f"image {svc.get('image')!r} (pin a tag)")
        mounts[name] = {}
        for v in svc.get("volumes", []):
            src, dst = v.split(":")[0], v.split(":")[1]
            if src.startswith((".", "/")):
                p = (DEPLOY / src).resolve()
                check(f"compose {name} mounts {src}", p.exists(), f"{p} does not exist")
                mounts[name][dst] = p
            else:
                check(f"compose {name} volume {src}", src in volumes, f"named volume {src} is not declared")
        for port in svc.get("ports", []):
            host = str(port).rsplit(":", 1)[0]
            check(f"compose {name} port {host}", host not in host_ports, f"host port {host} is also published by {host_ports.get(host)}")
            host_ports[host] = name
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, (list, dict)) else []:
            check(f"compose {name} depends on {dep}", dep in services, f"no service {dep}")
        if svc.get("image", "").startswith("localhost/weft"):
            check_flags(f"compose {name}", svc["command"])
    workers = {n: s for n, s in services.items() if s.get("command", [None])[0] == "worker"}
    daemons = {n: s for n, s in services.items() if s.get("command", [None])[0] == "daemon"}
    check("compose three workers", len(workers) == 3, f"{len(workers)} worker services")
    check("compose one daemon", len(daemons) == 1, f"{len(daemons)} daemon services")
    check("compose postgres", any("postgres" in s.get("image", "") for s in services.values()), "no PostgreSQL service")
    if len(daemons) != 1:
        return
    (dname, daemon), = daemons.items()
    cfg = check_project_copy("compose weft.yaml", mounts[dname]["/srv/weft/weft.yaml"].read_text(), postgres=True) \
        if "/srv/weft/weft.yaml" in mounts[dname] else {}
    check("compose flows mounted", mounts[dname].get("/srv/weft/flows") == (REPO / "flows").resolve(), "the daemon does not mount flows/ at /srv/weft/flows")
    check("compose daemon database URL", "WEFT_DATABASE_URL" in daemon.get("environment", {}), "WEFT_DATABASE_URL is not set")
    test = daemon.get("healthcheck", {}).get("test", [])
    url = next((t for t in test if str(t).startswith("http")), "")
    check(f"compose daemon healthcheck {url}", re.sub(r"^http://[^/]+", "", url) in paths, f"{url} is not a route of host/server/src/lib.rs")
    hashes = token_hashes(cfg)
    for n, w in workers.items():
        env = w.get("environment", {})
        check(f"compose {n} token", sha(env.get("WEFT_TOKEN", "")) in hashes.get("worker", set()), "its WEFT_TOKEN is not a worker token of compose/weft.yaml")
        check(f"compose {n} instance", env.get("WEFT_INSTANCE") == n, "WEFT_INSTANCE should name the worker")
        d = flag_value(w["command"], "--daemon") or ""
        check(f"compose {n} reaches the daemon", d.startswith(f"http://{dname}:"), f"--daemon {d}")
        drain = seconds(flag_value(w["command"], "--drain-grace") or "30s")
        grace = seconds(w.get("stop_grace_period", "10s"))
        check(f"compose {n} stop_grace_period", drain + 10 <= grace <= drain + 60, f"stop_grace_period {grace:g}s does not match --drain-grace {drain:g}s")
        check(f"compose {n} healthcheck off", w.get("healthcheck", {}).get("disable") is True, "the image's HEALTHCHECK probes the daemon port, which a worker does not serve")
    # Prometheus: its config and rule files are the mounted repo files.
    prom = next((n for n, s in services.items() if "prometheus" in s.get("image", "")), None)
    if check("compose prometheus", prom is not None, "no Prometheus service"):
        pm = mounts[prom]
        conf_path = pm.get("/etc/prometheus/prometheus.yml")
        conf = load_yaml(conf_path) if conf_path else {}
        rule_files = conf.get("rule_files", [])
        check("compose prometheus loads docs/alerts.yaml", any(pm.get(f) == (REPO / "docs/alerts.yaml").resolve() for f in rule_files), f"rule_files {rule_files}")
        for f in rule_files:
            check(f"compose prometheus rule file {f}", f in pm, f"{f} is not mounted")
        metrics_port = (flag_value(daemon["command"], "--metrics-listen") or "").rsplit(":", 1)[-1]
        jobs = conf.get("scrape_configs", [])
        targets = [t for j in jobs for sc in j.get("static_configs", []) for t in sc.get("targets", [])]
        check("compose prometheus scrapes the daemon", f"{dname}:{metrics_port}" in targets, f"targets {targets}, daemon metrics on :{metrics_port}")
        check("compose prometheus honor_labels", all(j.get("honor_labels") is True for j in jobs), "weft's `instance` label needs honor_labels: true")
        promtool = os.environ.get("PROMTOOL", "promtool")
        with tempfile.TemporaryDirectory() as tmp:
            text = conf_path.read_text()
            for f in rule_files:
                if f in pm:
                    text = text.replace(f, str(pm[f]))
            Path(tmp, "prometheus.yml").write_text(text)
            r = run([promtool, "check", "config", str(Path(tmp, "prometheus.yml"))])
            check("promtool check config compose/prometheus.yml", r.returncode == 0, (r.stdout + r.stderr).strip())
    graf = next((n for n, s in services.items() if "grafana" in s.get("image", "")), None)
    if check("compose grafana", graf is not None, "no Grafana service"):
        gm = mounts[graf]
        dash_dst = next((d for d, p in gm.items() if p == (REPO / "docs/grafana-dashboard.json").resolve()), None)
        check("compose grafana mounts the dashboard", dash_dst is not None, "docs/grafana-dashboard.json is not mounted")
        provs = [load_yaml(p) for d, p in gm.items() if d.startswith("/etc/grafana/provisioning/dashboards/")]
        dirs = [pv["options"]["path"] for prov in provs for pv in prov.get("providers", [])]
        check("compose grafana provisions the dashboard", dash_dst is not None and any(dash_dst.startswith(d.rstrip("/") + "/") for d in dirs), f"provider paths {dirs}, dashboard at {dash_dst}")
        dss = [ds for d, p in gm.items() if d.startswith("/etc/grafana/provisioning/datasources/") for ds in load_yaml(p).get("datasources", [])]
        prom_port = str(next(iter(services[prom].get("ports", ["9090:9090"]))).rsplit(":", 1)[-1]) if prom else "9090"
        check("compose grafana datasource", any(ds.get("type") == "prometheus" and ds.get("url") == f"http://{prom}:{prom_port}" for ds in dss), f"datasources {dss}")


# ---------------------------------------------------------------- Prometheus rules, dashboard


def prometheus_rules() -> None:
    promtool = os.environ.get("PROMTOOL", "promtool")
    r = run([promtool, "check", "rules", str(REPO / "docs/alerts.yaml"), str(DEPLOY / "prometheus/scaling-rules.yaml")])
    check("promtool check rules", r.returncode == 0, (r.stdout + r.stderr).strip())
    for test in ("alerts.test.yaml", "scaling-rules.test.yaml"):
        r = run([promtool, "test", "rules", test], cwd=DEPLOY / "prometheus")
        check(f"promtool test rules {test}", r.returncode == 0, (r.stdout + r.stderr).strip())


def dashboard() -> None:
    d = json.loads((REPO / "docs/grafana-dashboard.json").read_text())
    ids = [p["id"] for p in d["panels"]]
    check("dashboard panel ids unique", len(ids) == len(set(ids)), f"ids {ids}")
    known = metric_names()
    text = json.dumps(d)
    used = {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"weft_[a-z_]+", text)}
    check("dashboard queries exported metrics", used <= known, f"unknown {sorted(used - known)}")
    check("dashboard $instance variable", any(v.get("name") == "instance" for v in d["templating"]["list"]), "no `instance` variable")
    rows = [p for p in d["panels"] if p["type"] == "row" and "instance" in p["title"].lower()]
    if check("dashboard per-instance row", len(rows) == 1, "no row titled per instance"):
        y = rows[0]["gridPos"]["y"]
        below = [p for p in d["panels"] if p["type"] != "row" and p["gridPos"]["y"] > y]
        check("dashboard per-instance panels", bool(below) and all(
            all("instance" in t["expr"] for t in p["targets"]) for p in below), "a panel of the per-instance row ignores `instance`")


# ---------------------------------------------------------------- Containerfile, docs


def containerfile() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    check("Containerfile multi-stage", len(stages) >= 2, f"stages {stages}")
    final = text[text.rfind("\nFROM "):]
    check("Containerfile runtime FROM scratch", stages and stages[-1][0] == "scratch", f"final stage FROM {stages[-1][0] if stages else None}")
    check("Containerfile runtime has no RUN", not re.search(r"^RUN\b", final, re.M), "the runtime stage runs commands (no compiler or shell belongs there)")
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    check("Containerfile non-root USER", bool(user) and user[-1].split(":")[0] not in ("0", "root"), f"USER {user}")
    hc = re.search(r"HEALTHCHECK.*?CMD\s+(\[.*?\])", final, re.S)
    url = next((u for u in json.loads(hc.group(1)) if u.startswith("http")), "") if hc else ""
    check(f"Containerfile HEALTHCHECK {url}", re.sub(r"^http://[^/]+", "", url) in router_paths(), "not a route of host/server/src/lib.rs")
    cmd = re.search(r"^CMD\s+(\[.*\])", final, re.M)
    args = json.loads(cmd.group(1)) if cmd else []
    check_flags("Containerfile CMD", args)
    check("Containerfile CMD is the daemon on 0.0.0.0", args[:1] == ["daemon"] and (flag_value(args, "--listen") or "").startswith("0.0.0.0:"), f"CMD {args}")
    exposed = set(re.findall(r"^EXPOSE\s+(.+)$", final, re.M)[0].split()) if "EXPOSE" in final else set()
    want = {(flag_value(args, f) or "").rsplit(":", 1)[-1] for f in ("--listen", "--metrics-listen")}
    check("Containerfile EXPOSE", want <= exposed, f"EXPOSE {sorted(exposed)}, CMD listens on {sorted(want)}")
    r = run(["bash", "-n", str(REPO / "scripts/build-image.sh")])
    check("scripts/build-image.sh parses", r.returncode == 0, r.stderr.strip())


def docs() -> None:
    text = (REPO / "docs/deploy.md").read_text()
    check("docs/deploy.md current", "does not exist yet" not in text, "still says the PostgreSQL store does not exist yet")
    for f in ["deploy/Containerfile", "scripts/build-image.sh", "deploy/compose.yaml", "overlays/single", "overlays/postgres",
              "scripts/check-deploy.sh", "ScaledObject", "HorizontalPodAutoscaler", "/readyz"]:
        check(f"docs/deploy.md mentions {f}", f in text, "not mentioned")


def main() -> int:
    for part in (kubernetes, compose, prometheus_rules, dashboard, containerfile, docs):
        try:
            part()
        except Exception as e:  # a malformed file: one failure, the other parts still run
            fail(part.__name__, f"{type(e).__name__}: {e}")
    print(f"check-deploy: {len(PASSED)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
