//! An independent check of a closure, sharing no code with the engine:
//! every `Pre-Depends`/`Depends` of every member is satisfied by a member,
//! no member conflicts with or breaks another, one version per name, and
//! each member is a record of the universe. `hlb lock --check` and the
//! tests use it to audit a closure however it was produced.

use std::collections::BTreeMap;

use super::{ResolvedPackage, Universe};
use crate::packages::BinaryPackage;
use crate::relation::Relation;

/// Returns one message per violated rule; empty when the closure is sound.
pub fn check_closure(universe: &Universe, closure: &[ResolvedPackage]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut members: BTreeMap<&str, &BinaryPackage> = BTreeMap::new();
    for p in closure {
        let record = universe.versions_of(&p.name).find(|r| {
            r.version == p.version
                && r.sha256 == p.sha256
                && r.filename == p.filename
                && r.suite == p.suite
        });
        match record {
            None => errors.push(format!(
                "{} {} ({}) is not a record of the indexes",
                p.name, p.version, p.suite
            )),
            Some(r) => {
                if members.insert(&p.name, r).is_some() {
                    errors.push(format!("{} appears twice", p.name));
                }
            }
        }
    }
    let holds = |rel: &Relation, except: &str| -> Option<String> {
        if universe.foreign_arch(rel) {
            return None;
        }
        members.iter().find_map(|(name, p)| {
            if *name == except {
                return None;
            }
            let direct = *name == rel.name
                && rel
                    .constraint
                    .as_ref()
                    .is_none_or(|c| c.matches(&p.version));
            let provided = p.provides.iter().any(|prov| {
                prov.name == rel.name
                    && match (&rel.constraint, &prov.constraint) {
                        (None, _) => true,
                        (Some(c), Some(pv)) => c.matches(&pv.version),
                        (Some(_), None) => false,
                    }
            });
            (direct || provided).then(|| format!("{} {}", p.name, p.version))
        })
    };
    for (name, p) in &members {
        for dep in p.pre_depends.iter().chain(&p.depends) {
            if !dep.0.iter().any(|alt| holds(alt, "").is_some()) {
                errors.push(format!(
                    "{name} {}: nothing in the closure satisfies {dep}",
                    p.version
                ));
            }
        }
        for rel in p.conflicts.iter().chain(&p.breaks) {
            if let Some(other) = holds(rel, name) {
                errors.push(format!(
                    "{name} {} conflicts with {other} ({rel})",
                    p.version
                ));
            }
        }
    }
    errors
}
