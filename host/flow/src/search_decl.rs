//! weft.yaml `search:`: how the search index over runs is kept (see
//! `docs/search.md`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decode::Ctx;
use crate::yaml::Node;

const SEARCH_KEYS: &[&str] = &["max_text_bytes", "commit_interval", "semantic"];
const SEMANTIC_KEYS: &[&str] = &["model_dir", "onnxruntime"];

/// The `search:` section; unset keys keep the index's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchDecl {
    /// Bytes of input, output, error and summary text indexed per run
    /// (default 4096).
    pub max_text_bytes: Option<usize>,
    /// The least time between two commits of the daemon's live indexer
    /// (default `1s`).
    pub commit_interval: Option<Duration>,
    /// `semantic.model_dir`: the embedding model's folder, resolved against
    /// weft.yaml's folder.
    pub semantic_model_dir: Option<PathBuf>,
    /// `semantic.onnxruntime`: the ONNX Runtime library, resolved likewise.
    pub semantic_onnxruntime: Option<PathBuf>,
}

/// Decodes `search:`; problems are reported in `ctx` with their position.
pub(crate) fn decode_search(ctx: &mut Ctx<'_>, node: &Node, base: &Path) -> SearchDecl {
    let mut out = SearchDecl::default();
    let Some(fields) = ctx.map(node, "search", SEARCH_KEYS, node.pos) else {
        return out;
    };
    if let Some(n) = fields.get("max_text_bytes") {
        out.max_text_bytes = ctx
            .integer(n, "search.max_text_bytes", 64, 1 << 20)
            .and_then(|i| usize::try_from(i).ok());
    }
    if let Some(n) = fields.get("commit_interval") {
        out.commit_interval = ctx.duration(n, "search.commit_interval").map(|d| d.value);
    }
    if let Some(n) = fields.get("semantic")
        && let Some(sem) = ctx.map(n, "search.semantic", SEMANTIC_KEYS, n.pos)
    {
        if let Some(v) = sem.get("model_dir") {
            out.semantic_model_dir = ctx
                .string(v, "search.semantic.model_dir")
                .map(|s| base.join(s.value));
        }
        if let Some(v) = sem.get("onnxruntime") {
            out.semantic_onnxruntime = ctx
                .string(v, "search.semantic.onnxruntime")
                .map(|s| base.join(s.value));
        }
    }
    out
}
