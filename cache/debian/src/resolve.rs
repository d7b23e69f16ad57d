//! The install-closure resolver: from `Packages` indexes and a request,
//! the exact set of .debs to put in a root filesystem.
//!
//! It is a deterministic greedy resolver (no backtracking), which is what
//! Debian's own bootstrappers do for a consistent suite:
//!
//! 1. Roots are selected first: the requested packages (sorted by name),
//!    then, when asked, every `Essential: yes` package, then every
//!    `Priority: required` package (each group sorted by name).
//! 2. Selected packages are processed first-in first-out; for each, its
//!    `Pre-Depends`, then `Depends` (then `Recommends` when asked, best
//!    effort) are satisfied in field order.
//! 3. A dependency `a | b | c` is satisfied, if possible, by what is
//!    already selected (first alternative that is); otherwise by the first
//!    alternative that has a candidate.
//! 4. For one alternative, a real package of that name is preferred
//!    (highest version satisfying the constraint); failing that, a provider
//!    of that virtual name, ordered by priority (required first), then
//!    package name, then highest version. A versioned dependency is only
//!    satisfied by a versioned `Provides` whose version matches.
//! 5. One name is selected at most once: a later stricter constraint on an
//!    already selected name is a problem, reported with both chains.
//! 6. After the closure is complete, `Conflicts` and `Breaks` are checked
//!    among the selected set (a package conflicting with a name it provides
//!    itself is the usual replacement idiom and is not a conflict).
//!
//! Invariants: the result depends only on the set of input records and the
//! request set, not on their order (candidates are sorted by name, then
//! version descending, then suite and filename; every map is a BTreeMap).
//! Among identical versions in several suites, the suite whose name sorts
//! first wins. Only the caller's architecture and `all` are considered;
//! `:any` and `:native` qualifiers are therefore satisfied by the same
//! packages as an unqualified name, and a foreign qualifier (`:i386`) is
//! unsatisfiable.

use std::collections::BTreeMap;
use std::fmt;

use crate::digest::Sha256;
use crate::packages::BinaryPackage;
use crate::relation::{
    self, ArchQualifier, Dependency, Relation, RelationError, VersionConstraint,
};
use crate::version::Version;

/// All candidate packages for one architecture, indexed.
#[derive(Debug, Clone)]
pub struct Universe {
    arch: String,
    packages: Vec<BinaryPackage>,
    by_name: BTreeMap<String, Vec<usize>>,
    providers: BTreeMap<String, Vec<(usize, Option<Version>)>>,
}

impl Universe {
    /// Indexes `packages` for `arch`; records of other architectures are
    /// dropped, exact duplicates (same name, version, suite, filename) are
    /// merged.
    pub fn new(arch: &str, packages: impl IntoIterator<Item = BinaryPackage>) -> Self {
        let mut packages: Vec<BinaryPackage> = packages
            .into_iter()
            .filter(|p| p.architecture == arch || p.architecture == "all")
            .collect();
        packages.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| a.suite.cmp(&b.suite))
                .then_with(|| a.filename.cmp(&b.filename))
                .then_with(|| a.sha256.cmp(&b.sha256))
        });
        packages.dedup_by(|a, b| {
            a.name == b.name
                && a.version == b.version
                && a.suite == b.suite
                && a.filename == b.filename
        });
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut providers: BTreeMap<String, Vec<(usize, Option<Version>)>> = BTreeMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.name.clone()).or_default().push(i);
            for prov in &p.provides {
                providers
                    .entry(prov.name.clone())
                    .or_default()
                    .push((i, prov.constraint.as_ref().map(|c| c.version.clone())));
            }
        }
        Universe {
            arch: arch.to_owned(),
            packages,
            by_name,
            providers,
        }
    }

    /// The architecture resolved for.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// All records, sorted by name, then version descending.
    pub fn packages(&self) -> &[BinaryPackage] {
        &self.packages
    }

    /// The records named `name`, highest version first.
    pub fn versions_of(&self, name: &str) -> impl Iterator<Item = &BinaryPackage> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.packages[i])
    }

    fn real_candidates<'a>(&'a self, rel: &'a Relation) -> impl Iterator<Item = usize> + 'a {
        self.by_name
            .get(&rel.name)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| {
                rel.constraint
                    .as_ref()
                    .is_none_or(|c| c.matches(&self.packages[i].version))
            })
    }

    /// Providers of `rel.name` that satisfy its constraint, in tie-break
    /// order: priority, name, version descending.
    fn provider_candidates(&self, rel: &Relation) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .providers
            .get(&rel.name)
            .into_iter()
            .flatten()
            .filter(|(_, provided)| match (&rel.constraint, provided) {
                (None, _) => true,
                (Some(c), Some(v)) => c.matches(v),
                (Some(_), None) => false,
            })
            .map(|(i, _)| *i)
            .collect();
        out.sort_by(|&a, &b| {
            let (pa, pb) = (&self.packages[a], &self.packages[b]);
            pa.priority.cmp(&pb.priority).then_with(|| a.cmp(&b))
        });
        out.dedup();
        out
    }

    fn foreign_arch(&self, rel: &Relation) -> bool {
        matches!(&rel.arch, Some(ArchQualifier::Arch(a)) if *a != self.arch && a != "all")
    }
}

/// A requested package, optionally constrained (`dnsdist (>= 1.7)`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request(pub Relation);

impl Request {
    /// Parses `name` or `name (op version)`.
    pub fn parse(text: &str) -> Result<Self, RelationError> {
        let mut rels = relation::parse_relations(text)?;
        match rels.len() {
            1 => Ok(Request(rels.remove(0))),
            _ => Err(RelationError {
                text: text.to_owned(),
                kind: relation::RelationErrorKind::NotOne,
            }),
        }
    }

    /// A request for the highest version of `name`.
    pub fn name(name: &str) -> Self {
        Request(Relation {
            name: name.to_owned(),
            arch: None,
            constraint: None,
        })
    }
}

/// What to add to the requested packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Add every `Essential: yes` package.
    pub essential: bool,
    /// Add every `Priority: required` package.
    pub required: bool,
    /// Follow `Recommends` (unsatisfiable ones are skipped, not errors).
    pub recommends: bool,
}

/// Why a package is in the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The caller asked for it.
    Requested,
    /// It is `Essential: yes`.
    Essential,
    /// It has `Priority: required`.
    Required,
    /// Another selected package needs it.
    Dependency {
        /// The package whose field named it.
        by: String,
        /// `Pre-Depends`, `Depends` or `Recommends`.
        field: &'static str,
        /// The dependency as written (`libc6 (>= 2.34) | foo`).
        dependency: String,
    },
}

/// One package of the closure: what the lock records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPackage {
    /// Package name.
    pub name: String,
    /// Exact version.
    pub version: Version,
    /// `amd64`, `all`, ...
    pub architecture: String,
    /// Pool path relative to the mirror root.
    pub filename: String,
    /// SHA-256 of the .deb, from the verified index.
    pub sha256: Sha256,
    /// Size of the .deb in bytes.
    pub size: u64,
    /// Suite whose index listed it.
    pub suite: String,
    /// Why it was selected.
    pub reason: Reason,
}

/// The closure, sorted by package name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// One entry per package name, sorted by name.
    pub packages: Vec<ResolvedPackage>,
}

impl Resolution {
    /// The chain of reasons that brought `name` in, from the root down
    /// (`["dnsdist (requested)", "dnsdist depends on libc6 (>= 2.34)"]`).
    pub fn why(&self, name: &str) -> Vec<String> {
        let by_name: BTreeMap<&str, &ResolvedPackage> =
            self.packages.iter().map(|p| (p.name.as_str(), p)).collect();
        chain(name, |n| by_name.get(n).map(|p| &p.reason))
    }
}

fn chain<'a>(name: &str, reason_of: impl Fn(&str) -> Option<&'a Reason>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = name.to_owned();
    // A cycle cannot occur (each package gets its reason when first
    // selected, from an already selected one), but bound the walk anyway.
    for _ in 0..10_000 {
        match reason_of(&current) {
            None => break,
            Some(Reason::Requested) => {
                out.push(format!("{current} (requested)"));
                break;
            }
            Some(Reason::Essential) => {
                out.push(format!("{current} (essential)"));
                break;
            }
            Some(Reason::Required) => {
                out.push(format!("{current} (priority required)"));
                break;
            }
            Some(Reason::Dependency {
                by,
                field,
                dependency,
            }) => {
                let verb = match *field {
                    "Pre-Depends" => "pre-depends on",
                    "Recommends" => "recommends",
                    _ => "depends on",
                };
                out.push(format!("{by} {verb} {dependency}"));
                current = by.clone();
            }
        }
    }
    out.reverse();
    out
}

/// A dependency that nothing satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How the unsatisfiable dependency was reached, root first.
    pub chain: Vec<String>,
    /// Per alternative, why it does not hold.
    pub details: Vec<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.chain.join(" → "), self.details.join("; "))
    }
}

/// Two selected packages that may not be installed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The package declaring the conflict, with its version.
    pub package: String,
    /// `Conflicts` or `Breaks`.
    pub field: &'static str,
    /// The relation as written.
    pub relation: String,
    /// The other package, with its version.
    pub other: String,
    /// Why each was selected.
    pub chains: [Vec<String>; 2],
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}, which matches {} (selected via {}; {} selected via {})",
            self.package,
            self.field.to_ascii_lowercase(),
            self.relation,
            self.other,
            self.chains[0].join(" → "),
            self.other,
            self.chains[1].join(" → ")
        )
    }
}

/// Why no closure could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Some dependencies cannot be satisfied.
    #[error("cannot resolve the package closure:\n{}", lines(.0))]
    Unsatisfiable(Vec<Problem>),
    /// The closure holds conflicting packages.
    #[error("the package closure has conflicts:\n{}", lines(.0))]
    Conflicts(Vec<Conflict>),
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

mod check;
mod engine;

pub use check::check_closure;

/// Computes the install closure of `requests` (plus the essential and
/// required sets when `options` asks) over `universe`.
pub fn resolve(
    universe: &Universe,
    requests: &[Request],
    options: ResolveOptions,
) -> Result<Resolution, ResolveError> {
    engine::Engine::new(universe).run(requests, options)
}

/// Formats a candidate as `name version (suite)`.
fn describe(p: &BinaryPackage) -> String {
    format!("{} {} ({})", p.name, p.version, p.suite)
}

/// `Dependency` display helper used by the engine.
fn dep_text(dep: &Dependency) -> String {
    dep.to_string()
}

/// `VersionConstraint` display helper for messages.
fn constraint_text(c: &Option<VersionConstraint>) -> String {
    c.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
}

#[cfg(test)]
mod random_tests;
#[cfg(test)]
mod tests;
