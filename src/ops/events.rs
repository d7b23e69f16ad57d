//! The one event path: everything an operation has to say while it runs
//! reaches its caller as an [`Event`] through one [`Reporter`].
//!
//! The builder's scheduler and the fetcher report through the one trait of
//! the lower layers, `hlb_cache::events::Reporter<E>`, each with its own
//! event type (they sit below this crate and know nothing of each other).
//! The adapters here ([`BuildEvents`], [`fetch_reporter`]) wrap their
//! events into one enum, so a caller sees a whole run — downloads, builds,
//! and next deploy steps — in one stream, and the CLI renders every event
//! with one renderer.
//!
//! Operations never print: a reporter decides what is shown.

use std::path::Path;
use std::sync::Arc;

use hlb_builder::DrvId;
use hlb_builder::diag::{Diagnostic, Diagnostics, SourceMap};
use hlb_builder::plan::Plan;
use hlb_builder::sched;
use hlb_fetch::{FetchEvent, LockEvent};
use hlb_secrets::Recovery;

/// A failure build step located in the recipes: the diagnostic and the
/// recipe text it points into.
#[derive(Clone, Copy)]
pub struct Located<'a> {
    pub diagnostics: &'a Diagnostics,
    pub sources: &'a SourceMap,
    /// The parameter path the compiler named (`files[2].owner`).
    pub at: &'a str,
}

/// Something an operation says while it runs.
#[non_exhaustive]
pub enum Event<'a> {
    /// A step of the build scheduler. A failure the plan can place in the
    /// recipes comes `located`.
    Build {
        event: &'a sched::Event,
        located: Option<Located<'a>>,
        /// A failure of a secret artifact built without an identity: the
        /// same cause for every such derivation, worth saying once.
        needs_identity: bool,
    },
    /// A download (a `fetch` derivation, a lock resolver, `prefetch`).
    Fetch(&'a FetchEvent),
    /// A lock resolver's progress.
    Lock(&'a LockEvent),
    /// An interrupted rekey of the secrets directory was finished or undone.
    SecretsRecovered(&'a Recovery),
    /// A file was written where the operator asked (`talos gen config`).
    Wrote { kind: &'a str, path: &'a Path },
    /// Worth knowing, does not stop the operation (`warning:` on a
    /// terminal).
    Warning(&'a str),
    /// What the operation is doing now, for people (never in `--json`).
    Note(&'a str),
}

/// Receives the events of an operation. Called from worker threads.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// The reporter operations share (the fetcher keeps one for its lifetime).
pub type SharedReporter = Arc<dyn Reporter>;

/// A reporter that drops everything (tests, benchmarks).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event<'_>) {}
}

/// The silent reporter, shared.
pub fn silent() -> SharedReporter {
    Arc::new(Silent)
}

impl<F: Fn(&Event<'_>) + Send + Sync> Reporter for F {
    fn event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// A failure build step the plan can point at recipe text: the code of the
/// diagnostic it becomes.
pub const BUILD_ERROR_AT_RECIPE: &str = "E0520";

/// The scheduler's events as [`Event::Build`], with failures at a
/// parameter placed in the recipes.
pub struct BuildEvents<'a> {
    reporter: &'a dyn Reporter,
    plan: &'a Plan,
    sources: &'a SourceMap,
    /// No identity opens the lab's secrets.
    no_identity: bool,
}

impl<'a> BuildEvents<'a> {
    pub fn new(
        reporter: &'a dyn Reporter,
        plan: &'a Plan,
        sources: &'a SourceMap,
        no_identity: bool,
    ) -> Self {
        BuildEvents {
            reporter,
            plan,
            sources,
            no_identity,
        }
    }

    /// The failure as a recipe diagnostic, when the plan knows where the
    /// parameter it names was written.
    fn locate(
        &self,
        id: &DrvId,
        kind: &str,
        name: &str,
        error: &str,
        at: &str,
    ) -> Option<Diagnostics> {
        let span = self.plan.locate(id, at)?;
        // InvalidAt messages stand on their own (they name the derivation).
        let message = if error.contains(name) {
            format!("building {kind} failed: {error}")
        } else {
            format!("building {kind} {name} failed: {error}")
        };
        let d = Diagnostic::new(BUILD_ERROR_AT_RECIPE, message)
            .at(span)
            .label("written here");
        Some(Diagnostics(vec![d]))
    }
}

impl sched::Reporter<sched::Event> for BuildEvents<'_> {
    fn event(&self, event: &sched::Event) {
        let needs_identity =
            match event {
                sched::Event::Failed { id, .. } => {
                    self.no_identity
                        && self.plan.graph.get(id).is_some_and(|d| {
                            d.secret || d.kind == hlb_builder::kinds::SEALED_SECRET
                        })
                }
                _ => false,
            };
        if let sched::Event::Failed {
            id,
            name,
            kind,
            error,
            at: Some(at),
        } = event
            && let Some(diagnostics) = self.locate(id, kind, name, error, at)
        {
            let located = Located {
                diagnostics: &diagnostics,
                sources: self.sources,
                at,
            };
            self.reporter.event(&Event::Build {
                event,
                located: Some(located),
                needs_identity,
            });
            return;
        }
        self.reporter.event(&Event::Build {
            event,
            located: None,
            needs_identity,
        });
    }
}

/// The fetcher's events as [`Event::Fetch`].
pub fn fetch_reporter(reporter: SharedReporter) -> Arc<dyn hlb_fetch::Reporter<FetchEvent>> {
    Arc::new(move |e: &FetchEvent| reporter.event(&Event::Fetch(e)))
}
