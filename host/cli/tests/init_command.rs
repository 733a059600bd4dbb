//! `weft init`, driven through the real binary: the starter project validates and
//! runs with nothing else on disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use common::{text, weft};

use serde_json::Value;

#[test]
fn init_writes_a_project_that_validates_and_runs() {
    let parent = tempfile::tempdir().unwrap();
    let out = weft(parent.path(), &["init", "My Demo_Project"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("weft run hello"),
        "{}",
        text(&out.stdout)
    );
    let dir = parent.path().join("My Demo_Project");
    let config = std::fs::read_to_string(dir.join("weft.yaml")).unwrap();
    assert!(config.contains("id_prefix: my-demo-project\n"), "{config}");
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        ".weft/\n"
    );
    for name in [
        "echo",
        "json-transform",
        "prompt",
        "mock-model",
        "exp-backoff",
        "priority-fifo",
        "fair-share",
    ] {
        let wasm = std::fs::read(dir.join(format!("plugins/{name}.wasm"))).unwrap();
        assert_eq!(&wasm[..4], b"\0asm", "{name}");
    }

    let out = weft(&dir, &["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok: hello"),
        "{}",
        text(&out.stdout)
    );

    let out = weft(&dir, &["run", "hello", "-i", r#"{"name":"ada"}"#, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert!(
        report["run_id"]
            .as_str()
            .unwrap()
            .starts_with("my-demo-project-")
    );
    assert_eq!(report["output"]["to"], "ada");
    assert!(
        !report["output"]["greeting"].as_str().unwrap().is_empty(),
        "{report}"
    );
    assert!(report["output"]["tokens"].as_u64().unwrap() > 0, "{report}");
    assert!(dir.join(".weft/weft.redb").is_file());

    // The run shows up in the project's own state folder.
    let out = weft(&dir, &["runs", "list"]);
    assert!(text(&out.stdout).contains(report["run_id"].as_str().unwrap()));
}

#[test]
fn init_refuses_an_existing_project_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("p");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("weft.yaml"), "id_prefix: mine\n").unwrap();
    let out = weft(dir.path(), &["init", "p"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(target.join("weft.yaml")).unwrap(),
        "id_prefix: mine\n"
    );

    let out = weft(dir.path(), &["init", "p", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = std::fs::read_to_string(target.join("weft.yaml")).unwrap();
    assert!(config.contains("id_prefix: p\n"), "{config}");
}
