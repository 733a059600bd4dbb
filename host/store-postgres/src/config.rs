//! [`PgConfig`]: where the store is, and how it is described without its
//! password.

use weft_store_api::StoreError;

/// How to reach the PostgreSQL store.
#[derive(Clone)]
pub struct PgConfig {
    /// A libpq URL or key=value string, e.g.
    /// `postgres://weft:secret@db:5432/weft`. Never logged or shown.
    pub url: String,
    /// The schema that holds weft's tables (created if missing); a plain
    /// identifier of `a-z`, `0-9` and `_`.
    pub schema: String,
    /// Connections in the pool (the `LISTEN` connection is extra).
    pub pool_size: usize,
}

impl PgConfig {
    /// A config for `url` with the default schema `weft` and 16 connections.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: "weft".into(),
            pool_size: 16,
        }
    }

    /// The same config with another schema.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<hidden>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// A config checked and parsed.
pub(crate) struct Parsed {
    pub pg: tokio_postgres::Config,
    pub schema: String,
    pub describe: String,
    pub password: Option<String>,
}

/// Parses `config`; errors never carry the URL.
pub(crate) fn parse(config: &PgConfig) -> Result<Parsed, StoreError> {
    check_schema(&config.schema)?;
    let mut pg: tokio_postgres::Config = config.url.parse().map_err(|_| {
        StoreError::Invalid(
            "the PostgreSQL URL does not parse (expected postgres://user@host:port/db)".into(),
        )
    })?;
    let password = pg
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let db = pg.get_dbname().unwrap_or("postgres").to_owned();
    let describe = format!("postgres {host}:{port}/{db} schema {}", config.schema);
    pg.options(format!("-c search_path={}", config.schema));
    if pg.get_application_name().is_none() {
        pg.application_name("weft");
    }
    Ok(Parsed {
        pg,
        schema: config.schema.clone(),
        describe,
        password,
    })
}

/// A schema name goes into SQL text, so it must be a plain identifier.
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "PostgreSQL schema {schema:?}: expected 1 to 63 of a-z, 0-9 and _, not starting with a digit"
        )))
    }
}

/// `text` with every occurrence of `password` replaced.
pub(crate) fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]
    use super::*;

    #[test]
    fn describe_names_host_port_db_and_schema_but_no_password() {
        let config = PgConfig::new("postgres://weft:s3cret@db.example:6543/prod").with_schema("w1");
        let parsed = parse(&config).unwrap();
        assert_eq!(parsed.describe, "postgres db.example:6543/prod schema w1");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            scrub("auth s3cret failed", parsed.password.as_deref()),
            "auth *** failed"
        );
    }

    #[test]
    fn bad_schemas_and_urls_are_refused_without_the_url() {
        for bad in ["", "Weft", "a-b", "1a", "a;drop"] {
            assert!(parse(&PgConfig::new("postgres://x@h/d").with_schema(bad)).is_err());
        }
        let err = parse(&PgConfig::new("postgres://u:pw@h:notaport/d"))
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
    }
}
