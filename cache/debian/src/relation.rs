//! Package relationship fields: `Depends`, `Pre-Depends`, `Recommends`,
//! `Conflicts`, `Breaks`, `Provides` (Debian policy §7).
//!
//! A field is a comma-separated list of dependencies; a dependency is a
//! `|`-separated list of alternatives; an alternative is a package name
//! with an optional architecture qualifier (`:any`, `:native`, `:amd64`)
//! and an optional version constraint `(op version)`.
//!
//! Binary package indexes never carry the architecture restriction lists
//! (`[amd64]`) or build profiles (`<!nocheck>`) of source build
//! dependencies; they are rejected with a message saying so rather than
//! silently ignored, since ignoring them would change what a relation means.

use std::fmt;

use crate::version::{Version, VersionError};

/// A version comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VersionOp {
    /// `<<`: strictly earlier.
    Earlier,
    /// `<=` (and the obsolete `<`).
    EarlierOrEqual,
    /// `=`.
    Equal,
    /// `>=` (and the obsolete `>`).
    LaterOrEqual,
    /// `>>`: strictly later.
    Later,
}

impl VersionOp {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionOp::Earlier => "<<",
            VersionOp::EarlierOrEqual => "<=",
            VersionOp::Equal => "=",
            VersionOp::LaterOrEqual => ">=",
            VersionOp::Later => ">>",
        }
    }
}

/// `(op version)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionConstraint {
    /// The operator.
    pub op: VersionOp,
    /// The version compared against.
    pub version: Version,
}

impl VersionConstraint {
    /// Whether `candidate` satisfies this constraint.
    pub fn matches(&self, candidate: &Version) -> bool {
        let ord = candidate.cmp(&self.version);
        match self.op {
            VersionOp::Earlier => ord.is_lt(),
            VersionOp::EarlierOrEqual => ord.is_le(),
            VersionOp::Equal => ord.is_eq(),
            VersionOp::LaterOrEqual => ord.is_ge(),
            VersionOp::Later => ord.is_gt(),
        }
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({} {})", self.op.as_str(), self.version)
    }
}

/// An architecture qualifier after `name:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArchQualifier {
    /// `:any`: any architecture, for `Multi-Arch: allowed` packages.
    Any,
    /// `:native`: the build architecture.
    Native,
    /// A named architecture.
    Arch(String),
}

/// One alternative: `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Relation {
    /// The package (or virtual package) name.
    pub name: String,
    /// The architecture qualifier, if any.
    pub arch: Option<ArchQualifier>,
    /// The version constraint, if any.
    pub constraint: Option<VersionConstraint>,
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.arch {
            None => {}
            Some(ArchQualifier::Any) => f.write_str(":any")?,
            Some(ArchQualifier::Native) => f.write_str(":native")?,
            Some(ArchQualifier::Arch(a)) => write!(f, ":{a}")?,
        }
        if let Some(c) = &self.constraint {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// A dependency: alternatives of which one must hold (`a | b`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dependency(pub Vec<Relation>);

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Why a relationship field could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid relation {text:?}: {kind}")]
pub struct RelationError {
    /// The offending part of the field.
    pub text: String,
    /// What is wrong.
    pub kind: RelationErrorKind,
}

/// The kinds of relation syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationErrorKind {
    /// Nothing between two separators.
    #[error("empty alternative")]
    Empty,
    /// A name with characters outside `[a-z0-9+.-]`, or too short.
    #[error("invalid package name {0:?}")]
    BadName(String),
    /// `(` without a valid operator.
    #[error("unknown version operator {0:?}")]
    BadOperator(String),
    /// `(op` without a version or closing parenthesis.
    #[error("malformed version constraint")]
    BadConstraint,
    /// The version inside the parentheses is invalid.
    #[error(transparent)]
    BadVersion(#[from] VersionError),
    /// `[arch]` or `<profile>`, which only source build dependencies use.
    #[error(
        "architecture restrictions and build profiles only belong in source build dependencies"
    )]
    BuildOnlySyntax,
    /// `|` in a field that does not allow alternatives.
    #[error("alternatives (`|`) are not allowed in this field")]
    AlternativesNotAllowed,
    /// A `Provides` constraint other than `=`.
    #[error("Provides only allows `(= version)`")]
    ProvidesOperator,
    /// A list where exactly one relation was expected (a request).
    #[error("expected exactly one package")]
    NotOne,
    /// Trailing text after a complete relation.
    #[error("unexpected text {0:?}")]
    Trailing(String),
}

/// Whether `name` is a valid Debian package name (policy §5.6.1).
pub fn is_valid_package_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')
        })
}

fn parse_relation(text: &str) -> Result<Relation, RelationError> {
    let err = |kind| RelationError {
        text: text.trim().to_owned(),
        kind,
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(err(RelationErrorKind::Empty));
    }
    if t.contains(['[', ']']) {
        return Err(err(RelationErrorKind::BuildOnlySyntax));
    }
    let name_end = t
        .find(|c: char| c.is_whitespace() || c == '(' || c == '<')
        .unwrap_or(t.len());
    let (name_part, rest) = t.split_at(name_end);
    let (name, arch) = match name_part.split_once(':') {
        None => (name_part, None),
        Some((n, "any")) => (n, Some(ArchQualifier::Any)),
        Some((n, "native")) => (n, Some(ArchQualifier::Native)),
        Some((n, a)) if is_valid_arch(a) => (n, Some(ArchQualifier::Arch(a.to_owned()))),
        Some(_) => return Err(err(RelationErrorKind::BadName(name_part.to_owned()))),
    };
    if !is_valid_package_name(name) {
        return Err(err(RelationErrorKind::BadName(name.to_owned())));
    }
    let rest = rest.trim_start();
    let constraint = if rest.is_empty() {
        None
    } else if let Some(inner) = rest.strip_prefix('(') {
        let Some(close) = inner.find(')') else {
            return Err(err(RelationErrorKind::BadConstraint));
        };
        let after = inner[close + 1..].trim();
        if !after.is_empty() {
            if after.starts_with('<') {
                return Err(err(RelationErrorKind::BuildOnlySyntax));
            }
            return Err(err(RelationErrorKind::Trailing(after.to_owned())));
        }
        let inner = inner[..close].trim();
        let op_len = inner
            .find(|c: char| c.is_ascii_alphanumeric() || c.is_whitespace())
            .unwrap_or(inner.len());
        let op = match &inner[..op_len] {
            "<<" => VersionOp::Earlier,
            "<=" | "<" => VersionOp::EarlierOrEqual,
            "=" => VersionOp::Equal,
            ">=" | ">" => VersionOp::LaterOrEqual,
            ">>" => VersionOp::Later,
            other => return Err(err(RelationErrorKind::BadOperator(other.to_owned()))),
        };
        let version = inner[op_len..].trim();
        if version.is_empty() {
            return Err(err(RelationErrorKind::BadConstraint));
        }
        let version = Version::parse(version).map_err(|e| err(e.into()))?;
        Some(VersionConstraint { op, version })
    } else if rest.starts_with('<') {
        return Err(err(RelationErrorKind::BuildOnlySyntax));
    } else {
        return Err(err(RelationErrorKind::Trailing(rest.to_owned())));
    };
    Ok(Relation {
        name: name.to_owned(),
        arch,
        constraint,
    })
}

fn is_valid_arch(a: &str) -> bool {
    !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses a field with alternatives: `Depends`, `Pre-Depends`,
/// `Recommends`, `Suggests`. An empty field gives an empty list.
pub fn parse_dependencies(field: &str) -> Result<Vec<Dependency>, RelationError> {
    if field.trim().is_empty() {
        return Ok(Vec::new());
    }
    field
        .split(',')
        .map(|dep| {
            dep.split('|')
                .map(parse_relation)
                .collect::<Result<Vec<_>, _>>()
                .map(Dependency)
        })
        .collect()
}

/// Parses a field without alternatives: `Conflicts`, `Breaks`, `Replaces`.
pub fn parse_relations(field: &str) -> Result<Vec<Relation>, RelationError> {
    if field.trim().is_empty() {
        return Ok(Vec::new());
    }
    field
        .split(',')
        .map(|r| {
            if r.contains('|') {
                Err(RelationError {
                    text: r.trim().to_owned(),
                    kind: RelationErrorKind::AlternativesNotAllowed,
                })
            } else {
                parse_relation(r)
            }
        })
        .collect()
}

/// Parses `Provides`: names with an optional `(= version)`.
pub fn parse_provides(field: &str) -> Result<Vec<Relation>, RelationError> {
    let relations = parse_relations(field)?;
    for r in &relations {
        if r.constraint
            .as_ref()
            .is_some_and(|c| c.op != VersionOp::Equal)
        {
            return Err(RelationError {
                text: r.to_string(),
                kind: RelationErrorKind::ProvidesOperator,
            });
        }
    }
    Ok(relations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn depends_with_alternatives_versions_and_arch() {
        let deps = parse_dependencies(
            "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0,\n python3:any (<< 3.12~), perl:native, foo:amd64 (= 1:2-3)",
        )
        .unwrap();
        assert_eq!(deps.len(), 5);
        assert_eq!(deps[0].0[0].name, "libc6");
        assert_eq!(
            deps[0].0[0].constraint,
            Some(VersionConstraint {
                op: VersionOp::LaterOrEqual,
                version: v("2.34")
            })
        );
        assert_eq!(deps[1].0.len(), 2);
        assert_eq!(deps[1].0[1].name, "debconf-2.0");
        assert_eq!(deps[1].0[1].constraint, None);
        assert_eq!(deps[2].0[0].arch, Some(ArchQualifier::Any));
        assert_eq!(
            deps[2].0[0].constraint.as_ref().unwrap().op,
            VersionOp::Earlier
        );
        assert_eq!(deps[3].0[0].arch, Some(ArchQualifier::Native));
        assert_eq!(deps[4].0[0].arch, Some(ArchQualifier::Arch("amd64".into())));
        assert_eq!(
            deps.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "libc6 (>= 2.34)",
                "debconf (>= 0.5) | debconf-2.0",
                "python3:any (<< 3.12~)",
                "perl:native",
                "foo:amd64 (= 1:2-3)"
            ]
        );
    }

    #[test]
    fn operators_and_spacing() {
        for (text, op) in [
            ("a1 (<< 1)", VersionOp::Earlier),
            ("a1 (<= 1)", VersionOp::EarlierOrEqual),
            ("a1 (< 1)", VersionOp::EarlierOrEqual),
            ("a1(=1)", VersionOp::Equal),
            ("a1 ( >= 1 )", VersionOp::LaterOrEqual),
            ("a1 (> 1)", VersionOp::LaterOrEqual),
            ("a1 (>>1)", VersionOp::Later),
        ] {
            let d = parse_dependencies(text).unwrap();
            assert_eq!(d[0].0[0].constraint.as_ref().unwrap().op, op, "{text}");
        }
    }

    #[test]
    fn constraint_matching() {
        let c = |op, ver: &str| VersionConstraint {
            op,
            version: v(ver),
        };
        assert!(c(VersionOp::LaterOrEqual, "2").matches(&v("2")));
        assert!(!c(VersionOp::LaterOrEqual, "2").matches(&v("1.9")));
        assert!(c(VersionOp::Earlier, "2").matches(&v("2~rc1")));
        assert!(!c(VersionOp::Earlier, "2").matches(&v("2")));
        assert!(c(VersionOp::Equal, "1.0").matches(&v("0:1.0-0")));
        assert!(c(VersionOp::Later, "1.0").matches(&v("1.0-1")));
        assert!(c(VersionOp::EarlierOrEqual, "1.0-1").matches(&v("1.0-1")));
    }

    #[test]
    fn rejects_bad_input_clearly() {
        let kind = |s: &str| parse_dependencies(s).unwrap_err().kind;
        assert_eq!(kind("a1, , b1"), RelationErrorKind::Empty);
        assert_eq!(kind("a1 | "), RelationErrorKind::Empty);
        assert_eq!(kind("Foo"), RelationErrorKind::BadName("Foo".into()));
        assert_eq!(kind("a"), RelationErrorKind::BadName("a".into()));
        assert_eq!(
            kind("a1 (~= 1)"),
            RelationErrorKind::BadOperator("~=".into())
        );
        assert_eq!(kind("a1 (>= 1"), RelationErrorKind::BadConstraint);
        assert_eq!(kind("a1 (>=)"), RelationErrorKind::BadConstraint);
        assert_eq!(kind("a1 [amd64]"), RelationErrorKind::BuildOnlySyntax);
        assert_eq!(
            kind("a1 (>= 1) [!i386]"),
            RelationErrorKind::BuildOnlySyntax
        );
        assert_eq!(kind("a1 <!nocheck>"), RelationErrorKind::BuildOnlySyntax);
        assert_eq!(
            kind("a1 (>= 1) <!nocheck>"),
            RelationErrorKind::BuildOnlySyntax
        );
        assert_eq!(kind("a1 b1"), RelationErrorKind::Trailing("b1".into()));
        assert!(matches!(
            kind("a1 (>= x)"),
            RelationErrorKind::BadVersion(_)
        ));
        let e = parse_relations("a1 | b1").unwrap_err();
        assert_eq!(e.kind, RelationErrorKind::AlternativesNotAllowed);
        let e = parse_provides("a1 (>= 1)").unwrap_err();
        assert_eq!(e.kind, RelationErrorKind::ProvidesOperator);
        assert_eq!(
            e.to_string(),
            "invalid relation \"a1 (>= 1)\": Provides only allows `(= version)`"
        );
    }

    #[test]
    fn provides_and_empty_fields() {
        let p = parse_provides("mail-transport-agent, libfoo-abi-2 (= 2.1)").unwrap();
        assert_eq!(p[1].constraint.as_ref().unwrap().version, v("2.1"));
        assert!(parse_dependencies("  ").unwrap().is_empty());
        assert!(parse_relations("").unwrap().is_empty());
    }
}
