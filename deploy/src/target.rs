//! The one protocol every kind of target speaks.
//!
//! A [`Target`] is one deployable thing of a generation (a host, later a
//! container, a Talos node, a cluster). The orchestrator ([`crate::switch`])
//! drives it through the same steps whatever it is:
//!
//! 1. [`Target::plan`] reaches the target and says what would change and
//!    what drifted; it MUST change nothing, so a failed plan anywhere leaves
//!    every target as it was.
//! 2. [`Target::stage`] puts everything the new generation needs on the
//!    target without making any of it visible.
//! 3. [`Target::activate`] makes the staged generation visible at once.
//! 4. [`Target::health`] runs the generation's checks with timeouts.
//! 5. [`Target::confirm`] makes it permanent (drops what rollback no longer
//!    needs beyond the previous generation).
//!
//! [`Target::rollback`] returns the target to a recorded state — a previous
//! generation's spec, or `None` for "nothing of ours" — from the store
//! alone. Every step MUST be idempotent: after a crash the orchestrator may
//! repeat any of them (the journal records the step about to run, not
//! whether it finished).

use std::fmt;

use hlb_cache::Digest;
use hlb_cache::generation::contract::{self, Probe};
use serde::Serialize;

use crate::error::TargetError;

/// A generation's entry for one target, with the generation it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    /// Hash of the whole generation (what the target records it runs).
    pub generation: Digest,
    pub target: &'a contract::Target,
}

/// What a switch would do to one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetPlan {
    /// Generation the target itself reports it runs (`None`: nothing of
    /// ours, or a state it does not recognise).
    pub running: Option<Digest>,
    pub changes: Vec<Change>,
    /// Things changed on the target by hand, which the switch overwrites.
    pub drift: Vec<Drift>,
}

impl TargetPlan {
    /// Nothing to do: already on the generation, nothing drifted.
    pub fn is_noop(&self, generation: &Digest) -> bool {
        self.running.as_ref() == Some(generation)
            && self.changes.is_empty()
            && self.drift.is_empty()
    }
}

/// One planned change; `what` names a file, an object or a unit, never a
/// secret's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    Add { what: String },
    Modify { what: String },
    Remove { what: String },
    Restart { unit: String },
    Reload { unit: String },
}

/// Something on the target that differs from the generation it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub what: String,
    /// `changed`, `missing` or `replaced` (no longer ours).
    pub how: &'static str,
}

/// What a target reports about itself ([`Target::status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetStatus {
    pub running: Option<Digest>,
    /// The generation kept for rollback, if any.
    pub previous: Option<Digest>,
    pub drift: Vec<Drift>,
}

/// The steps of the protocol, as journals, events and errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Plan,
    Stage,
    Activate,
    Health,
    Confirm,
    Rollback,
    Status,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Plan => "plan",
            Step::Stage => "stage",
            Step::Activate => "activate",
            Step::Health => "health",
            Step::Confirm => "confirm",
            Step::Rollback => "rollback",
            Step::Status => "status",
        })
    }
}

/// One target of a lab, reached however its kind is reached. Implementors
/// MUST keep every step idempotent (see the module docs) and MUST NOT
/// print: progress goes through [`crate::report::Reporter`], driven by the
/// orchestrator.
pub trait Target: Send + Sync {
    fn plan(&self, desired: Desired<'_>) -> Result<TargetPlan, TargetError>;
    fn stage(&self, desired: Desired<'_>) -> Result<(), TargetError>;
    fn activate(&self, desired: Desired<'_>) -> Result<(), TargetError>;
    fn health(&self, desired: Desired<'_>) -> Result<(), TargetError>;
    fn confirm(&self, desired: Desired<'_>) -> Result<(), TargetError>;
    /// Go back to `to` (activate it again, re-staging from the store when
    /// the target no longer has it), or to nothing of ours when `None`.
    /// The orchestrator health-checks `to` afterwards.
    fn rollback(&self, to: Option<Desired<'_>>) -> Result<(), TargetError>;
    fn status(&self, desired: Option<Desired<'_>>) -> Result<TargetStatus, TargetError>;
}

/// Makes the [`Target`] for a generation's entry: one per kind, chosen by
/// the spec. Connecting does no I/O; `plan` is the first contact.
pub trait Connect: Send + Sync {
    fn connect(
        &self,
        name: &str,
        target: &contract::Target,
    ) -> Result<Box<dyn Target>, TargetError>;
}

/// Whether the orchestrator deploys this entry at all: `lab` entries hold
/// artifacts that belong to no machine.
pub fn is_deployable(target: &contract::Target) -> bool {
    !matches!(target.spec, contract::TargetSpec::Lab)
}

/// A probe as messages name it.
pub fn probe_name(p: &Probe) -> String {
    match p {
        Probe::Tcp { port } => format!("tcp:{port}"),
        Probe::Http { port, path } => format!("http:{port}{path}"),
        Probe::Dns { port, name } => format!("dns:{port} {name}"),
        Probe::Unit { unit } => format!("unit {unit}"),
    }
}
