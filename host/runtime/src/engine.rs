//! The one wasmtime `Engine` and `Linker` of a weft process, and loading plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use weft_core::PluginKind;

use crate::bindings::{host, logging, types};
use crate::cache::{ComponentCache, ComponentOrigin};
use crate::epoch::EpochTicker;
use crate::error::LoadError;
use crate::host_api::CallContext;
use crate::limits::CallLimits;
use crate::plugin::{ExportIndices, Plugin};
use crate::sniff::{WasmEncoding, sniff};
use crate::state::CallState;
use crate::world::{self, ComponentShape};

/// How the runtime is set up. The defaults suit a workstation and CI.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are kept between processes (`.cwasm` files named
    /// by content hash). `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// The largest memory any call may be given; per-call caps must be at most
    /// this. It sizes the pooling allocator's memory slots.
    pub max_memory_bytes: usize,
    /// How many component instances may be live at once across all calls.
    pub max_live_instances: u32,
    /// How often the epoch advances; calls yield to the scheduler at each tick so
    /// that a deadline can stop a plugin that never returns.
    pub epoch_tick: Duration,
    /// The most Wasm stack one call may use.
    pub max_wasm_stack: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_memory_bytes: 1024 * 1024 * 1024,
            max_live_instances: 128,
            epoch_tick: Duration::from_millis(1),
            max_wasm_stack: 1024 * 1024,
        }
    }
}

/// The weft Wasm runtime: compiles, checks and caches components, and hands out
/// [`Plugin`]s that run each call in a fresh, limited `Store`.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    cache: ComponentCache,
    max_memory_bytes: usize,
    _ticker: EpochTicker,
}

/// What the runtime can tell about a `.wasm` file without running it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
    /// The component's imports and exports.
    pub shape: ComponentShape,
    /// The weft world it satisfies, if exactly one.
    pub world: Option<PluginKind>,
    /// For each world: `None` if the component satisfies it, else why not.
    pub verdicts: Vec<(PluginKind, Option<String>)>,
}

impl Runtime {
    /// Build the engine (component model, async, pooling allocator, epoch
    /// interruption) and the linker with WASI (nothing granted), wasi:http (every
    /// request refused) and the weft host imports.
    pub fn new(config: RuntimeConfig) -> Result<Self, LoadError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(config.max_live_instances)
            .total_core_instances(config.max_live_instances * 16)
            .total_memories(config.max_live_instances * 4)
            .total_tables(config.max_live_instances * 4)
            .total_stacks(config.max_live_instances)
            .max_core_instances_per_component(64)
            .max_memories_per_component(8)
            .max_tables_per_component(16)
            .max_memories_per_module(1)
            .max_tables_per_module(4)
            .table_elements(CallLimits::default().table_elements.max(200_000))
            .max_component_instance_size(4 * 1024 * 1024)
            .max_core_instance_size(16 * 1024 * 1024)
            .max_memory_size(config.max_memory_bytes);

        let mut cfg = Config::new();
        cfg.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack)
            .async_stack_size(config.max_wasm_stack + 1024 * 1024)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;

        let mut linker = Linker::<CallState>::new(&engine);
        let link =
            |r: wasmtime::Result<()>| r.map_err(|e| LoadError::Instantiate(format!("{e:#}")));
        link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(
            &mut linker,
        ))?;
        link(types::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        ))?;
        link(logging::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        ))?;
        link(host::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |s| s,
        ))?;

        let cache = ComponentCache::new(config.cache_dir.clone(), &engine)?;
        let ticker = EpochTicker::start(&engine, config.epoch_tick);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                max_memory_bytes: config.max_memory_bytes,
                _ticker: ticker,
            }),
        })
    }

    /// The largest memory cap a call may be given.
    pub fn max_memory_bytes(&self) -> usize {
        self.inner.max_memory_bytes
    }

    /// Read and load a plugin file; see [`Runtime::load`].
    pub async fn load_file(&self, path: &Path, kind: PluginKind) -> Result<Arc<Plugin>, LoadError> {
        let bytes = read(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        self.load(&name, &bytes, kind).await
    }

    /// Compile (or fetch from the cache) a component, check it against `kind`'s
    /// world, and prepare it for calls. The component is instantiated once, under
    /// the default limits, so that a wrong signature or a start-up failure is
    /// reported now rather than at its first call.
    pub async fn load(
        &self,
        name: &str,
        bytes: &[u8],
        kind: PluginKind,
    ) -> Result<Arc<Plugin>, LoadError> {
        let (component, sha256, origin) = self.compile(bytes)?;
        let shape = ComponentShape::of(&self.inner.engine, &component);
        world::check(&shape, kind)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let exports = ExportIndices::new(kind, &pre)?;
        let plugin = Arc::new(Plugin::new(
            name.into(),
            kind,
            sha256,
            bytes.len(),
            origin,
            pre,
            exports,
        ));
        plugin
            .trial_instantiate(&CallContext::new(CallLimits {
                memory_bytes: CallLimits::default()
                    .memory_bytes
                    .min(self.inner.max_memory_bytes),
                ..CallLimits::default()
            }))
            .await?;
        Ok(plugin)
    }

    /// Describe a `.wasm` file: imports, exports, hash, and which weft world it
    /// satisfies (names checked, then a trial load for signatures). Fails only if
    /// it is not a loadable component at all.
    pub async fn inspect(&self, bytes: &[u8]) -> Result<Inspection, LoadError> {
        let (component, sha256, _) = self.compile(bytes)?;
        let shape = ComponentShape::of(&self.inner.engine, &component);
        let mut verdicts = Vec::new();
        for kind in PluginKind::ALL {
            let verdict = match world::check(&shape, kind) {
                Err(e) => Some(e.to_string()),
                Ok(()) => self
                    .load("inspect", bytes, kind)
                    .await
                    .err()
                    .map(|e| e.to_string()),
            };
            verdicts.push((kind, verdict));
        }
        let satisfied: Vec<_> = verdicts.iter().filter(|(_, v)| v.is_none()).collect();
        let world = match satisfied.as_slice() {
            [(kind, _)] => Some(*kind),
            _ => None,
        };
        Ok(Inspection {
            sha256,
            size: bytes.len(),
            world,
            shape,
            verdicts,
        })
    }

    fn compile(
        &self,
        bytes: &[u8],
    ) -> Result<(wasmtime::component::Component, String, ComponentOrigin), LoadError> {
        match sniff(bytes) {
            WasmEncoding::Component => {}
            WasmEncoding::CoreModule => return Err(LoadError::CoreModule),
            WasmEncoding::Unknown(version) => {
                return Err(LoadError::UnknownEncoding { bytes: version });
            }
            WasmEncoding::NotWasm(first_bytes) => return Err(LoadError::NotWasm { first_bytes }),
        }
        self.inner
            .cache
            .get_or_compile(&self.inner.engine, bytes)
            .map_err(|e| crate::memory_decl::compile_error(e, self.inner.max_memory_bytes))
    }
}

/// Read a plugin file, with the path in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })
}
