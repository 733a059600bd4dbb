//! weft.yaml `limits:` as the engine enforces them: an artifact or key over
//! its cap is refused with `invalid-input` (the WIT's `artifact-put` error),
//! and an error message over its cap is cut, with a marker, before it reaches
//! the retry strategy, the ledger, the run or the dead-letter queue. Both the
//! in-process and the remote worker path go through here.

use std::borrow::Cow;

use weft_core::{PluginError, cap_text};
use weft_flow::Limits;
use weft_store_api::FailDecision;

/// The most bytes of a key quoted in a refusal.
const KEY_QUOTE: usize = 64;

/// `Ok` when `key` and `value` (JSON text) are within `limits`; else the
/// `invalid-input` error the step gets.
pub(crate) fn check_artifact(limits: &Limits, key: &str, value: &str) -> Result<(), PluginError> {
    if key.len() > limits.artifact_key_bytes {
        return Err(PluginError::InvalidInput(format!(
            "artifact key `{}` is {} bytes, over the cap of {} bytes \
             (limits.artifact_key_bytes in weft.yaml); use a shorter key",
            cap_text(key, KEY_QUOTE),
            key.len(),
            limits.artifact_key_bytes
        )));
    }
    if value.len() > limits.artifact_bytes {
        return Err(PluginError::InvalidInput(format!(
            "artifact `{key}` is {} bytes of JSON, over the cap of {} bytes \
             (limits.artifact_bytes in weft.yaml); store less, or raise the cap",
            value.len(),
            limits.artifact_bytes
        )));
    }
    Ok(())
}

/// `message` cut to `limits.error_message_bytes`.
pub(crate) fn cap_message<'a>(limits: &Limits, message: &'a str) -> Cow<'a, str> {
    cap_text(message, limits.error_message_bytes)
}

/// `error` with its message cut to `limits.error_message_bytes`.
pub(crate) fn cap_error(limits: &Limits, error: PluginError) -> PluginError {
    let cut = |m: String| {
        if m.len() <= limits.error_message_bytes {
            m
        } else {
            cap_message(limits, &m).into_owned()
        }
    };
    match error {
        PluginError::Transient(m) => PluginError::Transient(cut(m)),
        PluginError::Permanent(m) => PluginError::Permanent(cut(m)),
        PluginError::InvalidInput(m) => PluginError::InvalidInput(cut(m)),
    }
}

/// `decision` with its reason (a retry strategy's, or one quoting the error)
/// cut to `limits.error_message_bytes`.
pub(crate) fn cap_decision(limits: &Limits, decision: FailDecision) -> FailDecision {
    let cut = |r: String| cap_message(limits, &r).into_owned();
    match decision {
        FailDecision::DeadLetter { reason } => FailDecision::DeadLetter {
            reason: cut(reason),
        },
        FailDecision::FailRun { reason } => FailDecision::FailRun {
            reason: cut(reason),
        },
        FailDecision::FailStep { reason } => FailDecision::FailStep {
            reason: cut(reason),
        },
        retry @ FailDecision::Retry { .. } => retry,
    }
}
