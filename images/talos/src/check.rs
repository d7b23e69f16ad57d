//! Talos patch problems as recipe errors, found at plan time.
//!
//! Why: whether a `talos-cluster` patch applies (a `$patch: delete` of a
//! missing path, a JSON patch on a multi-document config, a type mismatch)
//! and whether the result validates against Talos's schema is decided by
//! this crate, which the planner cannot call. Left to the build, the problem
//! would surface without a recipe position and only with an identity. So the
//! `talos-config` compiler's plan check ([`hlb_builder::Compiler::check`])
//! runs the compiler's own code ([`crate::compiler::node_config`]) on every
//! node's derivation, with a **placeholder** secrets bundle.
//!
//! Invariants: the placeholder is public and deterministic (a fixed seed),
//! made once per process; a bundle's structure, never its keys, decides
//! whether a patch applies or a config validates, so the answer is the real
//! build's. No identity and no secret is read. Patches are matched to their
//! recipe spans in the order the planner gives them to the compiler:
//! cluster patches without a role, then the node's role's, then the node's
//! own.

use std::sync::OnceLock;

use crate::bundle::SecretsBundle;
use crate::compiler::{NodeProblem, Params, node_config};
use hlb_builder::decl::{Body, Lab, PatchSource, TalosClusterDecl, TalosNode};
use hlb_builder::diag::{Diagnostic, Diagnostics, Span};
use hlb_builder::plan::Plan;
use rand_core::SeedableRng as _;

/// A patch does not apply to a node's config.
pub const PATCH_REFUSED: &str = "E0510";
/// A node's patched config does not validate against Talos's schema.
pub const SCHEMA_VIOLATION: &str = "E0511";

/// Issue time of the placeholder's CAs (2026-01-01T00:00:00Z): fixed, so the
/// placeholder never depends on the clock.
const PLACEHOLDER_ISSUED_AT: u64 = 1_767_225_600;

/// The placeholder bundle, made once per process; `None` if it cannot be
/// made (a bug: then the check is skipped and the build reports as before).
fn placeholder() -> Option<&'static SecretsBundle> {
    static BUNDLE: OnceLock<Option<SecretsBundle>> = OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            let mut rng =
                rand_chacha::ChaCha20Rng::from_seed(*b"hlb talos placeholder bundle v1\0");
            crate::bundle::generate(
                &mut rng,
                PLACEHOLDER_ISSUED_AT,
                crate::schema::Contract::V1_14,
            )
            .ok()
        })
        .as_ref()
}

/// Every Talos patch or schema problem of `lab`'s clusters, as planned.
pub fn check(lab: &Lab, plan: &Plan) -> Diagnostics {
    let mut out = Vec::new();
    let clusters: Vec<_> = lab
        .decls
        .iter()
        .filter_map(|d| match &d.body {
            Body::TalosCluster(t) => Some((d, t)),
            _ => None,
        })
        .collect();
    for (d, t) in clusters {
        let cluster = d.name.value.as_str();
        // A cluster patch fails the same way on many nodes: one diagnostic
        // naming them all.
        let mut problems: Vec<(Problem, Vec<&str>)> = Vec::new();
        for n in &t.nodes {
            let Some(p) = check_node(plan, cluster, t, n) else {
                continue;
            };
            match problems.iter_mut().find(|(q, _)| *q == p) {
                Some((_, nodes)) => nodes.push(&n.name.value),
                None => problems.push((p, vec![&n.name.value])),
            }
        }
        for (p, nodes) in problems {
            let nodes = match nodes.as_slice() {
                [one] => format!("node `{one}`"),
                many => format!(
                    "nodes {}",
                    many.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            out.push(Diagnostic {
                code: p.code,
                message: format!("{nodes} of talos-cluster `{cluster}`: {}", p.what),
                span: Some(p.span),
                label: Some(p.label.into()),
                notes: Vec::new(),
                help: Some("checked before building, with a placeholder secrets bundle".into()),
            });
        }
    }
    Diagnostics(out)
}

/// One node's problem, before it is told.
#[derive(PartialEq, Eq)]
struct Problem {
    code: &'static str,
    span: Span,
    label: &'static str,
    /// What is wrong, after the node and cluster.
    what: String,
}

/// The patches of node `n` in the order they apply (the planner's order).
fn applicable<'a>(t: &'a TalosClusterDecl, n: &'a TalosNode) -> Vec<&'a PatchSource> {
    t.patches
        .iter()
        .filter(|p| p.role.is_none())
        .chain(
            t.patches
                .iter()
                .filter(|p| p.role.as_ref().is_some_and(|r| r.value == n.role.value)),
        )
        .map(|p| &p.source)
        .chain(n.patches.iter())
        .collect()
}

fn check_node(plan: &Plan, cluster: &str, t: &TalosClusterDecl, n: &TalosNode) -> Option<Problem> {
    let patches = applicable(t, n);
    if patches.is_empty() {
        // Only hlb's own settings: a problem there is a bug in hlb, which
        // the build reports; no need to pay for the check.
        return None;
    }
    // Made on first need: a lab without patches never pays for it.
    let bundle = placeholder()?;
    let node = n.name.value.as_str();
    let id = plan
        .targets
        .get(&node_target(cluster, node))?
        .artifacts
        .get(&node_artifact(cluster, node))
        .copied()?;
    let drv = plan.graph.get(&id)?;
    let mut texts = Vec::with_capacity(patches.len());
    for (i, p) in patches.iter().enumerate() {
        let bytes = drv
            .sources
            .get(&format!("patch:{i}"))
            .and_then(|digest| plan.sources.get(digest))?;
        match std::str::from_utf8(bytes) {
            Ok(text) => texts.push(text),
            Err(_) => {
                return Some(refused(p, format!("patch{} is not UTF-8 text", file_of(p))));
            }
        }
    }
    let params = Params {
        name: &drv.name,
        params: &drv.params,
    };
    match node_config(params, bundle, &texts) {
        Ok(_) => None,
        // Not a patch problem (the loader checked the values): the build
        // reports it as before.
        Err(NodeProblem::Build(_)) => None,
        Err(NodeProblem::Patch {
            patch_index,
            message,
            ..
        }) => {
            let p = patches.get(patch_index)?;
            Some(refused(
                p,
                format!("patch{} does not apply: {message}", file_of(p)),
            ))
        }
        Err(NodeProblem::Schema {
            patch_index, error, ..
        }) => {
            let message = match &error {
                crate::schema::SchemaError::Invalid { violations, .. } => violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            let (span, what) = match patch_index.and_then(|i| patches.get(i)) {
                Some(p) => (p.span(), format!(" after patch{}", file_of(p))),
                None => (n.span, String::new()),
            };
            Some(Problem {
                code: SCHEMA_VIOLATION,
                span,
                label: "Talos would refuse this config",
                what: format!(
                    "the config does not validate against the Talos {} schema{what}: {message}",
                    t.talos_version.value
                ),
            })
        }
    }
}

/// ` FILE` for a file patch, empty for an inline one.
fn file_of(p: &PatchSource) -> String {
    match p {
        PatchSource::File(f) => format!(" {}", f.value),
        PatchSource::Text(_) => String::new(),
    }
}

/// The planner's names for a node's artifact and target (its documented
/// contract, `hlb_builder::plan` module `talos`).
fn node_artifact(cluster: &str, node: &str) -> String {
    format!("{cluster}-{node}")
}

fn node_target(cluster: &str, node: &str) -> String {
    format!("talos/{cluster}/{node}")
}

fn refused(p: &PatchSource, what: String) -> Problem {
    Problem {
        code: PATCH_REFUSED,
        span: p.span(),
        label: "Talos refuses this patch",
        what,
    }
}
