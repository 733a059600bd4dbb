//! Search on the state folder for [`LocalClient`]: the index in
//! `<state>/index`, over the client's store, caught up with the store before
//! each search (`weft search`), rebuilt (`weft index rebuild`) or looked at
//! (`weft index status`). Indexing is CPU work: it runs on a blocking thread,
//! which drives the store's reads itself.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use weft_index::{IndexOptions, SearchIndex, SearchRequest, SearchResults};

use super::local::LocalClient;
use crate::commands::project::{find_project_file, load_project};
use crate::commands::search::index_options;
use crate::commands::state::now_ms;

/// The index options of the project's weft.yaml, if there is one (`--state DIR`
/// works without one).
fn local_options() -> IndexOptions {
    find_project_file()
        .ok()
        .and_then(|file| load_project(&file).ok())
        .map_or_else(IndexOptions::default, |p| index_options(&p))
}

impl LocalClient {
    /// The search index of the state folder, over its store.
    async fn index(&self) -> Result<SearchIndex> {
        let options = local_options();
        let state = self.state().await?;
        let dir = state.dir.join("index");
        SearchIndex::open(&dir, state.store.clone(), options)
            .with_context(|| format!("could not open the search index in {}", dir.display()))
    }

    /// [`LocalClient::index`], except that an index that does not open is
    /// removed and made anew (it is derived from the store: a rebuild loses
    /// nothing).
    async fn index_or_anew(&self) -> Result<SearchIndex> {
        let options = local_options();
        let state = self.state().await?;
        let dir = state.dir.join("index");
        match SearchIndex::open(&dir, state.store.clone(), options.clone()) {
            Ok(index) => Ok(index),
            Err(e) => {
                eprintln!(
                    "the search index in {} does not open ({e}): removing it and building it anew",
                    dir.display()
                );
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("could not remove {}", dir.display()))?;
                SearchIndex::open(&dir, state.store.clone(), options).with_context(|| {
                    format!("could not create the search index in {}", dir.display())
                })
            }
        }
    }

    /// Catches the index up with the store, then searches it.
    pub(super) async fn search_here(&self, request: &SearchRequest) -> Result<SearchResults> {
        let mut index = self.index().await?;
        // Loading the model costs time: only for a semantic search.
        if request.semantic {
            index = index.with_semantic();
        }
        let request = request.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || -> Result<SearchResults> {
            runtime.block_on(async {
                if request.semantic {
                    index.catch_up().await.map(drop)
                } else {
                    index.catch_up_keyword().await.map(drop)
                }
                .context("could not bring the search index up to date")?;
                Ok(index.search(&request, now_ms())?)
            })
        })
        .await?
    }

    /// Builds the index anew from the store.
    pub(super) async fn rebuild_here(&self) -> Result<Value> {
        let index = self.index_or_anew().await?.with_semantic();
        let runtime = tokio::runtime::Handle::current();
        let done = tokio::task::spawn_blocking(move || runtime.block_on(index.rebuild())).await??;
        Ok(json!(done))
    }

    /// How far the index is.
    pub(super) async fn index_status_here(&self) -> Result<Value> {
        let index = self.index().await?.with_semantic();
        Ok(json!(index.status().await?))
    }
}
