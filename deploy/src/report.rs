//! Events of a switch, for whoever shows them.
//!
//! The deploy core never prints. The orchestrator emits [`Event`]s through
//! a [`Reporter`]; the CLI turns them into progress per target on a
//! terminal, plain lines otherwise, or one JSON object per line whose
//! `reason` field is the event's name (the same stream as the build's).
//! Events are emitted from the worker threads of a switch, hence `Sync`.

use std::sync::Mutex;

use hlb_cache::Digest;
use serde::Serialize;

use crate::target::{Step, TargetPlan};

/// One thing that happened during a switch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Event {
    /// A journal left by an interrupted switch was found and is being
    /// settled by the recovery rule.
    Recovering {
        to: Digest,
        /// `resume` or `roll-back` (docs/deploy.md, "Recovery").
        decision: &'static str,
    },
    /// One target's plan.
    Planned {
        target: String,
        plan: TargetPlan,
    },
    /// The target is already on the generation with nothing drifted.
    Unchanged {
        target: String,
    },
    StepStarted {
        target: String,
        step: Step,
    },
    StepFinished {
        target: String,
        step: Step,
    },
    StepFailed {
        target: String,
        step: Step,
        /// The error's message and its causes, joined (never a secret:
        /// causes name artifacts, not values).
        error: String,
    },
    /// The whole switch ended; `outcome` is `deployed`, `rolled-back` or
    /// `needs-attention`.
    Finished {
        to: Digest,
        outcome: &'static str,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event) {}
}

/// Keeps every event, for tests and for callers that summarise afterwards.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Reporter for Recorder {
    fn event(&self, event: &Event) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event.clone());
        }
    }
}

/// An error with its causes, one line (for events; the CLI renders the
/// typed chain itself).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}
