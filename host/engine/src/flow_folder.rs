//! A folder of flow files as a long-running engine serves it: per file, the
//! version that serves (the last one that loaded) and why the file as it is on
//! disk now does not, if it does not.
//!
//! [`FlowFolder::scan`] reads every file again and works out the next state
//! without changing anything; [`FlowFolder::commit`] takes it once the engine
//! serves it. So a scan whose flows the engine refuses (a plugin that does not
//! load) leaves the folder's state as it was, matching the engine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use weft_flow::{CompiledFlow, Diagnostic, ProjectConfig, compile_flow, flow_files};

/// Why a flow file (or the folder itself) is not served as it is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFileError {
    /// The file (or the folder), as the engine names it.
    pub file: String,
    /// What is wrong: the full diagnostic text, with file:line:col.
    pub message: String,
}

/// What one file contributes.
#[derive(Debug, Clone, Default, PartialEq)]
struct FileState {
    /// The version that serves: the last one that compiled and whose id no
    /// other served file has. `None` while the file has never loaded.
    served: Option<CompiledFlow>,
    /// Why the text now on disk is not what serves.
    error: Option<String>,
}

/// The next state of a [`FlowFolder`], from reading its files once.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowScan {
    files: BTreeMap<PathBuf, FileState>,
    /// The folder could not be listed: every file kept its state.
    folder_error: Option<FlowFileError>,
}

impl FlowScan {
    /// The flows to serve, in file name order.
    pub fn flows(&self) -> Vec<CompiledFlow> {
        served(&self.files)
    }

    /// The files not served as they are on disk, in file name order (the
    /// folder's own error first).
    pub fn errors(&self) -> Vec<FlowFileError> {
        let files = self.files.iter().filter_map(|(path, state)| {
            state.error.as_ref().map(|message| FlowFileError {
                file: path.display().to_string(),
                message: message.clone(),
            })
        });
        self.folder_error.iter().cloned().chain(files).collect()
    }
}

/// The flow files of one folder and the version of each that serves.
#[derive(Debug, Clone)]
pub struct FlowFolder {
    dir: PathBuf,
    project: ProjectConfig,
    files: BTreeMap<PathBuf, FileState>,
}

impl FlowFolder {
    /// A folder none of whose files has been read yet: the first
    /// [`FlowFolder::scan`] reads them all.
    pub fn new(dir: &Path, project: ProjectConfig) -> Self {
        Self {
            dir: dir.to_owned(),
            project,
            files: BTreeMap::new(),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The flows that serve, in file name order.
    pub fn flows(&self) -> Vec<CompiledFlow> {
        served(&self.files)
    }

    /// Reads every `.yaml`/`.yml` file of the folder and works out what each
    /// serves next:
    /// - a file that compiles serves its new version;
    /// - one that does not keeps its last good version serving (none if it
    ///   never loaded) and records the diagnostics;
    /// - a file no longer there serves nothing;
    /// - two files with one flow id: the file that served that id keeps it
    ///   and the other gets the error (between two newcomers, the later by
    ///   name); a changed file whose new id clashes keeps its last version
    ///   serving when that one's id is still free.
    ///
    /// A folder that cannot be listed keeps every file's state and records
    /// that error.
    pub fn scan(&self) -> FlowScan {
        let paths = match flow_files(&self.dir) {
            Ok(paths) => paths,
            Err(e) => {
                return FlowScan {
                    files: self.files.clone(),
                    folder_error: Some(FlowFileError {
                        file: self.dir.display().to_string(),
                        message: format!("{e}; the flows loaded before keep serving"),
                    }),
                };
            }
        };
        let candidates: BTreeMap<PathBuf, Candidate> = paths
            .into_iter()
            .filter_map(|path| {
                let old = self.files.get(&path).and_then(|s| s.served.clone());
                Candidate::read(&path, &self.project, old).map(|c| (path, c))
            })
            .collect();
        FlowScan {
            files: self.resolve_ids(&candidates),
            folder_error: None,
        }
    }

    /// Takes `scan` as the state that serves.
    pub fn commit(&mut self, scan: FlowScan) {
        // A folder that could not be listed left every file as it was.
        self.files = scan.files;
    }

    /// The state of every candidate, with each flow id served by one file.
    fn resolve_ids(
        &self,
        candidates: &BTreeMap<PathBuf, Candidate>,
    ) -> BTreeMap<PathBuf, FileState> {
        let incumbent = |path: &PathBuf, c: &Candidate| {
            let served = self.files.get(path).and_then(|s| s.served.as_ref());
            matches!((served, c.proposal()), (Some(s), Some(p)) if s.id == p.id)
        };
        // Files keeping an id they served go first, the rest in name order.
        let mut order: Vec<(&PathBuf, &Candidate)> = candidates.iter().collect();
        order.sort_by_key(|(path, c)| !incumbent(path, c));
        let mut owners: HashMap<String, &PathBuf> = HashMap::new();
        let mut files = BTreeMap::new();
        for (path, c) in order {
            let mut state = FileState {
                served: None,
                error: c.error.clone(),
            };
            if let Some(flow) = c.proposal() {
                if let Some(owner) = owners.get(&flow.id) {
                    let clash = c.clash(flow, owner);
                    state.error = Some(match state.error {
                        Some(e) => format!("{e}\n\n{clash}"),
                        None => clash,
                    });
                    let fallback = c.old.as_ref().filter(|old| {
                        c.new.is_some() && old.id != flow.id && !owners.contains_key(&old.id)
                    });
                    if let Some(old) = fallback {
                        owners.insert(old.id.clone(), path);
                        state.served = Some(old.clone());
                    }
                } else {
                    owners.insert(flow.id.clone(), path);
                    state.served = Some(flow.clone());
                }
            }
            files.insert(path.clone(), state);
        }
        files
    }
}

/// One file as read now, beside the version of it that serves.
struct Candidate {
    /// The text on disk, compiled; `None` when it does not compile.
    new: Option<CompiledFlow>,
    /// The version that serves now.
    old: Option<CompiledFlow>,
    /// Why the text on disk does not compile.
    error: Option<String>,
    /// The text on disk.
    source: String,
}

impl Candidate {
    /// Reads and compiles `path`; `None` when it is gone (deleted since it was
    /// listed).
    fn read(path: &Path, project: &ProjectConfig, old: Option<CompiledFlow>) -> Option<Self> {
        let file = path.display().to_string();
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                return Some(Self {
                    new: None,
                    old,
                    error: Some(format!("cannot read {file}: {e}")),
                    source: String::new(),
                });
            }
        };
        let (new, error) = match compile_flow(&file, &source, project) {
            Ok(flow) => (Some(flow), None),
            Err(diagnostics) => (None, Some(diagnostics.to_string())),
        };
        Some(Self {
            new,
            old,
            error,
            source,
        })
    }

    /// The version this file would serve: the new one, else the old one.
    fn proposal(&self) -> Option<&CompiledFlow> {
        self.new.as_ref().or(self.old.as_ref())
    }

    /// The error of `flow` (this file's) whose id `owner` already serves.
    fn clash(&self, flow: &CompiledFlow, owner: &Path) -> String {
        let mut d = Diagnostic::new(
            &flow.id_location,
            format!(
                "flow id `{}` is already used by {}",
                flow.id,
                owner.display()
            ),
        )
        .expected("expected each flow file to have its own `id`")
        .help(format!(
            "give this flow another id, or remove `{}` from {}",
            flow.id,
            owner.display()
        ))
        .width(flow.id.chars().count());
        if self.new.as_ref() == Some(flow) {
            d.source_line = flow
                .id_location
                .line
                .checked_sub(1)
                .and_then(|i| self.source.lines().nth(i))
                .map(|l| l.trim_end().to_owned());
        }
        d.to_string()
    }
}

/// The served flows of `files`, in file name order.
fn served(files: &BTreeMap<PathBuf, FileState>) -> Vec<CompiledFlow> {
    files.values().filter_map(|s| s.served.clone()).collect()
}
