//! Errors: what went wrong inside one target ([`TargetError`]), the same
//! named with its target and step ([`StepError`]), and what stops a switch
//! before or outside the protocol ([`SwitchError`]).
//!
//! Messages never embed their cause's text (`{source}`): the cause stays a
//! typed `source()`, so the CLI renders the chain once and a caller can
//! match on it.

use std::path::PathBuf;

use hlb_cache::Digest;
use hlb_cache::fsx::IoError;
use hlb_cache::store::StoreError;

use crate::target::Step;

/// Why one step of one target failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot reach {address}")]
    Unreachable {
        address: String,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("`{program}` on the target exited with {status}: {stderr}")]
    Remote {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("probe {probe} failed: {detail}")]
    Probe { probe: String, detail: String },
    #[error("artifact `{artifact}` ({id}) is not in the store")]
    MissingArtifact { artifact: String, id: Digest },
    #[error("the store could not be read")]
    Store(#[source] StoreError),
    #[error("local file")]
    Io(#[source] IoError),
    #[error("secret artifact `{artifact}` could not be decrypted")]
    Decrypt {
        artifact: String,
        #[source]
        cause: hlb_secrets::age_file::AgeError,
    },
    #[error("{kind} targets are not supported by this deployer yet")]
    Unsupported { kind: &'static str },
    #[error("{0}")]
    Other(String),
}

/// A failed step, named with its target.
#[derive(Debug, thiserror::Error)]
#[error("target `{target}`: {step} failed")]
pub struct StepError {
    pub target: String,
    pub step: Step,
    #[source]
    pub cause: TargetError,
}

/// Errors of the journal and the deployed records.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("state file")]
    Io(#[source] IoError),
    #[error("{}: not a readable {what}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error("{}: format `{found}`, expected `{expected}`", path.display())]
    Format {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
}

impl From<IoError> for JournalError {
    fn from(e: IoError) -> JournalError {
        JournalError::Io(e)
    }
}

/// What stops a switch outside the protocol's own failure handling (a
/// failed step is not this: it is an [`crate::switch::Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("lab `{lab}` is being switched by {holder}; wait for it or check that process")]
    Locked { lab: String, holder: String },
    #[error("planning failed for {} target(s); nothing was changed", .0.len())]
    Plan(Vec<StepError>),
    #[error("journal")]
    Journal(#[from] JournalError),
    #[error("generation {0} is not in the store")]
    MissingGeneration(Digest),
    #[error("the store could not be read")]
    Store(#[source] StoreError),
    #[error("target `{target}` cannot be deployed")]
    Connect {
        target: String,
        #[source]
        cause: TargetError,
    },
    #[error("target `{0}` is not in the generation")]
    UnknownTarget(String),
    /// A test failpoint stopped the orchestrator as a crash would.
    #[error("stopped by a failpoint at journal write {0}")]
    Crashed(usize),
}
