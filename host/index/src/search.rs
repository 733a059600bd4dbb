//! [`SearchIndex`]: the keyword index (and, when configured, the semantic one)
//! over one store, and the search requests the CLI and the API make.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft_store_api::SharedStore;

use crate::build::Filters;
use crate::error::IndexError;
use crate::keyword::{KeywordIndex, SearchHit, Sort};
use crate::when::parse_time;

/// How the index is kept (weft.yaml `search:`, see `docs/search.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// Bytes of input, output, error and summary text kept per document.
    pub max_text_bytes: usize,
    /// The least time between two index commits of the live indexer.
    pub commit_interval: Duration,
    /// Indexing threads.
    pub threads: usize,
    /// The embedding model's folder (`search.semantic.model_dir`).
    pub semantic_model_dir: Option<PathBuf>,
    /// The ONNX Runtime library (`search.semantic.onnxruntime`).
    pub semantic_onnxruntime: Option<PathBuf>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            max_text_bytes: 4096,
            commit_interval: Duration::from_secs(1),
            threads: 1,
            semantic_model_dir: None,
            semantic_onnxruntime: None,
        }
    }
}

/// A search as the CLI and `GET /v1/search` ask for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query text (see `docs/search.md`).
    pub query: String,
    /// Nearest-neighbour search over run summaries instead of keywords.
    pub semantic: bool,
    /// Only this tenant (a tenant's token forces its own).
    pub tenant: Option<String>,
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only runs submitted since (`7d`, `2026-11-22`, RFC 3339, ms).
    pub since: Option<String>,
    /// Only runs submitted before.
    pub until: Option<String>,
    /// Score or time order.
    pub sort: Sort,
    /// Step outcomes instead of runs.
    pub steps: bool,
    /// At most this many hits.
    pub limit: usize,
}

/// The answer to a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// `keyword` or `semantic`.
    pub mode: String,
    /// The hits, best (or newest) first.
    pub hits: Vec<SearchHit>,
}

/// The search indexes of one store.
pub struct SearchIndex {
    pub(crate) dir: PathBuf,
    pub(crate) semantic: crate::semantic_link::SemanticSlot,
    pub(crate) store: SharedStore,
    pub(crate) keyword: KeywordIndex,
    pub(crate) options: IndexOptions,
    /// One keyword catch-up or rebuild at a time (held across store reads).
    pub(crate) catching_up: tokio::sync::Mutex<()>,
    /// One semantic catch-up or rebuild at a time.
    pub(crate) catching_up_semantic: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("keyword", &self.keyword)
            .finish()
    }
}

impl SearchIndex {
    /// Opens the keyword index in the index folder `dir` (`<state>/index`)
    /// over `store`; semantic search stays off until [`SearchIndex::with_semantic`].
    pub fn open(dir: &Path, store: SharedStore, options: IndexOptions) -> Result<Self, IndexError> {
        let keyword = KeywordIndex::open_with(&dir.join("keyword"), options.threads)?;
        Ok(Self {
            dir: dir.to_owned(),
            semantic: Err(crate::semantic::SemanticError::NotConfigured.to_string()),
            store,
            keyword,
            options,
            catching_up: tokio::sync::Mutex::new(()),
            catching_up_semantic: tokio::sync::Mutex::new(()),
        })
    }

    /// The keyword index.
    pub fn keyword(&self) -> &KeywordIndex {
        &self.keyword
    }

    /// Runs `req` at time `now_ms`. Semantic search without a configured model
    /// is an error that says so.
    pub fn search(&self, req: &SearchRequest, now_ms: u64) -> Result<SearchResults, IndexError> {
        let filters = Filters {
            tenant: req.tenant.clone(),
            flow: req.flow.clone(),
            status: req.status.clone(),
            since_ms: req
                .since
                .as_deref()
                .map(|s| parse_time(s, now_ms))
                .transpose()?,
            until_ms: req
                .until
                .as_deref()
                .map(|s| parse_time(s, now_ms))
                .transpose()?,
            steps: req.steps,
        };
        if req.semantic {
            return Ok(SearchResults {
                mode: "semantic".into(),
                hits: self.search_semantic(&req.query, &filters, req.limit)?,
            });
        }
        let hits = self
            .keyword
            .search(&req.query, &filters, req.sort, req.limit, now_ms)?;
        Ok(SearchResults {
            mode: "keyword".into(),
            hits,
        })
    }
}
