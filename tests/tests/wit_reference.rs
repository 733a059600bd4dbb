//! docs/plugin-guide.md carries a reference of every item of `wit/`,
//! generated from the WIT files; this test fails when the two differ (and
//! rewrites the guide's section with `WEFT_BLESS=1`).

use weft_tests::repo_root;
use weft_tests::wit_reference::{END, START, render};

#[test]
fn the_plugin_guide_documents_every_wit_item_as_the_wit_says() {
    let generated = render(&repo_root().join("wit")).unwrap_or_else(|e| panic!("{e}"));
    let guide_path = repo_root().join("docs/plugin-guide.md");
    let guide = std::fs::read_to_string(&guide_path).unwrap_or_else(|e| panic!("{e}"));
    let (before, rest) = guide
        .split_once(START)
        .unwrap_or_else(|| panic!("docs/plugin-guide.md has no line {START}"));
    let (current, after) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("docs/plugin-guide.md has no line {END}"));
    let want = format!("\n{generated}");
    if current == want {
        return;
    }
    if std::env::var_os("WEFT_BLESS").is_some() {
        std::fs::write(&guide_path, format!("{before}{START}{want}{END}{after}"))
            .unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    panic!(
        "the WIT reference in docs/plugin-guide.md is out of date with wit/; run \
         WEFT_BLESS=1 cargo test -p weft-tests --test wit_reference and commit the guide"
    );
}
