//! `store verify | gc | path | pin | unpin | pins`: store maintenance.

use std::path::PathBuf;

use hlb_cache::Digest;
use hlb_cache::gc::GcReport;
use hlb_cache::profile::ProfileError;
use hlb_cache::store::StoreError;
use hlb_cache::store::VerifyReport;

use super::env::{Env, EnvError};
use super::events::SharedReporter;
use super::exit::ExitClass;
use super::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum StoreOpError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("store")]
    Store(#[source] StoreError),
    #[error("state")]
    Profile(#[source] ProfileError),
    /// `verify` found damage; the report lists it.
    #[error(
        "{} corrupted store entr{}: remove them with `hlb store gc` after fixing, or rebuild",
        report.corrupted.len(),
        if report.corrupted.len() == 1 { "y" } else { "ies" }
    )]
    Corrupted { report: VerifyReport },
    #[error("lab {lab} has no generation {number} (see `hlb generations`)")]
    NoSuchGeneration { lab: String, number: u64 },
    #[error("no store entry `{prefix}…` (see `hlb show NAME` for ids)")]
    NoEntry { prefix: String },
    #[error("`{prefix}` is ambiguous or too short: give more of the id")]
    Ambiguous { prefix: String },
    #[error("no pin named `{name}` (see `hlb store pins`)")]
    NoPin { name: String },
}

impl StoreOpError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&super::plan::Problems> {
        match self {
            StoreOpError::Plan(e) => e.problems(),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            StoreOpError::Env(e) => e.class(),
            StoreOpError::Plan(e) => e.class(),
            StoreOpError::Store(_) | StoreOpError::Profile(_) => ExitClass::Environment,
            StoreOpError::Corrupted { .. } => ExitClass::StoreIntegrity,
            StoreOpError::NoSuchGeneration { .. } | StoreOpError::NoPin { .. } => ExitClass::Failed,
            StoreOpError::NoEntry { .. } | StoreOpError::Ambiguous { .. } => ExitClass::Usage,
        }
    }
}

/// The store's directory.
pub fn path(env: &Env, _reporter: &SharedReporter) -> Result<PathBuf, StoreOpError> {
    Ok(env.store_dir()?)
}

/// Re-hash every entry; damage is an error carrying the report.
pub fn verify(env: &Env, _reporter: &SharedReporter) -> Result<VerifyReport, StoreOpError> {
    let report = env.open_store()?.verify().map_err(StoreOpError::Store)?;
    if report.corrupted.is_empty() {
        Ok(report)
    } else {
        Err(StoreOpError::Corrupted { report })
    }
}

/// What `gc` removed (or would), and how many roots it kept.
#[derive(Debug)]
pub struct Collected {
    pub report: GcReport,
    pub roots: usize,
    pub dry_run: bool,
}

/// What `gc` does.
#[derive(Clone, Copy, Debug, Default)]
pub struct GcOptions {
    /// Only say what would be removed.
    pub dry_run: bool,
}

/// Remove what no generation or pin reaches.
pub fn gc(
    env: &Env,
    opts: &GcOptions,
    _reporter: &SharedReporter,
) -> Result<Collected, StoreOpError> {
    let dry_run = opts.dry_run;
    let store = env.open_store()?;
    let profiles = env.profiles()?;
    // Roots are read under gc's exclusive lock, so a build that is still
    // recording its generation cannot lose its outputs.
    let report =
        hlb_cache::gc::collect_profiles(&store, &profiles, dry_run).map_err(StoreOpError::Store)?;
    let roots = profiles.roots().map_err(StoreOpError::Profile)?.len();
    Ok(Collected {
        report,
        roots,
        dry_run,
    })
}

/// What `pin` keeps, under which name.
#[derive(Clone, Debug, Default)]
pub struct PinOptions {
    /// The pin's name.
    pub name: String,
    /// A generation number of the lab, or a store entry id (or a unique
    /// prefix of one).
    pub what: String,
}

/// Keep a generation or store entry and all it needs through gc.
pub fn pin(
    env: &Env,
    opts: &PinOptions,
    _reporter: &SharedReporter,
) -> Result<Digest, StoreOpError> {
    let (name, what) = (opts.name.as_str(), opts.what.as_str());
    let store = env.open_store()?;
    let digest = if let Ok(n) = what.parse::<u64>() {
        let lab = super::plan::lab_name(env)?;
        env.profiles()?
            .get(&lab, n)
            .map_err(StoreOpError::Profile)?
            .ok_or(StoreOpError::NoSuchGeneration { lab, number: n })?
            .generation
    } else {
        let matches: Vec<_> = store
            .entries()
            .map_err(StoreOpError::Store)?
            .into_iter()
            .filter(|e| e.id.hex().starts_with(what))
            .collect();
        match matches.as_slice() {
            [e] if what.len() >= 6 => e.id,
            [] => {
                return Err(StoreOpError::NoEntry {
                    prefix: what.to_string(),
                });
            }
            _ => {
                return Err(StoreOpError::Ambiguous {
                    prefix: what.to_string(),
                });
            }
        }
    };
    env.profiles()?
        .pin(name, &digest)
        .map_err(StoreOpError::Profile)?;
    Ok(digest)
}

/// Remove a pin.
pub fn unpin(env: &Env, name: &str, _reporter: &SharedReporter) -> Result<(), StoreOpError> {
    if env.profiles()?.unpin(name).map_err(StoreOpError::Profile)? {
        Ok(())
    } else {
        Err(StoreOpError::NoPin {
            name: name.to_string(),
        })
    }
}

/// The pins, by name.
pub fn pins(env: &Env, _reporter: &SharedReporter) -> Result<Vec<(String, Digest)>, StoreOpError> {
    env.profiles()?.pins().map_err(StoreOpError::Profile)
}
