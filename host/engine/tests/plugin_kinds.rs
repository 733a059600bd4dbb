//! A plugin whose component is not of the kind it is used as: `Engine::open`
//! names the plugin, its file and the reference; `check_plugins` reports it as
//! a diagnostic at the reference.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use weft_engine::{Engine, EngineError, check_plugins};

const PROJECT: &str = "id_prefix: t\nplugins:\n  echo: { path: plugins/dist/echo.wasm, kind: step }\n  backoff: { path: plugins/dist/echo.wasm, kind: retry }\n";

const FLOW: &str = "id: f\nsteps:\n  a:\n    uses: echo\n    retry: { strategy: backoff }\n";

#[tokio::test]
async fn open_refuses_a_plugin_of_the_wrong_kind_and_says_where_it_is_used() {
    let project = common::project_from(PROJECT);
    let flow = common::flow(&project, FLOW);
    let dir = tempfile::tempdir().unwrap();
    let err = Engine::open(project, vec![flow], dir.path())
        .await
        .unwrap_err();
    let EngineError::Plugin {
        plugin,
        path,
        referenced_at,
        ..
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(plugin, "backoff");
    assert!(path.ends_with("plugins/dist/echo.wasm"));
    assert_eq!(referenced_at.file, "test-flow.yaml");
    assert_eq!(referenced_at.line, 5);
    assert!(err.to_string().contains("test-flow.yaml:5:"), "{err}");
}

#[tokio::test]
async fn check_plugins_reports_the_wrong_kind_as_a_diagnostic() {
    let project = common::project_from(PROJECT);
    let flow = common::flow(&project, FLOW);
    let runtime = weft_tests::runtime();
    let diags = check_plugins(&runtime, &project, &[flow]).await;
    assert_eq!(diags.0.len(), 1, "{diags}");
    let d = &diags.0[0];
    assert_eq!((d.file.as_str(), d.line), ("test-flow.yaml", 5));
    assert!(
        d.message.contains(
            "plugin `backoff` is a step plugin, but a retry strategy needs a retry plugin"
        ),
        "{}",
        d.message
    );

    let good = common::project();
    assert!(check_plugins(&runtime, &good, &[]).await.0.is_empty());
}
