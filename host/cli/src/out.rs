//! Where the CLI's output goes: stdout for results, stderr for progress and
//! errors. The crate's `println!`/`print!` (redefined in `main.rs`) call
//! [`stdout`], its `eprintln!`/`eprint!` call [`stderr`].
//!
//! A closed pipe is not an error a person needs to hear about: `weft runs list
//! | head -n 3` closes weft's stdout once it has its lines. Writing to it then
//! fails with `BrokenPipe` (Rust ignores SIGPIPE), and the process exits at
//! once with status 0 and nothing on stderr, as `cat` or `ls` would. Any other
//! failure to write a result (a full disk behind a redirect) is reported and
//! exits 1. A failure to write to stderr is ignored: nothing is left to tell.

use std::io::{ErrorKind, Write};

/// Writes `args` to stdout; exits the process on a closed pipe (status 0) or
/// another write error (status 1).
pub(crate) fn stdout(args: std::fmt::Arguments<'_>) {
    let written = {
        let mut out = std::io::stdout().lock();
        out.write_fmt(args)
    };
    if let Err(e) = written {
        gone(&e);
    }
}

/// Writes `args` to stderr; a failure is ignored.
pub(crate) fn stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Ends the process after stdout could not be written.
fn gone(e: &std::io::Error) -> ! {
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    stderr(format_args!("error: cannot write to stdout: {e}\n"));
    std::process::exit(1);
}
