//! Search over weft runs.
//!
//! A tantivy keyword index ([`KeywordIndex`]) holds one document per run and
//! one per step outcome ([`RunDoc`]); [`SearchIndex`] keeps it up to date from
//! the store's change feed (`Store::changes_since`) without ever holding a
//! store commit up, catches up after a crash from the seq stored in its last
//! commit, and answers [`SearchRequest`]s in the query language of
//! `docs/search.md`. The index lives in `<state>/index/`; the semantic index
//! ([`semantic`]) beside it, when an embedding model is configured.

mod build;
mod doc;
mod error;
mod indexer;
mod keyword;
mod query;
mod schema;
mod search;
pub mod semantic;
mod semantic_link;
mod text;
mod when;

pub use build::Filters;
pub use doc::{RunDoc, StepDoc};
pub use error::IndexError;
pub use indexer::{CatchUp, IndexStatus};
pub use keyword::{KeywordIndex, SearchHit, Snippet, Sort};
pub use query::{FIELD_NAMES, QueryError};
pub use search::{IndexOptions, SearchIndex, SearchRequest, SearchResults};
pub use when::parse_time;
