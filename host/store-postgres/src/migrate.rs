//! Versioned schema migrations: each a `.sql` file under `migrations/`,
//! compiled in with `include_str!`, applied in order at connect, each in the
//! transaction that records it in `schema_migrations(version, name,
//! applied_at)`. The whole run holds `pg_advisory_xact_lock` on the schema's
//! name, so two daemons starting together apply each migration once.

use weft_store_api::StoreError;

use crate::tx::pg;

/// One migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its version (the `NNNN` of its file name), from 1, without gaps.
    pub version: i32,
    /// Its name (the rest of the file name).
    pub name: &'static str,
    /// Its SQL, run with `search_path` set to the store's schema.
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "counters",
        sql: include_str!("../migrations/0002_counters.sql"),
    },
    Migration {
        version: 3,
        name: "ledger_signatures",
        sql: include_str!("../migrations/0003_ledger_signatures.sql"),
    },
    Migration {
        version: 4,
        name: "change_publication",
        sql: include_str!("../migrations/0004_change_publication.sql"),
    },
    Migration {
        version: 5,
        name: "pool_slots",
        sql: include_str!("../migrations/0005_pool_slots.sql"),
    },
];

/// The advisory lock key of a schema's migrations.
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext('weft-migrate:' || $1))";

/// The versions applied to `schema` (empty when it has no migrations table).
pub(crate) async fn applied(
    c: &tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<i32>, StoreError> {
    let exists = c
        .query_one(
            "SELECT to_regclass(quote_ident($1) || '.schema_migrations') IS NOT NULL",
            &[&schema],
        )
        .await
        .map_err(pg)?
        .get::<_, bool>(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The migrations not applied to `schema` yet.
pub(crate) async fn pending(
    c: &tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<Migration>, StoreError> {
    let done = applied(c, schema).await?;
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !done.contains(&m.version))
        .copied()
        .collect())
}

/// Applies every pending migration to `schema` (created if missing), in one
/// transaction under the schema's advisory lock; returns the versions applied.
pub(crate) async fn migrate(
    c: &mut tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<i32>, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    tx.execute(LOCK_SQL, &[&schema]).await.map_err(pg)?;
    // The schema name was checked to be a plain identifier (config::parse).
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path = {schema}; \
         CREATE TABLE IF NOT EXISTS schema_migrations (\
             version integer PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(pg)?;
    let rows = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(pg)?;
    let done: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newer) = done.iter().find(|v| **v > newest_known) {
        return Err(StoreError::Invalid(format!(
            "the PostgreSQL schema {schema} has migration {newer}, newer than this weft \
             knows ({newest_known}); upgrade weft"
        )));
    }
    let mut ran = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        tx.batch_execute(m.sql).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await
        .map_err(pg)?;
        ran.push(m.version);
    }
    tx.commit().await.map_err(pg)?;
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(m.version).ok(), Some(i + 1), "{}", m.name);
            assert!(!m.sql.trim().is_empty());
        }
    }
}
