//! `FlowFolder`, per file on real files in a temp folder: a changed file
//! serves its new version, a broken one keeps its last good version and
//! reports file:line:col, a deleted one serves nothing, two files with one id
//! leave it to the file that served it; nothing changes before `commit`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod common;

use std::path::Path;

use weft_engine::{FlowFolder, FlowScan};

fn chain(version: u32, steps: &[&str]) -> String {
    let mut text = format!("id: chain\nversion: {version}\nsteps:\n");
    for step in steps {
        text.push_str(&format!("  {step}: {{ uses: echo }}\n"));
    }
    text
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// (id, version, file name) of every flow `scan` serves.
fn served(scan: &FlowScan) -> Vec<(String, u32, String)> {
    scan.flows()
        .iter()
        .map(|f| {
            let name = Path::new(&f.file).file_name().unwrap();
            (f.id.clone(), f.version, name.to_string_lossy().into_owned())
        })
        .collect()
}

/// Scans `folder` and commits the scan; returns the scan.
fn reload(folder: &mut FlowFolder) -> FlowScan {
    let scan = folder.scan();
    folder.commit(scan.clone());
    scan
}

fn entry(id: &str, version: u32, file: &str) -> (String, u32, String) {
    (id.to_owned(), version, file.to_owned())
}

#[test]
fn a_file_serves_its_last_good_version_until_it_is_fixed_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path();
    write(flows, "chain.yaml", &chain(1, &["a"]));
    write(flows, "notes.txt", "not a flow: ignored");
    let mut folder = FlowFolder::new(flows, common::project());
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 1, "chain.yaml")]);
    assert!(scan.errors().is_empty(), "{:?}", scan.errors());

    // Changed: the new version serves.
    write(flows, "chain.yaml", &chain(2, &["a", "b"]));
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 2, "chain.yaml")]);
    assert_eq!(scan.flows()[0].steps.len(), 2);

    // Broken (a YAML typo on line 4): version 2 keeps serving; the error is
    // the file's full diagnostic.
    write(
        flows,
        "chain.yaml",
        "id: chain\nversion: 3\nsteps:\n  a: { uses: echo\n",
    );
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 2, "chain.yaml")]);
    let errors = scan.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let file = flows.join("chain.yaml").display().to_string();
    assert_eq!(errors[0].file, file);
    assert!(
        errors[0].message.contains(&format!("{file}:5:1")) && errors[0].message.contains("error:"),
        "{}",
        errors[0].message
    );
    // Broken again, differently (an unknown key): still version 2.
    write(
        flows,
        "chain.yaml",
        "id: chain\nversion: 3\nstep:\n  a: { uses: echo }\n",
    );
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 2, "chain.yaml")]);
    assert!(
        scan.errors()[0].message.contains(&format!("{file}:3:1")),
        "{}",
        scan.errors()[0].message
    );

    // Fixed: the error is gone and the fixed version serves.
    write(flows, "chain.yaml", &chain(3, &["a", "b", "c"]));
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 3, "chain.yaml")]);
    assert!(scan.errors().is_empty(), "{:?}", scan.errors());

    // A new file adds its flow; deleting it removes it.
    write(
        flows,
        "other.yml",
        "id: other\nsteps:\n  x: { uses: echo }\n",
    );
    let scan = reload(&mut folder);
    assert_eq!(
        served(&scan),
        [
            entry("chain", 3, "chain.yaml"),
            entry("other", 1, "other.yml")
        ]
    );
    std::fs::remove_file(flows.join("other.yml")).unwrap();
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 3, "chain.yaml")]);

    // A deleted broken file takes its error and its last good version along.
    write(flows, "chain.yaml", "id: chain\nsteps: [\n");
    assert_eq!(reload(&mut folder).errors().len(), 1);
    std::fs::remove_file(flows.join("chain.yaml")).unwrap();
    let scan = reload(&mut folder);
    assert!(served(&scan).is_empty());
    assert!(scan.errors().is_empty(), "{:?}", scan.errors());
}

#[test]
fn a_new_file_that_never_loaded_serves_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut folder = FlowFolder::new(dir.path(), common::project());
    assert!(reload(&mut folder).flows().is_empty());
    write(
        dir.path(),
        "new.yaml",
        "id: new\nsteps:\n  a: { uses: ech }\n",
    );
    let scan = reload(&mut folder);
    assert!(scan.flows().is_empty());
    let errors = scan.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("new.yaml:3:"),
        "{}",
        errors[0].message
    );
    assert!(errors[0].message.contains("ech"), "{}", errors[0].message);
}

#[test]
fn two_files_with_one_id_leave_it_to_the_file_that_served_it() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path();
    write(flows, "chain.yaml", &chain(1, &["a"]));
    let mut folder = FlowFolder::new(flows, common::project());
    reload(&mut folder);

    // A copy named before the original (by name it would come first): the
    // original keeps serving, the copy is the error.
    write(flows, "a-copy.yaml", &chain(9, &["a"]));
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 1, "chain.yaml")]);
    let errors = scan.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("a-copy.yaml"), "{errors:?}");
    let message = &errors[0].message;
    assert!(
        message.contains("flow id `chain` is already used by"),
        "{message}"
    );
    assert!(message.contains("a-copy.yaml:1:5"), "{message}");
    assert!(message.contains("id: chain"), "the source line: {message}");

    // The original is deleted: the copy takes the id over.
    std::fs::remove_file(flows.join("chain.yaml")).unwrap();
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 9, "a-copy.yaml")]);
    assert!(scan.errors().is_empty(), "{:?}", scan.errors());

    // A file that changes its id to one already served keeps its last
    // version serving.
    write(flows, "b.yaml", "id: b\nsteps:\n  x: { uses: echo }\n");
    reload(&mut folder);
    write(
        flows,
        "b.yaml",
        "id: chain\nversion: 5\nsteps:\n  x: { uses: echo }\n",
    );
    let scan = reload(&mut folder);
    assert_eq!(
        served(&scan),
        [entry("chain", 9, "a-copy.yaml"), entry("b", 1, "b.yaml")]
    );
    assert_eq!(scan.errors().len(), 1);
    assert!(scan.errors()[0].file.ends_with("b.yaml"));
}

#[test]
fn between_two_new_files_with_one_id_the_later_by_name_is_the_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "one.yaml", &chain(1, &["a"]));
    write(dir.path(), "two.yaml", &chain(2, &["a"]));
    let scan = FlowFolder::new(dir.path(), common::project()).scan();
    assert_eq!(served(&scan), [entry("chain", 1, "one.yaml")]);
    assert_eq!(scan.errors().len(), 1);
    assert!(scan.errors()[0].file.ends_with("two.yaml"));
}

#[test]
fn a_scan_changes_nothing_until_it_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "chain.yaml", &chain(1, &["a"]));
    let mut folder = FlowFolder::new(dir.path(), common::project());
    reload(&mut folder);
    write(dir.path(), "chain.yaml", &chain(2, &["a"]));
    let uncommitted = folder.scan();
    assert_eq!(served(&uncommitted), [entry("chain", 2, "chain.yaml")]);
    assert_eq!(folder.flows()[0].version, 1, "not committed");
    // The engine refused version 2; version 3 is broken: version 1 serves.
    write(
        dir.path(),
        "chain.yaml",
        "id: chain\nversion: 3\nsteps: {\n",
    );
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 1, "chain.yaml")]);
}

#[test]
fn a_folder_that_cannot_be_listed_keeps_every_flow() {
    let root = tempfile::tempdir().unwrap();
    let flows = root.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    write(&flows, "chain.yaml", &chain(1, &["a"]));
    let mut folder = FlowFolder::new(&flows, common::project());
    reload(&mut folder);
    std::fs::remove_dir_all(&flows).unwrap();
    let scan = reload(&mut folder);
    assert_eq!(served(&scan), [entry("chain", 1, "chain.yaml")]);
    let errors = scan.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, flows.display().to_string());
    assert!(
        errors[0].message.contains("cannot read"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.contains("keep serving"),
        "{}",
        errors[0].message
    );
}
