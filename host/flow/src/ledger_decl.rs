//! `ledger:` in `weft.yaml`: how the engine anchors run ledgers outside the
//! store (docs/storage.md, "Tamper evidence").
//!
//! ```yaml
//! ledger:
//!   signing_key: /etc/weft/ledger.key   # made by `weft ledger keygen`
//! ```

use std::path::{Path, PathBuf};

use crate::decode::Ctx;
use crate::yaml::{Node, Pos};

const LEDGER_KEYS: &[&str] = &["signing_key"];

/// The `ledger:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerDecl {
    /// `signing_key:`: the Ed25519 private key file the engine signs each
    /// run's ledger head with at the run's end, resolved against the folder
    /// of `weft.yaml`. `None`: heads are not signed (unless the environment
    /// variable `WEFT_LEDGER_SIGNING_KEY` names a key file).
    pub signing_key: Option<PathBuf>,
}

/// Decodes `ledger:` (at `at`), paths resolved against `base`.
pub(crate) fn decode_ledger(ctx: &mut Ctx<'_>, node: &Node, at: Pos, base: &Path) -> LedgerDecl {
    let mut out = LedgerDecl::default();
    let Some(fields) = ctx.map(node, "ledger", LEDGER_KEYS, at) else {
        return out;
    };
    if let Some(n) = fields.get("signing_key")
        && let Some(path) = ctx.string(n, &fields.child("signing_key"))
    {
        out.signing_key = Some(base.join(path.value));
    }
    out
}
