//! The resolver's state machine; see the parent module for the rules.

use std::collections::{BTreeMap, VecDeque};

use super::{
    Conflict, Problem, Reason, Request, Resolution, ResolveError, ResolveOptions, ResolvedPackage,
    Universe, chain, constraint_text, dep_text, describe,
};
use crate::relation::{Dependency, Relation};

pub(super) struct Engine<'u> {
    universe: &'u Universe,
    /// name → (index into universe.packages, reason).
    selected: BTreeMap<String, (usize, Reason)>,
    queue: VecDeque<usize>,
    problems: Vec<Problem>,
}

/// The outcome of choosing for one dependency.
enum Choice {
    /// Already satisfied by the selected set.
    Satisfied,
    /// Select this package.
    Select(usize),
    /// Nothing satisfies it; one explanation per alternative.
    Unsatisfiable(Vec<String>),
}

impl<'u> Engine<'u> {
    pub(super) fn new(universe: &'u Universe) -> Self {
        Engine {
            universe,
            selected: BTreeMap::new(),
            queue: VecDeque::new(),
            problems: Vec::new(),
        }
    }

    pub(super) fn run(
        mut self,
        requests: &[Request],
        options: ResolveOptions,
    ) -> Result<Resolution, ResolveError> {
        let mut requests: Vec<&Request> = requests.iter().collect();
        requests.sort();
        requests.dedup();
        for request in requests {
            let dep = Dependency(vec![request.0.clone()]);
            self.satisfy(&dep, Reason::Requested, || {
                vec![format!("{} (requested)", request.0)]
            });
        }
        for (flag, wanted, reason) in [
            (options.essential, Group::Essential, Reason::Essential),
            (options.required, Group::Required, Reason::Required),
        ] {
            if !flag {
                continue;
            }
            let names: Vec<String> = self
                .universe
                .by_name
                .iter()
                .filter(|(_, idx)| {
                    let top = &self.universe.packages[idx[0]];
                    match wanted {
                        Group::Essential => top.essential,
                        Group::Required => top.priority == crate::packages::Priority::Required,
                    }
                })
                .map(|(name, _)| name.clone())
                .collect();
            for name in names {
                if !self.selected.contains_key(&name) {
                    let idx = self.universe.by_name[&name][0];
                    self.select(idx, reason.clone());
                }
            }
        }
        while let Some(idx) = self.queue.pop_front() {
            let pkg = &self.universe.packages[idx];
            let fields: [(&'static str, &Vec<Dependency>, bool); 3] = [
                ("Pre-Depends", &pkg.pre_depends, true),
                ("Depends", &pkg.depends, true),
                ("Recommends", &pkg.recommends, options.recommends),
            ];
            for (field, deps, follow) in fields {
                if !follow {
                    continue;
                }
                for dep in deps {
                    let reason = Reason::Dependency {
                        by: pkg.name.clone(),
                        field,
                        dependency: dep_text(dep),
                    };
                    if field == "Recommends" {
                        if let Choice::Select(i) = self.choose(dep) {
                            self.select(i, reason);
                        }
                        continue;
                    }
                    let name = pkg.name.clone();
                    let this = self.chain_of(&name);
                    let verb = if field == "Pre-Depends" {
                        "pre-depends on"
                    } else {
                        "depends on"
                    };
                    let text = format!("{} {} {verb} {dep}", pkg.name, pkg.version);
                    self.satisfy(dep, reason, || {
                        let mut c = this.clone();
                        c.push(text.clone());
                        c
                    });
                }
            }
        }
        if !self.problems.is_empty() {
            return Err(ResolveError::Unsatisfiable(self.problems));
        }
        let conflicts = self.conflicts();
        if !conflicts.is_empty() {
            return Err(ResolveError::Conflicts(conflicts));
        }
        Ok(self.into_resolution())
    }

    fn satisfy(&mut self, dep: &Dependency, reason: Reason, context: impl FnOnce() -> Vec<String>) {
        match self.choose(dep) {
            Choice::Satisfied => {}
            Choice::Select(i) => self.select(i, reason),
            Choice::Unsatisfiable(details) => self.problems.push(Problem {
                chain: context(),
                details,
            }),
        }
    }

    fn select(&mut self, idx: usize, reason: Reason) {
        let name = self.universe.packages[idx].name.clone();
        if self.selected.contains_key(&name) {
            return;
        }
        self.selected.insert(name, (idx, reason));
        self.queue.push_back(idx);
    }

    fn chain_of(&self, name: &str) -> Vec<String> {
        chain(name, |n| self.selected.get(n).map(|(_, r)| r))
    }

    /// Whether the selected set satisfies `rel`.
    fn satisfied(&self, rel: &Relation) -> bool {
        if self.universe.foreign_arch(rel) {
            return false;
        }
        if let Some((i, _)) = self.selected.get(&rel.name) {
            let version = &self.universe.packages[*i].version;
            if rel.constraint.as_ref().is_none_or(|c| c.matches(version)) {
                return true;
            }
        }
        self.universe
            .provider_candidates(rel)
            .into_iter()
            .any(|p| self.is_selected(p))
    }

    fn is_selected(&self, idx: usize) -> bool {
        let name = &self.universe.packages[idx].name;
        self.selected.get(name).is_some_and(|(i, _)| *i == idx)
    }

    /// A candidate may be newly selected unless another version of its
    /// name already is.
    fn selectable(&self, idx: usize) -> bool {
        !self
            .selected
            .contains_key(&self.universe.packages[idx].name)
    }

    fn choose(&self, dep: &Dependency) -> Choice {
        if dep.0.iter().any(|rel| self.satisfied(rel)) {
            return Choice::Satisfied;
        }
        for rel in &dep.0 {
            if self.universe.foreign_arch(rel) {
                continue;
            }
            if let Some(i) = self
                .universe
                .real_candidates(rel)
                .find(|&i| self.selectable(i))
            {
                return Choice::Select(i);
            }
            if let Some(i) = self
                .universe
                .provider_candidates(rel)
                .into_iter()
                .find(|&i| self.selectable(i))
            {
                return Choice::Select(i);
            }
        }
        Choice::Unsatisfiable(dep.0.iter().map(|rel| self.explain(rel)).collect())
    }

    /// Why `rel` has no usable candidate.
    fn explain(&self, rel: &Relation) -> String {
        let u = self.universe;
        if u.foreign_arch(rel) {
            return format!("{rel}: only {} and all packages are resolved", u.arch);
        }
        if let Some((i, _)) = self.selected.get(&rel.name) {
            let p = &u.packages[*i];
            return format!(
                "{} is already selected (via {}), which does not satisfy {rel}",
                describe(p),
                self.chain_of(&p.name).join(" → ")
            );
        }
        let real: Vec<String> = u.versions_of(&rel.name).map(describe).collect();
        let providers: Vec<String> = u
            .providers
            .get(&rel.name)
            .into_iter()
            .flatten()
            .map(|(i, v)| {
                let p = &u.packages[*i];
                match v {
                    Some(v) => format!("{} provides {} (= {v})", describe(p), rel.name),
                    None => format!("{} provides {} without a version", describe(p), rel.name),
                }
            })
            .collect();
        if real.is_empty() && providers.is_empty() {
            return format!(
                "no package named {} for {} and nothing provides it",
                rel.name, u.arch
            );
        }
        let mut have = real;
        have.extend(providers);
        format!(
            "{}{} wanted, but the indexes have {}",
            rel.name,
            constraint_text(&rel.constraint),
            have.join(", ")
        )
    }

    fn conflicts(&self) -> Vec<Conflict> {
        let u = self.universe;
        let mut out = Vec::new();
        for (name, (idx, _)) in &self.selected {
            let pkg = &u.packages[*idx];
            let fields = [("Conflicts", &pkg.conflicts), ("Breaks", &pkg.breaks)];
            for (field, rels) in fields {
                for rel in rels {
                    let mut hits: Vec<usize> = Vec::new();
                    if let Some((other, _)) = self.selected.get(&rel.name) {
                        let ov = &u.packages[*other].version;
                        if rel.name != *name
                            && rel.constraint.as_ref().is_none_or(|c| c.matches(ov))
                        {
                            hits.push(*other);
                        }
                    }
                    for p in u.provider_candidates(rel) {
                        if self.is_selected(p) && u.packages[p].name != *name && !hits.contains(&p)
                        {
                            hits.push(p);
                        }
                    }
                    for other in hits {
                        let o = &u.packages[other];
                        out.push(Conflict {
                            package: format!("{} {}", pkg.name, pkg.version),
                            field,
                            relation: rel.to_string(),
                            other: format!("{} {}", o.name, o.version),
                            chains: [self.chain_of(name), self.chain_of(&o.name)],
                        });
                    }
                }
            }
        }
        out
    }

    fn into_resolution(self) -> Resolution {
        let u = self.universe;
        let packages = self
            .selected
            .into_iter()
            .map(|(_, (idx, reason))| {
                let p = &u.packages[idx];
                ResolvedPackage {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    architecture: p.architecture.clone(),
                    filename: p.filename.clone(),
                    sha256: p.sha256,
                    size: p.size,
                    suite: p.suite.clone(),
                    reason,
                }
            })
            .collect();
        Resolution { packages }
    }
}

#[derive(Clone, Copy)]
enum Group {
    Essential,
    Required,
}
