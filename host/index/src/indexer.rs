//! Keeping the keyword index up to date from the store's change feed.
//!
//! [`SearchIndex::catch_up`] applies every store change after the index's seq,
//! in batches, each batch one tantivy commit that records its last seq. The
//! daemon runs [`SearchIndex::spawn_live`]: woken by each store commit, it
//! waits out the commit interval (so that a burst of commits is one index
//! commit) and catches up. Store commits never wait for the index.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::doc::RunDoc;
use crate::error::IndexError;
use crate::search::SearchIndex;

/// Store changes read per batch.
const BATCH: usize = 2_000;

/// How long the store stays quiet before the live keyword loop reloads its
/// reader (and again after each such stretch while it stays quiet).
const IDLE_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// What a catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatchUp {
    /// Store changes applied.
    pub changes: u64,
    /// Runs (re)indexed.
    pub runs: u64,
    /// The index's seq afterwards.
    pub seq: u64,
}

/// Where the index stands against the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndexStatus {
    /// The last store change the index reflects.
    pub indexed_seq: u64,
    /// The newest store change.
    pub store_head: u64,
    /// Documents in the index (runs and step outcomes).
    pub documents: u64,
    /// The last store change the semantic index reflects; `None` without one.
    pub semantic_seq: Option<u64>,
}

impl SearchIndex {
    /// Applies every store change the keyword index, then the semantic index
    /// (when there is one), has not seen yet.
    pub async fn catch_up(&self) -> Result<CatchUp, IndexError> {
        let done = self.catch_up_keyword().await?;
        self.catch_up_semantic().await?;
        Ok(done)
    }

    /// Applies every store change the keyword index has not seen yet; what a
    /// keyword search waits for (embedding runs can take far longer).
    pub async fn catch_up_keyword(&self) -> Result<CatchUp, IndexError> {
        let _one = self.catching_up.lock().await;
        let mut done = CatchUp {
            seq: self.keyword.indexed_seq()?,
            ..CatchUp::default()
        };
        loop {
            let changes = self.store.changes_since(done.seq, BATCH).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(done);
            };
            let runs: BTreeSet<&str> = changes.iter().map(|c| c.run_id.as_str()).collect();
            let (docs, removed) = self.documents(runs.into_iter()).await?;
            self.keyword.apply(&docs, &removed, last)?;
            done.changes += changes.len() as u64;
            done.runs += (docs.len() + removed.len()) as u64;
            done.seq = last;
        }
    }

    /// Deletes the index's documents and indexes every run of the store again;
    /// then embeds every run again into the semantic index, if there is one.
    pub async fn rebuild(&self) -> Result<CatchUp, IndexError> {
        let one = self.catching_up.lock().await;
        // Read the head first: every run indexed below is at least that new.
        let head = self.store.change_head().await?;
        self.keyword.clear()?;
        let ids = self.store.run_ids().await?;
        let mut done = CatchUp::default();
        for chunk in ids.chunks(BATCH) {
            let (docs, _) = self.documents(chunk.iter().map(String::as_str)).await?;
            done.runs += docs.len() as u64;
            self.keyword.apply(&docs, &[], 0)?;
        }
        self.keyword.apply(&[], &[], head)?;
        done.seq = head;
        drop(one);
        self.rebuild_semantic(head, &ids).await?;
        Ok(done)
    }

    /// The index's seq against the store's head.
    pub async fn status(&self) -> Result<IndexStatus, IndexError> {
        Ok(IndexStatus {
            indexed_seq: self.keyword.indexed_seq()?,
            store_head: self.store.change_head().await?,
            documents: self.keyword.doc_count(),
            semantic_seq: self.semantic_seq()?,
        })
    }

    /// The documents of `runs` as the store has them, and the runs it no longer has.
    pub(crate) async fn documents<'a>(
        &self,
        runs: impl Iterator<Item = &'a str>,
    ) -> Result<(Vec<RunDoc>, Vec<String>), IndexError> {
        let mut docs = Vec::new();
        let mut removed = Vec::new();
        for id in runs {
            match RunDoc::from_store(&*self.store, id, self.options.max_text_bytes).await? {
                Some(d) => docs.push(d),
                None => removed.push(id.to_owned()),
            }
        }
        Ok((docs, removed))
    }

    /// Keeps the indexes live in the background until `stop` turns true:
    /// catches up now, then after each store commit (at most once per commit
    /// interval). The keyword and the semantic index follow the feed in two
    /// loops, so that slow embedding never holds the keyword index back.
    /// Errors are logged and retried on the next commit; they never reach the
    /// store's writers.
    pub fn spawn_live(self: Arc<Self>, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let keyword = Arc::clone(&self).follow(stop.clone(), Follow::Keyword);
        let semantic = self.follow(stop, Follow::Semantic);
        tokio::spawn(async move {
            let _ = tokio::join!(keyword, semantic);
        })
    }

    /// One loop of [`SearchIndex::spawn_live`]: `step` now and after each
    /// store commit.
    fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>, which: Follow) -> JoinHandle<()> {
        let mut commits = self.store.commits();
        tokio::spawn(async move {
            loop {
                let index = Arc::clone(&self);
                let runtime = tokio::runtime::Handle::current();
                // Indexing and embedding are CPU work: off the async workers,
                // with the store's reads driven from the blocking thread.
                let step = move || {
                    runtime.block_on(async {
                        match which {
                            Follow::Keyword => index.catch_up_keyword().await.map(drop),
                            Follow::Semantic => index.catch_up_semantic().await.map(drop),
                        }
                    })
                };
                match tokio::task::spawn_blocking(step).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!("search index: catching up failed: {e}"),
                    Err(e) => tracing::warn!("search index: the catch-up task died: {e}"),
                }
                loop {
                    let idle = tokio::select! {
                        changed = commits.changed() => if changed.is_err() { return } else { false },
                        _ = stop.wait_for(|s| *s) => return,
                        () = tokio::time::sleep(IDLE_REFRESH), if matches!(which, Follow::Keyword) => true,
                    };
                    if !idle {
                        break;
                    }
                    self.refresh_keyword().await;
                }
                tokio::select! {
                    () = tokio::time::sleep(self.options.commit_interval) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        })
    }
}

impl SearchIndex {
    /// Swaps in what background merges wrote while the store was quiet (see
    /// [`crate::KeywordIndex::refresh`]); a failure is logged, and the next
    /// commit's reload tries again.
    async fn refresh_keyword(self: &Arc<Self>) {
        let index = Arc::clone(self);
        match tokio::task::spawn_blocking(move || index.keyword.refresh()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("search index: reloading after merges failed: {e}"),
            Err(e) => tracing::warn!("search index: the reload task died: {e}"),
        }
    }
}

/// Which index a live loop keeps up to date.
#[derive(Debug, Clone, Copy)]
enum Follow {
    Keyword,
    Semantic,
}
