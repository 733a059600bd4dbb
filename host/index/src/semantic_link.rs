//! The semantic index beside the keyword one: opened when an embedding model is
//! configured, kept from the same change feed (its own seq, in its own LMDB
//! file), and searched for `semantic: true` requests. Without a model, such a
//! request is an error that says why; nothing falls back to keywords.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::build::Filters;
use crate::doc::RunDoc;
use crate::error::IndexError;
use crate::keyword::SearchHit;
use crate::search::SearchIndex;
use crate::semantic::{Embedder, SemanticDoc, SemanticFilter, SemanticIndex};

/// Store changes embedded per batch. Each batch ends in a rebuild of arroy's
/// changed trees, which costs seconds on a large index: few large batches
/// beat many small ones when catching up a backlog.
const BATCH: usize = 5_000;

/// The semantic index, or why there is none.
pub(crate) type SemanticSlot = Result<Mutex<SemanticIndex>, String>;

/// The text a run is embedded from: its summary, else its output, its errors,
/// its input.
fn semantic_text(d: &RunDoc) -> &str {
    [&d.summary, &d.output, &d.errors, &d.input]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .map_or("", String::as_str)
}

/// A run as the semantic index takes it.
fn semantic_doc(d: &RunDoc) -> SemanticDoc {
    SemanticDoc {
        run_id: d.run_id.clone(),
        text: semantic_text(d).to_owned(),
        flow: d.flow.clone(),
        tenant: d.tenant.clone(),
        status: d.status.clone(),
        created_ms: d.created_ms,
    }
}

impl SearchIndex {
    /// Opens the semantic index in `<dir>/vectors` with the model of the
    /// options (or `WEFT_EMBED_MODEL_DIR`/`WEFT_ORT_DYLIB`). When there is no
    /// model or it does not load, semantic searches answer why; keyword search
    /// is unaffected.
    pub fn with_semantic(mut self) -> Self {
        let embedder = Embedder::from_env_or(
            self.options.semantic_model_dir.as_deref(),
            self.options.semantic_onnxruntime.as_deref(),
        );
        self.semantic = match embedder {
            Ok(e) => SemanticIndex::open(&self.dir.join("vectors"), e)
                .map(Mutex::new)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = &self.semantic {
            tracing::info!("{why}");
        }
        self
    }

    /// Whether semantic search is available, or why not.
    pub fn semantic_status(&self) -> Result<(), String> {
        self.semantic.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Embeds every run of the store again (in batches of [`BATCH`] runs) and
    /// marks the semantic index as reflecting store change `head`; nothing
    /// without a semantic index.
    pub(crate) async fn rebuild_semantic(
        &self,
        head: u64,
        ids: &[String],
    ) -> Result<(), IndexError> {
        let Ok(slot) = &self.semantic else {
            return Ok(());
        };
        let one = self.catching_up_semantic.lock().await;
        for chunk in ids.chunks(BATCH) {
            let (docs, _) = self.documents(chunk.iter().map(String::as_str)).await?;
            let docs: Vec<_> = docs.iter().map(semantic_doc).collect();
            slot.lock()
                .map_err(|_| IndexError::Poisoned)?
                .upsert(&docs)?;
        }
        slot.lock()
            .map_err(|_| IndexError::Poisoned)?
            .set_indexed_seq(head)?;
        drop(one);
        // Whatever was committed since `head`.
        self.catch_up_semantic().await?;
        Ok(())
    }

    /// Embeds the runs changed since the semantic index's seq; 0 without one.
    pub async fn catch_up_semantic(&self) -> Result<u64, IndexError> {
        let Ok(slot) = &self.semantic else {
            return Ok(0);
        };
        // One catch-up at a time; the index itself is locked only around its
        // writes, never across the store's reads.
        let _one = self.catching_up_semantic.lock().await;
        let mut seq = slot
            .lock()
            .map_err(|_| IndexError::Poisoned)?
            .indexed_seq()?;
        loop {
            let changes = self.store.changes_since(seq, BATCH).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(seq);
            };
            let runs: BTreeSet<&str> = changes.iter().map(|c| c.run_id.as_str()).collect();
            let (docs, removed) = self.documents(runs.into_iter()).await?;
            let docs: Vec<_> = docs.iter().map(semantic_doc).collect();
            let mut sem = slot.lock().map_err(|_| IndexError::Poisoned)?;
            sem.upsert(&docs)?;
            for run in &removed {
                sem.remove(run)?;
            }
            sem.set_indexed_seq(last)?;
            drop(sem);
            seq = last;
        }
    }

    /// The semantic index's seq, if there is one.
    pub(crate) fn semantic_seq(&self) -> Result<Option<u64>, IndexError> {
        match &self.semantic {
            Ok(slot) => Ok(Some(
                slot.lock()
                    .map_err(|_| IndexError::Poisoned)?
                    .indexed_seq()?,
            )),
            Err(_) => Ok(None),
        }
    }

    /// Nearest runs to `query` under `filters`, as keyword-style hits.
    pub(crate) fn search_semantic(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let slot = self
            .semantic
            .as_ref()
            .map_err(|why| IndexError::SemanticUnavailable(why.clone()))?;
        if filters.steps {
            return Err(IndexError::SemanticUnavailable(
                "semantic search finds runs, not step outcomes: drop --steps".into(),
            ));
        }
        if query.trim().is_empty() {
            return Err(IndexError::SemanticUnavailable(
                "semantic search needs a text to compare runs with".into(),
            ));
        }
        let filter = SemanticFilter {
            flow: filters.flow.clone(),
            tenant: filters.tenant.clone(),
            status: filters.status.clone(),
            since_ms: filters.since_ms,
            // Ours is exclusive, the semantic index's inclusive.
            until_ms: filters.until_ms.map(|u| u.saturating_sub(1)),
        };
        let found =
            slot.lock()
                .map_err(|_| IndexError::Poisoned)?
                .search(query, &filter, limit.max(1))?;
        let mut out = Vec::with_capacity(found.len());
        for h in found {
            let Some(mut hit) = self.keyword.run_hit(&h.run_id)? else {
                continue;
            };
            // The semantic index filtered already; this keeps a tenant's
            // results its own even if the two indexes disagree.
            if filters.tenant.as_ref().is_some_and(|t| *t != hit.tenant) {
                continue;
            }
            hit.score = h.score;
            out.push(hit);
        }
        Ok(out)
    }
}
