//! Checking a run's ledger against its signed heads ([`check_heads`]): each
//! signature must verify with the operator's public key, and the ledger must
//! still hold, at each signed seq, the hash that was signed. What lies after
//! the last signed head is an unsigned tail: expected while a run goes on, an
//! error once it has ended (it was signed at its end).

use crate::head_sign::{HeadSignature, LedgerPublicKey};
use crate::ledger::LedgerEvent;

/// A ledger that agrees with its signed heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The ledger ends at its last signed head.
    Signed {
        /// The signed seq (the last event).
        seq: u64,
    },
    /// The run has not ended and its ledger goes past its last signed head
    /// (`signed` is 0 when no head is signed yet).
    UnsignedTail {
        /// The last signed seq.
        signed: u64,
        /// The ledger's last seq.
        head: u64,
    },
}

/// A ledger that does not agree with its signed heads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadCheckError {
    /// A head was signed by another key than the one given.
    #[error(
        "seq {seq} was signed by key {signer}, not by the given public key {given}: wrong key, or the signature was replaced"
    )]
    WrongKey {
        /// The signed seq.
        seq: u64,
        /// The key the stored signature names.
        signer: String,
        /// The key given.
        given: String,
    },
    /// A signature does not verify.
    #[error(
        "the signature of seq {seq} does not verify with the given public key: it was forged or altered"
    )]
    BadSignature {
        /// The signed seq.
        seq: u64,
    },
    /// The ledger is shorter than a signed head.
    #[error(
        "the ledger ends at seq {head} but seq {signed} was signed: events were removed (truncated)"
    )]
    Truncated {
        /// The signed seq.
        signed: u64,
        /// The ledger's last seq.
        head: u64,
    },
    /// The event at a signed seq has another hash than was signed.
    #[error(
        "event {seq} has hash {found} but {signed} was signed: the ledger was edited and re-hashed"
    )]
    Rewritten {
        /// The signed seq.
        seq: u64,
        /// The hash that was signed.
        signed: String,
        /// The hash the ledger holds there.
        found: String,
    },
    /// The run has ended, but its ledger goes past the last signed head.
    #[error(
        "the run has ended but events {from}..={head} come after its last signed head (seq {signed}): an unsigned tail"
    )]
    UnsignedEnd {
        /// The last signed seq (0: none).
        signed: u64,
        /// The first unsigned seq.
        from: u64,
        /// The ledger's last seq.
        head: u64,
    },
}

impl HeadCheckError {
    /// The seq the report names as the first bad one.
    pub fn seq(&self) -> u64 {
        match self {
            Self::WrongKey { seq, .. }
            | Self::BadSignature { seq }
            | Self::Rewritten { seq, .. } => *seq,
            Self::Truncated { head, .. } => head + 1,
            Self::UnsignedEnd { from, .. } => *from,
        }
    }
}

/// Checks `events` (a run's ledger, in seq order) against `signatures` (its
/// signed heads, any order) with `key`; `ended` says whether the run has
/// ended (from its record or its ledger).
pub fn check_heads(
    run: &str,
    events: &[LedgerEvent],
    ended: bool,
    signatures: &[HeadSignature],
    key: &LedgerPublicKey,
) -> Result<HeadCheck, HeadCheckError> {
    let mut sigs: Vec<&HeadSignature> = signatures.iter().collect();
    sigs.sort_by_key(|s| s.seq);
    let last_seq = events.last().map_or(0, |e| e.seq);
    let given = key.to_hex();
    let mut signed = 0;
    for sig in sigs {
        if sig.key != given {
            return Err(HeadCheckError::WrongKey {
                seq: sig.seq,
                signer: sig.key.clone(),
                given,
            });
        }
        if sig.run != run || !key.verifies(sig) {
            return Err(HeadCheckError::BadSignature { seq: sig.seq });
        }
        let Some(event) = events.iter().find(|e| e.seq == sig.seq) else {
            return Err(HeadCheckError::Truncated {
                signed: sig.seq,
                head: last_seq,
            });
        };
        if event.hash != sig.head {
            return Err(HeadCheckError::Rewritten {
                seq: sig.seq,
                signed: sig.head.clone(),
                found: event.hash.clone(),
            });
        }
        signed = sig.seq;
    }
    if signed == last_seq && signed > 0 {
        return Ok(HeadCheck::Signed { seq: signed });
    }
    if ended {
        return Err(HeadCheckError::UnsignedEnd {
            signed,
            from: signed + 1,
            head: last_seq,
        });
    }
    Ok(HeadCheck::UnsignedTail {
        signed,
        head: last_seq,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::head_sign::LedgerSigner;

    fn ledger(n: u64) -> Vec<LedgerEvent> {
        (1..=n)
            .map(|seq| LedgerEvent {
                seq,
                time_ms: seq,
                kind: "x".into(),
                payload: json!({}),
                prev_hash: String::new(),
                hash: format!("{seq:064x}"),
            })
            .collect()
    }

    #[test]
    fn a_signed_head_an_unsigned_tail_and_an_ended_tail() {
        let signer = LedgerSigner::from_seed([1; 32]);
        let key = signer.public();
        let events = ledger(5);
        let sig = |seq: u64| signer.sign("r", seq, &format!("{seq:064x}"), 0).unwrap();
        assert_eq!(
            check_heads("r", &events, true, &[sig(3), sig(5)], &key),
            Ok(HeadCheck::Signed { seq: 5 })
        );
        assert_eq!(
            check_heads("r", &events, false, &[sig(3)], &key),
            Ok(HeadCheck::UnsignedTail { signed: 3, head: 5 })
        );
        let ended = check_heads("r", &events, true, &[sig(3)], &key).unwrap_err();
        assert_eq!(ended.seq(), 4);
        assert!(ended.to_string().contains("unsigned tail"), "{ended}");
        let none = check_heads("r", &events, true, &[], &key).unwrap_err();
        assert!(matches!(
            none,
            HeadCheckError::UnsignedEnd { signed: 0, .. }
        ));
    }

    #[test]
    fn truncation_rewriting_forgery_and_another_key_are_caught() {
        let signer = LedgerSigner::from_seed([2; 32]);
        let key = signer.public();
        let sig5 = signer.sign("r", 5, &format!("{:064x}", 5), 0).unwrap();
        let cut =
            check_heads("r", &ledger(4), true, std::slice::from_ref(&sig5), &key).unwrap_err();
        assert!(
            matches!(cut, HeadCheckError::Truncated { signed: 5, head: 4 }),
            "{cut}"
        );
        let mut edited = ledger(5);
        edited[4].hash = format!("{:064x}", 99);
        let rehashed =
            check_heads("r", &edited, true, std::slice::from_ref(&sig5), &key).unwrap_err();
        assert!(rehashed.to_string().contains("re-hashed"), "{rehashed}");
        let forged = HeadSignature {
            head: format!("{:064x}", 99),
            ..sig5.clone()
        };
        assert_eq!(
            check_heads("r", &edited, true, &[forged], &key),
            Err(HeadCheckError::BadSignature { seq: 5 })
        );
        let other = LedgerSigner::from_seed([3; 32]).public();
        let wrong = check_heads("r", &ledger(5), true, &[sig5], &other).unwrap_err();
        assert!(matches!(wrong, HeadCheckError::WrongKey { .. }), "{wrong}");
    }
}
