//! The first half of every pipeline: load the recipes, read the lock, plan,
//! and run every compiler's plan check — everything that happens before
//! the store is touched. `build` goes on from here; `show`, `graph` and
//! `why-depends` look at what it returns; `switch` will too.

use std::fmt;
use std::path::PathBuf;

use hlb_builder::decl::Lab;
use hlb_builder::diag::{Diagnostics, SourceMap};
use hlb_builder::io::{FsIo, RelPath};
use hlb_builder::lock::Lock;
use hlb_builder::plan::Plan;
use hlb_builder::sched::Registry;

use super::env::{ENTRY, Env};
use super::exit::ExitClass;

/// Problems found in the recipes, located in their text. The CLI renders
/// the diagnostics; the message only counts them.
pub struct Problems {
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

impl Problems {
    pub fn new(diagnostics: Diagnostics, sources: SourceMap) -> Problems {
        Problems {
            diagnostics,
            sources,
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "{n} problem{} in the recipes",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl fmt::Debug for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problems")
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Problems {}

/// Why the recipes could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no {ENTRY} in {}: pass --recipes DIR (the directory holding lab.kdl)", dir.display())]
    NoLab { dir: PathBuf },
    #[error(transparent)]
    Recipe(#[from] Problems),
    #[error("reading {}", path.display())]
    ReadLock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    ParseLock {
        path: PathBuf,
        #[source]
        source: hlb_cache::lock::LockError,
    },
}

impl PlanError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&Problems> {
        match self {
            PlanError::Recipe(p) => Some(p),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            PlanError::NoLab { .. } => ExitClass::Usage,
            PlanError::Recipe(_) | PlanError::ParseLock { .. } => ExitClass::Recipe,
            PlanError::ReadLock { .. } => ExitClass::Environment,
        }
    }
}

/// The evaluated lab and its plan.
#[derive(Debug)]
pub struct Planned {
    pub lab: Lab,
    pub plan: Plan,
}

/// Load and evaluate the recipes.
pub fn load(env: &Env) -> Result<Lab, PlanError> {
    if !env.entry().is_file() {
        return Err(PlanError::NoLab {
            dir: env.recipes.clone(),
        });
    }
    let io = FsIo::new(env.recipes.clone());
    let entry = RelPath::new(ENTRY).expect("the entry file name is a relative path");
    hlb_builder::load::load(&io, &entry)
        .map_err(|e| PlanError::Recipe(Problems::new(e.diagnostics, e.sources)))
}

/// The lab's name, when its recipes load.
pub fn lab_name(env: &Env) -> Result<String, PlanError> {
    Ok(load(env)?.name.value)
}

/// `hlb.lock`, or an empty lock when there is none.
pub fn read_lock(env: &Env) -> Result<Lock, PlanError> {
    let path = env.lock_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Lock::parse(&text).map_err(|source| PlanError::ParseLock { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
        Err(source) => Err(PlanError::ReadLock { path, source }),
    }
}

/// Plan a loaded lab against a lock, then run every compiler's plan check,
/// so problems a build would meet are found before anything is built.
pub fn plan_lab(mut lab: Lab, lock: &Lock, registry: &Registry) -> Result<Planned, PlanError> {
    let plan = match hlb_builder::plan::plan(&lab, lock, &|k| registry.version(k)) {
        Ok(plan) => plan,
        Err(d) => return Err(Problems::new(d, std::mem::take(&mut lab.sources)).into()),
    };
    let checked = registry.check(&lab, &plan);
    if !checked.is_empty() {
        return Err(Problems::new(checked, std::mem::take(&mut lab.sources)).into());
    }
    Ok(Planned { lab, plan })
}

/// Load, read the lock, plan, check.
pub fn plan(env: &Env, registry: &Registry) -> Result<Planned, PlanError> {
    let lab = load(env)?;
    let lock = read_lock(env)?;
    plan_lab(lab, &lock, registry)
}
