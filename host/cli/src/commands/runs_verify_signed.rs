//! `weft runs verify --public-key FILE`: a run's ledger against its signed
//! heads (`weft_store_api::check_heads`), as the verify report shows it.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use weft_store_api::{
    HeadCheck, HeadSignature, LedgerEvent, LedgerPublicKey, RunRecord, check_heads,
};

/// Ledger events that end a run.
const RUN_ENDS: &[&str] = &["run-succeeded", "run-failed", "run-cancelled"];

/// What the signed heads say about a run's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signed {
    /// The ledger ends at a signed head.
    Head {
        /// The signed seq.
        seq: u64,
    },
    /// The run goes on; events after the last signed head are not signed yet.
    Tail {
        /// The last signed seq (0: none).
        signed: u64,
        /// The ledger's last seq.
        head: u64,
    },
    /// The ledger does not agree with its signed heads.
    Broken {
        /// The seq the report names.
        seq: u64,
        /// Why.
        reason: String,
    },
}

impl Signed {
    /// The `signature` object of the JSON report.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::Head { seq } => json!({"state": "signed", "signed_seq": seq}),
            Self::Tail { signed, head } => {
                json!({"state": "unsigned-tail", "signed_seq": signed, "head_seq": head})
            }
            Self::Broken { seq, reason } => {
                json!({"state": "broken", "seq": seq, "reason": reason})
            }
        }
    }

    /// The clause the text report adds.
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Head { seq } => format!("head signed at seq {seq}"),
            Self::Tail { signed, head } => format!(
                "unsigned tail: events {}..={head} come after the last signed head (the run is still going)",
                signed + 1
            ),
            Self::Broken { reason, .. } => format!("signed heads BROKEN: {reason}"),
        }
    }
}

/// Reads a public key file (`weft ledger keygen`'s FILE.pub).
pub(crate) fn read_public_key(path: &Path) -> Result<LedgerPublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the public key {}", path.display()))?;
    LedgerPublicKey::from_text(&text)
        .with_context(|| format!("cannot use the public key {}", path.display()))
}

/// Checks `events` of `run` against `sigs` with `key`. The run has ended if
/// its record says so or its ledger holds the event that ended it.
pub(crate) fn check_signed(
    run: &RunRecord,
    events: &[LedgerEvent],
    sigs: &[HeadSignature],
    key: &LedgerPublicKey,
) -> Signed {
    let ended = run.status.is_final() || events.iter().any(|e| RUN_ENDS.contains(&e.kind.as_str()));
    match check_heads(&run.id, events, ended, sigs, key) {
        Ok(HeadCheck::Signed { seq }) => Signed::Head { seq },
        Ok(HeadCheck::UnsignedTail { signed, head }) => Signed::Tail { signed, head },
        Err(e) => Signed::Broken {
            seq: e.seq(),
            reason: e.to_string(),
        },
    }
}
