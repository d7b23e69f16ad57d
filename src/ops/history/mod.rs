//! `generations` and `diff`: the lab's history, as the profile records it.
//!
//! This is one of the two places (with `diff`'s rendering in the binary)
//! that read a generation's artifacts; the rest of the ops layer goes
//! through the plan.

mod diff;
mod template_diff;

pub use diff::{ArtifactChange, DiffOptions, Diffed, TargetChanges, diff};

use hlb_cache::GenerationRecord;
use hlb_cache::profile::ProfileError;
use hlb_cache::store::StoreError;

use super::env::{Env, EnvError};
use super::events::SharedReporter;
use super::exit::ExitClass;
use super::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("reading the profile")]
    Profile(#[source] ProfileError),
    #[error("lab {lab} has no generations yet: run `hlb build`")]
    NoGenerations { lab: String },
    #[error("lab {lab} has no generation {number} (see `hlb generations`)")]
    NoSuchGeneration { lab: String, number: u64 },
    #[error("reading generation {number} ({hash}) from the store")]
    Read {
        number: u64,
        hash: hlb_cache::Digest,
        #[source]
        source: StoreError,
    },
    #[error("generation {number} ({hash}) is not in the store")]
    NotInStore {
        number: u64,
        hash: hlb_cache::Digest,
    },
}

impl HistoryError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&super::plan::Problems> {
        match self {
            HistoryError::Plan(e) => e.problems(),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            HistoryError::Env(e) => e.class(),
            HistoryError::Plan(e) => e.class(),
            HistoryError::Profile(_) | HistoryError::Read { .. } => ExitClass::Environment,
            HistoryError::NoGenerations { .. } | HistoryError::NoSuchGeneration { .. } => {
                ExitClass::Failed
            }
            HistoryError::NotInStore { .. } => ExitClass::StoreIntegrity,
        }
    }
}

/// The lab's generations, oldest first.
#[derive(Debug)]
pub struct History {
    pub lab: String,
    pub records: Vec<GenerationRecord>,
    /// The number of the current one.
    pub current: Option<u64>,
}

/// The lab's generations and which is current.
pub fn generations(env: &Env, _reporter: &SharedReporter) -> Result<History, HistoryError> {
    let lab = super::plan::lab_name(env)?;
    let profiles = env.profiles()?;
    let records = profiles.list(&lab).map_err(HistoryError::Profile)?;
    let current = profiles
        .current(&lab)
        .map_err(HistoryError::Profile)?
        .map(|r| r.number);
    Ok(History {
        lab,
        records,
        current,
    })
}

/// `YYYY-MM-DD HH:MM:SS` UTC from unix seconds (no time-zone database needed).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_795_500_000), "2026-11-24 06:00:00");
    }
}
