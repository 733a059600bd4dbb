//! Fuzzing the `host` and `logging` imports at the binding layer: the
//! `Host` impls of [`CallState`] that wasmtime calls with whatever a plugin
//! passes. Arbitrary log lines (huge, multi-byte at the cut), completion
//! requests, artifact keys and values, tool names and JSON that is not JSON.
//! What must hold: nothing panics; a log line is cut to its cap and the
//! number of lines to the call's; text that is not JSON never reaches the
//! step host (it is refused as invalid input).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::sync::{Arc, Mutex};

use weft_core::{Completion, CompletionRequest, PluginError, Usage};
use weft_fuzz::{Unstructured, odd_json, odd_string};

use crate::bindings::{host::Host as _, logging::Host as _, types};
use crate::host_api::{CallContext, MemoryLog, StepHost};
use crate::limits::CallLimits;
use crate::state::CallState;

/// A step host that records the JSON texts it is handed.
#[derive(Default)]
struct Recorder {
    texts: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl StepHost for Recorder {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError> {
        Ok(Completion {
            text: req
                .messages
                .first()
                .map(|m| m.content.clone())
                .unwrap_or_default(),
            model: req.model,
            usage: Usage::default(),
            finish_reason: "stop".into(),
        })
    }
    async fn artifact_get(&self, key: &str) -> Option<String> {
        (!key.is_empty()).then(|| "{}".to_owned())
    }
    async fn artifact_put(&self, _key: &str, value: String) -> Result<(), PluginError> {
        self.texts.lock().unwrap().push(value);
        Ok(())
    }
    async fn call_tool(
        &self,
        _: &str,
        config: String,
        input: String,
    ) -> Result<String, PluginError> {
        self.texts.lock().unwrap().extend([config, input]);
        Ok("{}".into())
    }
}

fn json_text(u: &mut Unstructured<'_>) -> String {
    if u.arbitrary().unwrap_or(true) {
        odd_json(u, 4).to_string()
    } else {
        odd_string(u)
    }
}

fn request(u: &mut Unstructured<'_>) -> types::CompletionRequest {
    types::CompletionRequest {
        model: odd_string(u),
        messages: (0..u.int_in_range(0u8..=3).unwrap_or(0))
            .map(|_| types::ChatMessage {
                role: odd_string(u),
                content: odd_string(u),
            })
            .collect(),
        max_tokens: u.arbitrary().unwrap_or(None),
        temperature: match u.int_in_range(0u8..=2).unwrap_or(0) {
            0 => None,
            1 => Some(f32::NAN),
            _ => u.arbitrary().ok(),
        },
        extra: u.arbitrary::<bool>().unwrap_or(false).then(|| json_text(u)),
    }
}

#[test]
fn fuzz_the_host_imports_at_the_binding_layer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    weft_fuzz::run("host-bindings", 3000, |bytes| {
        let mut u = Unstructured::new(bytes);
        let recorder = Arc::new(Recorder::default());
        let log = Arc::new(MemoryLog::default());
        let limits = CallLimits {
            log_lines: 3,
            ..CallLimits::default()
        };
        let mut ctx = CallContext::new(limits);
        ctx.log = log.clone();
        if u.ratio(7u8, 8u8).unwrap_or(true) {
            ctx.step_host = Some(recorder.clone());
        }
        let mut state = CallState::new(Arc::from("fuzz"), &ctx);
        rt.block_on(async {
            for _ in 0..u.int_in_range(1u8..=6).unwrap_or(1) {
                match u.int_in_range(0u8..=4).unwrap_or(0) {
                    0 => state.log(types::Level::Info, odd_string(&mut u)).await,
                    1 => drop(state.complete(request(&mut u)).await),
                    2 => drop(state.artifact_get(odd_string(&mut u)).await),
                    3 => drop(
                        state
                            .artifact_put(odd_string(&mut u), json_text(&mut u))
                            .await,
                    ),
                    _ => {
                        let (p, c, i) = (odd_string(&mut u), json_text(&mut u), json_text(&mut u));
                        drop(state.call_tool(p, c, i).await);
                    }
                }
            }
        });
        state.finish_logs();
        let lines = log.lines();
        // Three lines at most, and the note of the dropped ones.
        assert!(lines.len() <= 4, "{} lines", lines.len());
        for line in &lines {
            assert!(
                line.message.len() <= 4096 + " …(truncated)".len(),
                "{}",
                line.message.len()
            );
        }
        for text in recorder.texts.lock().unwrap().iter() {
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
                "not JSON: {text:?}"
            );
        }
    });
}
