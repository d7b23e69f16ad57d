//! Binary package records from a `Packages` index: the fields the resolver
//! and the lock need, with relations already parsed.
//!
//! Every record must carry `Package`, `Version`, `Architecture`,
//! `Filename`, `Size` and `SHA256`; a record without a SHA256 could not be
//! locked, so it is an error rather than a silently skipped package.

use crate::deb822::{self, Deb822Error, Paragraph};
use crate::digest::Sha256;
use crate::relation::{self, Dependency, Relation, RelationError};
use crate::version::{Version, VersionError};

/// `Priority`, ordered from most to least important, so that sorting puts
/// `required` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// `required`.
    Required,
    /// `important`.
    Important,
    /// `standard`.
    Standard,
    /// `optional` (also the value when the field is absent).
    Optional,
    /// `extra` (obsolete) or anything unknown.
    Extra,
}

impl Priority {
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("required") => Priority::Required,
            Some("important") => Priority::Important,
            Some("standard") => Priority::Standard,
            Some("optional") | None => Priority::Optional,
            Some(_) => Priority::Extra,
        }
    }
}

/// One binary package as an index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryPackage {
    /// `Package`.
    pub name: String,
    /// `Version`.
    pub version: Version,
    /// `Architecture` (`amd64`, `all`, ...).
    pub architecture: String,
    /// `Multi-Arch`, lowercased, empty when absent.
    pub multi_arch: String,
    /// `Essential: yes`.
    pub essential: bool,
    /// `Priority`.
    pub priority: Priority,
    /// `Pre-Depends`.
    pub pre_depends: Vec<Dependency>,
    /// `Depends`.
    pub depends: Vec<Dependency>,
    /// `Recommends`.
    pub recommends: Vec<Dependency>,
    /// `Conflicts`.
    pub conflicts: Vec<Relation>,
    /// `Breaks`.
    pub breaks: Vec<Relation>,
    /// `Provides`.
    pub provides: Vec<Relation>,
    /// `Filename`: the pool path relative to the mirror root.
    pub filename: String,
    /// `Size` of the .deb in bytes.
    pub size: u64,
    /// `SHA256` of the .deb.
    pub sha256: Sha256,
    /// The suite whose index listed this package (given by the caller).
    pub suite: String,
}

/// Why a `Packages` index could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackagesError {
    /// The text is not deb822.
    #[error(transparent)]
    Syntax(#[from] Deb822Error),
    /// A mandatory field is absent.
    #[error("{origin}:{line}: package record lacks the {field} field")]
    Missing {
        /// The index.
        origin: String,
        /// Line of the field or record.
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A field's value is invalid.
    #[error("{origin}:{line}: {field}: {message}")]
    Invalid {
        /// The index.
        origin: String,
        /// Line of the field.
        line: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl BinaryPackage {
    /// Reads one record. `origin` names the index for errors; `suite` is
    /// recorded in the result.
    pub fn from_paragraph(p: &Paragraph, origin: &str, suite: &str) -> Result<Self, PackagesError> {
        let required = |field: &'static str| {
            p.field(field).ok_or_else(|| PackagesError::Missing {
                origin: origin.to_owned(),
                line: p.line(),
                field,
            })
        };
        let invalid = |field: &'static str, message: String| PackagesError::Invalid {
            origin: origin.to_owned(),
            line: p.field(field).map_or(p.line(), |f| f.line),
            field,
            message,
        };
        let rel = |field: &'static str, e: RelationError| invalid(field, e.to_string());
        let deps = |field: &'static str| {
            relation::parse_dependencies(p.get(field).unwrap_or("")).map_err(|e| rel(field, e))
        };
        let rels = |field: &'static str| {
            relation::parse_relations(p.get(field).unwrap_or("")).map_err(|e| rel(field, e))
        };
        let name = required("Package")?.value.clone();
        if !relation::is_valid_package_name(&name) {
            return Err(invalid("Package", format!("invalid package name {name:?}")));
        }
        let version = Version::parse(&required("Version")?.value)
            .map_err(|e: VersionError| invalid("Version", e.to_string()))?;
        let size = required("Size")?
            .value
            .parse::<u64>()
            .map_err(|e| invalid("Size", e.to_string()))?;
        let sha256 = required("SHA256")?
            .value
            .parse::<Sha256>()
            .map_err(|e| invalid("SHA256", e.to_string()))?;
        let filename = required("Filename")?.value.clone();
        if filename.starts_with('/') || filename.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(invalid(
                "Filename",
                format!("unsafe pool path {filename:?}"),
            ));
        }
        Ok(BinaryPackage {
            name,
            version,
            architecture: required("Architecture")?.value.clone(),
            multi_arch: p.get("Multi-Arch").unwrap_or("").to_ascii_lowercase(),
            essential: p
                .get("Essential")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            priority: Priority::parse(p.get("Priority")),
            pre_depends: deps("Pre-Depends")?,
            depends: deps("Depends")?,
            recommends: deps("Recommends")?,
            conflicts: rels("Conflicts")?,
            breaks: rels("Breaks")?,
            provides: relation::parse_provides(p.get("Provides").unwrap_or(""))
                .map_err(|e| rel("Provides", e))?,
            filename,
            size,
            sha256,
            suite: suite.to_owned(),
        })
    }
}

/// Parses a whole (decompressed) `Packages` index.
pub fn parse_packages(
    text: &str,
    origin: &str,
    suite: &str,
) -> Result<Vec<BinaryPackage>, PackagesError> {
    deb822::parse(text, origin)?
        .iter()
        .map(|p| BinaryPackage::from_paragraph(p, origin, suite))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn reads_a_record() {
        let text = format!(
            "Package: dnsdist\nVersion: 1.7.3-2\nArchitecture: amd64\nPriority: optional\nPre-Depends: init-system-helpers (>= 1.54~)\nDepends: libc6 (>= 2.34), adduser | passwd\nBreaks: old (<< 1)\nProvides: dns-proxy (= 1.7)\nFilename: pool/main/d/dnsdist/dnsdist_1.7.3-2_amd64.deb\nSize: 1234\nSHA256: {SHA}\n"
        );
        let pkgs = parse_packages(&text, "Packages", "bookworm").unwrap();
        let p = &pkgs[0];
        assert_eq!(p.name, "dnsdist");
        assert_eq!(p.version.to_string(), "1.7.3-2");
        assert_eq!(p.depends.len(), 2);
        assert_eq!(p.pre_depends[0].0[0].name, "init-system-helpers");
        assert_eq!(p.breaks[0].name, "old");
        assert_eq!(p.provides[0].name, "dns-proxy");
        assert_eq!((p.size, p.sha256.to_string().as_str()), (1234, SHA));
        assert_eq!(p.priority, Priority::Optional);
        assert!(!p.essential);
        assert_eq!(p.suite, "bookworm");
    }

    #[test]
    fn errors_name_index_line_and_field() {
        let text = "Package: a1\nVersion: 1\nArchitecture: all\nFilename: pool/a\nSize: 1\n";
        let e = parse_packages(text, "main/Packages", "s").unwrap_err();
        assert_eq!(
            e.to_string(),
            "main/Packages:1: package record lacks the SHA256 field"
        );
        let text = format!(
            "Package: a1\nVersion: 1\nArchitecture: all\nDepends: b1 (>= x)\nFilename: pool/a\nSize: 1\nSHA256: {SHA}\n"
        );
        let e = parse_packages(&text, "P", "s").unwrap_err();
        assert!(
            e.to_string().starts_with("P:4: Depends: invalid relation"),
            "{e}"
        );
        let text = format!(
            "Package: a1\nVersion: 1\nArchitecture: all\nFilename: ../etc/passwd\nSize: 1\nSHA256: {SHA}\n"
        );
        let e = parse_packages(&text, "P", "s").unwrap_err();
        assert!(e.to_string().contains("unsafe pool path"), "{e}");
    }
}
