//! One module per subcommand; `run` dispatches.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use weft_runtime::{Runtime, RuntimeConfig};

use crate::cli::{
    Cli, Command, DlqCommand, IndexCommand, LedgerCommand, LockCommand, PluginCommand,
    PolicyCommand, QueueCommand, RetryCommand, RunsCommand, SchedulesCommand, StoreCommand,
    TokenCommand, WorkersCommand,
};

mod bench;
mod bench_daemon;
mod bench_load;
mod costs;
pub(crate) mod daemon;
mod daemon_auth;
mod dlq_ls;
mod dlq_purge;
mod dlq_requeue;
mod dlq_select;
mod enqueue;
pub(crate) mod flow_run;
mod init;
mod ledger_anchor;
mod ledger_keygen;
pub(crate) mod ledger_progress;
mod lock_acquire;
mod lock_list;
mod lock_release;
mod plugin_build;
mod plugin_cases;
mod plugin_inspect;
mod plugin_new;
mod plugin_project;
mod plugin_run;
pub(crate) mod plugin_templates;
mod plugin_test;
mod plugin_toolchain;
mod pools;
pub(crate) mod project;
mod queue_next;
mod queue_stats;
mod run_output;
mod run_progress;
mod runs_artifacts;
mod runs_cancel;
mod runs_list;
mod runs_resume;
mod runs_status;
mod runs_tail;
mod runs_verify;
mod runs_verify_signed;
mod schedules_list;
mod schedules_pause;
mod schedules_trigger;
pub(crate) mod search;
pub(crate) mod state;
mod store_check;
mod store_copy;
mod store_migrate;
mod swap_set;
mod token_new;
mod validate;
mod worker;
mod workers_children;
mod workers_ctl;
mod workers_metrics;
mod workers_scale;
mod workers_start;

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    tokio.block_on(async {
        match cli.command {
            Command::Plugin(PluginCommand::Inspect(args)) => plugin_inspect::run(args).await,
            Command::Plugin(PluginCommand::Run(args)) => plugin_run::run(args).await,
            Command::Plugin(PluginCommand::New(args)) => plugin_new::run(args),
            Command::Plugin(PluginCommand::Build(args)) => plugin_build::run(args).await,
            Command::Plugin(PluginCommand::Test(args)) => plugin_test::run(args).await,
            Command::Validate(args) => validate::run(args).await,
            Command::Run(args) => flow_run::run(args).await,
            Command::Runs(RunsCommand::List(args)) => runs_list::run(args).await,
            Command::Runs(RunsCommand::Status(args)) => runs_status::run(args).await,
            Command::Runs(RunsCommand::Tail(args)) => runs_tail::run(args).await,
            Command::Runs(RunsCommand::Verify(args)) => runs_verify::run(args).await,
            Command::Runs(RunsCommand::Artifacts(args)) => runs_artifacts::run(args).await,
            Command::Runs(RunsCommand::Resume(args)) => runs_resume::run(args).await,
            Command::Runs(RunsCommand::Cancel(args)) => runs_cancel::run(args).await,
            Command::Dlq(DlqCommand::Ls(args)) => dlq_ls::run(args).await,
            Command::Dlq(DlqCommand::Requeue(args)) => dlq_requeue::run(args).await,
            Command::Dlq(DlqCommand::Purge(args)) => dlq_purge::run(args).await,
            Command::Enqueue(args) => enqueue::run(args),
            Command::Queue(QueueCommand::Stats(args)) => queue_stats::run(args).await,
            Command::Costs(args) => costs::run(args).await,
            Command::Queue(QueueCommand::Next(args)) => queue_next::run(args).await,
            Command::Lock(LockCommand::Acquire(args)) => lock_acquire::run(args).await,
            Command::Lock(LockCommand::Release(args)) => lock_release::run(args).await,
            Command::Lock(LockCommand::List(args)) => lock_list::run(args).await,
            Command::Schedules(SchedulesCommand::List(args)) => schedules_list::run(args),
            Command::Schedules(SchedulesCommand::Pause(args)) => schedules_pause::run(args, true),
            Command::Schedules(SchedulesCommand::Resume(args)) => schedules_pause::run(args, false),
            Command::Schedules(SchedulesCommand::Trigger(args)) => schedules_trigger::run(args),
            Command::Init(args) => init::run(args),
            Command::Daemon(args) => daemon::run(args).await,
            Command::Worker(args) => worker::run(args).await,
            Command::Workers(WorkersCommand::Start(args)) => workers_start::run(*args).await,
            Command::Workers(WorkersCommand::Stop(args)) => workers_ctl::stop(args).await,
            Command::Workers(WorkersCommand::Status(args)) => workers_ctl::status(args),
            Command::Token(TokenCommand::New(args)) => token_new::run(&args),
            Command::Search(args) => search::run(args).await,
            Command::Index(IndexCommand::Rebuild(args)) => search::rebuild(args).await,
            Command::Index(IndexCommand::Status(args)) => search::status(args).await,
            Command::Pools(args) => pools::run(args).await,
            Command::Policy(PolicyCommand::Set { pool, swap }) => {
                swap_set::run(swap_set::Target::Pool(pool), swap).await
            }
            Command::Retry(RetryCommand::Set { flow, swap }) => {
                swap_set::run(swap_set::Target::Retry(flow), swap).await
            }
            Command::Store(StoreCommand::Check(args)) => store_check::run(&args),
            Command::Store(StoreCommand::Migrate(args)) => store_migrate::run(&args).await,
            Command::Store(StoreCommand::Copy(args)) => store_copy::run(&args).await,
            Command::Ledger(LedgerCommand::Keygen(args)) => ledger_keygen::run(&args),
            Command::Ledger(LedgerCommand::Anchor(args)) => ledger_anchor::run(args).await,
            Command::Bench(args) => bench::run(args).await,
        }
    })
}

/// Where commands that run outside a project cache compiled components:
/// `$WEFT_COMPONENT_CACHE`, else `~/.cache/weft/components`.
pub(crate) fn component_cache_dir() -> Option<PathBuf> {
    std::env::var_os("WEFT_COMPONENT_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/weft/components"))
        })
}

/// The Wasm runtime for commands that run outside a project, caching compiled
/// components in [`component_cache_dir`].
pub(crate) fn standalone_runtime() -> Result<Runtime> {
    Runtime::new(RuntimeConfig {
        cache_dir: component_cache_dir(),
        ..RuntimeConfig::default()
    })
    .context("could not set up the Wasm runtime")
}

/// Read a JSON argument given inline or as `@file`, and check it is JSON.
pub(crate) fn json_arg(what: &str, text: &str) -> Result<String> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("could not read {what} from {path}"))?,
        None => text.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{what} is not valid JSON"))?;
    Ok(text)
}
