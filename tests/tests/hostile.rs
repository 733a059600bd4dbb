//! Hostile plugins: each must fail only its own call, with an error that says
//! what happened, and leave the runtime able to run the next call.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::time::{Duration, Instant};

use serde_json::json;
use weft_core::PluginKind;
use weft_runtime::{CallError, CallLimits, LoadError, Runtime, RuntimeConfig};
use weft_tests::{
    ctx_with, load, plugin_bytes, repo_root, run_info, runtime, runtime_with,
    step_component_from_wat, with_extra_core_instances,
};

/// Call a hostile step under `limits` and return its error; then check that the
/// same runtime still runs `echo` correctly.
async fn hostile_call(rt: &Runtime, name: &str, config: &str, limits: CallLimits) -> CallError {
    let plugin = load(rt, name, PluginKind::Step)
        .await
        .expect("hostile plugin loads");
    let result = plugin
        .run_step(&ctx_with(limits), &run_info(name), config, "{}")
        .await;
    let err = match result {
        Ok(out) => panic!(
            "{name} was not contained; it returned {} bytes: {:.200}",
            out.len(),
            out
        ),
        Err(e) => e,
    };
    assert_echo_still_works(rt).await;
    err
}

async fn assert_echo_still_works(rt: &Runtime) {
    let echo = load(rt, "echo", PluginKind::Step)
        .await
        .expect("echo loads");
    let out = echo
        .run_step(
            &ctx_with(CallLimits::default()),
            &run_info("echo"),
            "{}",
            r#"{"still":"alive"}"#,
        )
        .await
        .expect("echo runs after a hostile call");
    assert_eq!(out, r#"{"still":"alive"}"#);
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_its_deadline() {
    let rt = runtime();
    let deadline = Duration::from_millis(300);
    let started = Instant::now();
    let err = hostile_call(
        &rt,
        "hostile-loop",
        "{}",
        CallLimits {
            timeout: deadline,
            ..Default::default()
        },
    )
    .await;
    let stopped_after = started.elapsed();
    assert!(
        matches!(err, CallError::DeadlineExceeded { timeout } if timeout == deadline),
        "{err}"
    );
    assert!(err.to_string().contains("300ms deadline"), "{err}");
    // Not a speed assertion: proof that it was stopped rather than left to run.
    assert!(
        stopped_after < deadline + Duration::from_secs(5),
        "stopped only after {stopped_after:?}"
    );
    eprintln!("hostile-loop: deadline {deadline:?}, stopped after {stopped_after:?}");
}

// One thread on purpose: the loop and the other calls share it.
#[tokio::test(flavor = "current_thread")]
async fn a_loop_does_not_starve_other_calls() {
    let rt = runtime();
    let looping = load(&rt, "hostile-loop", PluginKind::Step).await.unwrap();
    let long = CallLimits {
        timeout: Duration::from_secs(3),
        ..Default::default()
    };
    let spinning = tokio::spawn(async move {
        looping
            .run_step(&ctx_with(long), &run_info("loop"), "{}", "{}")
            .await
    });
    // While the loop spins, other calls on the same runtime complete.
    let t = Instant::now();
    for _ in 0..20 {
        assert_echo_still_works(&rt).await;
    }
    eprintln!(
        "20 echo calls beside a spinning loop took {:?}",
        t.elapsed()
    );
    if spinning.is_finished() {
        panic!("the loop should still be running: {:?}", spinning.await);
    }
    let err = spinning.await.unwrap().unwrap_err();
    assert!(matches!(err, CallError::DeadlineExceeded { .. }), "{err}");
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    let rt = runtime();
    let cap = 48 * 1024 * 1024;
    let err = hostile_call(
        &rt,
        "hostile-memory",
        "{}",
        CallLimits {
            memory_bytes: cap,
            ..Default::default()
        },
    )
    .await;
    match err {
        CallError::MemoryLimit { cap: c, requested } => {
            assert_eq!(c, cap);
            assert!(requested > cap);
        }
        other => panic!("expected a memory-cap error, got {other}"),
    }
}

#[tokio::test]
async fn a_stack_overflow_is_reported_as_one() {
    let rt = runtime();
    let err = hostile_call(
        &rt,
        "hostile-stack",
        r#"{"frames":"native"}"#,
        CallLimits::default(),
    )
    .await;
    assert!(matches!(err, CallError::StackOverflow { .. }), "{err}");
    assert!(err.to_string().contains("overflowed its stack"), "{err}");
}

#[tokio::test]
async fn a_shadow_stack_overflow_traps_out_of_bounds() {
    // Rust keeps address-taken locals on a shadow stack at the bottom of linear
    // memory; overflowing it is an out-of-bounds access, not an engine overflow.
    let rt = runtime();
    let err = hostile_call(
        &rt,
        "hostile-stack",
        r#"{"frames":"memory"}"#,
        CallLimits::default(),
    )
    .await;
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(
        err.to_string().contains("out of bounds memory access"),
        "{err}"
    );
}

#[tokio::test]
async fn a_100_mb_result_is_refused_by_the_output_cap() {
    let rt = runtime();
    // Enough memory for the plugin to build its 100 MiB answer: the output cap,
    // not the memory cap, must be what refuses it.
    let limits = CallLimits {
        memory_bytes: 512 * 1024 * 1024,
        output_bytes: 1024 * 1024,
        ..Default::default()
    };
    let err = hostile_call(&rt, "hostile-output", "{}", limits).await;
    match err {
        CallError::OutputTooLarge { size, cap } => {
            assert!(size >= 100 * 1024 * 1024, "{size}");
            assert_eq!(cap, 1024 * 1024);
        }
        other => panic!("expected an output-cap error, got {other}"),
    }
}

#[tokio::test]
async fn reading_a_file_finds_no_filesystem() {
    let rt = runtime();
    let err = hostile_call(&rt, "hostile-file", "{}", CallLimits::default()).await;
    let text = err.to_string();
    assert!(matches!(err, CallError::Trap { .. }), "{text}");
    assert!(
        text.contains("could not read /etc/passwd"),
        "the plugin's own stderr is quoted: {text}"
    );
    assert!(!text.contains("root:"), "file contents leaked: {text}");
}

#[tokio::test]
async fn reading_the_environment_finds_nothing() {
    let rt = runtime();
    let err = hostile_call(&rt, "hostile-env", "{}", CallLimits::default()).await;
    let text = err.to_string();
    assert!(text.contains("no environment"), "{text}");
    if let Some(path) = std::env::var_os("PATH") {
        assert!(
            !text.contains(&*path.to_string_lossy()),
            "PATH leaked: {text}"
        );
    }
}

#[tokio::test]
async fn opening_a_socket_is_refused() {
    let rt = runtime();
    let err = hostile_call(&rt, "hostile-socket", "{}", CallLimits::default()).await;
    let text = err.to_string();
    assert!(text.contains("could not connect to 127.0.0.1:80"), "{text}");
    assert!(text.contains("could not bind UDP"), "{text}");
}

#[tokio::test]
async fn a_table_bomb_at_call_time_hits_the_table_cap() {
    let rt = runtime();
    let bytes =
        step_component_from_wat(&repo_root().join("plugins/tests/hostile-table/table-grow.wat"));
    let plugin = rt
        .load("table-grow", &bytes, PluginKind::Step)
        .await
        .expect("loads");
    let limits = CallLimits {
        table_elements: 50_000,
        ..Default::default()
    };
    let err = plugin
        .run_step(&ctx_with(limits), &run_info("t"), "{}", "{}")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::TableLimit { cap: 50_000, .. }),
        "{err}"
    );
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn a_table_bomb_at_instantiation_is_refused_at_load() {
    let rt = runtime();
    let bytes =
        step_component_from_wat(&repo_root().join("plugins/tests/hostile-table/table-huge.wat"));
    let err = rt
        .load("table-huge", &bytes, PluginKind::Step)
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(matches!(err, LoadError::Compile(_)), "{text}");
    assert!(
        text.contains("table index 0 has a minimum element size of 100000000"),
        "{text}"
    );
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn an_instance_bomb_is_refused() {
    let rt = runtime();
    let echo = plugin_bytes("echo");
    // Still the echo plugin, with 900 extra core instances (the Wasm validator
    // itself refuses more than 1,000 in one component).
    let bomb = with_extra_core_instances(&echo, 900);
    let err = rt
        .load("instance-bomb", &bomb, PluginKind::Step)
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("903 core module instances, which exceeds the configured maximum of 64"),
        "{text}"
    );
    // The same trick with a handful of instances loads and runs: the refusal
    // above is about the count, not about the rewriting.
    let few = with_extra_core_instances(&echo, 3);
    let plugin = rt
        .load("few-instances", &few, PluginKind::Step)
        .await
        .unwrap();
    let out = plugin
        .run_step(
            &ctx_with(CallLimits::default()),
            &run_info("few"),
            "{}",
            "[3]",
        )
        .await
        .unwrap();
    assert_eq!(out, "[3]");
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn the_wrong_world_is_refused_with_the_reason() {
    let rt = runtime();
    let err = load(&rt, "hostile-wrong-world", PluginKind::Step)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::WrongSignature { .. }), "{err}");
    assert!(err.to_string().contains("weft:plugin/step@0.1.0"), "{err}");
    // A real plugin of another world, loaded as a step.
    let err = load(&rt, "exp-backoff", PluginKind::Step)
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("missing export `weft:plugin/step@0.1.0`"),
        "{text}"
    );
    assert!(text.contains("retry-plugin world"), "{text}");
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn a_core_module_is_not_a_component() {
    let rt = runtime();
    let wat = std::fs::read_to_string(repo_root().join("plugins/tests/core-module.wat")).unwrap();
    let module = wat::parse_str(&wat).unwrap();
    let err = rt
        .load("core", &module, PluginKind::Step)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::CoreModule), "{err}");
    assert!(err.to_string().contains("not a component"), "{err}");
}

#[tokio::test]
async fn random_bytes_and_truncated_components_are_refused() {
    let rt = runtime();
    // A fixed-seed xorshift, so a failure can be reproduced.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let err = rt
        .load("random", &random, PluginKind::Step)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err}");
    let echo = plugin_bytes("echo");
    let truncated = &echo[..echo.len() / 2];
    let err = rt
        .load("truncated", truncated, PluginKind::Step)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn hostile_calls_leak_no_instance_slots() {
    // A pool of 4 live instances: if any hostile call leaked its slot, the 200
    // calls afterwards would run out.
    let rt = runtime_with(RuntimeConfig {
        max_live_instances: 4,
        ..RuntimeConfig::default()
    });
    let quick = CallLimits {
        timeout: Duration::from_millis(200),
        memory_bytes: 32 << 20,
        ..Default::default()
    };
    for name in [
        "hostile-loop",
        "hostile-memory",
        "hostile-stack",
        "hostile-file",
        "hostile-env",
        "hostile-socket",
    ] {
        let plugin = load(&rt, name, PluginKind::Step).await.unwrap();
        let err = plugin
            .run_step(&ctx_with(quick.clone()), &run_info(name), "{}", "{}")
            .await;
        assert!(err.is_err(), "{name} was not contained");
    }
    let echo = load(&rt, "echo", PluginKind::Step).await.unwrap();
    for i in 0..200 {
        let input = json!({ "i": i }).to_string();
        let out = echo
            .run_step(
                &ctx_with(CallLimits::default()),
                &run_info("echo"),
                "{}",
                &input,
            )
            .await
            .unwrap();
        assert_eq!(out, input);
    }
}

/// Loads `plugins/tests/hostile-memory-decl/<file>`; the refusal.
async fn load_memory_decl(rt: &Runtime, file: &str) -> LoadError {
    let path = repo_root()
        .join("plugins/tests/hostile-memory-decl")
        .join(file);
    let bytes = step_component_from_wat(&path);
    rt.load(file, &bytes, PluginKind::Step)
        .await
        .err()
        .expect("refused")
}

#[tokio::test]
async fn a_memory_declared_over_the_runtime_limit_is_refused_saying_so() {
    let rt = runtime();
    let err = load_memory_decl(&rt, "memory-huge.wat").await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            LoadError::MemoryDeclared {
                declared: 1_310_720_000,
                limit: 1_073_741_824,
                ..
            }
        ),
        "{text}"
    );
    for part in [
        "declares an initial memory of 1250 MiB (1310720000 bytes)",
        "1024 MiB (1073741824 bytes)",
        "RuntimeConfig::max_memory_bytes",
    ] {
        assert!(text.contains(part), "no `{part}` in: {text}");
    }
    assert!(!text.contains("0x") && !text.contains("invalid"), "{text}");
    assert_echo_still_works(&rt).await;
}

#[tokio::test]
async fn a_memory_declared_over_a_calls_cap_is_refused_saying_so() {
    let rt = runtime();
    let err = load_memory_decl(&rt, "memory-over-cap.wat").await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            LoadError::MemoryDeclared {
                declared: 209_715_200,
                limit: 134_217_728,
                ..
            }
        ),
        "{text}"
    );
    for part in [
        "declares an initial memory of 200 MiB",
        "128 MiB (134217728 bytes)",
        "CallLimits::memory_bytes",
    ] {
        assert!(text.contains(part), "no `{part}` in: {text}");
    }
    assert_echo_still_works(&rt).await;
}
