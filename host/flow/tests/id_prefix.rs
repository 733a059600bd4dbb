#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]
//! `id_prefix:` taken from a flow file's path (monorepos), in weft.yaml or in
//! the flow, its checks at load time (file and line), and weft.yaml's
//! `idempotency.ttl`.

use std::path::Path;
use std::time::Duration;

use weft_flow::{DEFAULT_IDEMPOTENCY_TTL, ProjectConfig, compile_flow};

const PLUGINS: &str = "plugins:\n  echo: { path: plugins/echo.wasm, kind: step }\n";
const FLOW: &str = "id: x\nsteps:\n  a: { uses: echo }\n";

fn project(id_prefix: &str) -> ProjectConfig {
    let source = format!("id_prefix: {id_prefix}\n{PLUGINS}");
    ProjectConfig::parse("/repo/weft.yaml", &source, Path::new("/repo"))
        .unwrap_or_else(|e| panic!("{e}"))
}

const RULE: &str = r#"{ from: path, pattern: "packages/([^/]+)/" }"#;
const RULE_WITH_DEFAULT: &str = r#"{ from: path, pattern: "packages/([^/]+)/", default: mono }"#;

#[test]
fn a_flow_under_a_package_gets_the_package_as_its_prefix() {
    let project = project(RULE);
    let billing = compile_flow("/repo/packages/billing/flows/x.yaml", FLOW, &project).unwrap();
    assert_eq!(billing.id_prefix, "billing");
    let shop = compile_flow("/repo/packages/shop-eu/flows/x.yaml", FLOW, &project).unwrap();
    assert_eq!(shop.id_prefix, "shop-eu");
    // A path relative to the current folder is matched as it is written.
    let relative = compile_flow("packages/billing/flows/x.yaml", FLOW, &project).unwrap();
    assert_eq!(relative.id_prefix, "billing");
}

#[test]
fn a_path_the_pattern_does_not_match_takes_the_default_or_does_not_load() {
    let with_default = project(RULE_WITH_DEFAULT);
    assert_eq!(with_default.id_prefix, "mono");
    let flow = compile_flow("/repo/flows/x.yaml", FLOW, &with_default).unwrap();
    assert_eq!(flow.id_prefix, "mono");

    let without = project(RULE);
    let err = compile_flow("/repo/flows/x.yaml", FLOW, &without)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/repo/flows/x.yaml:1:5"), "{err}");
    assert!(
        err.contains("the path `flows/x.yaml` does not match the `id_prefix` pattern `packages/([^/]+)/` of weft.yaml"),
        "{err}"
    );
    assert!(
        err.contains("/repo/weft.yaml:1:"),
        "names the rule's line: {err}"
    );
}

#[test]
fn a_flow_s_own_id_prefix_wins() {
    let project = project(RULE);
    let fixed = format!("id_prefix: payments\n{FLOW}");
    let flow = compile_flow("/repo/packages/billing/flows/x.yaml", &fixed, &project).unwrap();
    assert_eq!(flow.id_prefix, "payments");
    // Its own rule, on its own path.
    let own =
        format!("id_prefix: {{ from: path, pattern: \"/flows/([a-z]+)\\\\.yaml$\" }}\n{FLOW}");
    let flow = compile_flow("/repo/packages/billing/flows/refunds.yaml", &own, &project).unwrap();
    assert_eq!(flow.id_prefix, "refunds");
    // Without weft.yaml's rule, weft.yaml's prefix.
    let plain = self::project("acme");
    let flow = compile_flow("/repo/packages/billing/flows/x.yaml", FLOW, &plain).unwrap();
    assert_eq!(flow.id_prefix, "acme");
}

#[test]
fn a_prefix_taken_from_the_path_must_be_a_prefix() {
    let project = project(RULE);
    let err = compile_flow("/repo/packages/Billing_API/flows/x.yaml", FLOW, &project)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("takes `Billing_API` from the path `packages/Billing_API/flows/x.yaml`, which is not a run id prefix: `B` is not allowed"),
        "{err}"
    );
}

#[test]
fn bad_patterns_are_refused_at_load_with_their_line() {
    let bad = |rule: &str| {
        let source = format!("{PLUGINS}id_prefix: {rule}\n");
        ProjectConfig::parse("weft.yaml", &source, Path::new(""))
            .unwrap_err()
            .to_string()
    };
    let err = bad(r#"{ from: path, pattern: "packages/([^/]+/" }"#);
    assert!(err.contains("weft.yaml:3:35"), "{err}");
    assert!(
        err.contains("invalid `id_prefix.pattern` `packages/([^/]+/`: unclosed group"),
        "{err}"
    );
    let err = bad(r#"{ from: path, pattern: "packages/[^/]+/" }"#);
    assert!(
        err.contains("weft.yaml:3:35") && err.contains("has no group"),
        "{err}"
    );
    let err = bad(r#"{ from: git, pattern: "(x)" }"#);
    assert!(
        err.contains("weft.yaml:3:20") && err.contains("invalid value `git`"),
        "{err}"
    );
    let err = bad(r#"{ from: path, pattern: "(x)", default: Mono }"#);
    assert!(err.contains("invalid `id_prefix.default` `Mono`"), "{err}");
    let err = bad(r#"{ from: path }"#);
    assert!(err.contains("missing key `pattern`"), "{err}");
    let err = bad("-acme");
    assert!(
        err.contains("weft.yaml:3:12") && err.contains("starts or ends with `-`"),
        "{err}"
    );

    // In a flow, at the flow's line.
    let project = project("acme");
    let flow = format!("{FLOW}id_prefix: {{ from: path, pattern: \"(\" }}\n");
    let err = compile_flow("flows/x.yaml", &flow, &project)
        .unwrap_err()
        .to_string();
    assert!(err.contains("flows/x.yaml:4:35"), "{err}");
    assert!(err.contains("invalid `id_prefix.pattern` `(`"), "{err}");
}

#[test]
fn the_idempotency_ttl_is_read_with_the_duration_grammar() {
    let parse = |extra: &str| {
        let source = format!("id_prefix: acme\n{PLUGINS}{extra}");
        ProjectConfig::parse("weft.yaml", &source, Path::new(""))
    };
    assert_eq!(parse("").unwrap().idempotency_ttl, DEFAULT_IDEMPOTENCY_TTL);
    assert_eq!(DEFAULT_IDEMPOTENCY_TTL, Duration::from_secs(24 * 3600));
    let p = parse("idempotency: { ttl: 1h30m }\n").unwrap();
    assert_eq!(p.idempotency_ttl, Duration::from_secs(5400));
    let p = parse("idempotency:\n  ttl: 168h\n").unwrap();
    assert_eq!(p.idempotency_ttl, Duration::from_secs(7 * 24 * 3600));

    let p = parse("idempotency: { ttl: 7d }\n").unwrap();
    assert_eq!(p.idempotency_ttl, Duration::from_secs(7 * 24 * 3600));

    let err = parse("idempotency: { ttl: 2w }\n").unwrap_err().to_string();
    assert!(err.contains("weft.yaml:4:21"), "{err}");
    assert!(
        err.contains("invalid duration `2w` for `idempotency.ttl`: unknown unit `w`"),
        "{err}"
    );
    let err = parse("idempotency: { ttl: 3600 }\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("weft.yaml:4:21") && err.contains("without a unit"),
        "{err}"
    );
    let err = parse("idempotency: { tll: 1h }\n").unwrap_err().to_string();
    assert!(err.contains("unknown key `tll`"), "{err}");
}
