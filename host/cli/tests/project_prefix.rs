//! A monorepo: weft.yaml takes each flow's run id prefix from its file's path
//! (`id_prefix: { from: path, pattern: "packages/([^/]+)/" }`). Runs of the
//! flow under `packages/billing/flows/` get `billing-…` ids, those under
//! `packages/shop/flows/` `shop-…` ones, and `weft queue next --project P`
//! (through the daemon and on the state folder) names only P's tasks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use weft_tests::{component_cache_dir, plugin_path};

#[path = "common/daemon.rs"]
mod daemon_support;
#[path = "common/output.rs"]
mod output;

use daemon_support::{Daemon, weft_via};
use output::{json_ok, stdout};

fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.join("plugins/echo.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: { from: path, pattern: \"packages/([^/]+)/\" }\n\
         plugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n",
    )
    .unwrap();
    for (package, flow) in [("billing", "invoice"), ("shop", "cart")] {
        let flows = dir.join(format!("packages/{package}/flows"));
        std::fs::create_dir_all(&flows).unwrap();
        std::fs::write(
            flows.join("x.yaml"),
            format!("id: {flow}\nsteps:\n  a: {{ uses: echo }}\n"),
        )
        .unwrap();
    }
}

/// A daemon with no worker (tasks stay queued) serving one package's flows.
fn daemon_for(dir: &Path, package: &str) -> Daemon {
    let flows = format!("packages/{package}/flows");
    Daemon::start_with(dir, &["--no-auth", "--workers", "0", "--flows", &flows])
}

fn enqueue(dir: &Path, url: &str, flow: &str, priority: &str) -> String {
    let out = weft_via(dir, url, &["enqueue", flow, "--priority", priority]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).trim().to_owned()
}

#[test]
fn run_ids_take_the_package_from_the_path_and_queue_next_filters_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);

    let billing = daemon_for(d, "billing");
    let invoices: Vec<String> = (0..2)
        .map(|_| enqueue(d, &billing.url, "invoice", "1"))
        .collect();
    assert!(billing.stop().success());
    for id in &invoices {
        assert!(id.starts_with("billing-"), "{id}");
    }

    let shop = daemon_for(d, "shop");
    let url = shop.url.clone();
    // The shop run has the higher priority: the next lease would take it.
    let cart = enqueue(d, &url, "cart", "9");
    assert!(cart.starts_with("shop-"), "{cart}");
    let next = |args: &[&str]| {
        let mut all = vec!["queue", "next", "--json"];
        all.extend_from_slice(args);
        json_ok(&weft_via(d, &url, &all))
    };
    assert_eq!(next(&[])["run"], cart.as_str());
    assert_eq!(next(&["--project", "shop"])["run"], cart.as_str());
    let first_invoice = next(&["--project", "billing"]);
    assert_eq!(
        first_invoice["run"],
        invoices[0].as_str(),
        "{first_invoice}"
    );
    assert_eq!(first_invoice["flow"], "invoice");
    assert_eq!(next(&["--project", "nobody"]), Value::Null);

    let out = weft_via(d, &url, &["queue", "next", "--project", "billing"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(&invoices[0]) && !text.contains(&cart),
        "{text}"
    );
    let out = weft_via(d, &url, &["queue", "next", "--project", "nobody"]);
    assert_eq!(stdout(&out).trim(), "nothing is ready for project nobody");
    assert!(shop.stop().success());

    // On the state folder, without a daemon.
    let state = d.join("state").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "queue",
            "next",
            "--project",
            "billing",
            "--state",
            &state,
            "--json",
        ])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .env_remove("WEFT_DAEMON")
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(json_ok(&out)["run"], invoices[0].as_str());
}

#[test]
fn a_bad_pattern_is_refused_at_load_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_project(d);
    std::fs::write(
        d.join("weft.yaml"),
        "plugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n\
         id_prefix: { from: path, pattern: \"packages/([^/]+/\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["validate"])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let text = format!("{}{}", stdout(&out), output::stderr(&out));
    assert!(text.contains("weft.yaml:3:35"), "{text}");
    assert!(text.contains("unclosed group"), "{text}");
}
