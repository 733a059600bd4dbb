//! Typed errors of the runtime: loading a component, and calling one.

use std::path::PathBuf;
use std::time::Duration;

use weft_core::{PluginError, PluginKind};

/// Why a `.wasm` file could not be loaded as a weft plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error(
        "not a WebAssembly file: it does not start with the bytes `00 61 73 6d` (\\0asm); it starts with {first_bytes}"
    )]
    NotWasm {
        /// The first bytes, in hex, for the message.
        first_bytes: String,
    },
    /// A core module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component: weft plugins are components \
         (build for the wasm32-wasip2 target, or wrap a core module with `wasm-tools component new`)"
    )]
    CoreModule,
    /// Wasm of a layer or version this host does not know.
    #[error(
        "unsupported WebAssembly binary: version/layer bytes {bytes} are neither a core module nor a component"
    )]
    UnknownEncoding {
        /// The four version/layer bytes, in hex.
        bytes: String,
    },
    /// wasmtime refused to compile the component.
    #[error("invalid WebAssembly component: {0}")]
    Compile(String),
    /// The component was built against a major version of the contract this
    /// host does not implement.
    #[error(
        "the component was built against weft:plugin@{found} (its `{item}`), a major version \
         this host does not implement: this host implements weft:plugin@{host} and accepts \
         components of that line only; rebuild the plugin against weft:plugin@{host} \
         (docs/plugin-guide.md, \"Versioning\")"
    )]
    UnsupportedContract {
        /// The version the component declares, e.g. `1.0.0`.
        found: String,
        /// The import or export that declares it.
        item: String,
        /// The version this host implements.
        host: &'static str,
    },
    /// The component's imports or exports do not match the world it should target.
    #[error("component does not satisfy the {world} world:\n  - {}", problems.join("\n  - "))]
    WrongWorld {
        /// The expected world, e.g. `step-plugin`.
        world: &'static str,
        /// One line per missing or extra import/export.
        problems: Vec<String>,
    },
    /// The export is there but a function has the wrong signature.
    #[error(
        "component exports `{export}` but not with the signature of weft:plugin@{}: {detail}",
        weft_core::WIT_PACKAGE_VERSION
    )]
    WrongSignature {
        /// The export, e.g. `weft:plugin/step@0.1.0`.
        export: String,
        /// What wasmtime found wrong.
        detail: String,
    },
    /// The component declares more initial memory than a call may have.
    #[error(
        "the component declares an initial memory of {} ({declared} bytes), over {set_by}: {} \
         ({limit} bytes); declare a smaller initial memory (it may grow at run time up to the cap)",
        bytes(usize::try_from(*declared).unwrap_or(usize::MAX)),
        bytes(usize::try_from(*limit).unwrap_or(usize::MAX))
    )]
    MemoryDeclared {
        /// What it declares, in bytes.
        declared: u64,
        /// The limit, in bytes.
        limit: u64,
        /// Which limit that is and where it is set.
        set_by: &'static str,
    },
    /// The component could not be linked or instantiated for a trial call.
    #[error("component could not be instantiated: {0}")]
    Instantiate(String),
    /// The compiled-component cache on disk could not be used.
    #[error("component cache at {path}: {source}")]
    Cache {
        /// The cache file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a plugin call failed. Every variant fails only this call; the runtime and
/// every other call go on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin ran and returned an error of its own.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The call was asked of a plugin of another kind.
    #[error("plugin is a {actual} plugin, not a {expected} plugin")]
    WrongKind {
        /// What the call needed.
        expected: PluginKind,
        /// What the plugin is.
        actual: PluginKind,
    },
    /// The call ran past its wall-clock deadline and was stopped.
    #[error("plugin exceeded its {} deadline and was stopped", humanize(*timeout))]
    DeadlineExceeded {
        /// The deadline.
        timeout: Duration,
    },
    /// The plugin tried to grow its linear memory past the cap.
    #[error("plugin exceeded its memory cap of {} (it asked for {})", bytes(*cap), bytes(*requested))]
    MemoryLimit {
        /// The cap in bytes.
        cap: usize,
        /// The size it asked for.
        requested: usize,
    },
    /// The plugin tried to grow a table past the cap.
    #[error("plugin exceeded its table cap of {cap} elements (it asked for {requested})")]
    TableLimit {
        /// The cap in elements.
        cap: usize,
        /// The size it asked for.
        requested: usize,
    },
    /// The plugin overflowed the Wasm stack.
    #[error("plugin overflowed its stack{stderr}")]
    StackOverflow {
        /// The tail of what the plugin wrote to stderr, prefixed for display.
        stderr: StderrTail,
    },
    /// The plugin's result is bigger than the output cap.
    #[error("plugin returned {} of output, over the {} cap", bytes(*size), bytes(*cap))]
    OutputTooLarge {
        /// The size of what it returned.
        size: usize,
        /// The cap.
        cap: usize,
    },
    /// The plugin returned text that should be JSON and is not.
    #[error("plugin returned invalid JSON: {0}")]
    InvalidJson(String),
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access, ...).
    #[error("plugin trapped: {message}{stderr}")]
    Trap {
        /// wasmtime's description of the trap.
        message: String,
        /// The tail of what the plugin wrote to stderr.
        stderr: StderrTail,
    },
    /// The plugin could not be instantiated (a resource limit at start-up).
    #[error("plugin could not be instantiated: {0}")]
    Instantiate(String),
}

impl CallError {
    /// Whether trying the same call again might succeed: the plugin said so, or it
    /// was stopped at its deadline.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Plugin(PluginError::Transient(_)) | Self::DeadlineExceeded { .. }
        )
    }

    /// The error as a guest-visible [`PluginError`]: what a retry strategy or a
    /// calling step is told.
    pub fn to_plugin_error(&self) -> PluginError {
        match self {
            Self::Plugin(e) => e.clone(),
            other if other.is_transient() => PluginError::Transient(other.to_string()),
            other => PluginError::Permanent(other.to_string()),
        }
    }
}

/// The last part of a plugin's stderr, shown after an error. Empty when the
/// plugin wrote nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StderrTail(pub String);

impl std::fmt::Display for StderrTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.trim_end();
        if text.is_empty() {
            return Ok(());
        }
        write!(f, "\nplugin stderr:")?;
        for line in text.lines() {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

fn bytes(n: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}
