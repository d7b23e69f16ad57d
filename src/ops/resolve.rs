//! Names people pass back: every name hlb prints resolves to a derivation.
//!
//! In order: a declaration name, a derivation name (`deb-libc6_2.36-9+deb12u14`,
//! which `build` and `show` print for derivations no declaration names), a
//! package's derivation name without its version (`deb-libc6`), an
//! artifact of a generation as `TARGET/ARTIFACT` (as `hlb diff` lists them),
//! a store entry name (`HEX-NAME`, as `hlb store gc` prints), and a
//! derivation id or a unique prefix of one (at least 6 hex digits).

use std::collections::BTreeSet;

use hlb_builder::DrvId;
use hlb_builder::plan::Plan;

use super::exit::ExitClass;

/// A name that names no derivation, or several.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no declaration or derivation `{what}` in this lab{}",
        hint(suggestions)
    )]
    Unknown {
        what: String,
        /// The closest names the lab has.
        suggestions: Vec<String>,
    },
    #[error("`{what}` names {} derivations: pass one of their ids ({})", ids.len(), ids.join(", "))]
    Ambiguous { what: String, ids: Vec<String> },
}

impl ResolveError {
    pub fn class(&self) -> ExitClass {
        ExitClass::Usage
    }
}

fn hint(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(
            " (did you mean one of {}?)",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The derivation `what` names in `plan`.
pub fn resolve(plan: &Plan, what: &str) -> Result<DrvId, ResolveError> {
    if let Some(id) = plan.by_name.get(what) {
        return Ok(*id);
    }
    let by_drv_name: BTreeSet<DrvId> = plan
        .graph
        .iter()
        .filter(|(_, d)| d.name == what)
        .map(|(id, _)| *id)
        .collect();
    match by_drv_name.len() {
        1 => return Ok(*by_drv_name.first().expect("one")),
        0 => {}
        _ => {
            return Err(ResolveError::Ambiguous {
                what: what.to_string(),
                ids: by_drv_name.iter().map(|id| id.short()).collect(),
            });
        }
    }
    // A package's derivation without its version: `deb-libc6` for
    // `deb-libc6_2.36-9+deb12u14`, when the lab has one version of it.
    let prefix = format!("{what}_");
    let versioned: BTreeSet<DrvId> = plan
        .graph
        .iter()
        .filter(|(_, d)| d.name.starts_with(&prefix) && !d.name[prefix.len()..].contains('_'))
        .map(|(id, _)| *id)
        .collect();
    if versioned.len() == 1 {
        return Ok(*versioned.first().expect("one"));
    }
    if let Some((target, artifact)) = what.rsplit_once('/')
        && let Some(id) = plan
            .targets
            .get(target)
            .and_then(|t| t.artifacts.get(artifact))
    {
        return Ok(*id);
    }
    // A store entry's name: `HEX-NAME`.
    let hex = match what.split_once('-') {
        Some((h, _)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h,
        _ => what,
    };
    if hex.len() >= 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_lowercase();
        let matches: Vec<DrvId> = plan
            .graph
            .iter()
            .filter(|(id, _)| id.hex().starts_with(&hex))
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [id] => return Ok(*id),
            [] => {}
            many => {
                return Err(ResolveError::Ambiguous {
                    what: what.to_string(),
                    ids: many.iter().map(|id| id.short()).collect(),
                });
            }
        }
    }
    Err(ResolveError::Unknown {
        what: what.to_string(),
        suggestions: suggest(plan, what),
    })
}

/// The names closest to `what`: those it is part of (a package name without
/// its version) first, else the nearest by edit distance.
fn suggest(plan: &Plan, what: &str) -> Vec<String> {
    // Package derivations also go by their name without the version.
    let names: BTreeSet<&str> = plan
        .by_name
        .keys()
        .map(String::as_str)
        .chain(plan.graph.iter().map(|(_, d)| d.name.as_str()))
        .chain(
            plan.graph
                .iter()
                .filter_map(|(_, d)| d.name.split_once('_').map(|(n, _)| n)),
        )
        .collect();
    let containing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| what.len() >= 3 && n.contains(what))
        .collect();
    if !containing.is_empty() {
        return containing.iter().take(3).map(|s| s.to_string()).collect();
    }
    let mut scored: Vec<(usize, &str)> =
        names.iter().map(|n| (edit_distance(n, what), *n)).collect();
    scored.sort();
    // Only names that are plausibly a typo of `what`.
    let limit = (what.chars().count() / 3).max(2);
    scored
        .into_iter()
        .take_while(|(d, _)| *d <= limit)
        .take(1)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A derivation's name, or its short id when it is not in the plan.
pub fn name_of(plan: &Plan, id: &DrvId) -> String {
    plan.graph
        .get(id)
        .map_or_else(|| id.short(), |d| d.name.clone())
}
