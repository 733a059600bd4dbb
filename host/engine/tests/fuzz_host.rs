#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Fuzzing the host imports, on the engine's own implementations: the model
//! call (`complete`: journal, caps, budget reservation, the adapter, the
//! charge), `artifact-get`/`artifact-put` (caps, JSON, the store) and
//! `call-tool` (capabilities, the tool's run), each reached through the same
//! `TaskHost` a running step's import goes to (the remote-worker entry points
//! build it for a leased task). Arbitrary values: odd or huge strings and
//! keys, deep or odd JSON, any numbers (NaN temperatures, extreme indexes and
//! token counts). An error answer is fine; a panic is a bug.

mod common;

use std::future::pending;

use weft_core::worker_protocol::{LeaseRequest, ModelCallRequest, ToolCallRequest};
use weft_core::{ChatMessage, CompletionRequest};
use weft_engine::EngineOptions;
use weft_fuzz::{Unstructured, odd_json, odd_string};

const FLOW: &str = r#"
id: host
steps:
  a: { uses: echo, model: mock }
"#;

/// A completion request with arbitrary fields.
fn completion(u: &mut Unstructured<'_>) -> CompletionRequest {
    let messages = (0..u.int_in_range(0u8..=4).unwrap_or(1))
        .map(|_| ChatMessage {
            role: odd_string(u),
            content: odd_string(u),
        })
        .collect();
    let model = match u.int_in_range(0u8..=3).unwrap_or(0) {
        0 => "mock".to_owned(),
        1 => String::new(),
        _ => odd_string(u),
    };
    let temperature = match u.int_in_range(0u8..=4).unwrap_or(0) {
        0 => None,
        1 => Some(f32::NAN),
        2 => Some(f32::INFINITY),
        3 => Some(-0.0),
        _ => u.arbitrary().ok(),
    };
    CompletionRequest {
        model,
        messages,
        max_tokens: u.arbitrary().unwrap_or(None),
        temperature,
        extra: u.arbitrary::<bool>().unwrap_or(false).then(|| {
            if u.arbitrary().unwrap_or(false) {
                odd_string(u)
            } else {
                odd_json(u, 4).to_string()
            }
        }),
    }
}

/// JSON text, or text that only looks like it.
fn json_text(u: &mut Unstructured<'_>) -> String {
    if u.ratio(3u8, 4u8).unwrap_or(true) {
        odd_json(u, 4).to_string()
    } else {
        odd_string(u)
    }
}

#[test]
fn fuzz_the_host_imports() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let project = common::project();
    let flow = common::flow(&project, FLOW);
    let options = EngineOptions {
        workers: 1,
        ..EngineOptions::default()
    };
    let engine = rt.block_on(common::engine(dir.path(), project, vec![flow], options));
    rt.block_on(engine.submit("host", serde_json::json!({}), None))
        .unwrap();
    let ask = LeaseRequest {
        worker: "fuzz".into(),
        owner: "fuzz/0".into(),
        pools: None,
        lease_ms: 600_000,
        wait_ms: 0,
    };
    let task = rt
        .block_on(engine.lease_remote(&ask, pending()))
        .unwrap()
        .expect("a task to lease");
    let (id, token) = (task.task, task.token);

    let mut answered = [0u64; 4];
    weft_fuzz::run("host-imports", 3000, |bytes| {
        let mut u = Unstructured::new(bytes);
        // Mostly the lease's own token: a wrong one stops at the lease check.
        let token = if u.ratio(7u8, 8u8).unwrap_or(true) {
            token
        } else {
            u.arbitrary().unwrap_or(0)
        };
        let which = u.int_in_range(0u8..=3).unwrap_or(0);
        let ok = match which {
            0 => {
                let call = ModelCallRequest {
                    token,
                    index: if u.arbitrary().unwrap_or(true) {
                        u.int_in_range(0..=3).unwrap_or(0)
                    } else {
                        u.arbitrary().unwrap_or(u32::MAX)
                    },
                    request: completion(&mut u),
                };
                matches!(rt.block_on(engine.model_call_remote(id, &call)), Ok(Ok(_)))
            }
            1 => {
                let key = odd_string(&mut u);
                rt.block_on(engine.artifact_get_remote(id, token, &key))
                    .is_ok()
            }
            2 => {
                let key = if u.arbitrary().unwrap_or(false) {
                    "report".to_owned()
                } else {
                    odd_string(&mut u)
                };
                let value = json_text(&mut u);
                let put = rt.block_on(engine.artifact_put_remote(id, token, &key, &value));
                if let Ok(Ok(())) = put {
                    // What was stored can be read back.
                    let got = rt
                        .block_on(engine.artifact_get_remote(id, token, &key))
                        .unwrap();
                    assert!(
                        got.is_some(),
                        "artifact `{key}` was stored but is not there"
                    );
                    true
                } else {
                    false
                }
            }
            _ => {
                let call = ToolCallRequest {
                    token,
                    index: u.arbitrary().unwrap_or(0),
                    plugin: if u.arbitrary().unwrap_or(false) {
                        "echo".to_owned()
                    } else {
                        odd_string(&mut u)
                    },
                    config: json_text(&mut u),
                    input: json_text(&mut u),
                    remaining_ms: u.int_in_range(0..=200).unwrap_or(0),
                };
                matches!(rt.block_on(engine.tool_call_remote(id, &call)), Ok(Ok(_)))
            }
        };
        if ok {
            answered[usize::from(which)] += 1;
        }
    });
    println!("weft-fuzz host-imports answered (model, get, put, tool): {answered:?}");
    // The valid shapes got through: the fuzzing reached past the checks.
    assert!(
        answered[0] > 0 && answered[1] > 0 && answered[2] > 0,
        "{answered:?}"
    );
}
