//! `weft`: the command-line tool. This file only parses arguments, runs the
//! command, prints the error chain and picks the exit code.
//!
//! Every command prints through [`out`]: `println!`, `print!`, `eprintln!` and
//! `eprint!` are redefined below for the whole crate, so that a reader that
//! goes away (`weft runs tail RUN | head`) ends the process quietly with exit
//! status 0 instead of a "failed printing to stdout" panic, whichever
//! command was writing.
//!
//! Commands that work on local state or on a daemon (`weft runs …`, `dlq …`,
//! `queue …`, `lock …`, `pools`, `costs`, `policy|retry set`, `search`,
//! `index …`) reach weft through one interface, [`client::WeftClient`]:
//! [`client::open`] picks the daemon that `--daemon URL` (or `$WEFT_DAEMON`)
//! names, over HTTP or its Unix socket, or else the state folder (`--state
//! DIR`, or the project's), whose store it opens on first use and, for what the
//! engine owns (a purge that ends a run, a resume, a swap, the pools), an
//! engine on that store. The command then asks the client and prints the
//! answer the same way for both. Commands that only talk to a daemon
//! (`enqueue`, `schedules …`, `workers …`) use its HTTP client directly.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// `std`'s `println!` through [`out::stdout`].
macro_rules! println {
    () => {
        $crate::out::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `std`'s `print!` through [`out::stdout`].
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::stdout(format_args!($($arg)*))
    };
}

/// `std`'s `eprintln!` through [`out::stderr`].
macro_rules! eprintln {
    () => {
        $crate::out::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `std`'s `eprint!` through [`out::stderr`].
#[allow(
    unused_macros,
    reason = "kept beside the others so that no std printing macro is left"
)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::out::stderr(format_args!($($arg)*))
    };
}

mod out;

mod cli;
mod cli_bench;
mod cli_ledger;
mod cli_plugin;
mod cli_search;
mod cli_service;
mod cli_store;
mod cli_workers;
mod client;
mod commands;
mod embedded;
mod memory_trim;
mod remote;
mod units;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // A daemon runs unattended: its log says what it loads and reloads.
    let daemon = matches!(args.command, cli::Command::Daemon(_));
    init_logging(if daemon {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    });
    match commands::run(args) {
        Ok(code) => code,
        Err(err) => {
            // A command that writes with `?` (not through `println!`) and meets
            // a closed pipe ends as quietly as the macros make the others end.
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            // Nothing sensible remains to be done if stderr itself is gone.
            let mut shown = err.to_string();
            // A flow or weft.yaml diagnostic says `error:` (or `error[code]:`) itself.
            let says_error = shown.starts_with("error:") || shown.starts_with("error[");
            let prefix = if says_error { "" } else { "error: " };
            let _ = writeln!(stderr, "{prefix}{shown}");
            for cause in err.chain().skip(1) {
                // Many errors quote their cause in their own message; say it once.
                let text = cause.to_string();
                if !shown.contains(&text) {
                    let _ = writeln!(stderr, "  caused by: {text}");
                }
                shown = text;
            }
            ExitCode::FAILURE
        }
    }
}

/// Host-side diagnostics (a cache that cannot be written, a refused request) go to
/// stderr at `default` and above (`warn`; `info` for `weft daemon`);
/// `WEFT_LOG=debug` (or trace, info, warn, error) changes the level.
fn init_logging(default: tracing::Level) {
    let level = std::env::var("WEFT_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(default);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
