//! hlb's deploy core: a generation from the store, rolled onto every
//! target of a lab, or onto none (design D14, D15; docs/deploy.md).
//!
//! - [`target`]: the one protocol every kind of target speaks (plan,
//!   stage, activate, health, confirm, rollback, status) and the
//!   [`target::Connect`] factory that makes a target from a generation's
//!   typed spec.
//! - [`switch`]: the lab-wide orchestrator (order from `after` edges,
//!   parallel up to `-j`, all-or-nothing with rollback in reverse order),
//!   recovery of an interrupted switch, and `status`.
//! - [`journal`]: the write-ahead journal, the per-target deployed records
//!   and the lab lock in the lab's state directory; the recovery rule.
//! - [`report`]: events for the CLI to show; this crate never prints.
//! - [`error`]: typed errors naming the target and the step.
//! - [`host`]: the host target over SSH (NixOS-style generations on the
//!   machine, symlink swaps, drift by content hash), with its remote
//!   commands as argument vectors built by pure functions.
//! - [`memory`]: an in-memory world of hosts for fast tests.
//!
//! The conformance suite (`tests/conformance/`) runs every fault case
//! against every target implementation.

pub mod error;
pub mod host;
pub mod journal;
pub mod memory;
pub mod report;
pub mod switch;
pub mod target;

pub use error::{JournalError, StepError, SwitchError, TargetError};
pub use journal::{Deployed, Journal, LabState, Phase, TargetPhase};
pub use report::{Event, Recorder, Reporter, Silent};
pub use switch::{LabStatus, Outcome, Recovery, Switch, SwitchReport, recover, status, switch};
pub use target::{Change, Connect, Desired, Drift, Step, Target, TargetPlan, TargetStatus};
