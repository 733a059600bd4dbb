//! weft's fuzz harness, on stable Rust and without cargo-fuzz.
//!
//! A target is a closure over raw bytes; [`run`] feeds it `cases` random byte
//! strings from a seeded generator ([`Rng`]), catches every panic, and at the
//! end prints one summary line per target and fails if any case panicked,
//! printing each failing input as hex so it can be kept as a regression case
//! (and replayed with [`replay`]). Targets turn bytes into structured values
//! with [`arbitrary::Unstructured`] (re-exported as [`Unstructured`]).
//!
//! Case counts: each target passes its default (small enough that the whole
//! fuzz set stays well under a minute in a debug build); the environment
//! variable [`CASES_VAR`] (`WEFT_FUZZ_CASES`) replaces it, and [`SEED_VAR`]
//! (`WEFT_FUZZ_SEED`) replaces the fixed default seed.

mod mutate;
mod rng;
mod values;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};

pub use arbitrary::{Arbitrary, Unstructured};
pub use mutate::{mutate_text, mutate_tree};
pub use rng::Rng;
pub use values::{odd_json, odd_string};

/// The environment variable that sets every target's number of cases.
pub const CASES_VAR: &str = "WEFT_FUZZ_CASES";
/// The environment variable that sets the generator's seed.
pub const SEED_VAR: &str = "WEFT_FUZZ_SEED";
/// The seed used when [`SEED_VAR`] is not set: runs are reproducible.
pub const DEFAULT_SEED: u64 = 0x5eed_f00d_cafe_0013;
/// The longest random input, in bytes.
pub const MAX_INPUT: usize = 4096;

/// The number of cases to run: [`CASES_VAR`] when set to a number, else
/// `default`.
pub fn cases(default: u64) -> u64 {
    std::env::var(CASES_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The seed to use: [`SEED_VAR`] when set to a number, else [`DEFAULT_SEED`].
pub fn seed() -> u64 {
    std::env::var(SEED_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// What one target's loop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The target's name.
    pub target: String,
    /// Cases run.
    pub executions: u64,
    /// The inputs (hex) of the cases that panicked, with the panic message.
    pub panics: Vec<(String, String)>,
    /// How long the loop took.
    pub elapsed: std::time::Duration,
}

impl Report {
    /// The summary line `scripts/fuzz.sh` reads.
    pub fn line(&self) -> String {
        format!(
            "weft-fuzz target={} executions={} panics={} seconds={:.1}",
            self.target,
            self.executions,
            self.panics.len(),
            self.elapsed.as_secs_f64()
        )
    }

    /// Print the summary (and each failing input) and panic if any case did.
    pub fn assert_clean(&self) {
        println!("{}", self.line());
        if let Some((input, message)) = self.panics.first() {
            for (input, message) in self.panics.iter().take(5) {
                eprintln!(
                    "weft-fuzz {}: panic `{message}` on input {input}",
                    self.target
                );
            }
            panic!(
                "{}: {} of {} cases panicked; first: `{message}` on input {input}",
                self.target,
                self.panics.len(),
                self.executions
            );
        }
    }
}

/// Run `target` on `cases(default_cases)` random inputs from [`seed`], each at
/// most [`MAX_INPUT`] bytes, and assert that none panicked.
pub fn run(name: &str, default_cases: u64, target: impl FnMut(&[u8])) {
    explore(name, cases(default_cases), seed(), target).assert_clean();
}

/// Run `target` on `cases` random inputs from `seed` and report what happened;
/// panics are caught (and not printed by the panic hook while the loop runs).
/// A panic on any other thread while a case runs counts as that case's: a
/// server under test whose handler panics is found even if the server lives on.
pub fn explore(name: &str, cases: u64, seed: u64, mut target: impl FnMut(&[u8])) -> Report {
    quiet_panics();
    let mut rng = Rng::new(seed ^ fnv(name));
    let mut report = Report {
        target: name.to_owned(),
        executions: 0,
        panics: Vec::new(),
        elapsed: std::time::Duration::ZERO,
    };
    let started = std::time::Instant::now();
    let mut input = Vec::with_capacity(MAX_INPUT);
    for _ in 0..cases {
        rng.fill(&mut input, MAX_INPUT);
        report.executions += 1;
        let elsewhere = OTHER_PANICS.load(Ordering::SeqCst);
        IN_CASE.with(|c| c.set(true));
        let caught = catch_unwind(AssertUnwindSafe(|| target(&input)));
        IN_CASE.with(|c| c.set(false));
        // A panic elsewhere while the case ran (a handler of a server the case
        // talked to) is the case's.
        if OTHER_PANICS.load(Ordering::SeqCst) != elsewhere {
            let message = OTHER_MESSAGE
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            report.panics.push((to_hex(&input), message));
        } else if let Err(payload) = caught {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned());
            report.panics.push((to_hex(&input), message));
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Run `target` once on `hex` (a failing input as [`Report`] printed it): a
/// regression case.
pub fn replay(hex: &str, target: impl FnOnce(&[u8])) {
    target(&from_hex(hex));
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower- or upper-case hex text; odd or bad digits are skipped.
pub fn from_hex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter_map(|c| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect();
    digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect()
}

/// FNV-1a of `text`: each target draws its own stream from one seed.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

thread_local! {
    /// Whether this thread is running a fuzz case.
    static IN_CASE: Cell<bool> = const { Cell::new(false) };
}

/// Panics on threads that were not running a case (a server's tasks, say:
/// a web framework may swallow them and only drop the connection).
static OTHER_PANICS: AtomicU64 = AtomicU64::new(0);
/// The message of the last of them.
static OTHER_MESSAGE: Mutex<String> = Mutex::new(String::new());

/// Panics of a fuzz case are caught and reported by the loop; the default
/// hook's message for each would drown the output. Other panics (other tests,
/// other threads, the final assertion) still print, and so do a case's when
/// `WEFT_FUZZ_VERBOSE` is set.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_case = IN_CASE.with(Cell::get);
            if !in_case {
                *OTHER_MESSAGE.lock().unwrap_or_else(PoisonError::into_inner) =
                    format!("on another thread: {info}");
                OTHER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            if !in_case || std::env::var_os("WEFT_FUZZ_VERBOSE").is_some() {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_target_is_reported_with_its_input() {
        let report = explore("boom", 50, 1, |bytes| {
            assert!(bytes.len() < 8, "long input");
        });
        assert_eq!(report.executions, 50);
        // (Another test's deliberate panics may be counted here too.)
        let (hex, _) = report.panics.iter().find(|p| p.1 == "long input").unwrap();
        assert!(from_hex(hex).len() >= 8);
    }

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        explore("t", 5, 7, |x| a.push(x.to_vec()));
        explore("t", 5, 7, |x| b.push(x.to_vec()));
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn a_panic_on_another_thread_is_the_cases() {
        let report = explore("elsewhere", 3, 2, |_| {
            let _ = std::thread::spawn(|| panic!("in a server task")).join();
        });
        assert_eq!(report.panics.len(), 3, "{:?}", report.panics);
        assert!(
            report
                .panics
                .iter()
                .all(|p| p.1.contains("in a server task")),
            "{:?}",
            report.panics
        );
    }

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), bytes);
    }
}
