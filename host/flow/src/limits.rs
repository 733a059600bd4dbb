//! weft.yaml `limits:`: caps on what a step hands the host to keep
//! (artifacts and their keys) and on the error messages the host records.

use crate::decode::Ctx;
use crate::yaml::{Node, Pos};

const LIMITS_KEYS: &[&str] = &[
    "artifact_bytes",
    "artifact_key_bytes",
    "error_message_bytes",
];

/// Default of `limits.artifact_bytes`: 16 MiB.
pub const DEFAULT_ARTIFACT_BYTES: usize = 16 * 1024 * 1024;
/// Default of `limits.artifact_key_bytes`: 256 bytes.
pub const DEFAULT_ARTIFACT_KEY_BYTES: usize = 256;
/// Default of `limits.error_message_bytes`: 64 KiB.
pub const DEFAULT_ERROR_MESSAGE_BYTES: usize = 64 * 1024;

/// The `limits:` section, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of JSON text one artifact may have; a bigger one is
    /// refused with `invalid-input`.
    pub artifact_bytes: usize,
    /// The most bytes an artifact key may have; a longer one is refused with
    /// `invalid-input`.
    pub artifact_key_bytes: usize,
    /// The most bytes of an error message kept (ledger, run, dead letter,
    /// retry strategy); a longer one is cut with a marker saying so.
    pub error_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            artifact_bytes: DEFAULT_ARTIFACT_BYTES,
            artifact_key_bytes: DEFAULT_ARTIFACT_KEY_BYTES,
            error_message_bytes: DEFAULT_ERROR_MESSAGE_BYTES,
        }
    }
}

/// The ranges each cap may be set in. An artifact must also fit in a worker's
/// request to the daemon (64 MiB), with room for its JSON escaping.
const ARTIFACT_BYTES: (i64, i64) = (1, 32 * 1024 * 1024);
const ARTIFACT_KEY_BYTES: (i64, i64) = (1, 4096);
const ERROR_MESSAGE_BYTES: (i64, i64) = (256, 16 * 1024 * 1024);

/// Decodes `limits:` (at `at`); problems are reported in `ctx`, and a cap
/// that is wrong keeps its default.
pub(crate) fn decode_limits(ctx: &mut Ctx<'_>, node: &Node, at: Pos) -> Limits {
    let mut out = Limits::default();
    let Some(fields) = ctx.map(node, "limits", LIMITS_KEYS, at) else {
        return out;
    };
    let caps: [(&str, (i64, i64), &mut usize); 3] = [
        ("artifact_bytes", ARTIFACT_BYTES, &mut out.artifact_bytes),
        (
            "artifact_key_bytes",
            ARTIFACT_KEY_BYTES,
            &mut out.artifact_key_bytes,
        ),
        (
            "error_message_bytes",
            ERROR_MESSAGE_BYTES,
            &mut out.error_message_bytes,
        ),
    ];
    for (name, (min, max), slot) in caps {
        if let Some(n) = fields.get(name)
            && let Some(v) = ctx.integer(n, &fields.child(name), min, max)
            && let Ok(v) = usize::try_from(v)
        {
            *slot = v;
        }
    }
    out
}
