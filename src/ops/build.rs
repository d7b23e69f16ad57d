//! `build`: plan, build what the store lacks, record the generation and
//! the profile. Split into steps ([`roots`], [`build_plan`], [`record`]) so
//! `switch` can build and record the same way before it deploys.

use hlb_builder::DrvId;
use hlb_builder::decl::Lab;
use hlb_builder::plan::Plan;
use hlb_builder::sched::{self, Outcome, Registry};
use hlb_cache::store::{Store, StoreError};
use hlb_cache::{Digest, GenerationRecord};
use std::path::PathBuf;

use super::env::{Env, EnvError};
use super::events::{BuildEvents, SharedReporter};
use super::exit::ExitClass;
use super::plan::{PlanError, Planned};
use super::resolve::{ResolveError, resolve};
use crate::secrets::{IdentityError, PlaintextSecrets};

/// What to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Only these names (and what they need); no generation is recorded.
    /// Empty: the whole lab.
    pub names: Vec<String>,
    /// Parallel builds [default: number of cores].
    pub jobs: Option<usize>,
    /// Build everything that does not depend on a failure.
    pub keep_going: bool,
}

/// What a build made.
#[derive(Debug)]
pub enum Built {
    /// The whole lab, recorded as a generation.
    Generation(GenerationBuilt),
    /// Some derivations, not recorded.
    Outputs(Vec<BuiltOutput>),
}

/// A new (or the same) generation of the lab.
#[derive(Debug)]
pub struct GenerationBuilt {
    pub lab: String,
    pub hash: Digest,
    pub number: u64,
    pub artifacts: usize,
    pub targets: usize,
    pub built: usize,
    pub cached: usize,
}

/// One requested derivation's store entry.
#[derive(Debug)]
pub struct BuiltOutput {
    pub id: DrvId,
    pub name: String,
    pub out: PathBuf,
    pub content: Digest,
}

/// A build that did not finish.
#[derive(Debug)]
pub struct BuildFailed {
    /// Each failed derivation with its error.
    pub failed: Vec<sched::Failure>,
    /// Secret artifacts not built because no identity opens the lab's
    /// secrets (0 when there is one).
    pub needs_identity: usize,
    /// Every failure is a secret artifact without an identity: the
    /// environment's fault, not the recipes'.
    pub only_identity: bool,
    pub skipped: Vec<DrvId>,
    pub built: usize,
    pub cached: usize,
}

impl std::fmt::Display for BuildFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.needs_identity > 0 {
            let n = self.needs_identity;
            write!(
                f,
                "{n} secret artifact{} need{} an age identity that opens the lab's secrets: pass --identity FILE or set HLB_AGE_IDENTITY; ",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
            )?;
        }
        write!(
            f,
            "{} failed, {} not built ({} built, {} already in the store)",
            self.failed.len(),
            self.skipped.len(),
            self.built,
            self.cached
        )
    }
}

impl std::error::Error for BuildFailed {}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    PlaintextSecrets(#[from] PlaintextSecrets),
    #[error("--jobs must be at least 1")]
    NoJobs,
    #[error("store")]
    Store(#[source] StoreError),
    #[error(transparent)]
    Failed(#[from] BuildFailed),
    #[error("internal error: an artifact of the plan was not built")]
    Unbuilt,
    #[error("recording the generation")]
    RecordGeneration(#[source] StoreError),
    #[error("recording generation {hash} in the profile")]
    RecordProfile {
        hash: Digest,
        #[source]
        source: hlb_cache::profile::ProfileError,
    },
}

impl BuildError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&super::plan::Problems> {
        match self {
            BuildError::Plan(e) => e.problems(),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            BuildError::Env(e) => e.class(),
            BuildError::Plan(e) => e.class(),
            BuildError::Resolve(e) => e.class(),
            BuildError::Identity(_) => ExitClass::Environment,
            BuildError::PlaintextSecrets(_) => ExitClass::Recipe,
            BuildError::NoJobs => ExitClass::Usage,
            BuildError::Failed(f) if f.only_identity => ExitClass::Environment,
            BuildError::Failed(_) | BuildError::Unbuilt => ExitClass::Failed,
            BuildError::Store(_)
            | BuildError::RecordGeneration(_)
            | BuildError::RecordProfile { .. } => ExitClass::Environment,
        }
    }
}

/// Build the lab (or `opts.names`): the whole pipeline.
pub fn build(
    env: &Env,
    opts: &BuildOptions,
    reporter: &SharedReporter,
) -> Result<Built, BuildError> {
    crate::secrets::refuse_plaintext_secrets(&env.recipes)?;
    let registry = env.registry(reporter)?;
    let Planned { lab, plan } = super::plan::plan(env, &registry)?;
    let roots = roots(&plan, &opts.names)?;
    let store = env.open_store()?;
    // Held until the generation is recorded: a concurrent gc must not sweep
    // outputs that no profile roots yet.
    let _shared = store.lock_shared().map_err(BuildError::Store)?;
    let outcome = build_plan(env, &store, &registry, &lab, &plan, &roots, opts, reporter)?;
    if !opts.names.is_empty() {
        let outputs = roots
            .iter()
            .map(|id| {
                let entry = &outcome.outputs[id];
                BuiltOutput {
                    id: *id,
                    name: entry.name.clone(),
                    out: entry.out.clone(),
                    content: entry.content_hash,
                }
            })
            .collect();
        return Ok(Built::Outputs(outputs));
    }
    let recorded = record(env, &store, &plan, &outcome)?;
    Ok(Built::Generation(GenerationBuilt {
        lab: plan.lab.clone(),
        hash: recorded.record.generation,
        number: recorded.record.number,
        artifacts: recorded.artifacts,
        targets: recorded.targets,
        built: outcome.built.len(),
        cached: outcome.cached,
    }))
}

/// The derivations `names` name; the whole lab's artifacts when empty.
pub fn roots(plan: &Plan, names: &[String]) -> Result<Vec<DrvId>, ResolveError> {
    if names.is_empty() {
        return Ok(plan.roots());
    }
    names.iter().map(|n| resolve(plan, n)).collect()
}

/// Build `roots` of a plan with the scheduler; a run with a failure is an
/// error ([`BuildFailed`]).
#[allow(clippy::too_many_arguments)]
pub fn build_plan(
    env: &Env,
    store: &Store,
    registry: &Registry,
    lab: &Lab,
    plan: &Plan,
    roots: &[DrvId],
    opts: &BuildOptions,
    reporter: &SharedReporter,
) -> Result<Outcome, BuildError> {
    let mut sched_opts = sched::Options {
        keep_going: opts.keep_going,
        ..sched::Options::default()
    };
    let mut has_identity = true;
    if plan
        .graph
        .iter()
        .any(|(_, d)| d.secret || d.kind == hlb_builder::kinds::SEALED_SECRET)
    {
        match crate::secrets::secret_source(env, lab)? {
            Some(source) => sched_opts.secrets = source,
            None => has_identity = false,
        }
    }
    if let Some(j) = opts.jobs {
        if j == 0 {
            return Err(BuildError::NoJobs);
        }
        sched_opts.jobs = j;
    }
    let events = BuildEvents::new(reporter.as_ref(), plan, &lab.sources, !has_identity);
    let outcome = sched::build(
        store,
        &plan.graph,
        roots,
        &plan.sources,
        registry,
        &events,
        &sched_opts,
    )
    .map_err(BuildError::Store)?;
    if outcome.ok() {
        return Ok(outcome);
    }
    let identity_failures = outcome
        .failed
        .iter()
        .filter(|f| matches!(f.error, hlb_builder::BuildError::NeedsIdentity(_)))
        .count();
    let needs_identity = if has_identity || identity_failures == 0 {
        0
    } else {
        outcome
            .failed
            .iter()
            .map(|f| &f.id)
            .chain(&outcome.skipped)
            .filter(|id| {
                plan.graph
                    .get(id)
                    .is_some_and(|d| d.secret || d.kind == hlb_builder::kinds::SEALED_SECRET)
            })
            .count()
    };
    let only_identity = identity_failures > 0 && identity_failures == outcome.failed.len();
    Err(BuildFailed {
        built: outcome.built.len(),
        cached: outcome.cached,
        failed: outcome.failed,
        needs_identity,
        only_identity,
        skipped: outcome.skipped,
    }
    .into())
}

/// A generation recorded in the store and the lab's profile.
#[derive(Debug)]
pub struct Recorded {
    /// Its number in the profile and its hash.
    pub record: GenerationRecord,
    pub artifacts: usize,
    pub targets: usize,
}

/// Record a built plan as the lab's next generation (or its current one,
/// when nothing changed).
pub fn record(
    env: &Env,
    store: &Store,
    plan: &Plan,
    outcome: &Outcome,
) -> Result<Recorded, BuildError> {
    let generation = plan.generation(outcome).ok_or(BuildError::Unbuilt)?;
    let hash = generation.hash();
    store
        .add_generation(&generation)
        .map_err(BuildError::RecordGeneration)?;
    let record = env
        .profiles()?
        .record(&plan.lab, &hash)
        .map_err(|source| BuildError::RecordProfile { hash, source })?;
    Ok(Recorded {
        record,
        artifacts: generation.targets.values().map(|t| t.artifacts.len()).sum(),
        targets: generation.targets.len(),
    })
}
