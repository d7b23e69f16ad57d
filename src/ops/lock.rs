//! `lock`, `lock --check` and `prefetch`: what moves (unpinned downloads,
//! the package closures of `lxc` containers) is resolved into `hlb.lock`.
//!
//! The resolvers registered here are the lock sections hlb can fill:
//! `fetch` (URL pins) and `debian` (package closures).

use std::path::PathBuf;

use hlb_builder::decl::{Body, Lab, LxcDecl, package_name};
use hlb_builder::diag::{Diagnostic, Diagnostics, Span};
use hlb_fetch::resolve::{LockUpdateError, ResolveFailure};
use hlb_fetch::{DebianResolver, FetchError, FetchResolver, LockChanges, Resolver};

use super::env::{Env, EnvError};
use super::events::{Event, SharedReporter};
use super::exit::ExitClass;
use super::plan::{PlanError, Problems};

/// A container's package could not be resolved.
pub const LOCK_RESOLVE_FAILED: &str = "E0514";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `lock --check`: the lock does not match the recipes.
    #[error("{} is stale ({} problem{}): run `hlb lock`", path.display(), stale.len(), if stale.len() == 1 { "" } else { "s" })]
    Stale { path: PathBuf, stale: Vec<String> },
    /// Some entries cannot be resolved; the lock is unchanged. Package
    /// problems of containers are located in the recipes (`problems`).
    #[error("cannot resolve {count} lock entr{}; {} is unchanged", if *count == 1 { "y" } else { "ies" }, path.display())]
    Unresolvable {
        path: PathBuf,
        count: usize,
        #[source]
        problems: Option<Problems>,
        /// The other failures, one line each.
        other: Vec<String>,
    },
    #[error("updating the lock")]
    Update(#[source] LockUpdateError),
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: hlb_cache::fsx::IoError,
    },
    #[error("downloading {url}")]
    Prefetch {
        url: String,
        #[source]
        source: FetchError,
    },
}

impl LockError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&super::plan::Problems> {
        match self {
            LockError::Plan(e) => e.problems(),
            LockError::Unresolvable { problems, .. } => problems.as_ref(),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            LockError::Env(e) => e.class(),
            LockError::Plan(e) => e.class(),
            LockError::Stale { .. } => ExitClass::Recipe,
            LockError::Unresolvable {
                problems: Some(_),
                other,
                ..
            } if other.is_empty() => ExitClass::Recipe,
            LockError::Unresolvable { .. }
            | LockError::Update(_)
            | LockError::Write { .. }
            | LockError::Prefetch { .. } => ExitClass::Environment,
        }
    }
}

/// `lock --check`'s answer when the lock is up to date.
#[derive(Debug)]
pub struct LockChecked {
    pub path: PathBuf,
}

/// What `lock` did.
#[derive(Debug)]
pub struct Locked {
    pub path: PathBuf,
    pub changes: LockChanges,
    /// Whether the file was rewritten.
    pub changed: bool,
}

/// Whether `hlb.lock` pins everything the recipes ask for, and nothing else.
pub fn check(env: &Env, _reporter: &SharedReporter) -> Result<LockChecked, LockError> {
    let lab = super::plan::load(env)?;
    let lock = super::plan::read_lock(env)?;
    let requests = hlb_builder::plan::lock_requests(&lab);
    let path = env.lock_path();
    let stale: Vec<String> = lock
        .stale(&requests)
        .iter()
        .map(ToString::to_string)
        .collect();
    if stale.is_empty() {
        Ok(LockChecked { path })
    } else {
        Err(LockError::Stale { path, stale })
    }
}

/// Pin what is missing, drop what is no longer used, and write the lock.
pub fn lock(env: &Env, reporter: &SharedReporter) -> Result<Locked, LockError> {
    let lab = super::plan::load(env)?;
    let mut lock = super::plan::read_lock(env)?;
    let requests = hlb_builder::plan::lock_requests(&lab);
    let path = env.lock_path();
    let fetcher = env.fetcher(reporter)?;
    let fetch = FetchResolver;
    // Debian package closures (`lxc` containers): the machine's apt
    // sources name the mirrors; verified indexes are kept in the state
    // directory so a re-lock against an unchanged Release is offline.
    let debian = DebianResolver::new().with_index_cache(env.state_dir()?.join("debian-indexes"));
    let resolvers: [&dyn Resolver; 2] = [&fetch, &debian];
    let changes = match hlb_fetch::update_lock(&mut lock, &requests, &resolvers, &fetcher, &|e| {
        reporter.event(&Event::Lock(&e));
    }) {
        Ok(c) => c,
        Err(LockUpdateError::Resolve(failures)) => {
            return Err(unresolvable(lab, failures, path));
        }
        Err(e) => return Err(LockError::Update(e)),
    };
    let text = lock.to_string_canonical();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let changed = text != old;
    if changed {
        hlb_cache::fsx::write_atomic(&path, text.as_bytes()).map_err(|source| {
            LockError::Write {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(Locked {
        path,
        changes,
        changed,
    })
}

/// A container whose packages cannot be resolved (unknown package,
/// unsatisfiable dependency, conflicting packages) is a recipe problem:
/// located at the package the recipe asked for (or its `debian` line).
/// Other failures are reported as they are.
fn unresolvable(mut lab: Lab, failures: Vec<ResolveFailure>, path: PathBuf) -> LockError {
    let mut diags = Vec::new();
    let mut other = Vec::new();
    for f in failures {
        let container = match lab.get(&f.key).map(|d| &d.body) {
            Some(Body::Lxc(l)) if f.section == hlb_fetch::DEBIAN_SECTION => l,
            _ => {
                other.push(format!("{} `{}`: {}", f.section, f.key, f.error));
                continue;
            }
        };
        let span = package_span(container, &f.error).unwrap_or(container.debian.span);
        diags.push(
            Diagnostic::new(
                LOCK_RESOLVE_FAILED,
                format!("container `{}`: {}", f.key, f.error),
            )
            .at(span)
            .label("cannot be installed")
            .help("check the package names (`apt-cache policy NAME` on a machine with the same sources), or drop the package that conflicts"),
        );
    }
    let count = diags.len() + other.len();
    let problems = (!diags.is_empty())
        .then(|| Problems::new(Diagnostics(diags), std::mem::take(&mut lab.sources)));
    LockError::Unresolvable {
        path,
        count,
        problems,
        other,
    }
}

/// The first package the recipe wrote that the resolver names at the root
/// of a failed chain of dependencies.
fn package_span(l: &LxcDecl, error: &FetchError) -> Option<Span> {
    let failed = hlb_fetch::DebianError::from_fetch_error(error)?.failed_requests();
    let failed: Vec<&str> = failed.into_iter().map(package_name).collect();
    l.packages
        .iter()
        .find(|p| failed.contains(&package_name(&p.value)))
        .map(|p| p.span)
}

/// A download's pin, for pasting into a recipe.
#[derive(Debug)]
pub struct Prefetched {
    pub url: String,
    pub hash: hlb_builder::FixedHash,
    pub size: u64,
}

/// Download `url` and say its pin.
pub fn prefetch(env: &Env, url: &str, reporter: &SharedReporter) -> Result<Prefetched, LockError> {
    let fetcher = env.fetcher(reporter)?;
    let (hash, size) = fetcher
        .prefetch(url)
        .map_err(|source| LockError::Prefetch {
            url: url.to_string(),
            source,
        })?;
    Ok(Prefetched {
        url: url.to_string(),
        hash,
        size,
    })
}
