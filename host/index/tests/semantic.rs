#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! Semantic search with the real all-MiniLM-L6-v2 model and ONNX Runtime, which
//! `scripts/setup-model.sh` obtains (scripts/test.sh runs it first). Without them
//! these tests fail, they do not skip.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use weft_index::semantic::{
    Embedder, MODEL_DIR_ENV, ORT_DYLIB_ENV, SemanticDoc, SemanticError, SemanticFilter,
    SemanticIndex, default_onnxruntime,
};

/// The model folder and library: from the environment, else the repo's `.weft/models/`.
fn model_paths() -> (PathBuf, PathBuf) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = std::env::var_os(MODEL_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".weft/models/all-MiniLM-L6-v2"));
    let ort = std::env::var_os(ORT_DYLIB_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| default_onnxruntime(&model));
    assert!(
        model.join("model.onnx").is_file() && ort.is_file(),
        "no embedding model at {} / {}: run scripts/setup-model.sh (or set {MODEL_DIR_ENV} and {ORT_DYLIB_ENV})",
        model.display(),
        ort.display()
    );
    (model, ort)
}

fn embedder() -> Embedder {
    let (model, ort) = model_paths();
    Embedder::from_config(&model, &ort).expect("load the model")
}

/// Topic, then texts worded unlike the queries used below.
const CORPUS: [(&str, [&str; 6]); 5] = [
    (
        "refund",
        [
            "customer wants money back for a broken blender",
            "client asked to be reimbursed for the duplicate charge",
            "buyer demands repayment after cancelling the order",
            "return the payment to the shopper because the item was faulty",
            "user requests that the purchase price be returned to their card",
            "shopper disputes the purchase and wants the amount credited back",
        ],
    ),
    (
        "login",
        [
            "password reset link expired before the user clicked it",
            "account locked after too many failed sign-in attempts",
            "two-factor code never arrived so the user cannot log in",
            "user forgot their credentials and is stuck on the login page",
            "member is unable to access the portal, authentication keeps failing",
            "single sign-on rejects the employee when logging on",
        ],
    ),
    (
        "shipping",
        [
            "parcel has not arrived after three weeks",
            "courier lost the shipment somewhere in transit",
            "delivery held up at the customs warehouse",
            "tracking says the delivery has not moved since Monday",
            "order still at the depot, the carrier postponed the drop-off",
            "the box was supposed to come yesterday but never showed up",
        ],
    ),
    (
        "invoice",
        [
            "generate the monthly invoice for the enterprise plan",
            "billing statement shows the wrong VAT number",
            "send a copy of the receipt PDF to accounting",
            "invoice total does not match the quote",
            "update the company address printed on our bills",
            "payment terms on the invoice should be net 30",
        ],
    ),
    (
        "other",
        [
            "nightly database backup finished successfully",
            "translate the product description into German",
            "summarize the notes from the quarterly sales meeting",
            "classify the sentiment of a tweet about the weather",
            "resize the uploaded images to thumbnails",
            "plan a team offsite in the mountains",
        ],
    ),
];

const T0: u64 = 1_790_000_000_000;

/// 30 runs: ids `<topic>-<n>`; tenant alternates acme/globex, status
/// succeeded/failed every third, flow per topic, one second apart.
fn corpus() -> Vec<SemanticDoc> {
    let mut docs = Vec::new();
    for (topic, texts) in CORPUS {
        for (n, text) in texts.iter().enumerate() {
            let i = docs.len() as u64;
            docs.push(SemanticDoc {
                run_id: format!("{topic}-{n}"),
                text: (*text).to_string(),
                flow: format!("{topic}-flow"),
                tenant: if i.is_multiple_of(2) {
                    "acme"
                } else {
                    "globex"
                }
                .to_string(),
                status: if i.is_multiple_of(3) {
                    "failed"
                } else {
                    "succeeded"
                }
                .to_string(),
                created_ms: T0 + i * 1000,
            });
        }
    }
    docs
}

fn indexed(dir: &std::path::Path) -> SemanticIndex {
    let mut index = SemanticIndex::open(dir, embedder()).unwrap();
    index.upsert(&corpus()).unwrap();
    index
}

fn ids(hits: &[weft_index::semantic::SemanticHit]) -> Vec<String> {
    hits.iter().map(|h| h.run_id.clone()).collect()
}

/// Every run of `topic` comes before every other run in the full ranking for `query`.
fn assert_topic_first(index: &SemanticIndex, query: &str, topic: &str) {
    let hits = index
        .search(query, &SemanticFilter::default(), 100)
        .unwrap();
    let ranking = ids(&hits);
    assert_eq!(ranking.len(), 30, "{query}: every run is ranked");
    let first: BTreeSet<&str> = ranking[..6].iter().map(String::as_str).collect();
    let want: BTreeSet<String> = (0..6).map(|n| format!("{topic}-{n}")).collect();
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(first, want, "{query}: ranking was {ranking:?}");
    assert!(
        hits.windows(2).all(|w| w[0].score >= w[1].score),
        "scores descend"
    );
}

#[test]
fn queries_in_other_words_rank_the_related_runs_above_all_others() {
    let dir = tempfile::tempdir().unwrap();
    let index = indexed(dir.path());
    assert_topic_first(&index, "refund request", "refund");
    assert_topic_first(&index, "can't sign in", "login");
    assert_topic_first(&index, "package late", "shipping");
    assert_topic_first(&index, "billing paperwork", "invoice");
}

#[test]
fn the_nearest_run_scores_near_one_for_its_own_text() {
    let dir = tempfile::tempdir().unwrap();
    let index = indexed(dir.path());
    let hits = index
        .search(
            "courier lost the shipment somewhere in transit",
            &SemanticFilter::default(),
            2,
        )
        .unwrap();
    assert_eq!(hits[0].run_id, "shipping-1");
    assert!(
        hits[0].score > 0.99,
        "cosine with itself: {}",
        hits[0].score
    );
    assert!(hits[1].score < 0.9, "another text: {}", hits[1].score);
}

#[test]
fn filters_return_exactly_the_runs_they_allow() {
    let dir = tempfile::tempdir().unwrap();
    let index = indexed(dir.path());
    let docs: HashMap<String, SemanticDoc> = corpus()
        .into_iter()
        .map(|d| (d.run_id.clone(), d))
        .collect();
    let allowed = |f: &dyn Fn(&SemanticDoc) -> bool| -> BTreeSet<String> {
        docs.values()
            .filter(|d| f(d))
            .map(|d| d.run_id.clone())
            .collect()
    };
    let search = |filter: SemanticFilter| -> BTreeSet<String> {
        ids(&index.search("refund request", &filter, 100).unwrap())
            .into_iter()
            .collect()
    };

    let by_flow = search(SemanticFilter {
        flow: Some("invoice-flow".into()),
        ..Default::default()
    });
    assert_eq!(by_flow, allowed(&|d| d.flow == "invoice-flow"));

    let by_tenant_status = search(SemanticFilter {
        tenant: Some("acme".into()),
        status: Some("failed".into()),
        ..Default::default()
    });
    assert_eq!(
        by_tenant_status,
        allowed(&|d| d.tenant == "acme" && d.status == "failed")
    );
    assert_eq!(by_tenant_status.len(), 5);

    let window = search(SemanticFilter {
        since_ms: Some(T0 + 4_000),
        until_ms: Some(T0 + 9_000),
        ..Default::default()
    });
    assert_eq!(
        window,
        allowed(&|d| (T0 + 4_000..=T0 + 9_000).contains(&d.created_ms))
    );
    assert_eq!(window.len(), 6);

    let tenant_only = search(SemanticFilter {
        tenant: Some("globex".into()),
        ..Default::default()
    });
    assert!(!tenant_only.is_empty());
    assert!(tenant_only.iter().all(|id| docs[id].tenant == "globex"));

    let nothing = search(SemanticFilter {
        tenant: Some("initech".into()),
        ..Default::default()
    });
    assert!(nothing.is_empty());
}

#[test]
fn upsert_replaces_a_runs_vector_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = indexed(dir.path());
    let mut moved = corpus().remove(0); // refund-0, tenant acme
    moved.text = "the parcel is stuck in customs and has not been delivered".into();
    moved.tenant = "initech".into();
    index.upsert(&[moved]).unwrap();

    assert_eq!(index.len().unwrap(), 30, "replaced, not added");
    let shipping = ids(&index
        .search("package late", &SemanticFilter::default(), 7)
        .unwrap());
    assert!(shipping.contains(&"refund-0".to_string()), "{shipping:?}");
    let refunds = ids(&index
        .search("refund request", &SemanticFilter::default(), 5)
        .unwrap());
    assert!(!refunds.contains(&"refund-0".to_string()), "{refunds:?}");

    let acme = |tenant: &str| {
        ids(&index
            .search(
                "package late",
                &SemanticFilter {
                    tenant: Some(tenant.into()),
                    ..Default::default()
                },
                100,
            )
            .unwrap())
    };
    assert_eq!(acme("initech"), vec!["refund-0".to_string()]);
    assert!(!acme("acme").contains(&"refund-0".to_string()));
}

#[test]
fn remove_takes_a_run_out_of_every_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = indexed(dir.path());
    assert!(index.remove("shipping-0").unwrap());
    assert!(!index.remove("shipping-0").unwrap(), "already gone");
    assert_eq!(index.len().unwrap(), 29);
    let hits = ids(&index
        .search("package late", &SemanticFilter::default(), 100)
        .unwrap());
    assert_eq!(hits.len(), 29);
    assert!(!hits.contains(&"shipping-0".to_string()));
    let by_flow = ids(&index
        .search(
            "package late",
            &SemanticFilter {
                flow: Some("shipping-flow".into()),
                ..Default::default()
            },
            100,
        )
        .unwrap());
    assert_eq!(by_flow.len(), 5);
}

#[test]
fn the_index_and_the_indexed_seq_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let mut index = indexed(dir.path());
        assert_eq!(index.indexed_seq().unwrap(), 0);
        index.set_indexed_seq(42).unwrap();
        index
            .search("can't sign in", &SemanticFilter::default(), 6)
            .unwrap()
    };
    let index = SemanticIndex::open(dir.path(), embedder()).unwrap();
    assert_eq!(index.indexed_seq().unwrap(), 42);
    assert_eq!(index.len().unwrap(), 30);
    let after = index
        .search("can't sign in", &SemanticFilter::default(), 6)
        .unwrap();
    assert_eq!(ids(&after), ids(&before));
}

#[test]
fn an_empty_index_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = SemanticIndex::open(dir.path(), embedder()).unwrap();
    let hits = index
        .search("anything", &SemanticFilter::default(), 10)
        .unwrap();
    assert!(hits.is_empty());
}

#[test]
fn no_model_configured_says_how_to_configure_one() {
    let err = Embedder::from_settings(None, None, &|_| None).unwrap_err();
    assert!(matches!(err, SemanticError::NotConfigured), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("search.semantic.model_dir"), "{msg}");
    assert!(msg.contains("WEFT_EMBED_MODEL_DIR"), "{msg}");
    assert!(msg.contains("scripts/setup-model.sh"), "{msg}");
}

#[test]
fn a_model_folder_without_the_model_names_the_missing_file() {
    let (_, ort) = model_paths();
    let empty = tempfile::tempdir().unwrap();
    let err = Embedder::from_config(empty.path(), &ort).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("missing file"), "{msg}");
    assert!(msg.contains("model.onnx"), "{msg}");

    // The environment variable wins over weft.yaml's value.
    let (model, _) = model_paths();
    let model_os = model.clone().into_os_string();
    let from_env = Embedder::from_settings(Some(empty.path()), Some(&ort), &|name| {
        (name == MODEL_DIR_ENV).then(|| model_os.clone())
    })
    .unwrap();
    assert_eq!(from_env.model_dir(), model.as_path());
}

#[test]
fn embeddings_are_batched_in_order_and_384_long() {
    let embedder = embedder();
    let texts: Vec<String> = (0..70).map(|i| format!("run number {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let all = embedder.embed(&refs).unwrap();
    assert_eq!(all.len(), 70);
    assert!(all.iter().all(|v| v.len() == 384));
    let alone = embedder.embed(&[refs[65]]).unwrap();
    let diff = alone[0]
        .iter()
        .zip(&all[65])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff < 1e-4,
        "the 66th text, in the second batch, embeds as alone: {diff}"
    );
}
