//! `weft store migrate [--project DIR]`: brings the PostgreSQL schema that
//! weft.yaml's `store:` names up to this weft's migrations (each applied once,
//! in a transaction, under an advisory lock, as a daemon does at start) and
//! says at which version it is. The embedded store needs no migration.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use weft_flow::StoreDecl;
use weft_store_api::Store;
use weft_store_postgres::{MIGRATIONS, PgStore};

use super::project::{find_project_file, load_project};
use crate::cli_store::StoreMigrateArgs;

/// Migrates the project's PostgreSQL schema; exit 0 once it is current.
pub(crate) async fn run(args: &StoreMigrateArgs) -> Result<ExitCode> {
    let file = match &args.project {
        Some(dir) => dir.join("weft.yaml"),
        None => find_project_file()?,
    };
    let project = load_project(&file)?;
    let StoreDecl::Postgres(decl) = &project.store else {
        println!(
            "{}: the store is the embedded redb file in {}; it needs no migration (it upgrades itself when opened)",
            file.display(),
            project.state_dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let config = weft_engine::postgres_config(decl)?;
    // Connecting applies what is pending; a schema newer than this weft is
    // refused there.
    let store = PgStore::connect(config).await.with_context(|| {
        format!(
            "could not migrate PostgreSQL (the URL in ${})",
            decl.url_env
        )
    })?;
    let applied = store.applied_migrations().await?;
    store.close().await;
    let known = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    let at = applied.iter().copied().max().unwrap_or(0);
    if at != known {
        bail!("the schema is at migration {at}, this weft knows {known}");
    }
    let names: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}", m.version, m.name))
        .collect();
    println!(
        "{}: schema at migration {at}, current ({})",
        store.describe(),
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
