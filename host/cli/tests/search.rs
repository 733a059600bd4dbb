//! Search over runs against a real `weft daemon` and the real `weft` binary:
//! runs committed while the daemon's indexer holds back (a one-hour commit
//! interval) are not in the index when the daemon is SIGKILLed; after a restart
//! the daemon's indexes (keyword and semantic, with the real embedding model
//! that `scripts/setup-model.sh` obtains) catch up and find them; tenants only
//! ever find their own runs; `weft search` without a daemon and `weft index
//! rebuild` answer the same; without a model, semantic search says so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use weft_store_api::prelude::*;

use serde_json::{Value, json};

#[path = "common/daemon.rs"]
mod daemon_support;

#[path = "common/auth.rs"]
#[allow(dead_code, reason = "each test file uses part of the shared helpers")]
mod auth_support;

use auth_support::{
    ACME, ADMIN, Cred, GLOBEX, WORKER, append_to_weft_yaml, call, text, weft,
    write_project_with_tokens,
};
use daemon_support::Daemon;

/// `s` for a URL query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn search(url: &str, token: &str, query: &str, extra: &str) -> (u16, Value) {
    let path = format!("/v1/search?q={}&limit=100{extra}", encode(query));
    let a = call(url, "GET", &path, Cred::Token(token), None);
    (a.status, a.body)
}

fn hit_ids(body: &Value) -> BTreeSet<String> {
    body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {body}"))
        .iter()
        .map(|h| h["run_id"].as_str().unwrap().to_owned())
        .collect()
}

fn submit(url: &str, token: &str, text: &str) -> String {
    let body = json!({"flow": "note", "input": {"text": text}});
    let a = call(url, "POST", "/v1/runs", Cred::Token(token), Some(body));
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["run_id"].as_str().unwrap().to_owned()
}

/// The embedding model's folder: `WEFT_EMBED_MODEL_DIR`, else the repo's
/// `.weft/models/` (where `scripts/setup-model.sh` puts it). No model fails the
/// test: it does not skip.
fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WEFT_EMBED_MODEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.weft/models/all-MiniLM-L6-v2"),
        PathBuf::from,
    );
    assert!(
        dir.join("model.onnx").is_file(),
        "no embedding model in {}: run scripts/setup-model.sh",
        dir.display()
    );
    dir
}

fn project(dir: &Path) {
    write_project_with_tokens(dir);
    std::fs::write(
        dir.join("flows/note.yaml"),
        "id: note\ninputs:\n  text: { type: string, required: true }\nsteps:\n  a: { uses: echo }\n",
    )
    .unwrap();
    // The live indexer waits an hour before it commits: nothing it sees is
    // committed before the crash below.
    append_to_weft_yaml(
        dir,
        &format!(
            "search:\n  commit_interval: 1h\n  max_text_bytes: 2048\n  semantic:\n    model_dir: {}\n",
            model_dir().display()
        ),
    );
}

/// The index's seq and the store's head, read from the files of a stopped daemon.
fn seqs(state: &Path) -> (Option<u64>, u64) {
    let indexed = weft_index::KeywordIndex::read_seq(&state.join("index/keyword")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let head = runtime.block_on(async {
        let store = weft_store_redb::RedbStore::open(state.join("weft.redb")).unwrap();
        let head = store.change_head().await.unwrap();
        store.close().await;
        head
    });
    (indexed, head)
}

#[test]
fn a_crashed_daemon_catches_up_on_restart_and_tenants_find_only_their_runs() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir);
    let state = dir.join("state");
    let daemon = Daemon::start_with(dir, &[]);
    let acme: BTreeSet<String> = (0..6)
        .map(|i| submit(&daemon.url, ACME, &format!("zebra invoice {i} for acme")))
        .collect();
    let globex: BTreeSet<String> = (0..4)
        .map(|i| {
            submit(
                &daemon.url,
                GLOBEX,
                &format!("zebra invoice {i} for globex"),
            )
        })
        .collect();
    let acme_refund = submit(&daemon.url, ACME, "the customer wants their money back");
    let globex_refund = submit(&daemon.url, GLOBEX, "please refund my money to my card");
    for (i, other) in ["the parcel arrived late", "password reset link expired"]
        .iter()
        .enumerate()
    {
        let token = if i == 0 { ACME } else { GLOBEX };
        submit(&daemon.url, token, other);
    }
    daemon.kill();

    let (indexed, head) = seqs(&state);
    assert!(
        indexed.unwrap_or(0) < head,
        "the index must not have seen the runs before the crash: {indexed:?} vs {head}"
    );

    let daemon = Daemon::start_with(dir, &[]);
    let url = &daemon.url;
    let (status, body) = search(url, ACME, "zebra", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "keyword");
    assert_eq!(hit_ids(&body), acme);
    assert_eq!(hit_ids(&search(url, GLOBEX, "zebra", "").1), globex);
    assert_eq!(hit_ids(&search(url, GLOBEX, "invoice 2", "").1).len(), 1);
    // A tenant naming another tenant, in the query or as a filter, finds nothing.
    assert!(hit_ids(&search(url, ACME, "zebra tenant:globex", "").1).is_empty());
    assert_eq!(
        hit_ids(&search(url, ACME, "zebra", "&tenant=globex").1),
        acme
    );
    // An admin sees both, and may narrow to one.
    let everyone: BTreeSet<String> = acme.union(&globex).cloned().collect();
    assert_eq!(hit_ids(&search(url, ADMIN, "zebra", "").1), everyone);
    assert_eq!(
        hit_ids(&search(url, ADMIN, "zebra", "&tenant=globex").1),
        globex
    );
    assert_eq!(search(url, WORKER, "zebra", "").0, 403);
    // Mistakes are 400s that say where.
    let (status, body) = search(url, ACME, "zebra colour:red", "");
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("at column 7"),
        "{body}"
    );

    // Semantic search with the real model, over runs embedded after the crash.
    let (status, body) = search(url, ACME, "refund request", "&semantic=true");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "semantic");
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits[0]["run_id"], acme_refund.as_str(), "{body}");
    assert!(
        hits.iter().all(|h| h["tenant"] == "acme"),
        "another tenant's run: {body}"
    );
    assert!(!hit_ids(&body).contains(&globex_refund));
    let (_, body) = search(url, ADMIN, "refund request", "&semantic=true");
    let top: BTreeSet<String> = body["hits"].as_array().unwrap()[..2]
        .iter()
        .map(|h| h["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        top,
        BTreeSet::from([acme_refund.clone(), globex_refund.clone()]),
        "{body}"
    );

    // The CLI through the daemon, with a tenant's token.
    let out = weft(dir, Some(ACME), &["search", "zebra", "--daemon", url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(acme.iter().all(|id| shown.contains(id.as_str())), "{shown}");
    assert!(
        !globex.iter().any(|id| shown.contains(id.as_str())),
        "{shown}"
    );
    assert!(shown.contains("zebra"), "the snippet is shown: {shown}");
    assert!(
        !shown.contains('\u{1b}'),
        "no ANSI codes off a terminal: {shown}"
    );
    assert_eq!(daemon.stop().code(), Some(0));

    // Without a daemon: the local index, then a rebuild, answer the same.
    let state_arg = state.display().to_string();
    let local = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--state", &state_arg, "--json"]);
        let out = weft(dir, None, &all);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(
        hit_ids(&local(&["search", "zebra", "--limit", "100"])),
        everyone
    );
    // A damaged index does not open; a rebuild makes it anew from the store.
    std::fs::write(state.join("index/keyword/meta.json"), "not json").unwrap();
    let out = weft(dir, None, &["search", "zebra", "--state", &state_arg]);
    assert!(!out.status.success(), "a damaged index must not answer");
    let rebuilt = local(&["index", "rebuild"]);
    assert_eq!(rebuilt["runs"], 14);
    assert_eq!(
        hit_ids(&local(&["search", "zebra", "--tenant", "acme"])),
        acme
    );
    let status = local(&["index", "status"]);
    assert_eq!(status["indexed_seq"], status["store_head"], "{status}");
    let semantic = local(&["search", "refund request", "--semantic", "--tenant", "acme"]);
    assert_eq!(semantic["hits"][0]["run_id"], acme_refund.as_str());

    // Without a model (no weft.yaml here, no environment), semantic search
    // fails saying why, and keyword search still works.
    let elsewhere = tempfile::tempdir().unwrap();
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(args)
            .args(["--state", &state_arg])
            .current_dir(elsewhere.path())
            .env_remove("WEFT_EMBED_MODEL_DIR")
            .env_remove("WEFT_ORT_DYLIB")
            .env_remove("WEFT_DAEMON")
            .env_remove("WEFT_TOKEN")
            .output()
            .unwrap()
    };
    let out = bare(&["search", "zebra"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = bare(&["search", "x", "--semantic"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not configured"),
        "{}",
        text(&out.stderr)
    );
}
