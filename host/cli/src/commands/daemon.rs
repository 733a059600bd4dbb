//! `weft daemon [--listen ADDR] [--socket PATH] [--metrics-listen ADDR]
//! [--flows DIR] [--workers N] [--state DIR] [--no-auth]`: the engine served over
//! HTTP, its workers and its cron scheduler.
//!
//! The API needs a token from weft.yaml on every request but `/healthz` when
//! weft.yaml declares any; otherwise it starts only with `--no-auth`, on a
//! loopback address (see `daemon_auth`). `--metrics-listen` is never authenticated.
//!
//! Prints `weft daemon listening on http://ADDR` (the bound address, so that
//! `--listen 127.0.0.1:0` can be used) once it accepts requests. SIGINT or
//! SIGTERM: stop accepting, let in-flight requests and tasks finish, exit 0.
//!
//! Every flow file must load at start. Then the flows folder is watched: a
//! changed file is swapped in, a broken one keeps its last good version and is
//! reported in the log and at `GET /v1/flows` (weft_engine's `FlowFolder`).
//!
//! At start and after each reload, the stored state of schedules no loaded flow
//! has is removed; expired idempotency keys are purged in the background.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use weft_engine::{Engine, EngineOptions, FlowFolder, FolderEvents};
use weft_flow::ProjectConfig;
use weft_index::SearchIndex;
use weft_server::{
    AppState, DaemonInfo, Metrics, Presence, bind_unix, metrics_router, router, serve_tcp,
    serve_unix,
};

use super::daemon_auth::{auth_for, check_listen, describe};
use super::project::{find_project_file, flows_dir, load_project};
use crate::cli::DaemonArgs;

pub(crate) async fn run(args: DaemonArgs) -> Result<ExitCode> {
    let shutdown = ShutdownSignal::install()?;
    let project = load_project(&find_project_file()?)?;
    let auth = auth_for(&project, args.no_auth)?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    check_listen(&auth, &args.listen, addr)?;
    eprintln!("weft daemon: {}", describe(&auth, &project));
    let dir = args.flows.clone().unwrap_or_else(|| flows_dir(&project));
    // Watch before the first read, so that no change after it is missed.
    let events = FolderEvents::watch(&dir)?;
    let folder = load_flows(&dir, &project)?;
    let state_dir = args
        .state
        .clone()
        .unwrap_or_else(|| project.state_dir.clone());
    let options = EngineOptions {
        workers: args.workers,
        ..EngineOptions::default()
    };
    let search_options = super::search::index_options(&project);
    let engine = Engine::open_with(project, folder.flows(), &state_dir, options).await?;
    let instance = args
        .instance_id
        .clone()
        .unwrap_or_else(weft_server::host_name);
    let presence = announce(&engine, &instance, addr).await;
    let index_dir = state_dir.join("index");
    // A broken index costs search, never the engine: the daemon serves
    // without it (its endpoints say so) until `weft index rebuild`.
    let search = if args.no_index {
        None
    } else {
        match SearchIndex::open(&index_dir, engine.store().clone(), search_options) {
            Ok(index) => Some(Arc::new(index.with_semantic())),
            Err(e) => {
                tracing::error!(
                    "search is off: cannot open the search index in {}: {e} (stop the daemon, run `weft index rebuild`)",
                    index_dir.display()
                );
                None
            }
        }
    };
    let watcher = events.serve(engine.clone(), folder);
    let metrics = Arc::new(Metrics::for_instance(&instance)?);
    metrics.set_workers_live(args.workers);
    metrics.follow(&engine).await?;
    let mut state = AppState::new(engine.clone(), metrics, Arc::new(auth), watcher.status())
        .with_presence(Arc::clone(&presence));
    if let Some(index) = &search {
        state = state.with_search(Arc::clone(index));
    }
    let departures = Arc::clone(&state.departures);

    let (stop_tx, stop_rx) = watch::channel(false);
    let indexer = search.map(|index| index.spawn_live(stop_rx.clone()));
    let trimmer = crate::memory_trim::spawn(engine.store().commits(), stop_rx.clone());
    let presence_beat = presence.spawn(engine.clone(), stop_rx.clone());
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    servers.spawn(serve_tcp(router(state.clone()), listener, stopped()));
    if let Some(path) = &args.socket {
        let socket = bind_unix(path).await?;
        servers.spawn(serve_unix(router(state.clone()), socket, stopped()));
    }
    if let Some(metrics_addr) = &args.metrics_listen {
        let listener = TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr}"))?;
        servers.spawn(serve_tcp(
            metrics_router(state.clone()),
            listener,
            stopped(),
        ));
    }
    // `--workers 0`: every task is run by `weft worker` processes.
    let workers = (args.workers > 0).then(|| engine.start());
    // The state of schedules of flows that are gone would stay forever.
    if let Err(e) = engine.prune_schedules().await {
        tracing::error!("removing the state of schedules no flow has any more: {e}");
    }
    let scheduler = engine.start_scheduler();
    let housekeeping = engine.start_housekeeping();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "weft daemon listening on http://{addr}")?;
        out.flush()?;
    }

    shutdown.wait().await;
    eprintln!("weft daemon: stopping (in-flight tasks finish first)");
    let _ = stop_tx.send(true);
    // Long-polling workers are answered now rather than at the end of their wait.
    departures.close();
    while let Some(done) = servers.join_next().await {
        if let Ok(Err(e)) = done {
            eprintln!("weft daemon: {e}");
        }
    }
    watcher.shutdown().await;
    let _ = trimmer.await;
    // Withdrawn once the workers stop taking tasks: the others see it leave.
    let _ = presence_beat.await;
    if let Some(indexer) = indexer {
        let _ = indexer.await;
    }
    scheduler.shutdown().await;
    housekeeping.shutdown().await;
    if let Some(workers) = workers {
        workers.shutdown().await;
    }
    if let Some(path) = &args.socket {
        let _ = std::fs::remove_file(path);
    }
    Ok(ExitCode::SUCCESS)
}

/// Announces this daemon in the store and says which store it serves and
/// which other daemons it sees there (`GET /v1/cluster` lists them later). A
/// store that refuses the announcement costs only the listing: it is logged,
/// and the presence is tried again at each beat.
async fn announce(engine: &Engine, instance: &str, addr: SocketAddr) -> Arc<Presence> {
    let info = DaemonInfo {
        instance: instance.to_owned(),
        pid: std::process::id(),
        api: format!("http://{addr}"),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let presence = Arc::new(Presence::new(&info, engine.now_ms()));
    let store = engine.store().describe();
    if let Err(e) = presence.announce(engine).await {
        tracing::warn!("cannot announce this daemon in the store: {e}");
    }
    match weft_server::cluster_members(engine).await {
        Ok(members) => {
            let others: Vec<String> = members
                .into_iter()
                .filter(|m| m.id != presence.id())
                .map(|m| {
                    m.info
                        .map_or(m.id, |i| format!("{} at {}", i.instance, i.api))
                })
                .collect();
            match others.len() {
                0 => eprintln!("weft daemon: store {store}; no other daemon serves it"),
                n => eprintln!(
                    "weft daemon: store {store}; {n} other daemon(s) serve it: {}",
                    others.join(", ")
                ),
            }
        }
        Err(e) => eprintln!("weft daemon: store {store}; other daemons unknown: {e}"),
    }
    presence
}

/// Every flow file of `dir`, all of which must load: a daemon does not start
/// half-configured (once it runs, a broken file keeps its last good version).
pub(crate) fn load_flows(dir: &Path, project: &ProjectConfig) -> Result<FlowFolder> {
    let mut folder = FlowFolder::new(dir, project.clone());
    let scan = folder.scan();
    let errors = scan.errors();
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{}", e.message);
        }
        bail!(
            "{} flow file(s) in {} do not load",
            errors.len(),
            dir.display()
        );
    }
    folder.commit(scan);
    Ok(folder)
}

/// SIGINT and SIGTERM, watched from the moment it is made: install it before
/// anything can lease or answer, so a signal that comes early is waited for
/// (and drains) instead of killing the process.
pub(crate) struct ShutdownSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Starts watching both signals.
    pub(crate) fn install() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
        })
    }

    /// Resolves once either signal has come (also one that came before).
    pub(crate) async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
