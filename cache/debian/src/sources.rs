//! The machine's apt sources: which mirrors, suites and components to
//! resolve against, and which keyring vouches for them.
//!
//! hlb never names a registry host itself (design D9): a recipe either
//! names its mirror or says "use the machine's apt sources", and this
//! module reads the latter from `sources.list` and `sources.list.d/` under
//! a directory the caller passes (normally `/etc/apt`).
//!
//! What is read, as apt reads it: `DIR/sources.list` (one-line format),
//! then the files of `DIR/sources.list.d/` in byte order of their names,
//! `*.list` as one-line format and `*.sources` as deb822. Other files
//! (`*.disabled`, editor backups) are ignored. Entries with
//! `Enabled: no` are skipped. Every entry records the file and line it
//! came from.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::deb822::{self, Deb822Error};

/// How a source is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// Keyring files (absolute paths).
    Keyrings(Vec<PathBuf>),
    /// Key fingerprints to look up in the trusted keyrings.
    Fingerprints(Vec<String>),
    /// An ASCII-armored key block written inline in a `.sources` file.
    Inline(String),
}

/// One apt source entry (a deb822 stanza or a one-line entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    /// `deb` and/or `deb-src`.
    pub types: Vec<String>,
    /// Mirror base URIs, without trailing `/`.
    pub uris: Vec<String>,
    /// Suites; one ending in `/` is a flat repository.
    pub suites: Vec<String>,
    /// Components (empty for a flat repository).
    pub components: Vec<String>,
    /// `Architectures`/`arch=`, empty when not restricted.
    pub architectures: Vec<String>,
    /// `Signed-By`/`signed-by=`, when given.
    pub signed_by: Option<SignedBy>,
    /// `file:line` this entry was read from.
    pub origin: String,
}

impl AptSource {
    /// Whether this entry provides binary packages.
    pub fn is_binary(&self) -> bool {
        self.types.iter().any(|t| t == "deb")
    }

    /// Every (mirror, suite) pair of this entry, in written order.
    pub fn locations(&self) -> Vec<SuiteLocation> {
        self.uris
            .iter()
            .flat_map(|uri| {
                self.suites.iter().map(move |suite| SuiteLocation {
                    uri: uri.clone(),
                    suite: suite.clone(),
                })
            })
            .collect()
    }

    /// Whether this entry covers `arch` (unrestricted entries cover all).
    pub fn covers_arch(&self, arch: &str) -> bool {
        self.architectures.is_empty() || self.architectures.iter().any(|a| a == arch || a == "all")
    }
}

/// Why the apt configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// Reading a file or directory failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// The operation (`read`, `list`).
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A `.sources` file is not deb822.
    #[error(transparent)]
    Syntax(#[from] Deb822Error),
    /// An entry is incomplete or malformed.
    #[error("{origin}: {message}")]
    Invalid {
        /// `file:line`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads all enabled entries from `apt_dir` (normally `/etc/apt`), in apt's
/// order. Missing `sources.list` or `sources.list.d` are not errors.
pub fn discover(apt_dir: &Path) -> Result<Vec<AptSource>, SourcesError> {
    let mut out = Vec::new();
    let main = apt_dir.join("sources.list");
    if let Some(text) = read_optional(&main)? {
        out.extend(parse_one_line(&text, &main.display().to_string())?);
    }
    let dir = apt_dir.join("sources.list.d");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(SourcesError::Io {
                op: "list",
                path: dir,
                source,
            });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SourcesError::Io {
            op: "list",
            path: dir.clone(),
            source,
        })?;
        files.push(entry.path());
    }
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_list = name.ends_with(".list");
        let is_sources = name.ends_with(".sources");
        if !(is_list || is_sources) || !valid_part_name(&name) {
            continue;
        }
        let Some(text) = read_optional(&path)? else {
            continue;
        };
        let origin = path.display().to_string();
        if is_list {
            out.extend(parse_one_line(&text, &origin)?);
        } else {
            out.extend(parse_deb822(&text, &origin)?);
        }
    }
    Ok(out)
}

/// apt only reads parts named with letters, digits, `_`, `-` and `.`.
fn valid_part_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn read_optional(path: &Path) -> Result<Option<String>, SourcesError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SourcesError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

fn trim_uri(uri: &str) -> String {
    uri.trim_end_matches('/').to_owned()
}

fn parse_signed_by(value: &str) -> SignedBy {
    let value = value.trim();
    if value.contains("BEGIN PGP PUBLIC KEY BLOCK") {
        // deb822 stores the empty lines of an inline key as " .".
        let key = value
            .split('\n')
            .map(|l| if l.trim() == "." { "" } else { l.trim() })
            .collect::<Vec<_>>()
            .join("\n");
        return SignedBy::Inline(key);
    }
    let items: Vec<&str> = value
        .split([',', ' ', '\n'])
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().all(|i| i.starts_with('/')) {
        SignedBy::Keyrings(items.iter().map(PathBuf::from).collect())
    } else {
        SignedBy::Fingerprints(
            items
                .iter()
                .map(|s| s.trim_end_matches('!').to_owned())
                .collect(),
        )
    }
}

/// Parses a deb822 `.sources` text.
pub fn parse_deb822(text: &str, origin: &str) -> Result<Vec<AptSource>, SourcesError> {
    let mut out = Vec::new();
    for p in deb822::parse(text, origin)? {
        let at = format!("{origin}:{}", p.line());
        if p.get("Enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("no"))
        {
            continue;
        }
        let words = |name: &str| -> Vec<String> {
            p.get(name)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        let missing = |field: &str| SourcesError::Invalid {
            origin: at.clone(),
            message: format!("entry lacks {field}"),
        };
        let types = words("Types");
        let uris: Vec<String> = words("URIs").iter().map(|u| trim_uri(u)).collect();
        let suites = words("Suites");
        if types.is_empty() {
            return Err(missing("Types"));
        }
        if uris.is_empty() {
            return Err(missing("URIs"));
        }
        if suites.is_empty() {
            return Err(missing("Suites"));
        }
        let components = words("Components");
        let flat = suites.iter().all(|s| s.ends_with('/'));
        if !flat && components.is_empty() {
            return Err(missing("Components"));
        }
        out.push(AptSource {
            types,
            uris,
            suites,
            components,
            architectures: words("Architectures"),
            signed_by: p.get("Signed-By").map(parse_signed_by),
            origin: at,
        });
    }
    Ok(out)
}

/// Parses one-line format (`deb [opts] uri suite components...`).
pub fn parse_one_line(text: &str, origin: &str) -> Result<Vec<AptSource>, SourcesError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = format!("{origin}:{}", index + 1);
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let invalid = |message: String| SourcesError::Invalid {
            origin: at.clone(),
            message,
        };
        let (kind, rest) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid(format!("incomplete entry {line:?}")))?;
        if kind != "deb" && kind != "deb-src" {
            return Err(invalid(format!(
                "unknown type {kind:?} (expected deb or deb-src)"
            )));
        }
        let mut rest = rest.trim_start();
        let mut architectures = Vec::new();
        let mut signed_by = None;
        if let Some(after) = rest.strip_prefix('[') {
            let (options, tail) = after
                .split_once(']')
                .ok_or_else(|| invalid("unterminated [options]".to_owned()))?;
            for option in options.split_whitespace() {
                let (key, value) = option
                    .split_once('=')
                    .ok_or_else(|| invalid(format!("option {option:?} lacks '='")))?;
                match key {
                    "arch" => architectures = value.split(',').map(str::to_owned).collect(),
                    "signed-by" => signed_by = Some(parse_signed_by(value)),
                    _ => {}
                }
            }
            rest = tail.trim_start();
        }
        let mut words = rest.split_whitespace();
        let uri = words
            .next()
            .ok_or_else(|| invalid("entry lacks a URI".to_owned()))?;
        let suite = words
            .next()
            .ok_or_else(|| invalid("entry lacks a suite".to_owned()))?;
        let components: Vec<String> = words.map(str::to_owned).collect();
        if !suite.ends_with('/') && components.is_empty() {
            return Err(invalid("entry lacks components".to_owned()));
        }
        out.push(AptSource {
            types: vec![kind.to_owned()],
            uris: vec![trim_uri(uri)],
            suites: vec![suite.to_owned()],
            components,
            architectures,
            signed_by,
            origin: at,
        });
    }
    Ok(out)
}

/// Where one suite's files live on one mirror.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SuiteLocation {
    /// Mirror base URI, without trailing `/`.
    pub uri: String,
    /// The suite.
    pub suite: String,
}

impl SuiteLocation {
    /// URL of the suite's `InRelease`.
    pub fn inrelease_url(&self) -> String {
        format!("{}/dists/{}/InRelease", self.uri, self.suite)
    }

    /// URL of a file listed in the Release (`main/binary-amd64/Packages.xz`).
    pub fn index_url(&self, release_path: &str) -> String {
        format!("{}/dists/{}/{}", self.uri, self.suite, release_path)
    }

    /// URL of a pool file (`Filename` of a package record).
    pub fn pool_url(&self, filename: &str) -> String {
        format!("{}/{}", self.uri, filename)
    }
}

impl fmt::Display for SuiteLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.uri, self.suite)
    }
}

/// The Release path of a component's binary index, e.g.
/// `main/binary-amd64/Packages.xz` for `ext = ".xz"`.
pub fn packages_index_path(component: &str, arch: &str, ext: &str) -> String {
    format!("{component}/binary-{arch}/Packages{ext}")
}

#[cfg(test)]
mod tests;
