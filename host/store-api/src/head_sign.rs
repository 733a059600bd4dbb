//! Signed ledger heads: an anchor for a run's hash chain kept outside the
//! store. Whoever can write the store file can edit an event and re-hash the
//! chain up to the head, or cut a ledger short; a signature of the head, made
//! with a key the store never holds, cannot be re-made without that key.
//!
//! What is signed ([`head_message`]): the domain tag `weft-ledger-head/v1\0`,
//! the run id (its length as 8 big-endian bytes, then its bytes), the seq (8
//! big-endian bytes) and the 32 bytes of the head hash. Keys are Ed25519; a
//! private key file holds `weft-ledger-signing-key ed25519 <64 hex>` and a
//! public key file `weft-ledger-public-key ed25519 <64 hex>`.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The domain tag every signed head starts with.
pub const HEAD_DOMAIN: &[u8] = b"weft-ledger-head/v1\0";
/// The first word of a private key file.
pub const SIGNING_KEY_LABEL: &str = "weft-ledger-signing-key";
/// The first word of a public key file.
pub const PUBLIC_KEY_LABEL: &str = "weft-ledger-public-key";

/// One signed head of a run's ledger, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSignature {
    /// The run (or stream) whose ledger it is.
    pub run: String,
    /// The seq of the head that was signed.
    pub seq: u64,
    /// The head's hash (hex).
    pub head: String,
    /// The Ed25519 signature of [`head_message`] (hex, 128 characters).
    pub signature: String,
    /// The public key that verifies it (hex, 64 characters).
    pub key: String,
    /// When it was signed (ms since the Unix epoch).
    pub time_ms: u64,
}

/// A key file or a signature that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not a key of the expected kind.
    #[error("not a {expected} file: {why}")]
    Malformed {
        /// `weft-ledger-signing-key` or `weft-ledger-public-key`.
        expected: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A head hash that is not 32 bytes of hex.
    #[error("head hash `{0}` is not 64 hex characters")]
    BadHead(String),
}

/// The bytes signed for head `seq` (hash `head`) of `run`'s ledger.
pub fn head_message(run: &str, seq: u64, head: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEAD_DOMAIN.len() + 8 + run.len() + 8 + 32);
    m.extend_from_slice(HEAD_DOMAIN);
    m.extend_from_slice(&(run.len() as u64).to_be_bytes());
    m.extend_from_slice(run.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(head);
    m
}

fn head_bytes(head: &str) -> Result<[u8; 32], KeyError> {
    hex::decode(head)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| KeyError::BadHead(head.to_owned()))
}

/// The 32 bytes of a key file's text: `LABEL ed25519 HEX`, or the hex alone.
fn key_bytes(text: &str, label: &'static str) -> Result<[u8; 32], KeyError> {
    let bad = |why: &str| KeyError::Malformed {
        expected: label,
        why: why.to_owned(),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let hex_text = match words.as_slice() {
        [hex] => *hex,
        [l, alg, hex] if *l == label && *alg == "ed25519" => *hex,
        [l, ..] if *l == SIGNING_KEY_LABEL || *l == PUBLIC_KEY_LABEL => {
            return Err(bad(&format!("it is a `{l}` file")));
        }
        _ => {
            return Err(bad(&format!(
                "expected `{label} ed25519 <64 hex characters>`"
            )));
        }
    };
    hex::decode(hex_text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| bad("the key is not 64 hex characters"))
}

/// The private half: signs heads. Never stored in the store.
pub struct LedgerSigner {
    key: SigningKey,
}

impl std::fmt::Debug for LedgerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSigner")
            .field("public", &self.public().to_hex())
            .finish_non_exhaustive()
    }
}

impl LedgerSigner {
    /// The signer of a 32-byte secret seed (from a CSPRNG).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The signer of a private key file's text.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        key_bytes(text, SIGNING_KEY_LABEL).map(Self::from_seed)
    }

    /// The text of its private key file.
    pub fn to_text(&self) -> String {
        format!(
            "{SIGNING_KEY_LABEL} ed25519 {}\n",
            hex::encode(self.key.to_bytes())
        )
    }

    /// Its public half.
    pub fn public(&self) -> LedgerPublicKey {
        LedgerPublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// Signs head `seq` (hash `head`, hex) of `run`'s ledger at `time_ms`.
    pub fn sign(
        &self,
        run: &str,
        seq: u64,
        head: &str,
        time_ms: u64,
    ) -> Result<HeadSignature, KeyError> {
        let message = head_message(run, seq, &head_bytes(head)?);
        let signature = self.key.sign(&message);
        Ok(HeadSignature {
            run: run.to_owned(),
            seq,
            head: head.to_owned(),
            signature: hex::encode(signature.to_bytes()),
            key: self.public().to_hex(),
            time_ms,
        })
    }
}

/// The public half: checks signed heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPublicKey {
    key: VerifyingKey,
}

impl LedgerPublicKey {
    /// The key of a public key file's text.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let bytes = key_bytes(text, PUBLIC_KEY_LABEL)?;
        VerifyingKey::from_bytes(&bytes)
            .map(|key| Self { key })
            .map_err(|_| KeyError::Malformed {
                expected: PUBLIC_KEY_LABEL,
                why: "not a valid Ed25519 public key".to_owned(),
            })
    }

    /// The text of its public key file.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_LABEL} ed25519 {}\n", self.to_hex())
    }

    /// The key as 64 hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// Whether `sig` is this key's signature of its own (run, seq, head).
    pub fn verifies(&self, sig: &HeadSignature) -> bool {
        let Ok(head) = head_bytes(&sig.head) else {
            return false;
        };
        let Some(bytes) = hex::decode(&sig.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        let message = head_message(&sig.run, sig.seq, &head);
        self.key
            .verify_strict(&message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    const HEAD: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn a_signature_verifies_with_its_key_only_and_for_what_was_signed() {
        let signer = LedgerSigner::from_seed([7; 32]);
        let other = LedgerSigner::from_seed([8; 32]);
        let sig = signer.sign("r-1", 5, HEAD, 10).unwrap();
        assert!(signer.public().verifies(&sig));
        assert!(!other.public().verifies(&sig));
        for changed in [
            HeadSignature {
                seq: 4,
                ..sig.clone()
            },
            HeadSignature {
                run: "r-2".into(),
                ..sig.clone()
            },
            HeadSignature {
                head: HEAD.replace("00", "01"),
                ..sig.clone()
            },
        ] {
            assert!(!signer.public().verifies(&changed), "{changed:?}");
        }
    }

    #[test]
    fn key_files_round_trip_and_are_not_confused() {
        let signer = LedgerSigner::from_seed([9; 32]);
        let again = LedgerSigner::from_text(&signer.to_text()).unwrap();
        assert_eq!(again.public(), signer.public());
        let public = LedgerPublicKey::from_text(&signer.public().to_text()).unwrap();
        assert_eq!(public, signer.public());
        let err = LedgerPublicKey::from_text(&signer.to_text()).unwrap_err();
        assert!(err.to_string().contains("weft-ledger-signing-key"), "{err}");
        assert!(LedgerSigner::from_text("weft-ledger-signing-key ed25519 abc").is_err());
        assert!(signer.sign("r", 1, "zz", 0).is_err());
    }

    #[test]
    fn the_run_id_is_length_prefixed() {
        // ("ab", seq) and ("a", ...) can never give the same message.
        let head = [0u8; 32];
        assert_ne!(head_message("ab", 1, &head), head_message("a", 1, &head));
        assert!(head_message("r", 1, &head).starts_with(HEAD_DOMAIN));
    }
}
