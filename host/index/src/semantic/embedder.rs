//! Sentence embeddings with all-MiniLM-L6-v2 through fastembed and ONNX Runtime,
//! from local files only.
//!
//! Nothing is downloaded: the ONNX model, its tokenizer files and the ONNX Runtime
//! shared library are read from paths given in `weft.yaml`
//! (`search.semantic.model_dir`, `search.semantic.onnxruntime`) or the environment
//! (`WEFT_EMBED_MODEL_DIR`, `WEFT_ORT_DYLIB`). `scripts/setup-model.sh` obtains them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};

use super::SemanticError;

/// Length of every vector the model gives.
pub const DIMENSIONS: usize = 384;

/// Environment variable naming the model folder (it overrides weft.yaml).
pub const MODEL_DIR_ENV: &str = "WEFT_EMBED_MODEL_DIR";

/// Environment variable naming the ONNX Runtime shared library (it overrides weft.yaml).
pub const ORT_DYLIB_ENV: &str = "WEFT_ORT_DYLIB";

/// The files a model folder must hold.
pub const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// Texts are run through the model this many at a time.
const BATCH: usize = 64;

/// ONNX Runtime is loaded once per process; this is the library that was loaded.
static LOADED_ORT: OnceLock<PathBuf> = OnceLock::new();

/// A loaded sentence-embedding model. Cheap to share behind an `Arc`; calls to
/// [`Embedder::embed`] from several threads take turns.
pub struct Embedder {
    model: Mutex<TextEmbedding>,
    dir: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("dir", &self.dir).finish()
    }
}

impl Embedder {
    /// Loads the model in `model_dir` (the five [`MODEL_FILES`]) with the ONNX Runtime
    /// library at `onnxruntime` (`libonnxruntime.so`, 1.24 or newer).
    ///
    /// ONNX Runtime can be loaded only once per process: asking for a different
    /// library after the first is an error rather than silently using the first.
    pub fn from_config(model_dir: &Path, onnxruntime: &Path) -> Result<Self, SemanticError> {
        let mut bytes = Vec::with_capacity(MODEL_FILES.len());
        for name in MODEL_FILES {
            bytes.push(read(&model_dir.join(name))?);
        }
        if !onnxruntime.is_file() {
            return Err(SemanticError::MissingFile {
                path: onnxruntime.to_path_buf(),
            });
        }
        load_onnxruntime(onnxruntime)?;

        let mut bytes = bytes.into_iter();
        let mut next = || bytes.next().unwrap_or_default();
        let onnx = next();
        let tokenizer = TokenizerFiles {
            tokenizer_file: next(),
            config_file: next(),
            special_tokens_map_file: next(),
            tokenizer_config_file: next(),
        };
        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer).with_pooling(Pooling::Mean);
        let model =
            TextEmbedding::try_new_from_user_defined(model, InitOptionsUserDefined::default())
                .map_err(|e| SemanticError::Model {
                    dir: model_dir.to_path_buf(),
                    message: e.to_string(),
                })?;
        let embedder = Self {
            model: Mutex::new(model),
            dir: model_dir.to_path_buf(),
        };
        // A model of another shape would make every stored vector meaningless.
        let probe = embedder.embed(&["weft"])?;
        let got = probe.first().map_or(0, Vec::len);
        if got != DIMENSIONS {
            return Err(SemanticError::Dimensions {
                want: DIMENSIONS,
                got,
            });
        }
        Ok(embedder)
    }

    /// Like [`Embedder::from_config`], with `WEFT_EMBED_MODEL_DIR` and `WEFT_ORT_DYLIB`
    /// taking precedence over the values from weft.yaml. When the library is named
    /// nowhere, `<model_dir>/../onnxruntime/libonnxruntime.so` is used: the layout
    /// `scripts/setup-model.sh` writes. With no model folder at all this is
    /// [`SemanticError::NotConfigured`].
    pub fn from_env_or(
        model_dir: Option<&Path>,
        onnxruntime: Option<&Path>,
    ) -> Result<Self, SemanticError> {
        Self::from_settings(model_dir, onnxruntime, &|name| std::env::var_os(name))
    }

    /// [`Embedder::from_env_or`] with the environment read through `env`
    /// (so that callers and tests can resolve settings without touching the process
    /// environment). An empty value counts as unset.
    pub fn from_settings(
        model_dir: Option<&Path>,
        onnxruntime: Option<&Path>,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Self, SemanticError> {
        let var = |name| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let model_dir = var(MODEL_DIR_ENV)
            .or_else(|| model_dir.map(Path::to_path_buf))
            .ok_or(SemanticError::NotConfigured)?;
        let onnxruntime = var(ORT_DYLIB_ENV)
            .or_else(|| onnxruntime.map(Path::to_path_buf))
            .unwrap_or_else(|| default_onnxruntime(&model_dir));
        Self::from_config(&model_dir, &onnxruntime)
    }

    /// The folder the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// One [`DIMENSIONS`]-long vector per text, in order, computed in batches of 64.
    /// Texts longer than 128 tokens are truncated (the model's training length).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SemanticError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // A panic while embedding leaves the session as it was; keep using it.
        let mut model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        model
            .embed(texts, Some(BATCH))
            .map_err(|e| SemanticError::Embed(e.to_string()))
    }
}

/// Where `scripts/setup-model.sh` puts the library relative to the model folder.
pub fn default_onnxruntime(model_dir: &Path) -> PathBuf {
    model_dir
        .parent()
        .unwrap_or(model_dir)
        .join("onnxruntime")
        .join("libonnxruntime.so")
}

fn read(path: &Path) -> Result<Vec<u8>, SemanticError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SemanticError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => SemanticError::Read {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn load_onnxruntime(path: &Path) -> Result<(), SemanticError> {
    let wanted = path.canonicalize().map_err(|source| SemanticError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(loaded) = LOADED_ORT.get() {
        if *loaded == wanted {
            return Ok(());
        }
        return Err(SemanticError::OnnxRuntime {
            path: path.to_path_buf(),
            message: format!(
                "this process already loaded ONNX Runtime from {}; restart to use another",
                loaded.display()
            ),
        });
    }
    // The builder only configures the process-wide environment, which fastembed
    // creates itself; what matters here is that the library is now loaded.
    let _builder = ort::init_from(&wanted).map_err(|e| SemanticError::OnnxRuntime {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let _ = LOADED_ORT.set(wanted);
    Ok(())
}
