//! Where an operation runs: the directories, the operator's identity, the
//! mirrors and whether the network may be used. Every operation takes an
//! [`Env`]; the binary makes one from its flags and environment variables,
//! tests and benchmarks make one pointing into a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlb_builder::sched::Registry;
use hlb_cache::Profiles;
use hlb_cache::profile::ProfileError;
use hlb_cache::store::{Store, StoreError};
use hlb_fetch::{FetchError, FetchOptions, Fetcher, Mirror, MirrorParseError};

use super::events::{SharedReporter, fetch_reporter};
use super::exit::ExitClass;

/// The recipes' entry file.
pub const ENTRY: &str = "lab.kdl";
/// The lock file, beside it.
pub const LOCK_FILE: &str = "hlb.lock";

/// Directories and settings an operation runs with.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The recipes directory (holding lab.kdl and hlb.lock).
    pub recipes: PathBuf,
    /// The store [default: `$XDG_DATA_HOME/hlb/store`].
    pub store: Option<PathBuf>,
    /// Profiles, generations and locks [default: `$XDG_STATE_HOME/hlb`].
    pub state: Option<PathBuf>,
    /// The age identity that opens the lab's secrets [default:
    /// `$HLB_AGE_IDENTITY`, else `~/.ssh/id_ed25519`].
    pub identity: Option<PathBuf>,
    /// Mirrors to try before upstream URLs, as written (`--mirror`).
    pub mirrors: Vec<String>,
    /// A list of mirrors from the environment (`HLB_MIRRORS`), whitespace-
    /// or comma-separated; tried before `mirrors`.
    pub mirror_list: Option<String>,
    /// Use only the store and mirrors, never an upstream URL.
    pub offline: bool,
}

/// The environment is not set up for an operation.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("neither {var} nor HOME is set: pass --store and --state")]
    NoHome { var: &'static str },
    #[error("opening the store at {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("opening the state directory {}", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: ProfileError,
    },
    #[error("{flag}")]
    Mirror {
        /// `HLB_MIRRORS` or `--mirror URL`.
        flag: String,
        #[source]
        source: MirrorParseError,
    },
    #[error("setting up downloads")]
    Fetcher(#[source] FetchError),
}

impl EnvError {
    pub fn class(&self) -> ExitClass {
        match self {
            EnvError::Mirror { .. } => ExitClass::Usage,
            _ => ExitClass::Environment,
        }
    }
}

impl Env {
    /// The recipes' entry file.
    pub fn entry(&self) -> PathBuf {
        self.recipes.join(ENTRY)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.recipes.join(LOCK_FILE)
    }

    pub fn store_dir(&self) -> Result<PathBuf, EnvError> {
        match &self.store {
            Some(d) => Ok(d.clone()),
            None => Ok(xdg("XDG_DATA_HOME", ".local/share")?.join("hlb/store")),
        }
    }

    pub fn state_dir(&self) -> Result<PathBuf, EnvError> {
        match &self.state {
            Some(d) => Ok(d.clone()),
            None => Ok(xdg("XDG_STATE_HOME", ".local/state")?.join("hlb")),
        }
    }

    pub fn open_store(&self) -> Result<Store, EnvError> {
        let path = self.store_dir()?;
        Store::open(&path).map_err(|source| EnvError::Store { path, source })
    }

    pub fn profiles(&self) -> Result<Profiles, EnvError> {
        let path = self.state_dir()?;
        Profiles::open(&path).map_err(|source| EnvError::State { path, source })
    }

    /// The mirrors, parsed: the environment's list first, then `--mirror`s.
    pub fn parsed_mirrors(&self) -> Result<Vec<Mirror>, EnvError> {
        let mut mirrors = Vec::new();
        if let Some(list) = &self.mirror_list {
            mirrors.extend(Mirror::parse_list(list).map_err(|source| EnvError::Mirror {
                flag: "HLB_MIRRORS".into(),
                source,
            })?);
        }
        for m in &self.mirrors {
            mirrors.push(Mirror::parse(m).map_err(|source| EnvError::Mirror {
                flag: format!("--mirror {}", hlb_fetch::Redacted(m)),
                source,
            })?);
        }
        Ok(mirrors)
    }

    /// A fetcher that reports its downloads to `reporter`.
    pub fn fetcher(&self, reporter: &SharedReporter) -> Result<Arc<Fetcher>, EnvError> {
        let opts = FetchOptions {
            mirrors: self.parsed_mirrors()?,
            offline: self.offline,
            reporter: Some(fetch_reporter(reporter.clone())),
            ..FetchOptions::default()
        };
        Ok(Arc::new(Fetcher::new(opts).map_err(EnvError::Fetcher)?))
    }

    /// Every compiler, downloads reported to `reporter`.
    pub fn registry(&self, reporter: &SharedReporter) -> Result<Registry, EnvError> {
        Ok(crate::registry(self.fetcher(reporter)?))
    }

    /// Where a path is shown relative to the recipes (as recipes name it).
    pub fn in_recipes<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.recipes).unwrap_or(path)
    }
}

fn xdg(var: &'static str, fallback: &str) -> Result<PathBuf, EnvError> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            return Ok(p);
        }
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(EnvError::NoHome { var })?;
    Ok(PathBuf::from(home).join(fallback))
}
