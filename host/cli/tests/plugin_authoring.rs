//! Plugin authoring, end to end through the real `weft` binary and the real
//! toolchains (installed by scripts/setup.sh): for each language and each
//! world, `weft plugin new` → `weft plugin build` → `weft plugin inspect` →
//! `weft plugin test`, and then the four plugins of a language work together
//! in a real flow run by `weft run`: the step, whose model call goes to the
//! new model adapter, a failing step retried by the new retry strategy, and
//! every task admitted by the new pool policy.
//!
//! The languages run side by side (one thread each); the Rust projects share
//! one cargo target dir, so wit-bindgen is compiled once per machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::text;
use serde_json::Value;
use weft_store_api::prelude::*;
use weft_tests::{component_cache_dir, plugin_path};

const LANGS: [&str; 4] = ["rust", "python", "js", "c"];
const WORLDS: [&str; 4] = ["step", "model", "retry", "pool"];

/// Where the generated Rust projects build: one dir for all of them.
fn shared_cargo_target() -> PathBuf {
    match std::env::var_os("WEFT_PLUGINS_TARGET") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("generated"),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-plugins"),
    }
}

/// `weft ARGS` in `dir`, with the shared cargo target for Rust builds.
fn weft(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env("CARGO_TARGET_DIR", shared_cargo_target())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("weft did not run: {e}"))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// new → build → inspect → test for one language and world; the component.
fn author(work: &Path, lang: &str, world: &str) -> PathBuf {
    let name = format!("{lang}-{world}");
    let dir = work.join(&name);
    let dir_arg = dir.display().to_string();
    let args = [
        "plugin", "new", &name, "--lang", lang, "--world", world, "--dir", &dir_arg,
    ];
    ok(&weft(work, &args), &format!("weft plugin new {name}"));
    for file in [
        "weft-plugin.json",
        "build.sh",
        "README.md",
        "cases.json",
        "wit/plugin.wit",
    ] {
        assert!(dir.join(file).is_file(), "{name}: {file} was not written");
    }
    let built = ok(
        &weft(work, &["plugin", "build", &dir_arg]),
        &format!("build {name}"),
    );
    let wasm = dir.join(format!("dist/{name}.wasm"));
    assert!(built.contains(&wasm.display().to_string()), "{built}");

    let wasm_arg = wasm.display().to_string();
    let inspected = ok(
        &weft(work, &["plugin", "inspect", &wasm_arg]),
        &format!("inspect {name}"),
    );
    let want = format!("world:   {world}-plugin (weft:plugin@0.1.0)");
    assert!(inspected.contains(&want), "{name}:\n{inspected}");

    let tested = ok(
        &weft(work, &["plugin", "test", &dir_arg]),
        &format!("test {name}"),
    );
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let summary = format!("{} passed, 0 failed", cases.len());
    assert!(tested.lines().any(|l| l == summary), "{name}:\n{tested}");
    wasm
}

/// The four plugins of one language in one flow; checks what each did.
fn run_flow(work: &Path, lang: &str, wasm: &[PathBuf]) {
    let project = work.join(format!("{lang}-flow"));
    std::fs::create_dir_all(project.join("plugins")).unwrap();
    std::fs::create_dir_all(project.join("flows")).unwrap();
    for file in wasm.iter().chain([&plugin_path("flaky-step")]) {
        let dest = project.join("plugins").join(file.file_name().unwrap());
        std::fs::copy(file, dest).unwrap();
    }
    std::fs::write(
        project.join("weft.yaml"),
        format!(
            "id_prefix: pa\nplugins:\n  \
             {lang}-step: {{ path: plugins/{lang}-step.wasm, kind: step }}\n  \
             {lang}-model: {{ path: plugins/{lang}-model.wasm, kind: model }}\n  \
             {lang}-retry:\n    path: plugins/{lang}-retry.wasm\n    kind: retry\n    \
             config: {{ delay_ms: 1200, max_attempts: 3 }}\n  \
             {lang}-pool: {{ path: plugins/{lang}-pool.wasm, kind: pool }}\n  \
             flaky-step: {{ path: plugins/flaky-step.wasm, kind: step }}\n\
             models:\n  local: {{ adapter: {lang}-model, config: {{ prefix: \"echo: \" }} }}\n\
             pools:\n  default: {{ policy: {lang}-pool, max_concurrent: 2 }}\n\
             defaults:\n  retry: {{ strategy: {lang}-retry }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("flows/hello.yaml"),
        format!(
            "id: hello\ninputs:\n  name: {{ type: string }}\nsteps:\n  \
             greet: {{ uses: {lang}-step, model: local, with: {{ greeting: Hi }} }}\n  \
             flaky: {{ uses: flaky-step, needs: [greet], with: {{ succeed_on_attempt: 2 }} }}\n"
        ),
    )
    .unwrap();
    seed_state_cache(&project);
    let out = weft(
        &project,
        &["run", "hello", "-i", r#"{"name":"Ada"}"#, "--json"],
    );
    let report: Value = serde_json::from_str(&ok(&out, &format!("{lang}: weft run"))).unwrap();
    let err = text(&out.stderr);
    assert_eq!(report["status"], "succeeded", "{lang}: {report}\n{err}");
    let output = &report["output"];
    // The step ran, and its model call went to the new adapter.
    assert_eq!(
        output["input"]["greet"]["message"], "Hi, Ada!",
        "{lang}: {output}"
    );
    assert_eq!(
        output["input"]["greet"]["reply"], "echo: Say hello to Ada.",
        "{lang}: {output}"
    );
    // The first attempt of `flaky` failed; the new strategy retried it after
    // its configured 1.2 s (no other strategy is configured).
    assert_eq!(output["attempt"], 2, "{lang}: {output}");
    assert!(err.contains("retry in 1.2s"), "{lang}:\n{err}");
    // Every task was admitted by the new pool policy (by its sha256).
    let pool_sha = sha256(&project.join(format!("plugins/{lang}-pool.wasm")));
    let run = report["run_id"].as_str().unwrap().to_owned();
    let admitted = admitted_by(&project.join(".weft"), &run);
    assert_eq!(admitted.len(), 3, "{lang}: {admitted:?}");
    assert!(
        admitted.iter().all(|a| *a == pool_sha),
        "{lang}: {admitted:?} vs {pool_sha}"
    );
}

/// Link the compiled forms of the project's plugins (made when `weft plugin
/// build` inspected them) from the tests' component cache into the state's, so
/// that `weft run` does not compile the Python and JavaScript components
/// (megabytes each) again. Only time is saved: the run loads and checks the
/// same components; a file not found here is simply compiled.
fn seed_state_cache(project: &Path) {
    let Ok(engines) = std::fs::read_dir(component_cache_dir()) else {
        return;
    };
    for engine in engines.flatten() {
        let state_cache = project.join(".weft/cache").join(engine.file_name());
        for wasm in std::fs::read_dir(project.join("plugins"))
            .unwrap()
            .flatten()
        {
            let compiled = engine
                .path()
                .join(format!("{}.cwasm", sha256(&wasm.path())));
            if compiled.is_file() {
                std::fs::create_dir_all(&state_cache).unwrap();
                let dest = state_cache.join(compiled.file_name().unwrap());
                if std::fs::hard_link(&compiled, &dest).is_err() {
                    std::fs::copy(&compiled, &dest).unwrap();
                }
            }
        }
    }
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The `admitted_by` of the run's `step-started` events.
fn admitted_by(state: &Path, run: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = weft_store_redb::RedbStore::open(state.join("weft.redb")).unwrap();
        let events = store.ledger(run).await.unwrap();
        store.close().await;
        events
            .iter()
            .filter(|e| e.kind == "step-started")
            .map(|e| e.payload["admitted_by"].as_str().unwrap_or("").to_owned())
            .collect()
    })
}

#[test]
fn every_language_and_world_goes_from_new_to_a_flow() {
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let timings: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = LANGS
            .iter()
            .map(|lang| {
                let work = work.path();
                s.spawn(move || {
                    let t = Instant::now();
                    let wasm: Vec<PathBuf> = WORLDS.iter().map(|w| author(work, lang, w)).collect();
                    let authored = t.elapsed();
                    run_flow(work, lang, &wasm);
                    format!(
                        "{lang}: 4 worlds in {authored:.1?}, flow in {:.1?}",
                        t.elapsed() - authored
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!("{}; all in {:.1?}", timings.join("; "), started.elapsed());
}

#[test]
fn new_refuses_an_existing_folder_and_a_bad_name() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("taken")).unwrap();
    let out = weft(
        work.path(),
        &[
            "plugin", "new", "taken", "--lang", "rust", "--world", "step",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("taken already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(work.path().join("taken"))
            .unwrap()
            .count(),
        0
    );

    let out = weft(
        work.path(),
        &["plugin", "new", "My_Step", "--lang", "c", "--world", "pool"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a plugin name"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn build_names_a_missing_toolchain_and_how_to_install_it() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("p");
    let dir_arg = dir.display().to_string();
    let args = [
        "plugin", "new", "p", "--lang", "python", "--world", "retry", "--dir", &dir_arg,
    ];
    ok(&weft(work.path(), &args), "new");
    let empty_tools = work.path().join("no-tools");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["plugin", "build", &dir_arg])
        .env("PATH", "/usr/bin:/bin")
        .env("WEFT_TOOLS_DIR", &empty_tools)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("componentize-py"), "{err}");
    assert!(err.contains("pip install componentize-py==0.25.1"), "{err}");
    assert!(!dir.join("dist/p.wasm").exists());
}

#[test]
fn test_fails_on_a_failing_case_and_says_which() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("c-check");
    let dir_arg = dir.display().to_string();
    let args = [
        "plugin", "new", "c-check", "--lang", "c", "--world", "pool", "--dir", &dir_arg,
    ];
    ok(&weft(work.path(), &args), "new");
    // Not built yet: the test command says what to do.
    let out = weft(work.path(), &["plugin", "test", &dir_arg]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("run `weft plugin build"),
        "{}",
        text(&out.stderr)
    );

    ok(&weft(work.path(), &["plugin", "build", &dir_arg]), "build");
    let cases = dir.join("cases.json");
    let wrong = std::fs::read_to_string(&cases)
        .unwrap()
        .replace(r#""expect": ["t2", "t3"]"#, r#""expect": ["t3", "t2"]"#);
    std::fs::write(&cases, wrong).unwrap();
    let out = weft(work.path(), &["plugin", "test", &dir_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let table = text(&out.stdout);
    assert!(table.contains("FAIL  admits the oldest first"), "{table}");
    assert!(table.contains(r#"got      ["t2","t3"]"#), "{table}");
    assert!(table.lines().any(|l| l == "1 passed, 1 failed"), "{table}");
}

/// The C reference plugins of this repository in a flow: `word-count` as a
/// step, `fixed-delay` as the strategy that retries a failing step.
#[test]
fn the_c_reference_plugins_run_in_a_flow() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    std::fs::create_dir_all(project.join("plugins")).unwrap();
    std::fs::create_dir_all(project.join("flows")).unwrap();
    for name in ["word-count", "fixed-delay", "flaky-step"] {
        std::fs::copy(
            plugin_path(name),
            project.join(format!("plugins/{name}.wasm")),
        )
        .unwrap();
    }
    std::fs::write(
        project.join("weft.yaml"),
        "id_prefix: cf\nplugins:\n  \
         word-count: { path: plugins/word-count.wasm, kind: step }\n  \
         flaky-step: { path: plugins/flaky-step.wasm, kind: step }\n  \
         fixed-delay:\n    path: plugins/fixed-delay.wasm\n    kind: retry\n    \
         config: { delay_ms: 1100, max_attempts: 3 }\n\
         defaults:\n  retry: { strategy: fixed-delay }\n",
    )
    .unwrap();
    std::fs::write(
        project.join("flows/count.yaml"),
        "id: count\ninputs:\n  text: { type: string }\nsteps:\n  \
         count: { uses: word-count }\n  \
         again: { uses: flaky-step, needs: [count], with: { succeed_on_attempt: 2 } }\n",
    )
    .unwrap();
    let input = r#"{"text":"one two\nthree"}"#;
    let out = weft(project, &["run", "count", "-i", input, "--json"]);
    let report: Value = serde_json::from_str(&ok(&out, "weft run count")).unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
    let counted = &report["output"]["input"]["count"];
    assert_eq!(
        *counted,
        serde_json::json!({"words": 3, "characters": 13, "lines": 2})
    );
    assert_eq!(report["output"]["attempt"], 2, "{report}");
    assert!(
        text(&out.stderr).contains("retry in 1.1s"),
        "{}",
        text(&out.stderr)
    );
}
