//! The keyword index: a tantivy index of run and step documents in one folder.
//!
//! Every commit carries, as its payload, the seq of the last store change it
//! reflects ([`KeywordIndex::indexed_seq`]); after a crash the indexer catches
//! up from there. A run is replaced by deleting every document with its id and
//! adding the new ones, in the same commit.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::Query;
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
};

use crate::build::{Filters, build};
use crate::doc::RunDoc;
use crate::error::IndexError;
use crate::query::parse;
use crate::schema::{self, Fields, SCHEMA_VERSION};

/// How results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first (BM25).
    #[default]
    Score,
    /// Newest submission first.
    Time,
}

/// A matching piece of text, with the byte ranges of the matched words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// The field it comes from (`summary`, `error`, `output`, `input`).
    pub field: String,
    /// The text.
    pub text: String,
    /// Byte ranges `[start, end)` of `text` that matched.
    pub highlights: Vec<[usize; 2]>,
}

/// One result: a run (or a step outcome of one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The run id.
    pub run_id: String,
    /// The step, when searching step outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// The flow.
    pub flow: String,
    /// The tenant.
    pub tenant: String,
    /// The run's status (a step's task state).
    pub status: String,
    /// Submission time, ms.
    pub created_ms: u64,
    /// Last change, ms.
    pub updated_ms: u64,
    /// Relevance (0 when sorted by time).
    pub score: f32,
    /// The best matching text, if any text matched.
    pub snippet: Option<Snippet>,
}

/// The tantivy index in one folder, with its single writer.
pub struct KeywordIndex {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

/// Writer heap per indexing thread.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

impl KeywordIndex {
    /// Opens (or creates) the index in `dir`, with one indexing thread.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, 1)
    }

    /// Opens (or creates) the index in `dir` with `threads` indexing threads.
    pub fn open_with(dir: &Path, threads: usize) -> Result<Self, IndexError> {
        let io = |source| IndexError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema::build();
        let mmap = MmapDirectory::open(dir).map_err(|e| IndexError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let incompatible = |why: String| IndexError::Incompatible {
            path: dir.to_owned(),
            why,
        };
        let index = Index::open_or_create(mmap, schema).map_err(|e| match e {
            tantivy::TantivyError::SchemaError(why) => incompatible(why),
            other => IndexError::Tantivy(other),
        })?;
        let threads = threads.max(1);
        let writer = index.writer_with_num_threads(threads, WRITER_HEAP * threads)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            dir: dir.to_owned(),
            index,
            fields,
            writer: Mutex::new(writer),
            reader,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store change seq the last commit reflects (0 for a new index).
    pub fn indexed_seq(&self) -> Result<u64, IndexError> {
        Ok(payload_seq(self.index.load_metas()?.payload.as_deref()))
    }

    /// The seq recorded in the index in `dir`, read without taking its writer
    /// (another process may hold it); `None` when `dir` has no index.
    pub fn read_seq(dir: &Path) -> Result<Option<u64>, IndexError> {
        if !dir.join("meta.json").is_file() {
            return Ok(None);
        }
        let index = Index::open_in_dir(dir)?;
        Ok(Some(payload_seq(index.load_metas()?.payload.as_deref())))
    }

    /// Documents in the index (runs and step outcomes).
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces the documents of `docs`' runs and of `removed` runs, and commits
    /// recording `seq`.
    pub fn apply(&self, docs: &[RunDoc], removed: &[String], seq: u64) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        let f = &self.fields;
        for run in removed {
            writer.delete_term(tantivy::Term::from_field_text(f.run, run));
        }
        for d in docs {
            writer.delete_term(tantivy::Term::from_field_text(f.run, &d.run_id));
            writer.add_document(run_document(f, d))?;
            for s in &d.steps {
                writer.add_document(step_document(f, d, s))?;
            }
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&format!("v{SCHEMA_VERSION}:{seq}"));
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Makes searches see the segments that background merges wrote since the
    /// last commit, and lets go of the segments those merges replaced. The
    /// reader reloads on each commit only (`ReloadPolicy::Manual`) and a merge
    /// ends after the commit that started it, so on a quiet daemon the replaced
    /// segments (deleted files, still mapped into the process) would stay in its
    /// memory until the next run arrives. The live indexer calls this when idle.
    pub fn refresh(&self) -> Result<(), IndexError> {
        self.reader.reload()?;
        Ok(())
    }

    /// The segments searches read now (what [`KeywordIndex::refresh`] updates).
    pub fn searched_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Deletes every document and commits with seq 0 (before a rebuild).
    pub fn clear(&self) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&format!("v{SCHEMA_VERSION}:0"));
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Searches with the query language; up to `limit` hits.
    pub fn search(
        &self,
        query: &str,
        filters: &Filters,
        sort: Sort,
        limit: usize,
        now_ms: u64,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let terms = parse(query)?;
        let q = build(&self.index, &self.fields, &terms, filters, now_ms)?;
        let searcher = self.reader.searcher();
        let limit = limit.max(1);
        let found: Vec<(f32, DocAddress)> = match sort {
            Sort::Score => searcher.search(&q, &TopDocs::with_limit(limit).order_by_score())?,
            Sort::Time => searcher
                .search(
                    &q,
                    &TopDocs::with_limit(limit).order_by_fast_field::<u64>("created", Order::Desc),
                )?
                .into_iter()
                .map(|(_, a)| (0.0, a))
                .collect(),
        };
        self.hits(&searcher, &*q, found)
    }

    fn hits(
        &self,
        searcher: &Searcher,
        q: &dyn Query,
        found: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let mut generators = Vec::new();
        for field in self.fields.texts() {
            let mut g = SnippetGenerator::create(searcher, q, field)?;
            g.set_max_num_chars(160);
            generators.push((field, g));
        }
        let mut out = Vec::with_capacity(found.len());
        for (score, addr) in found {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let mut snippet = None;
            for (field, g) in &generators {
                let s = g.snippet_from_doc(&doc);
                if !s.highlighted().is_empty() {
                    snippet = Some(Snippet {
                        field: self.index.schema().get_field_name(*field).to_owned(),
                        text: s.fragment().to_owned(),
                        highlights: s.highlighted().iter().map(|r| [r.start, r.end]).collect(),
                    });
                    break;
                }
            }
            out.push(self.hit(&doc, score, snippet));
        }
        Ok(out)
    }

    /// The hit for a stored document.
    fn hit(&self, doc: &TantivyDocument, score: f32, snippet: Option<Snippet>) -> SearchHit {
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let number = |field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let is_step = text(f.kind) == "step";
        SearchHit {
            run_id: text(f.run),
            step_id: is_step.then(|| text(f.step)),
            flow: text(f.flow),
            tenant: text(f.tenant),
            status: text(f.status),
            created_ms: number(f.created),
            updated_ms: number(f.updated),
            score,
            snippet,
        }
    }

    /// The run document of `run_id` as a hit (score 0), its snippet the start
    /// of its summary (else output, else input) without highlights; `None` when
    /// the run is not indexed.
    pub fn run_hit(&self, run_id: &str) -> Result<Option<SearchHit>, IndexError> {
        let f = &self.fields;
        let q = tantivy::query::BooleanQuery::new(vec![
            (
                tantivy::query::Occur::Must,
                Box::new(tantivy::query::TermQuery::new(
                    tantivy::Term::from_field_text(f.run, run_id),
                    tantivy::schema::IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                tantivy::query::Occur::Must,
                Box::new(tantivy::query::TermQuery::new(
                    tantivy::Term::from_field_text(f.kind, "run"),
                    tantivy::schema::IndexRecordOption::Basic,
                )),
            ),
        ]);
        let searcher = self.reader.searcher();
        let found = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, addr)) = found.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*addr)?;
        let snippet = [f.summary, f.output, f.input]
            .into_iter()
            .find_map(|field| {
                let text = doc.get_first(field).and_then(|v| v.as_str())?;
                (!text.trim().is_empty()).then(|| Snippet {
                    field: self.index.schema().get_field_name(field).to_owned(),
                    text: text.chars().take(160).collect(),
                    highlights: Vec::new(),
                })
            });
        Ok(Some(self.hit(&doc, 0.0, snippet)))
    }
}

/// The seq in a commit payload `v<schema>:<seq>`; 0 when absent or of another
/// schema version (which makes the indexer start over).
fn payload_seq(payload: Option<&str>) -> u64 {
    payload
        .and_then(|p| p.strip_prefix(&format!("v{SCHEMA_VERSION}:")))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn run_document(f: &Fields, d: &RunDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "run");
    common(f, d, &mut doc);
    doc.add_text(f.status, &d.status);
    for s in &d.steps {
        doc.add_text(f.step, &s.step_id);
    }
    if let Some(t) = d.finished_ms {
        doc.add_u64(f.finished, t);
    }
    doc.add_text(f.error, &d.errors);
    doc.add_text(f.input, &d.input);
    doc.add_text(f.output, &d.output);
    doc.add_text(f.summary, &d.summary);
    doc
}

fn step_document(f: &Fields, d: &RunDoc, s: &crate::doc::StepDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "step");
    common(f, d, &mut doc);
    doc.add_text(f.status, &s.status);
    doc.add_text(f.step, &s.step_id);
    doc.add_text(f.error, &s.error);
    doc.add_text(f.output, &s.output);
    doc.add_text(f.summary, &s.summary);
    doc
}

fn common(f: &Fields, d: &RunDoc, doc: &mut TantivyDocument) {
    doc.add_text(f.run, &d.run_id);
    doc.add_text(f.flow, &d.flow);
    doc.add_text(f.tenant, &d.tenant);
    doc.add_u64(f.created, d.created_ms);
    doc.add_u64(f.updated, d.updated_ms);
}

#[cfg(test)]
#[path = "keyword_refresh_tests.rs"]
mod refresh_tests;
