//! The lab-wide switch: every target of a generation, or none.
//!
//! [`switch`] takes the lab's lock, settles an interrupted switch by the
//! recovery rule ([`crate::journal`]), plans every target (any failure:
//! nothing changes anywhere), then stages, activates and health-checks the
//! targets that differ — `after` edges first, independent targets in
//! parallel up to `jobs` — writing the journal ahead of each step. When all
//! are healthy it commits: confirms each and moves the deployed records.
//! When any step fails it lets running steps finish, starts nothing new,
//! and returns every touched target to the generation it was deployed at,
//! in reverse start order, health-checking each again.
//!
//! A rollback of the lab (`hlb rollback --to N`) is a switch to generation
//! N: the same plan, protocol, journal and health checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use hlb_cache::generation::Generation;
use hlb_cache::{Digest, Store};

use crate::error::{StepError, SwitchError, TargetError};
use crate::journal::{Deployed, Journal, LabState, Phase, TargetPhase, TargetRecord};
use crate::report::{Event, Reporter, chain};
use crate::target::{Connect, Desired, Step, Target, TargetPlan, TargetStatus, is_deployable};

/// Called after each journal write with its number (1, 2, …) in this run;
/// returning `true` stops the orchestrator right there, as a crash would
/// (no further step, no rollback, the journal left as written). Tests use
/// it to crash at every journal step.
pub type Failpoint<'a> = &'a (dyn Fn(usize) -> bool + Sync);

/// What a switch needs from its caller.
pub struct Switch<'a> {
    pub lab: &'a str,
    pub state: &'a LabState,
    pub store: &'a Store,
    pub connect: &'a dyn Connect,
    pub reporter: &'a dyn Reporter,
    /// Targets switched in parallel at most (`-j`); at least 1.
    pub jobs: usize,
    /// Only these targets and what they are `after`, transitively (`hlb
    /// switch TARGET…`); `None`: every deployable target.
    pub only: Option<BTreeSet<String>>,
    /// Written into the lock file for a refused second switch to name.
    pub holder: String,
    pub failpoint: Option<Failpoint<'a>>,
}

/// How a switch ended when it ran the protocol.
#[derive(Debug)]
pub enum Outcome {
    /// Every selected target is healthy on the generation.
    Deployed {
        /// Targets that went through the protocol.
        switched: Vec<String>,
        /// Targets already on the generation with nothing drifted.
        unchanged: Vec<String>,
        /// Confirm steps that failed after the commit (the generation is
        /// kept; what confirm cleans up is left for the next switch).
        warnings: Vec<StepError>,
    },
    /// A step failed; every touched target is healthy on its previous
    /// generation again.
    RolledBack {
        /// `None` when recovery rolled back an interrupted switch.
        failure: Option<StepError>,
        rolled_back: Vec<String>,
    },
    /// A step failed and so did returning some targets: they need a person
    /// (`hlb status` shows where each target is).
    NeedsAttention {
        failure: Option<StepError>,
        rollback_failures: Vec<StepError>,
    },
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Deployed { .. } => "deployed",
            Outcome::RolledBack { .. } => "rolled-back",
            Outcome::NeedsAttention { .. } => "needs-attention",
        }
    }
}

/// What recovery did with an interrupted switch.
#[derive(Debug)]
pub struct Recovery {
    /// The generation the interrupted switch was going to.
    pub to: Digest,
    /// `resume` (it had committed) or `roll-back`.
    pub decision: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub struct SwitchReport {
    pub to: Digest,
    pub recovered: Option<Recovery>,
    pub plans: BTreeMap<String, TargetPlan>,
    pub outcome: Outcome,
}

/// Switch the lab to `to` (which must be in the store, so that recovery
/// can read it back). See the module docs.
pub fn switch(sw: &Switch<'_>, to: &Generation) -> Result<SwitchReport, SwitchError> {
    let _lock = sw.state.lock(sw.lab, &sw.holder)?;
    let writes = AtomicUsize::new(0);
    let recovered = recover_locked(sw, &writes)?;
    let to_hash = to.hash();
    let selected = select(to, sw.only.as_ref())?;
    let deployed = sw.state.deployed()?;

    let mut targets: BTreeMap<String, Box<dyn Target>> = BTreeMap::new();
    for name in &selected {
        let t = sw
            .connect
            .connect(name, &to.targets[name])
            .map_err(|cause| SwitchError::Connect {
                target: name.clone(),
                cause,
            })?;
        targets.insert(name.clone(), t);
    }

    // Plan everything first: one unreachable target and nothing changes.
    let planned = parallel(selected.iter().collect(), sw.jobs, |name| {
        let desired = Desired {
            generation: to_hash,
            target: &to.targets[name],
        };
        let r = targets[name].plan(desired);
        (name.clone(), r)
    });
    let mut plans = BTreeMap::new();
    let mut failed = Vec::new();
    for (name, r) in planned {
        match r {
            Ok(p) => {
                sw.reporter.event(&Event::Planned {
                    target: name.clone(),
                    plan: p.clone(),
                });
                plans.insert(name, p);
            }
            Err(cause) => failed.push(step_failed(sw.reporter, &name, Step::Plan, cause)),
        }
    }
    if !failed.is_empty() {
        return Err(SwitchError::Plan(failed));
    }

    let (touched, unchanged): (Vec<String>, Vec<String>) = selected
        .iter()
        .cloned()
        .partition(|n| !(plans[n].is_noop(&to_hash) && deployed.of(n) == Some(to_hash)));
    for n in &unchanged {
        sw.reporter.event(&Event::Unchanged { target: n.clone() });
    }
    if touched.is_empty() {
        sw.reporter.event(&Event::Finished {
            to: to_hash,
            outcome: "deployed",
        });
        return Ok(SwitchReport {
            to: to_hash,
            recovered,
            plans,
            outcome: Outcome::Deployed {
                switched: vec![],
                unchanged,
                warnings: vec![],
            },
        });
    }

    let froms: BTreeMap<String, Option<Digest>> = touched
        .iter()
        .map(|n| (n.clone(), deployed.of(n)))
        .collect();
    let gens = load_generations(sw.store, froms.values().flatten())?;
    let journal = Journal::new(sw.lab, to_hash, froms);
    let w = Writer::new(sw, &writes, journal);
    w.write(|_| {})?;

    let failure = run(sw, &w, &targets, to, &touched)?;
    let outcome = match failure {
        None => commit(sw, &w, &targets, to, &touched, &deployed, unchanged)?,
        Some(failure) => roll_back(sw, &w, &targets, &gens, Some(failure), deployed)?,
    };
    sw.reporter.event(&Event::Finished {
        to: to_hash,
        outcome: outcome.name(),
    });
    Ok(SwitchReport {
        to: to_hash,
        recovered,
        plans,
        outcome,
    })
}

/// Settle an interrupted switch by the recovery rule, under the lab's
/// lock, and change nothing else (`hlb rollback` and `hlb switch` do this
/// first; exposed for callers that only want the lab settled).
pub fn recover(sw: &Switch<'_>) -> Result<Option<Recovery>, SwitchError> {
    let _lock = sw.state.lock(sw.lab, &sw.holder)?;
    recover_locked(sw, &AtomicUsize::new(0))
}

fn recover_locked(sw: &Switch<'_>, writes: &AtomicUsize) -> Result<Option<Recovery>, SwitchError> {
    let Some(journal) = sw.state.journal()? else {
        return Ok(None);
    };
    if journal.phase.is_final() {
        return Ok(None);
    }
    let to_hash = journal.to;
    let to = load_generation(sw.store, &to_hash)?;
    let decision = if journal.phase == Phase::Committing {
        "resume"
    } else {
        "roll-back"
    };
    sw.reporter.event(&Event::Recovering {
        to: to_hash,
        decision,
    });
    let mut targets: BTreeMap<String, Box<dyn Target>> = BTreeMap::new();
    for name in journal.targets.keys() {
        let entry = to
            .targets
            .get(name)
            .ok_or_else(|| SwitchError::UnknownTarget(name.clone()))?;
        let t = sw
            .connect
            .connect(name, entry)
            .map_err(|cause| SwitchError::Connect {
                target: name.clone(),
                cause,
            })?;
        targets.insert(name.clone(), t);
    }
    let deployed = sw.state.deployed()?;
    let gens = load_generations(
        sw.store,
        journal.targets.values().filter_map(|t| t.from.as_ref()),
    )?;
    let names: Vec<String> = journal.targets.keys().cloned().collect();
    let w = Writer::new(sw, writes, journal);
    let outcome = if decision == "resume" {
        commit(sw, &w, &targets, &to, &names, &deployed, vec![])?
    } else {
        roll_back(sw, &w, &targets, &gens, None, deployed)?
    };
    Ok(Some(Recovery {
        to: to_hash,
        decision,
        outcome,
    }))
}

/// Per target: its deployed record, what it reports, and an interrupted
/// switch if there is one. Changes nothing.
#[derive(Debug)]
pub struct LabStatus {
    pub deployed: Deployed,
    /// The journal of a switch that did not finish (the next switch or
    /// rollback settles it).
    pub interrupted: Option<Journal>,
    pub targets: BTreeMap<String, Result<TargetStatus, StepError>>,
}

/// What every target with a deployed record reports about itself.
pub fn status(
    state: &LabState,
    store: &Store,
    connect: &dyn Connect,
) -> Result<LabStatus, SwitchError> {
    let deployed = state.deployed()?;
    let interrupted = state.journal()?.filter(|j| !j.phase.is_final());
    let mut targets = BTreeMap::new();
    for (name, rec) in &deployed.targets {
        let Some(g) = rec.generation else { continue };
        let generation = load_generation(store, &g)?;
        let Some(entry) = generation.targets.get(name) else {
            continue;
        };
        let r = connect
            .connect(name, entry)
            .and_then(|t| {
                t.status(Some(Desired {
                    generation: g,
                    target: entry,
                }))
            })
            .map_err(|cause| StepError {
                target: name.clone(),
                step: Step::Status,
                cause,
            });
        targets.insert(name.clone(), r);
    }
    Ok(LabStatus {
        deployed,
        interrupted,
        targets,
    })
}

/// The journal of one run, written ahead of each step, serialised across
/// the worker threads; stops everything once a failpoint fires.
struct Writer<'a> {
    state: &'a LabState,
    journal: Mutex<Journal>,
    writes: &'a AtomicUsize,
    failpoint: Option<Failpoint<'a>>,
    crashed: AtomicBool,
}

impl<'a> Writer<'a> {
    fn new(sw: &Switch<'a>, writes: &'a AtomicUsize, journal: Journal) -> Writer<'a> {
        Writer {
            state: sw.state,
            journal: Mutex::new(journal),
            writes,
            failpoint: sw.failpoint,
            crashed: AtomicBool::new(false),
        }
    }

    fn write(&self, f: impl FnOnce(&mut Journal)) -> Result<(), SwitchError> {
        let mut j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        if self.crashed.load(Ordering::SeqCst) {
            return Err(SwitchError::Crashed(self.writes.load(Ordering::SeqCst)));
        }
        f(&mut j);
        self.state.write_journal(&j)?;
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.failpoint.is_some_and(|fp| fp(n)) {
            self.crashed.store(true, Ordering::SeqCst);
            return Err(SwitchError::Crashed(n));
        }
        Ok(())
    }

    fn set(&self, target: &str, phase: TargetPhase) -> Result<(), SwitchError> {
        self.write(|j| j.set(target, phase))
    }

    fn snapshot(&self) -> Journal {
        self.journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

enum RunError {
    Step(StepError),
    Stop(SwitchError),
}

/// Stage, activate and check `touched` in dependency order, up to `jobs`
/// at once. `Ok(Some(_))`: the first step that failed.
fn run(
    sw: &Switch<'_>,
    w: &Writer<'_>,
    targets: &BTreeMap<String, Box<dyn Target>>,
    to: &Generation,
    touched: &[String],
) -> Result<Option<StepError>, SwitchError> {
    let to_hash = to.hash();
    let set: BTreeSet<&str> = touched.iter().map(String::as_str).collect();
    let mut waiting: Vec<&str> = touched.iter().map(String::as_str).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut failure: Option<StepError> = None;
    let mut stop: Option<SwitchError> = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(&str, Result<(), RunError>)>();
        let mut running = 0usize;
        loop {
            while failure.is_none() && stop.is_none() && running < sw.jobs.max(1) {
                let ready = waiting.iter().position(|n| {
                    to.targets[*n]
                        .after
                        .iter()
                        .all(|a| !set.contains(a.as_str()) || done.contains(a.as_str()))
                });
                let Some(i) = ready else { break };
                let name = waiting.remove(i);
                let tx = tx.clone();
                let target = &targets[name];
                let desired = Desired {
                    generation: to_hash,
                    target: &to.targets[name],
                };
                running += 1;
                scope.spawn(move || {
                    let r = one_target(sw, w, name, target.as_ref(), desired);
                    let _ = tx.send((name, r));
                });
            }
            if running == 0 {
                break;
            }
            let Ok((name, r)) = rx.recv() else { break };
            running -= 1;
            match r {
                Ok(()) => {
                    done.insert(name);
                }
                Err(RunError::Step(e)) => {
                    if failure.is_none() {
                        failure = Some(e);
                    }
                }
                Err(RunError::Stop(e)) => {
                    if stop.is_none() {
                        stop = Some(e);
                    }
                }
            }
        }
    });
    match stop {
        Some(e) => Err(e),
        None => Ok(failure),
    }
}

fn one_target(
    sw: &Switch<'_>,
    w: &Writer<'_>,
    name: &str,
    target: &dyn Target,
    desired: Desired<'_>,
) -> Result<(), RunError> {
    type StepFn = fn(&dyn Target, Desired<'_>) -> Result<(), TargetError>;
    let steps: [(TargetPhase, Step, StepFn); 3] = [
        (TargetPhase::Staging, Step::Stage, |t, d| t.stage(d)),
        (TargetPhase::Activating, Step::Activate, |t, d| {
            t.activate(d)
        }),
        (TargetPhase::Checking, Step::Health, |t, d| t.health(d)),
    ];
    for (phase, step, f) in steps {
        w.set(name, phase).map_err(RunError::Stop)?;
        sw.reporter.event(&Event::StepStarted {
            target: name.to_string(),
            step,
        });
        f(target, desired)
            .map_err(|cause| RunError::Step(step_failed(sw.reporter, name, step, cause)))?;
        sw.reporter.event(&Event::StepFinished {
            target: name.to_string(),
            step,
        });
    }
    w.set(name, TargetPhase::Healthy).map_err(RunError::Stop)
}

/// Every touched target is healthy: keep the generation.
fn commit(
    sw: &Switch<'_>,
    w: &Writer<'_>,
    targets: &BTreeMap<String, Box<dyn Target>>,
    to: &Generation,
    touched: &[String],
    deployed: &Deployed,
    unchanged: Vec<String>,
) -> Result<Outcome, SwitchError> {
    let to_hash = to.hash();
    w.write(|j| j.phase = Phase::Committing)?;
    let mut warnings = Vec::new();
    for name in touched {
        if w.snapshot().targets.get(name).map(|t| t.phase) == Some(TargetPhase::Confirmed) {
            continue;
        }
        w.set(name, TargetPhase::Confirming)?;
        let desired = Desired {
            generation: to_hash,
            target: &to.targets[name],
        };
        match targets[name].confirm(desired) {
            Ok(()) => {}
            Err(cause) => warnings.push(step_failed(sw.reporter, name, Step::Confirm, cause)),
        }
        w.set(name, TargetPhase::Confirmed)?;
    }
    let mut records = deployed.clone();
    records.format = crate::journal::DEPLOYED_FORMAT.to_string();
    for name in touched.iter().chain(&unchanged) {
        records.targets.insert(
            name.clone(),
            TargetRecord {
                generation: Some(to_hash),
                attention: None,
            },
        );
    }
    sw.state.write_deployed(&records)?;
    w.write(|j| j.phase = Phase::Done)?;
    Ok(Outcome::Deployed {
        switched: touched.to_vec(),
        unchanged,
        warnings,
    })
}

/// Return every touched target to its `from`, in reverse start order,
/// health-checked again.
fn roll_back(
    sw: &Switch<'_>,
    w: &Writer<'_>,
    targets: &BTreeMap<String, Box<dyn Target>>,
    gens: &BTreeMap<Digest, Generation>,
    failure: Option<StepError>,
    deployed: Deployed,
) -> Result<Outcome, SwitchError> {
    w.write(|j| j.phase = Phase::RollingBack)?;
    let journal = w.snapshot();
    let to_hash = journal.to;
    let mut rolled_back = Vec::new();
    let mut failures = Vec::new();
    let mut records = deployed;
    records.format = crate::journal::DEPLOYED_FORMAT.to_string();
    for name in journal.started.iter().rev() {
        let jt = &journal.targets[name];
        if !jt.phase.touched() || jt.phase == TargetPhase::RolledBack {
            continue;
        }
        let from = jt.from.and_then(|g| {
            gens[&g].targets.get(name).map(|target| Desired {
                generation: g,
                target,
            })
        });
        w.set(name, TargetPhase::RollingBack)?;
        sw.reporter.event(&Event::StepStarted {
            target: name.clone(),
            step: Step::Rollback,
        });
        let target = &targets[name];
        let r = target.rollback(from).and_then(|()| match from {
            Some(d) => target.health(d),
            None => Ok(()),
        });
        match r {
            Ok(()) => {
                sw.reporter.event(&Event::StepFinished {
                    target: name.clone(),
                    step: Step::Rollback,
                });
                w.set(name, TargetPhase::RolledBack)?;
                records.targets.insert(
                    name.clone(),
                    TargetRecord {
                        generation: jt.from,
                        attention: None,
                    },
                );
                rolled_back.push(name.clone());
            }
            Err(cause) => {
                failures.push(step_failed(sw.reporter, name, Step::Rollback, cause));
                w.set(name, TargetPhase::RollbackFailed)?;
                records.targets.insert(
                    name.clone(),
                    TargetRecord {
                        generation: None,
                        attention: Some(format!(
                            "rollback failed while leaving generation {}",
                            to_hash.short()
                        )),
                    },
                );
            }
        }
    }
    sw.state.write_deployed(&records)?;
    let (phase, outcome) = if failures.is_empty() {
        (
            Phase::RolledBack,
            Outcome::RolledBack {
                failure,
                rolled_back,
            },
        )
    } else {
        (
            Phase::NeedsAttention,
            Outcome::NeedsAttention {
                failure,
                rollback_failures: failures,
            },
        )
    };
    w.write(|j| j.phase = phase)?;
    Ok(outcome)
}

fn step_failed(reporter: &dyn Reporter, target: &str, step: Step, cause: TargetError) -> StepError {
    let e = StepError {
        target: target.to_string(),
        step,
        cause,
    };
    reporter.event(&Event::StepFailed {
        target: target.to_string(),
        step,
        error: chain(&e),
    });
    e
}

/// The deployable targets of `to`, limited to `only` and what those are
/// `after`, transitively.
fn select(to: &Generation, only: Option<&BTreeSet<String>>) -> Result<Vec<String>, SwitchError> {
    let Some(only) = only else {
        return Ok(to
            .targets
            .iter()
            .filter(|(_, t)| is_deployable(t))
            .map(|(n, _)| n.clone())
            .collect());
    };
    let mut out = BTreeSet::new();
    let mut stack: Vec<String> = only.iter().cloned().collect();
    while let Some(n) = stack.pop() {
        let t = to
            .targets
            .get(&n)
            .ok_or_else(|| SwitchError::UnknownTarget(n.clone()))?;
        if out.insert(n.clone()) {
            stack.extend(t.after.iter().cloned());
        }
    }
    Ok(out
        .into_iter()
        .filter(|n| is_deployable(&to.targets[n]))
        .collect())
}

fn load_generation(store: &Store, hash: &Digest) -> Result<Generation, SwitchError> {
    store
        .generation(hash)
        .map_err(SwitchError::Store)?
        .ok_or(SwitchError::MissingGeneration(*hash))
}

fn load_generations<'d>(
    store: &Store,
    hashes: impl Iterator<Item = &'d Digest>,
) -> Result<BTreeMap<Digest, Generation>, SwitchError> {
    let mut out = BTreeMap::new();
    for h in hashes {
        if !out.contains_key(h) {
            out.insert(*h, load_generation(store, h)?);
        }
    }
    Ok(out)
}

/// `f` over `items` on up to `jobs` threads; results in input order.
pub(crate) fn parallel<T: Send, R: Send>(
    items: Vec<T>,
    jobs: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(n) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
