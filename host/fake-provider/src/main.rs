//! `weft-fake-provider --listen ADDR [--protocol openai|anthropic]
//! [--script FILE] [--repeat]`: a fake LLM provider to try weft's model
//! adapters, retries, circuits and budgets with no account.
//!
//! It serves OpenAI chat completions (`POST /v1/chat/completions`) and/or
//! Anthropic messages (`POST /v1/messages`). Each request takes the next reply
//! of the script (one JSON object per line: a text, a tool call, a 429 with
//! `retry-after`, a 500, a 4xx, a malformed body, each after an optional
//! delay; see the `script` module); once the script is used up, every request
//! gets `fake answer: <the last user message>` (or, with `--repeat`, the
//! script again). Prints `weft-fake-provider listening on http://ADDR` once it
//! accepts requests (so `--listen 127.0.0.1:0` can be used), one line per
//! request on stderr, and exits 0 on SIGINT or SIGTERM after answering the
//! requests it is in.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use weft_fake_provider::{FakeProvider, Options, Protocol, script};

/// A fake LLM provider: OpenAI chat completions and/or Anthropic messages,
/// with scripted answers, 429s and delays.
#[derive(Debug, Parser)]
#[command(name = "weft-fake-provider", version)]
struct Args {
    /// The address to listen on, e.g. `127.0.0.1:8089` (`:0`: a free port).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: String,
    /// Serve only this protocol (default: both).
    #[arg(long, value_enum)]
    protocol: Option<Wire>,
    /// A file of scripted replies, one JSON object per line, used in order.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Start the script over once it is used up (default: plain answers).
    #[arg(long, requires = "script")]
    repeat: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Wire {
    /// `POST /v1/chat/completions`.
    Openai,
    /// `POST /v1/messages`.
    Anthropic,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weft-fake-provider: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft-fake-provider: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let script = match &args.script {
        Some(path) => script::load(path)?,
        None => Vec::new(),
    };
    let protocol = args.protocol.map(|w| match w {
        Wire::Openai => Protocol::OpenAi,
        Wire::Anthropic => Protocol::Anthropic,
    });
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let shutdown = shutdown_signal()?;
    let options = Options {
        protocol,
        script,
        repeat: args.repeat,
        log_requests: true,
    };
    let scripted = options.script.len();
    let fake = FakeProvider::start_with(listener, options, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    let serves = match protocol {
        Some(Protocol::OpenAi) => "POST /v1/chat/completions",
        Some(Protocol::Anthropic) => "POST /v1/messages",
        None => "POST /v1/chat/completions and POST /v1/messages",
    };
    eprintln!("weft-fake-provider: {serves}; {scripted} scripted repl(ies)");
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "weft-fake-provider listening on http://{}",
            fake.addr()
        )
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    }
    fake.stopped().await;
    eprintln!("weft-fake-provider: stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (watched from now on).
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
