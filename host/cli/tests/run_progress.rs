//! What `weft run` shows while a run goes: not on a terminal (or with
//! `--json`), one line per event as before; on a terminal (a pty from
//! util-linux `script`), the steps redrawn in place with a progress bar.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{text, weft};
use weft_tests::{component_cache_dir, plugin_path};

/// A project with `chain`: three echo steps in a row.
fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::copy(plugin_path("echo"), dir.join("plugins/echo.wasm")).unwrap();
    std::fs::write(
        dir.join("weft.yaml"),
        "id_prefix: pg\nplugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("flows/chain.yaml"),
        "id: chain\nsteps:\n  a: { uses: echo }\n  b: { uses: echo, needs: [a] }\n  c: { uses: echo, needs: [b] }\n",
    )
    .unwrap();
}

/// `text` with every `(N ms)` and `(N events)` as `(_ ms)`, `(_ events)`, and
/// the run id as `RUN`.
fn normalized(text: &str, run: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let mut out = String::new();
            let mut rest = line.replace(run, "RUN");
            while let Some(open) = rest.find('(') {
                out.push_str(&rest[..=open]);
                rest = rest[open + 1..].to_owned();
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                if digits > 0
                    && (rest[digits..].starts_with(" ms)")
                        || rest[digits..].starts_with(" events)"))
                {
                    out.push('_');
                    rest = rest[digits..].to_owned();
                }
            }
            out.push_str(&rest);
            out
        })
        .collect()
}

#[test]
fn not_on_a_terminal_each_event_is_a_line_as_before() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let out = weft(dir.path(), &["run", "chain"]);
    assert!(out.status.success(), "{out:?}");
    let err = text(&out.stderr);
    let run = err
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_eq!(
        normalized(&err, &run),
        [
            "run RUN (chain)",
            "step a started (attempt 1)",
            "step a succeeded (_ ms)",
            "step b started (attempt 1)",
            "step b succeeded (_ ms)",
            "step c started (attempt 1)",
            "step c succeeded (_ ms)",
            "run succeeded",
            "run RUN succeeded; ledger verified (_ events)",
        ]
    );
    assert!(!err.contains('\x1b'), "no terminal codes: {err:?}");
    assert!(text(&out.stdout).contains("\"a\""), "the output on stdout");
}

/// `weft ARGS` in `dir` on a pseudo-terminal; `None` without `script`.
fn on_a_terminal(dir: &Path, args: &[&str]) -> Option<Output> {
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_weft"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    // A wide terminal: the header line is cut to the terminal's width, and
    // a slow run's longer times would otherwise push its end out of view.
    let shell = format!("stty cols 160 rows 40; exec {}", line.join(" "));
    Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .env("WEFT_COMPONENT_CACHE", component_cache_dir())
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
}

#[test]
fn on_a_terminal_the_steps_are_drawn_in_place_with_a_bar() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let Some(out) = on_a_terminal(dir.path(), &["run", "chain"]) else {
        eprintln!("no `script` here: no terminal to try");
        return;
    };
    assert!(out.status.success(), "{out:?}");
    let shown = text(&out.stdout);
    // Redrawn in place: the cursor goes back up over the 4 lines drawn.
    assert!(shown.contains("\x1b[4F\x1b[J"), "{shown:?}");
    let last = shown.rsplit("\x1b[4F\x1b[J").next().unwrap();
    let lines: Vec<&str> = last.lines().map(str::trim_end).collect();
    assert!(lines[0].starts_with("run pg-"), "{last}");
    assert!(lines[0].contains("(chain) succeeded"), "{last}");
    assert!(lines[0].contains("[████████████████] 3/3 steps"), "{last}");
    for (i, step) in ["a", "b", "c"].iter().enumerate() {
        assert!(lines[i + 1].starts_with(&format!("  ✔ {step}  ")), "{last}");
        // Its time: `7 ms`, or `1.2s` on a slow machine.
        assert!(lines[i + 1].ends_with('s'), "{last}");
    }
    assert!(!shown.contains("step a started"), "no event lines: {shown}");
    assert!(shown.contains("ledger verified"), "{shown}");

    // --json on a terminal: the event lines, no view.
    let out = on_a_terminal(dir.path(), &["run", "chain", "--json"]).unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = text(&out.stdout);
    assert!(!shown.contains("\x1b["), "{shown:?}");
    assert!(shown.contains("\u{25b6} a (attempt 1)"), "{shown}");
    assert!(shown.contains("\"status\": \"succeeded\""), "{shown}");
}
