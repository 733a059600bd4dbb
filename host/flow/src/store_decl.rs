//! weft.yaml `store:`: which store backend holds the queue, the leases and the
//! ledgers (see `docs/storage.md`). The embedded redb file in the state folder
//! is the default; `postgres` shares one database between several daemons.
//!
//! ```yaml
//! store:
//!   backend: postgres
//!   url_env: WEFT_DATABASE_URL   # the variable that holds the connection URL
//!   pool_size: 16
//!   schema: weft
//! ```
//!
//! The URL itself is never written in `weft.yaml`: it holds a password, and
//! the file is committed to version control.

use crate::decode::{Ctx, check_name};
use crate::yaml::Node;

const STORE_KEYS: &[&str] = &["backend", "url_env", "pool_size", "schema"];
const BACKENDS: &[&str] = &["redb", "postgres"];

/// The environment variable `url_env` defaults to.
pub const DEFAULT_URL_ENV: &str = "WEFT_DATABASE_URL";
/// Connections a daemon keeps to PostgreSQL by default.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The PostgreSQL schema weft's tables live in by default.
pub const DEFAULT_SCHEMA: &str = "weft";

/// The `store:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreDecl {
    /// The embedded redb file `weft.redb` in the state folder.
    #[default]
    Redb,
    /// A PostgreSQL database, shared by every daemon configured alike.
    Postgres(PostgresDecl),
}

/// `store: { backend: postgres, … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresDecl {
    /// The environment variable holding the connection URL
    /// (`postgres://user:password@host:port/db`).
    pub url_env: String,
    /// Connections kept open.
    pub pool_size: usize,
    /// The schema weft's tables are created in.
    pub schema: String,
}

impl Default for PostgresDecl {
    fn default() -> Self {
        Self {
            url_env: DEFAULT_URL_ENV.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            schema: DEFAULT_SCHEMA.to_owned(),
        }
    }
}

impl StoreDecl {
    /// `redb` or `postgres`, for messages.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Redb => "redb",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Decodes `store:` (a mapping, or the backend's name alone); problems are
/// reported in `ctx` with their position, and the default is kept.
pub(crate) fn decode_store(ctx: &mut Ctx<'_>, node: &Node) -> StoreDecl {
    if let crate::yaml::Value::Str(_) = &node.value {
        return match ctx.choice(node, "store", BACKENDS) {
            Some(b) if b.value == "postgres" => StoreDecl::Postgres(PostgresDecl::default()),
            _ => StoreDecl::Redb,
        };
    }
    let Some(fields) = ctx.map(node, "store", STORE_KEYS, node.pos) else {
        return StoreDecl::Redb;
    };
    let backend = match fields.get("backend") {
        Some(n) => ctx.choice(n, "store.backend", BACKENDS).map(|b| b.value),
        None => Some("redb".to_owned()),
    };
    let mut pg = PostgresDecl::default();
    if let Some(n) = fields.get("url_env")
        && let Some(s) = ctx.string(n, "store.url_env")
    {
        if is_env_name(&s.value) {
            pg.url_env = s.value;
        } else {
            let d = ctx
                .at(s.pos, "`store.url_env` is not an environment variable name")
                .expected("expected a name such as WEFT_DATABASE_URL (letters, digits, `_`), not the URL itself");
            ctx.push(d);
        }
    }
    if let Some(n) = fields.get("pool_size") {
        pg.pool_size = ctx
            .integer(n, "store.pool_size", 1, 1024)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(DEFAULT_POOL_SIZE);
    }
    if let Some(n) = fields.get("schema")
        && let Some(s) = ctx.string(n, "store.schema")
    {
        match check_schema(&s.value) {
            Ok(()) => pg.schema = s.value,
            Err(why) => {
                let d = ctx
                    .at(s.pos, format!("`{}` is not a schema name: {why}", s.value))
                    .expected(
                        "expected lower-case letters, digits and `_`, starting with a letter",
                    );
                ctx.push(d);
            }
        }
    }
    match backend.as_deref() {
        Some("postgres") => StoreDecl::Postgres(pg),
        Some(_) | None => {
            for key in ["url_env", "pool_size", "schema"] {
                if let Some((k, _)) = fields.entry(key)
                    && backend.is_some()
                {
                    let d = ctx
                        .at(
                            k.pos,
                            format!("`store.{key}` applies to `backend: postgres` only"),
                        )
                        .expected("expected `backend: postgres`, or no such key");
                    ctx.push(d);
                }
            }
            StoreDecl::Redb
        }
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A schema name is spliced into SQL (it cannot be a bound parameter), so it
/// is held to a plain identifier.
fn check_schema(s: &str) -> Result<(), String> {
    check_name(s, 63)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase())
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err("only lower-case letters, digits and `_`, starting with a letter".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::ProjectConfig;

    use super::*;

    fn parse(store: &str) -> Result<StoreDecl, String> {
        let text = format!("id_prefix: acme\n{store}");
        ProjectConfig::parse("weft.yaml", &text, std::path::Path::new("."))
            .map(|p| p.store)
            .map_err(|d| d.to_string())
    }

    #[test]
    fn redb_is_the_default() {
        assert_eq!(parse("").unwrap(), StoreDecl::Redb);
        assert_eq!(parse("store: redb\n").unwrap(), StoreDecl::Redb);
    }

    #[test]
    fn postgres_with_its_defaults_and_settings() {
        assert_eq!(
            parse("store: postgres\n").unwrap(),
            StoreDecl::Postgres(PostgresDecl::default())
        );
        let got = parse(
            "store:\n  backend: postgres\n  url_env: PG_URL\n  pool_size: 4\n  schema: weft_blue\n",
        )
        .unwrap();
        assert_eq!(
            got,
            StoreDecl::Postgres(PostgresDecl {
                url_env: "PG_URL".into(),
                pool_size: 4,
                schema: "weft_blue".into(),
            })
        );
    }

    #[test]
    fn mistakes_name_the_line_and_what_was_expected() {
        let e = parse("store:\n  backend: postgress\n").unwrap_err();
        assert!(e.contains("weft.yaml:3"), "{e}");
        assert!(e.contains("postgres"), "{e}");
        let e = parse("store:\n  backend: postgres\n  url_env: postgres://u:p@h/db\n").unwrap_err();
        assert!(e.contains("not an environment variable name"), "{e}");
        assert_eq!(
            e.matches("u:p@").count(),
            1,
            "only the source line shows it: {e}"
        );
        let e = parse("store:\n  backend: postgres\n  schema: \"x; drop\"\n").unwrap_err();
        assert!(e.contains("not a schema name"), "{e}");
        let e = parse("store:\n  url_env: PG_URL\n").unwrap_err();
        assert!(e.contains("applies to `backend: postgres` only"), "{e}");
        let e = parse("store:\n  backend: postgres\n  pool: 3\n").unwrap_err();
        assert!(e.contains("pool_size"), "{e}");
    }
}
