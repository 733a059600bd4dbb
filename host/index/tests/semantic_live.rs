//! The semantic index as [`SearchIndex`] keeps it: fed from the real store's
//! change feed with its own seq, searched with the real all-MiniLM-L6-v2 model
//! (`scripts/setup-model.sh`; without it these tests fail, they do not skip).
//! Runs committed while the index was closed are embedded on the next
//! catch-up; a tenant filter holds; without a model semantic search says why
//! and keyword search still works.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use weft_store_api::SharedStore;
use weft_store_redb::RedbStore;

use serde_json::json;
use weft_index::semantic::{MODEL_DIR_ENV, ORT_DYLIB_ENV, default_onnxruntime};
use weft_index::{IndexError, IndexOptions, SearchIndex, SearchRequest};
use weft_store_api::{NewRun, NewTask, Store};

const T0: u64 = 1_795_305_600_000;

/// Index options naming the model explicitly (from the environment, else the
/// repo's `.weft/models/`).
fn options() -> IndexOptions {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = std::env::var_os(MODEL_DIR_ENV)
        .map_or_else(|| repo.join(".weft/models/all-MiniLM-L6-v2"), PathBuf::from);
    let ort =
        std::env::var_os(ORT_DYLIB_ENV).map_or_else(|| default_onnxruntime(&model), PathBuf::from);
    assert!(
        model.join("model.onnx").is_file() && ort.is_file(),
        "no embedding model at {}: run scripts/setup-model.sh",
        model.display()
    );
    IndexOptions {
        semantic_model_dir: Some(model),
        semantic_onnxruntime: Some(ort),
        ..IndexOptions::default()
    }
}

async fn submit(store: &dyn Store, i: u64, tenant: &str, flow: &str, text: &str) -> String {
    let run = NewRun {
        flow_id: flow.into(),
        flow_version: "1".into(),
        tenant: tenant.into(),
        input: json!({ "text": text }),
        priority: 0,
        idempotency_key: None,
        id_prefix: tenant.into(),
        not_before: None,
        initial_tasks: vec![NewTask {
            step_id: "a".into(),
            pool: "work".into(),
            priority: 0,
        }],
    };
    store.submit_run(run, T0 + i * 1000).await.unwrap().run_id
}

fn semantic(index: &SearchIndex, query: &str, tenant: Option<&str>) -> Vec<String> {
    let req = SearchRequest {
        query: query.into(),
        semantic: true,
        tenant: tenant.map(Into::into),
        limit: 10,
        ..SearchRequest::default()
    };
    let results = index.search(&req, T0 + 1_000_000).unwrap();
    assert_eq!(results.mode, "semantic");
    results.hits.into_iter().map(|h| h.run_id).collect()
}

fn open(dir: &Path, store: &SharedStore) -> SearchIndex {
    SearchIndex::open(&dir.join("index"), store.clone(), options())
        .unwrap()
        .with_semantic()
}

#[tokio::test]
async fn runs_committed_while_closed_are_embedded_on_catch_up_and_tenants_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(RedbStore::open(dir.path().join("weft.redb")).unwrap());
    let unrelated = [
        "the parcel was delivered to the wrong address",
        "password reset link expired",
        "weekly sales report generated",
        "the app crashes on start-up",
    ];
    for (i, text) in unrelated.iter().enumerate() {
        submit(&*store, i as u64, "acme", "support", text).await;
    }
    let index = open(dir.path(), &store);
    index.semantic_status().unwrap();
    index.catch_up().await.unwrap();
    let status = index.status().await.unwrap();
    assert_eq!(
        status.semantic_seq,
        Some(store.change_head().await.unwrap())
    );
    drop(index);

    // Committed while no index is open: a crash or a stopped daemon.
    let acme = submit(&*store, 10, "acme", "support", "customer wants money back").await;
    let globex = submit(&*store, 11, "globex", "support", "please refund my money").await;
    let index = open(dir.path(), &store);
    let status = index.status().await.unwrap();
    assert!(status.semantic_seq < Some(status.store_head), "{status:?}");
    index.catch_up().await.unwrap();
    assert_eq!(
        index.status().await.unwrap().semantic_seq,
        Some(store.change_head().await.unwrap())
    );

    let mine = semantic(&index, "refund request", Some("acme"));
    assert_eq!(mine.first(), Some(&acme), "{mine:?}");
    assert_eq!(mine.len(), 1 + unrelated.len());
    assert!(!mine.contains(&globex));
    let theirs = semantic(&index, "refund request", Some("globex"));
    assert_eq!(theirs, vec![globex.clone()]);
    let everyone = semantic(&index, "refund request", None);
    let mut top: Vec<&String> = everyone[..2].iter().collect();
    top.sort();
    let mut want = vec![&acme, &globex];
    want.sort();
    assert_eq!(top, want, "{everyone:?}");

    // A rebuild re-embeds every run and answers the same.
    let rebuilt = index.rebuild().await.unwrap();
    assert_eq!(rebuilt.runs, 2 + unrelated.len() as u64);
    assert_eq!(
        index.status().await.unwrap().semantic_seq,
        Some(store.change_head().await.unwrap())
    );
    assert_eq!(semantic(&index, "refund request", Some("acme")), mine);

    // Semantic search does not search step outcomes, and needs a text.
    let steps = SearchRequest {
        query: "refund".into(),
        semantic: true,
        steps: true,
        limit: 10,
        ..SearchRequest::default()
    };
    let err = index.search(&steps, T0).unwrap_err();
    assert!(matches!(err, IndexError::SemanticUnavailable(_)), "{err}");
    drop(index);
    store.close().await;
}

#[tokio::test]
async fn without_a_model_semantic_search_says_so_and_keywords_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(RedbStore::open(dir.path().join("weft.redb")).unwrap());
    let run = submit(&*store, 0, "acme", "support", "customer wants money back").await;
    // No `with_semantic`: what a process without a configured model gets.
    let index = SearchIndex::open(
        &dir.path().join("index"),
        store.clone(),
        IndexOptions::default(),
    )
    .unwrap();
    index.catch_up().await.unwrap();
    assert!(index.status().await.unwrap().semantic_seq.is_none());
    let why = index.semantic_status().unwrap_err();
    assert!(why.contains("not configured"), "{why}");
    let req = SearchRequest {
        query: "refund request".into(),
        semantic: true,
        limit: 10,
        ..SearchRequest::default()
    };
    let err = index.search(&req, T0).unwrap_err();
    assert!(err.to_string().contains("not configured"), "{err}");
    assert!(err.to_string().contains("WEFT_EMBED_MODEL_DIR"), "{err}");
    let keyword = SearchRequest {
        query: "money".into(),
        limit: 10,
        ..SearchRequest::default()
    };
    let hits = index.search(&keyword, T0).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].run_id, run);
    drop(index);
    store.close().await;
}
