//! [`SemanticIndex`]: run embeddings in arroy (cosine), with run ids, filter
//! bitmaps and the indexer's progress beside them in the same LMDB environment.

use std::path::Path;

use arroy::distances::Cosine;
use arroy::{Reader, Writer};
use heed::byteorder::BigEndian;
use heed::types::{Str, U64};
use heed::{CommitOrAbort, Env, EnvOpenOptions, RwTxn};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::embedder::{DIMENSIONS, Embedder};
use super::store::{self, Items, PostingEdits, Postings, Record, Runs, State, Times};
use super::{SemanticDoc, SemanticError, SemanticFilter, SemanticHit};

/// How large the LMDB map may grow. Address space only: the file grows as written.
/// 100k runs take about 0.4 GB (see docs/performance.md), so this is ample.
const MAP_SIZE: usize = 64 << 30;

/// The arroy index number inside the `vectors` database (only one is used).
const ARROY_INDEX: u16 = 0;

/// On-disk layout version, checked on open.
const FORMAT: u64 = 1;

const INDEXED_SEQ: &str = "indexed_seq";
const NEXT_ITEM: &str = "next_item";
const FORMAT_KEY: &str = "format";

/// A nearest-neighbour index of run texts, stored in one folder.
///
/// Every [`upsert`](Self::upsert) and [`remove`](Self::remove) writes its batch and
/// rebuilds arroy's trees for what changed in one LMDB transaction, so a search
/// that starts after the call returns sees the change. The build is incremental
/// but not free (docs/performance.md): write in batches, not one run at a time.
pub struct SemanticIndex {
    env: Env,
    vectors: arroy::Database<'static, Cosine>,
    items: Items,
    runs: Runs,
    postings: Postings,
    times: Times,
    state: State,
    embedder: Embedder,
}

impl std::fmt::Debug for SemanticIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticIndex")
            .field("dir", &self.env.path())
            .field("embedder", &self.embedder)
            .finish()
    }
}

impl SemanticIndex {
    /// Opens the index in `dir` (e.g. `.weft/index/vectors/`), creating it if needed.
    pub fn open(dir: &Path, embedder: Embedder) -> Result<Self, SemanticError> {
        let open_err = |source| SemanticError::Open {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let mut options = EnvOpenOptions::new();
        options.map_size(MAP_SIZE).max_dbs(8);
        // SAFETY: LMDB's rule is that a mapped file is not changed by anything but
        // LMDB. The folder is weft's own, and heed refuses to open one environment
        // twice in a process.
        #[allow(unsafe_code, reason = "opening an LMDB environment is unsafe in heed")]
        let env = unsafe { options.open(dir) }.map_err(|e| match e {
            heed::Error::Io(source) => open_err(source),
            other => SemanticError::Storage(other),
        })?;

        let wtxn = env.write_txn()?;
        let (vectors, items, runs, postings, times, state) = env
            .create_databases_and_commit(wtxn, |opener, wtxn| -> Result<_, SemanticError> {
                let state: heed::Database<'_, Str, U64<BigEndian>> =
                    opener.create_database(wtxn, Some("state"))?;
                match state.get(wtxn, FORMAT_KEY)? {
                    None => state.put(wtxn, FORMAT_KEY, &FORMAT)?,
                    Some(FORMAT) => {}
                    Some(other) => {
                        return Err(SemanticError::Corrupt(format!(
                            "{} has layout version {other}, this weft reads {FORMAT}; \
                             delete the folder to rebuild it",
                            dir.display()
                        )));
                    }
                }
                let vectors: arroy::Database<'_, Cosine> =
                    opener.create_database(wtxn, Some("vectors"))?;
                Ok(CommitOrAbort::<_, ()>::Commit((
                    vectors,
                    opener.create_database(wtxn, Some("items"))?,
                    opener.create_database(wtxn, Some("runs"))?,
                    opener.create_database(wtxn, Some("postings"))?,
                    opener.create_database(wtxn, Some("times"))?,
                    state,
                )))
            })?
            .unwrap_commit();
        Ok(Self {
            env,
            vectors,
            items,
            runs,
            postings,
            times,
            state,
            embedder,
        })
    }

    /// The model this index embeds with.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Embeds each doc's text and stores it; a run already indexed is replaced
    /// (vector and metadata). Searchable when this returns.
    pub fn upsert(&mut self, docs: &[SemanticDoc]) -> Result<(), SemanticError> {
        if docs.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let vectors = self.embedder.embed(&texts)?;
        self.upsert_vectors(docs, &vectors)
    }

    /// Like [`upsert`](Self::upsert) with vectors computed elsewhere (one per doc, in
    /// order, [`DIMENSIONS`] long; `doc.text` is not used). For bulk loads and benchmarks.
    pub fn upsert_vectors(
        &mut self,
        docs: &[SemanticDoc],
        vectors: &[Vec<f32>],
    ) -> Result<(), SemanticError> {
        if let Some(v) = vectors.iter().find(|v| v.len() != DIMENSIONS) {
            return Err(SemanticError::Dimensions {
                want: DIMENSIONS,
                got: v.len(),
            });
        }
        if docs.len() != vectors.len() {
            return Err(SemanticError::Embed(format!(
                "{} docs but {} vectors",
                docs.len(),
                vectors.len()
            )));
        }
        let writer = Writer::new(self.vectors, ARROY_INDEX, DIMENSIONS);
        let mut wtxn = self.env.write_txn()?;
        let mut edits = PostingEdits::default();
        let dbs = (self.postings, self.times);
        for (doc, vector) in docs.iter().zip(vectors) {
            let item = match self.runs.get(&wtxn, &doc.run_id)? {
                Some(item) => {
                    let old = self.items.get(&wtxn, &item)?.map(Record::decode);
                    if let Some(old) = old.transpose()? {
                        edits.remove(dbs, &mut wtxn, &old, item)?;
                    }
                    item
                }
                None => self.allocate_item(&mut wtxn)?,
            };
            let rec = Record {
                run_id: doc.run_id.clone(),
                flow: doc.flow.clone(),
                tenant: doc.tenant.clone(),
                status: doc.status.clone(),
                created_ms: doc.created_ms,
            };
            writer.add_item(&mut wtxn, item, vector)?;
            self.items.put(&mut wtxn, &item, &rec.encode())?;
            self.runs.put(&mut wtxn, &doc.run_id, &item)?;
            edits.add(dbs, &mut wtxn, &rec, item)?;
        }
        edits.write(self.postings, &mut wtxn)?;
        self.build_and_commit(&writer, wtxn)
    }

    /// Removes a run; `Ok(false)` when it was not indexed.
    pub fn remove(&mut self, run_id: &str) -> Result<bool, SemanticError> {
        let mut wtxn = self.env.write_txn()?;
        let Some(item) = self.runs.get(&wtxn, run_id)? else {
            return Ok(false);
        };
        let writer = Writer::new(self.vectors, ARROY_INDEX, DIMENSIONS);
        let mut edits = PostingEdits::default();
        let old = self.items.get(&wtxn, &item)?.map(Record::decode);
        if let Some(old) = old.transpose()? {
            edits.remove((self.postings, self.times), &mut wtxn, &old, item)?;
        }
        edits.write(self.postings, &mut wtxn)?;
        writer.del_item(&mut wtxn, item)?;
        self.items.delete(&mut wtxn, &item)?;
        self.runs.delete(&mut wtxn, run_id)?;
        self.build_and_commit(&writer, wtxn)?;
        Ok(true)
    }

    /// The runs whose text is nearest in meaning to `query` among those `filter`
    /// allows, best first, at most `limit`.
    pub fn search(
        &self,
        query: &str,
        filter: &SemanticFilter,
        limit: usize,
    ) -> Result<Vec<SemanticHit>, SemanticError> {
        let vector = self.embedder.embed(&[query])?;
        let vector = vector.first().ok_or_else(|| {
            SemanticError::Embed("the model returned no vector for the query".into())
        })?;
        self.search_vector(vector, filter, limit)
    }

    /// Like [`search`](Self::search) with the query's vector given.
    ///
    /// Without a filter, arroy walks its trees (approximate). With a filter that
    /// allows under half of the runs, arroy compares the query with each allowed run
    /// (exact, cost linear in the runs allowed).
    pub fn search_vector(
        &self,
        vector: &[f32],
        filter: &SemanticFilter,
        limit: usize,
    ) -> Result<Vec<SemanticHit>, SemanticError> {
        let rtxn = self.env.read_txn()?;
        if limit == 0 || self.items.is_empty(&rtxn)? {
            return Ok(Vec::new());
        }
        let candidates = store::candidates((self.postings, self.times), &rtxn, filter)?;
        if candidates.as_ref().is_some_and(|c| c.is_empty()) {
            return Ok(Vec::new());
        }
        let reader = Reader::<Cosine>::open(&rtxn, ARROY_INDEX, self.vectors)?;
        let mut query = reader.nns(limit);
        if let Some(candidates) = &candidates {
            query.candidates(candidates);
        }
        let found = query.by_vector(&rtxn, vector)?;
        let mut hits = Vec::with_capacity(found.len());
        for (item, distance) in found {
            let bytes = self.items.get(&rtxn, &item)?.ok_or_else(|| {
                SemanticError::Corrupt(format!("item {item} has a vector but no record"))
            })?;
            hits.push(SemanticHit {
                run_id: Record::decode(bytes)?.run_id,
                // arroy's cosine distance is (1 - cos) / 2; report the cosine.
                score: 1.0 - 2.0 * distance,
            });
        }
        Ok(hits)
    }

    /// How many runs are indexed.
    pub fn len(&self) -> Result<u64, SemanticError> {
        let rtxn = self.env.read_txn()?;
        Ok(self.items.len(&rtxn)?)
    }

    /// Whether no run is indexed.
    pub fn is_empty(&self) -> Result<bool, SemanticError> {
        Ok(self.len()? == 0)
    }

    /// The last change-feed sequence number the indexer recorded as applied (0 at first).
    pub fn indexed_seq(&self) -> Result<u64, SemanticError> {
        let rtxn = self.env.read_txn()?;
        Ok(self.state.get(&rtxn, INDEXED_SEQ)?.unwrap_or(0))
    }

    /// Records that the change feed has been applied up to `seq` (durable on return).
    /// Upserts are idempotent, so an indexer that crashes between an upsert and this
    /// call simply applies the same changes again.
    pub fn set_indexed_seq(&mut self, seq: u64) -> Result<(), SemanticError> {
        let mut wtxn = self.env.write_txn()?;
        self.state.put(&mut wtxn, INDEXED_SEQ, &seq)?;
        wtxn.commit()?;
        Ok(())
    }

    /// On-disk size of the index, in bytes (the LMDB file).
    pub fn disk_size(&self) -> Result<u64, SemanticError> {
        Ok(self.env.real_disk_size()?)
    }

    fn allocate_item(&self, wtxn: &mut RwTxn) -> Result<u32, SemanticError> {
        let next = self.state.get(wtxn, NEXT_ITEM)?.unwrap_or(0);
        let item = u32::try_from(next).map_err(|_| SemanticError::Full)?;
        self.state.put(wtxn, NEXT_ITEM, &(next + 1))?;
        Ok(item)
    }

    fn build_and_commit(
        &self,
        writer: &Writer<Cosine>,
        mut wtxn: RwTxn,
    ) -> Result<(), SemanticError> {
        // The seed only shapes the trees' random split planes; vary it per build.
        let seed = self.state.get(&wtxn, NEXT_ITEM)?.unwrap_or(0);
        let mut rng = StdRng::seed_from_u64(seed);
        writer.builder(&mut rng).build(&mut wtxn)?;
        wtxn.commit()?;
        Ok(())
    }
}
