//! `show`, `why-depends` and `graph`: looking at the plan, never building.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use hlb_builder::DrvId;
use hlb_builder::decl::{Lab, RefRole};
use hlb_builder::plan::Plan;
use hlb_cache::Digest;
use hlb_cache::store::{Entry, StoreError};

use super::env::{Env, EnvError};
use super::events::SharedReporter;
use super::exit::ExitClass;
use super::plan::{PlanError, Planned};
use super::resolve::{ResolveError, name_of, resolve};

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("store")]
    Store(#[source] StoreError),
    /// `why-depends`: no chain of build inputs.
    #[error("`{from}` does not depend on `{to}`{}", ordered_note(ordered_after))]
    NoPath {
        from: String,
        to: String,
        /// When `from` is deployed after `to` (`after`), the chain of
        /// declarations that orders them.
        ordered_after: Option<Vec<String>>,
    },
    #[error("cannot run Graphviz's `dot`: install graphviz, or use --format dot")]
    NoDot(#[source] std::io::Error),
    #[error("running dot")]
    DotIo(#[source] std::io::Error),
    #[error("dot failed: {0}")]
    DotFailed(String),
}

fn ordered_note(chain: &Option<Vec<String>>) -> String {
    match chain {
        None => String::new(),
        Some(chain) => format!(
            " as a build input: it is deployed after it ({}), and `after` orders deployment without making a build input",
            chain.join(" after ")
        ),
    }
}

impl InspectError {
    /// The located problems, for a caller that renders them.
    pub fn problems(&self) -> Option<&super::plan::Problems> {
        match self {
            InspectError::Plan(e) => e.problems(),
            _ => None,
        }
    }

    pub fn class(&self) -> ExitClass {
        match self {
            InspectError::Env(e) => e.class(),
            InspectError::Plan(e) => e.class(),
            InspectError::Resolve(e) => e.class(),
            InspectError::NoPath { .. } => ExitClass::Failed,
            InspectError::Store(_)
            | InspectError::NoDot(_)
            | InspectError::DotIo(_)
            | InspectError::DotFailed(_) => ExitClass::Environment,
        }
    }
}

/// One input of a derivation.
#[derive(Debug)]
pub struct Input {
    pub role: String,
    pub id: DrvId,
    pub name: String,
}

/// One derivation, as `show` describes it.
#[derive(Debug)]
pub struct Shown {
    pub name: String,
    pub id: DrvId,
    pub kind: String,
    pub builder_version: u32,
    /// The target its artifact lands in, when it is an artifact.
    pub target: Option<String>,
    pub secret: bool,
    pub fixed_output: Option<String>,
    /// Parameters; `None` for a secret derivation (never shown).
    pub params: Option<serde_json::Value>,
    pub inputs: Vec<Input>,
    /// Recipe files and secret tags, by role.
    pub sources: BTreeMap<String, Digest>,
    /// Its store entry, when built.
    pub entry: Option<Entry>,
    pub dependents: Vec<String>,
}

/// Describe the derivation `what` names.
pub fn show(env: &Env, what: &str, reporter: &SharedReporter) -> Result<Shown, InspectError> {
    let registry = env.registry(reporter)?;
    let Planned { plan, .. } = super::plan::plan(env, &registry)?;
    let id = resolve(&plan, what)?;
    let d = plan.graph.get(&id).expect("resolved ids are in the graph");
    let store = env.open_store()?;
    let entry = store.lookup(&id, &d.name).map_err(InspectError::Store)?;
    Ok(Shown {
        name: d.name.clone(),
        id,
        kind: d.kind.clone(),
        builder_version: d.builder_version,
        target: plan.target_of(&d.name).map(str::to_string),
        secret: d.secret,
        fixed_output: d.fixed_output.as_ref().map(ToString::to_string),
        params: (!d.secret)
            .then(|| serde_json::to_value(&d.params).unwrap_or(serde_json::Value::Null)),
        inputs: d
            .inputs
            .iter()
            .map(|(role, i)| Input {
                role: role.clone(),
                id: *i,
                name: name_of(&plan, i),
            })
            .collect(),
        sources: d.sources.clone(),
        entry,
        dependents: plan
            .graph
            .dependents(&id)
            .iter()
            .map(|i| name_of(&plan, i))
            .collect(),
    })
}

/// One step of a chain of inputs: the derivation, and the role it plays
/// for the one before it (none for the first).
#[derive(Debug)]
pub struct Link {
    pub id: DrvId,
    pub name: String,
    pub role: Option<String>,
}

/// The two ends of `why-depends`: any names [`resolve`] accepts.
#[derive(Clone, Debug, Default)]
pub struct WhyDependsOptions {
    pub from: String,
    pub to: String,
}

/// Why `from` depends on `to`: a shortest chain of build inputs.
pub fn why_depends(
    env: &Env,
    opts: &WhyDependsOptions,
    reporter: &SharedReporter,
) -> Result<Vec<Link>, InspectError> {
    let (from, to) = (opts.from.as_str(), opts.to.as_str());
    let registry = env.registry(reporter)?;
    let Planned { lab, plan } = super::plan::plan(env, &registry)?;
    let a = resolve(&plan, from)?;
    let b = resolve(&plan, to)?;
    let Some(path) = plan.graph.why_depends(&a, &b) else {
        return Err(InspectError::NoPath {
            from: from.to_string(),
            to: to.to_string(),
            ordered_after: ordered_after(&lab, &plan, &a, &b),
        });
    };
    Ok(path
        .iter()
        .enumerate()
        .map(|(i, id)| Link {
            id: *id,
            name: name_of(&plan, id),
            role: (i > 0).then(|| {
                plan.graph
                    .get(&path[i - 1])
                    .and_then(|parent| parent.inputs.iter().find(|(_, x)| *x == id))
                    .map_or_else(|| "?".to_string(), |(r, _)| r.clone())
            }),
        })
        .collect())
}

/// The chain of `after` references from `a`'s declaration to `b`'s, if
/// there is one: an order of deployment, which is not a build input.
fn ordered_after(lab: &Lab, plan: &Plan, a: &DrvId, b: &DrvId) -> Option<Vec<String>> {
    let decl_of = |id: &DrvId| {
        plan.by_name
            .iter()
            .find(|(_, x)| *x == id)
            .map(|(n, _)| n.clone())
    };
    let (from, to) = (decl_of(a)?, decl_of(b)?);
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::from([from.clone()]);
    let mut queue = std::collections::VecDeque::from([from.clone()]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut chain = vec![n.clone()];
            let mut cur = n;
            while let Some(p) = prev.get(&cur) {
                chain.push(p.clone());
                cur = p.clone();
            }
            chain.reverse();
            return Some(chain);
        }
        let Some(decl) = lab.get(&n) else { continue };
        for (role, r) in decl.body.refs() {
            if role == RefRole::After && seen.insert(r.name.clone()) {
                prev.insert(r.name.clone(), n.clone());
                queue.push_back(r.name.clone());
            }
        }
    }
    None
}

/// How `graph` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    /// SVG, through Graphviz's `dot`.
    Svg,
}

/// The derivation graph, grouped by target.
pub fn graph(
    env: &Env,
    format: GraphFormat,
    reporter: &SharedReporter,
) -> Result<Vec<u8>, InspectError> {
    let registry = env.registry(reporter)?;
    let Planned { plan, .. } = super::plan::plan(env, &registry)?;
    let clusters: BTreeMap<String, BTreeSet<DrvId>> = plan
        .targets
        .iter()
        .map(|(t, arts)| (t.clone(), arts.artifacts.values().copied().collect()))
        .collect();
    let dot = plan.graph.to_dot(&clusters);
    match format {
        GraphFormat::Dot => Ok(dot.into_bytes()),
        GraphFormat::Svg => render_svg(&dot),
    }
}

fn render_svg(dot: &str) -> Result<Vec<u8>, InspectError> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(InspectError::NoDot)?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(dot.as_bytes())
        .map_err(InspectError::DotIo)?;
    let out = child.wait_with_output().map_err(InspectError::DotIo)?;
    if !out.status.success() {
        return Err(InspectError::DotFailed(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(out.stdout)
}
