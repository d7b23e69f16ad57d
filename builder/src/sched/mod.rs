//! The scheduler: builds the derivations a set of roots needs, in parallel,
//! into the store.
//!
//! Invariants:
//! - A derivation starts only when all its inputs are in the store.
//! - What the store already holds is never rebuilt (checked up front, and
//!   again under the per-derivation build lock, because another `hlb`
//!   process may have built it meanwhile).
//! - A failure marks every derivation that needs it as skipped; without
//!   `keep_going` no new work starts after the first failure, but builds
//!   already running finish (and are kept: they are valid).
//! - The scheduler never prints; it reports [`Event`]s.
//! - It reaches the store and the clock only through [`io::BuildStore`]
//!   and [`io::Clock`], so tests run it against an in-memory store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use hlb_cache::Digest;
use hlb_cache::store::{Entry, EntryMeta};

pub mod io;
pub use io::{BuildStore, Clock, FixedClock, MemoryStore, SystemClock};

use crate::compile::{BuildCx, BuildError, Compiler, NoSecrets, SecretSource};
use crate::drv::{Derivation, DrvId};
use crate::graph::Graph;

/// Compilers by derivation kind.
#[derive(Default)]
pub struct Registry {
    compilers: BTreeMap<&'static str, Box<dyn Compiler>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Add a compiler; a second one for the same kind replaces the first.
    pub fn register(&mut self, c: Box<dyn Compiler>) {
        self.compilers.insert(c.kind(), c);
    }

    pub fn get(&self, kind: &str) -> Option<&dyn Compiler> {
        self.compilers.get(kind).map(|b| b.as_ref())
    }

    /// The version the planner must put into derivations of `kind`.
    pub fn version(&self, kind: &str) -> Option<u32> {
        self.get(kind).map(|c| c.version())
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.compilers.keys().copied()
    }

    /// Every registered compiler's plan check ([`Compiler::check`]), in
    /// kind order.
    pub fn check(
        &self,
        lab: &crate::decl::Lab,
        plan: &crate::plan::Plan,
    ) -> crate::diag::Diagnostics {
        let mut all = crate::diag::Diagnostics::default();
        for c in self.compilers.values() {
            all.0.extend(c.check(lab, plan).0);
        }
        all
    }
}

/// What the scheduler tells its reporter.
#[derive(Debug, Clone)]
pub enum Event {
    /// Sent once, before any build starts.
    Planned {
        total: usize,
        cached: usize,
        to_build: usize,
    },
    Started {
        id: DrvId,
        name: String,
        kind: String,
    },
    Built {
        id: DrvId,
        name: String,
        kind: String,
        elapsed: Duration,
    },
    Failed {
        id: DrvId,
        name: String,
        kind: String,
        error: String,
        /// The parameter the problem is at
        /// ([`crate::BuildError::InvalidAt`]), for a reporter that can
        /// point at the recipe text ([`crate::plan::Plan::locate`]).
        at: Option<String>,
    },
    /// Not attempted: an input failed (`failed_input` names it), or the
    /// run stopped after a failure without `keep_going` (`failed_input` is
    /// `None`).
    Skipped {
        id: DrvId,
        name: String,
        failed_input: Option<(DrvId, String)>,
    },
}

/// The scheduler reports through the one reporter trait of every layer.
pub use hlb_cache::events::{Reporter, Silent};

impl hlb_cache::events::Event for Event {
    fn reason(&self) -> &'static str {
        match self {
            Event::Planned { .. } => "build-planned",
            Event::Started { .. } => "build-started",
            Event::Built { .. } => "build-done",
            Event::Failed { .. } => "build-failed",
            Event::Skipped { .. } => "build-skipped",
        }
    }

    fn fields(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Event::Planned {
                total,
                cached,
                to_build,
            } => json!({"total": total, "cached": cached, "to_build": to_build}),
            Event::Started { id, name, kind } => json!({"id": id, "name": name, "kind": kind}),
            Event::Built {
                id,
                name,
                kind,
                elapsed,
            } => json!({"id": id, "name": name, "kind": kind, "seconds": elapsed.as_secs_f64()}),
            Event::Failed {
                id,
                name,
                kind,
                error,
                at,
            } => json!({"id": id, "name": name, "kind": kind, "error": error, "at": at}),
            Event::Skipped {
                id,
                name,
                failed_input,
            } => json!({
                "id": id,
                "name": name,
                "failed_input": failed_input.as_ref().map(|(i, n)| json!({"id": i, "name": n})),
            }),
        }
    }
}

#[derive(Clone)]
pub struct Options {
    /// Parallel builds; at least 1.
    pub jobs: usize,
    /// Go on with everything that does not depend on a failure.
    pub keep_going: bool,
    /// Plaintext for secret-bearing derivations.
    pub secrets: Arc<dyn SecretSource>,
    /// Times each build (for [`Event::Built`]).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("jobs", &self.jobs)
            .field("keep_going", &self.keep_going)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            keep_going: false,
            secrets: Arc::new(NoSecrets),
            clock: Arc::new(SystemClock::default()),
        }
    }
}

/// Recipe-file bytes by content digest (what `Derivation::sources` names).
pub type SourceBytes = BTreeMap<Digest, Arc<[u8]>>;

/// Why one derivation failed.
#[derive(Debug)]
pub struct Failure {
    pub id: DrvId,
    pub name: String,
    pub kind: String,
    pub error: BuildError,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Store entries of every derivation in the closure that is now built.
    pub outputs: BTreeMap<DrvId, Entry>,
    pub built: Vec<DrvId>,
    pub cached: usize,
    pub failed: Vec<Failure>,
    pub skipped: Vec<DrvId>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

struct State {
    /// Derivations not yet started whose inputs are all done, in id order.
    ready: BTreeSet<DrvId>,
    /// Remaining unfinished inputs per waiting derivation.
    waiting: BTreeMap<DrvId, usize>,
    running: usize,
    stop: bool,
    outcome: Outcome,
}

/// Build `roots` and everything they need.
pub fn build(
    store: &dyn BuildStore,
    graph: &Graph,
    roots: &[DrvId],
    sources: &SourceBytes,
    registry: &Registry,
    reporter: &dyn Reporter<Event>,
    opts: &Options,
) -> Result<Outcome, hlb_cache::store::StoreError> {
    let _shared = store.lock_shared()?;
    let closure = graph.closure(roots);
    let mut outcome = Outcome::default();
    let mut pending = BTreeSet::new();
    for id in &closure {
        let d = graph.get(id).expect("closure is inside the graph");
        match store.lookup(id, &d.name)? {
            Some(entry) => {
                outcome.outputs.insert(*id, entry);
                outcome.cached += 1;
            }
            None => {
                pending.insert(*id);
            }
        }
    }
    reporter.event(&Event::Planned {
        total: closure.len(),
        cached: outcome.cached,
        to_build: pending.len(),
    });

    let mut users: BTreeMap<DrvId, Vec<DrvId>> = BTreeMap::new();
    let mut waiting = BTreeMap::new();
    let mut ready = BTreeSet::new();
    for id in &pending {
        let d = graph.get(id).expect("pending is inside the graph");
        let deps: BTreeSet<DrvId> = d
            .inputs
            .values()
            .filter(|i| pending.contains(*i))
            .copied()
            .collect();
        for dep in &deps {
            users.entry(*dep).or_default().push(*id);
        }
        if deps.is_empty() {
            ready.insert(*id);
        } else {
            waiting.insert(*id, deps.len());
        }
    }

    let state = Mutex::new(State {
        ready,
        waiting,
        running: 0,
        stop: false,
        outcome,
    });
    let wake = Condvar::new();
    let jobs = opts.jobs.max(1).min(pending.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                worker(
                    store, graph, sources, registry, reporter, opts, &state, &wake, &users,
                )
            });
        }
    });
    let state = state.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut outcome = state.outcome;
    // Whatever is still waiting could not start: an input failed or we stopped.
    let failed: BTreeSet<DrvId> = outcome.failed.iter().map(|f| f.id).collect();
    for id in state.waiting.keys().chain(state.ready.iter()) {
        if !outcome.skipped.contains(id) {
            outcome.skipped.push(*id);
            let d = graph.get(id).expect("in graph");
            let cause = graph
                .closure(&[*id])
                .into_iter()
                .find(|i| failed.contains(i))
                .map(|i| {
                    (
                        i,
                        graph.get(&i).map_or_else(String::new, |d| d.name.clone()),
                    )
                });
            reporter.event(&Event::Skipped {
                id: *id,
                name: d.name.clone(),
                failed_input: cause,
            });
        }
    }
    outcome.skipped.sort();
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
fn worker(
    store: &dyn BuildStore,
    graph: &Graph,
    sources: &SourceBytes,
    registry: &Registry,
    reporter: &dyn Reporter<Event>,
    opts: &Options,
    state: &Mutex<State>,
    wake: &Condvar,
    users: &BTreeMap<DrvId, Vec<DrvId>>,
) {
    loop {
        let id = {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if st.stop && st.running == 0 {
                    wake.notify_all();
                    return;
                }
                if !st.stop
                    && let Some(id) = st.ready.pop_first()
                {
                    st.running += 1;
                    break id;
                }
                if st.running == 0 {
                    // Nothing ready, nothing running: done (or blocked by failures).
                    wake.notify_all();
                    return;
                }
                st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        let drv = graph.get(&id).expect("scheduled ids are in the graph");
        let input_entries: BTreeMap<String, std::path::PathBuf> = {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            drv.inputs
                .iter()
                .map(|(role, i)| (role.clone(), st.outcome.outputs[i].out.clone()))
                .collect()
        };
        reporter.event(&Event::Started {
            id,
            name: drv.name.clone(),
            kind: drv.kind.clone(),
        });
        let started = opts.clock.now();
        let result = build_one(
            store,
            id,
            drv,
            input_entries,
            sources,
            registry,
            opts.secrets.as_ref(),
        );
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.running -= 1;
        match result {
            Ok((entry, fresh)) => {
                if fresh {
                    st.outcome.built.push(id);
                } else {
                    st.outcome.cached += 1;
                }
                st.outcome.outputs.insert(id, entry);
                reporter.event(&Event::Built {
                    id,
                    name: drv.name.clone(),
                    kind: drv.kind.clone(),
                    elapsed: opts.clock.now().saturating_sub(started),
                });
                for u in users.get(&id).map(Vec::as_slice).unwrap_or_default() {
                    if let Some(n) = st.waiting.get_mut(u) {
                        *n -= 1;
                        if *n == 0 {
                            st.waiting.remove(u);
                            st.ready.insert(*u);
                        }
                    }
                }
            }
            Err(error) => {
                let at = match &error {
                    BuildError::InvalidAt { at, .. } => Some(at.clone()),
                    _ => None,
                };
                reporter.event(&Event::Failed {
                    id,
                    name: drv.name.clone(),
                    kind: drv.kind.clone(),
                    error: error.to_string(),
                    at,
                });
                st.outcome.failed.push(Failure {
                    id,
                    name: drv.name.clone(),
                    kind: drv.kind.clone(),
                    error,
                });
                if !opts.keep_going {
                    st.stop = true;
                }
            }
        }
        wake.notify_all();
    }
}

/// Build one derivation under its build lock. Returns the entry and whether
/// this process built it (false: someone else did meanwhile).
fn build_one(
    store: &dyn BuildStore,
    id: DrvId,
    drv: &Derivation,
    inputs: BTreeMap<String, std::path::PathBuf>,
    sources: &SourceBytes,
    registry: &Registry,
    secrets: &dyn SecretSource,
) -> Result<(Entry, bool), BuildError> {
    let store_err = |e: hlb_cache::store::StoreError| BuildError::Internal(format!("store: {e}"));
    let compiler = registry.get(&drv.kind).ok_or_else(|| {
        BuildError::Internal(format!("no compiler for derivation kind `{}`", drv.kind))
    })?;
    if compiler.version() != drv.builder_version {
        return Err(BuildError::Internal(format!(
            "derivation {} wants {} compiler version {}, this hlb has {}",
            drv.name,
            drv.kind,
            drv.builder_version,
            compiler.version()
        )));
    }
    let _lock = store.build_lock(&id).map_err(store_err)?;
    if let Some(entry) = store.lookup(&id, &drv.name).map_err(store_err)? {
        return Ok((entry, false));
    }
    let mut source_bytes = BTreeMap::new();
    for (role, digest) in &drv.sources {
        let bytes = sources.get(digest).ok_or_else(|| {
            BuildError::Internal(format!(
                "source `{role}` of {} ({digest}) was not loaded",
                drv.name
            ))
        })?;
        source_bytes.insert(role.clone(), bytes.clone());
    }
    let staging = store.begin(&id, &drv.name).map_err(store_err)?;
    let cx = BuildCx {
        id,
        drv,
        inputs,
        sources: source_bytes,
        out: staging.out_path(),
        tmp: staging.tmp_dir(),
        secrets,
    };
    compiler.build(&cx)?;
    if !cx.out.exists() && cx.out.symlink_metadata().is_err() {
        return Err(BuildError::Internal(format!(
            "the {} compiler produced no output for {}",
            drv.kind, drv.name
        )));
    }
    let meta = EntryMeta {
        kind: drv.kind.clone(),
        references: drv.inputs.values().copied().collect(),
        secret: drv.secret,
        derivation: serde_json::to_value(drv).map_err(|e| BuildError::Internal(e.to_string()))?,
    };
    let entry = staging.commit(meta).map_err(store_err)?;
    Ok((entry, true))
}
