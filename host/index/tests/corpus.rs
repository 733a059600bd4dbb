//! The keyword index over a generated corpus of 320 runs written through the
//! real store: field queries, free text, phrases, negation and time ranges
//! return exactly the runs the generator says they should; the index catches
//! up with runs committed after it; a rebuild answers the same; a tenant
//! filter never lets another tenant's run through.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use weft_store_api::SharedStore;
use weft_store_redb::RedbStore;

use common::{ERRORS, Gen, STEP_MS, T0, generate, ids};
use weft_index::{Filters, IndexOptions, SearchIndex, SearchRequest, Sort};

const RUNS: u64 = 320;
const NOW: u64 = T0 + 330 * STEP_MS;

fn found(index: &SearchIndex, query: &str, filters: &Filters) -> BTreeSet<String> {
    index
        .keyword()
        .search(query, filters, Sort::Score, 10_000, NOW)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_iter()
        .map(|h| h.run_id)
        .collect()
}

fn all(index: &SearchIndex, query: &str) -> BTreeSet<String> {
    found(index, query, &Filters::default())
}

async fn setup() -> (tempfile::TempDir, SharedStore, SearchIndex, Vec<Gen>) {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(RedbStore::open(dir.path().join("weft.redb")).unwrap());
    let corpus = generate(&*store, 0, RUNS).await;
    let index = SearchIndex::open(
        &dir.path().join("index"),
        store.clone(),
        IndexOptions::default(),
    )
    .unwrap();
    let done = index.catch_up().await.unwrap();
    assert_eq!(done.seq, store.change_head().await.unwrap());
    assert_eq!(done.runs, RUNS);
    (dir, store, index, corpus)
}

fn check_queries(index: &SearchIndex, c: &[Gen]) {
    assert_eq!(all(index, ""), ids(c, |_| true));
    assert_eq!(all(index, "flow:billing"), ids(c, |g| g.flow == "billing"));
    assert_eq!(
        all(index, "status:failed"),
        ids(c, |g| g.status == "failed")
    );
    assert_eq!(
        all(index, "status:running"),
        ids(c, |g| g.status == "running")
    );
    let timeout = |g: &Gen| g.error == Some(ERRORS[0]);
    assert_eq!(
        all(index, "flow:billing status:failed error:timeout"),
        ids(c, |g| g.flow == "billing" && timeout(g))
    );
    assert!(!all(index, "flow:billing status:failed error:timeout").is_empty());
    // Free text: every text field; all words must be there, in any order.
    let declined = |g: &Gen| g.error.is_some_and(|e| e.contains("declined"));
    assert_eq!(all(index, "declined"), ids(c, declined));
    assert_eq!(all(index, "card declined"), ids(c, declined));
    assert_eq!(all(index, "DECLINED"), ids(c, declined));
    // A phrase keeps the order: "declined card limit" is not "card declined".
    assert_eq!(
        all(index, "\"card declined\""),
        ids(c, |g| g.error == Some(ERRORS[1]))
    );
    assert_eq!(
        all(index, "error:\"card declined\""),
        all(index, "\"card declined\"")
    );
    assert_eq!(all(index, "alice"), ids(c, |g| g.customer == "alice"));
    assert_eq!(
        all(index, "summary:alice"),
        ids(c, |g| g.customer == "alice" && g.status == "succeeded")
    );
    assert_eq!(
        all(index, "alice -status:succeeded"),
        ids(c, |g| g.customer == "alice" && g.status != "succeeded")
    );
    assert_eq!(all(index, "ord17"), ids(c, |g| g.id == c[17].id));
    assert_eq!(
        all(index, &format!("run:{}", c[5].id)),
        ids(c, |g| g.id == c[5].id)
    );
    assert_eq!(all(index, "step:charge"), ids(c, |_| true));
    assert!(all(index, "step:refund").is_empty());
    // Time ranges: since is inclusive, until exclusive.
    let (a, b) = (T0 + 100 * STEP_MS, T0 + 200 * STEP_MS);
    let in_range = |g: &Gen| g.created_ms >= a && g.created_ms < b;
    assert_eq!(
        all(index, &format!("since:{a} until:{b}")),
        ids(c, in_range)
    );
    assert_eq!(ids(c, in_range).len(), 100);
    let filters = Filters {
        since_ms: Some(a),
        until_ms: Some(b),
        flow: Some("refunds".into()),
        ..Filters::default()
    };
    assert_eq!(
        found(index, "", &filters),
        ids(c, |g| in_range(g) && g.flow == "refunds")
    );
    // Relative ages against the clock: 30m back from NOW is 30 runs.
    assert_eq!(
        all(index, "since:30m"),
        ids(c, |g| g.created_ms >= NOW - 30 * 60_000)
    );
}

#[tokio::test]
async fn queries_return_exactly_the_generated_runs_and_a_rebuild_answers_the_same() {
    let (_dir, _store, index, corpus) = setup().await;
    check_queries(&index, &corpus);
    let again = index.rebuild().await.unwrap();
    assert_eq!(again.runs, RUNS);
    check_queries(&index, &corpus);
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let (_dir, _store, index, c) = setup().await;
    let acme = Filters {
        tenant: Some("acme".into()),
        ..Filters::default()
    };
    assert_eq!(found(&index, "", &acme), ids(&c, |g| g.tenant == "acme"));
    assert_eq!(
        found(&index, "declined", &acme),
        ids(&c, |g| g.tenant == "acme"
            && g.error.is_some_and(|e| e.contains("declined")))
    );
    // Naming the other tenant in the query only narrows further: nothing.
    assert!(found(&index, "tenant:globex", &acme).is_empty());
    // Through SearchRequest, as the API makes it.
    let req = SearchRequest {
        query: "status:failed".into(),
        tenant: Some("globex".into()),
        limit: 1000,
        ..SearchRequest::default()
    };
    let hits = index.search(&req, NOW).unwrap().hits;
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .all(|h| h.tenant == "globex" && h.status == "failed")
    );
}

#[tokio::test]
async fn the_index_catches_up_with_runs_committed_after_it() {
    let (_dir, store, index, mut corpus) = setup().await;
    corpus.extend(generate(&*store, RUNS, RUNS + 40).await);
    let status = index.status().await.unwrap();
    assert!(status.indexed_seq < status.store_head, "{status:?}");
    assert_eq!(
        all(&index, "flow:billing").len(),
        ids(&corpus[..RUNS as usize], |g| g.flow == "billing").len()
    );
    let done = index.catch_up().await.unwrap();
    assert_eq!(done.runs, 40);
    assert_eq!(done.seq, store.change_head().await.unwrap());
    check_queries(&index, &corpus);
}

#[tokio::test]
async fn sorting_snippets_steps_and_errors() {
    let (_dir, _store, index, c) = setup().await;
    let f = Filters::default();
    let newest = index.keyword().search("", &f, Sort::Time, 5, NOW).unwrap();
    let times: Vec<u64> = newest.iter().map(|h| h.created_ms).collect();
    let mut expected: Vec<u64> = c.iter().map(|g| g.created_ms).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, expected[..5]);
    // The snippet shows where the query matched.
    let hits = index
        .keyword()
        .search("declined", &f, Sort::Score, 3, NOW)
        .unwrap();
    let s = hits[0].snippet.as_ref().unwrap();
    assert_eq!(s.field, "error");
    let [from, to] = s.highlights[0];
    assert_eq!(&s.text[from..to], "declined");
    // Step outcomes.
    let steps = Filters {
        steps: true,
        ..Filters::default()
    };
    let hits = index
        .keyword()
        .search("error:timeout", &steps, Sort::Score, 1000, NOW)
        .unwrap();
    assert_eq!(hits.len(), ids(&c, |g| g.error == Some(ERRORS[0])).len());
    assert!(
        hits.iter()
            .all(|h| h.step_id.as_deref() == Some("charge") && h.status == "failed")
    );
    // A bad query names the column.
    let e = index
        .keyword()
        .search("flow:billing colour:red", &f, Sort::Score, 5, NOW)
        .unwrap_err();
    assert!(e.to_string().contains("at column 14"), "{e}");
    let e = index
        .keyword()
        .search("since:soon", &f, Sort::Score, 5, NOW)
        .unwrap_err();
    assert!(e.to_string().contains("at column 1"), "{e}");
    // Semantic search without a model says so.
    let req = SearchRequest {
        semantic: true,
        query: "anything".into(),
        limit: 5,
        ..SearchRequest::default()
    };
    let e = index.search(&req, NOW).unwrap_err().to_string();
    assert!(e.contains("not configured"), "{e}");
}
