//! Debian package versions and their ordering (Debian policy §5.6.12, as
//! dpkg implements it).
//!
//! A version is `[epoch:]upstream[-revision]`. Comparison goes epoch
//! (numerically), then upstream, then revision, each with the same
//! string algorithm: alternate runs of non-digits (compared character by
//! character, letters before non-letters, `~` before everything including
//! the end of the string) and runs of digits (compared numerically).
//!
//! Equality follows the ordering, not the spelling: `1.0`, `0:1.0` and
//! `1.0-0` are equal versions. [`Version`]'s `Display` keeps the spelling it
//! was parsed from, so the lock file and messages show what the archive
//! said.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed Debian version.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    epoch: u32,
    /// Byte range of the upstream part in `original`.
    upstream: (usize, usize),
    /// Byte range of the revision in `original` (empty when absent).
    revision: (usize, usize),
}

/// Why a version string is not a valid Debian version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version {version:?}: {reason}")]
pub struct VersionError {
    /// The rejected text.
    pub version: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Version {
    /// Parses a version string.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let bad = |reason| VersionError {
            version: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(bad("empty version"));
        }
        if text.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad("contains whitespace"));
        }
        let (epoch, rest_start) = match text.find(':') {
            Some(colon) => {
                let digits = &text[..colon];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("epoch is not a number"));
                }
                let epoch = digits
                    .parse::<u32>()
                    .ok()
                    .filter(|e| *e <= i32::MAX as u32)
                    .ok_or_else(|| bad("epoch is too large"))?;
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let rest = &text[rest_start..];
        let (upstream, revision) = match rest.rfind('-') {
            Some(dash) => (
                (rest_start, rest_start + dash),
                (rest_start + dash + 1, text.len()),
            ),
            None => ((rest_start, text.len()), (text.len(), text.len())),
        };
        let up = &text[upstream.0..upstream.1];
        let rev = &text[revision.0..revision.1];
        if up.is_empty() {
            return Err(bad("empty upstream version"));
        }
        if !up.as_bytes()[0].is_ascii_digit() {
            return Err(bad("upstream version does not start with a digit"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~');
        if !up.bytes().all(|b| allowed(b) || b == b'-' || b == b':') {
            return Err(bad("invalid character in upstream version"));
        }
        if up.contains(':') {
            return Err(bad("colon in upstream version"));
        }
        if revision.0 != revision.1 || rest.ends_with('-') {
            if rev.is_empty() {
                return Err(bad("empty revision after '-'"));
            }
            if !rev.bytes().all(allowed) {
                return Err(bad("invalid character in revision"));
            }
        }
        Ok(Version {
            original: text.to_owned(),
            epoch,
            upstream,
            revision,
        })
    }

    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream part.
    pub fn upstream(&self) -> &str {
        &self.original[self.upstream.0..self.upstream.1]
    }

    /// The Debian revision (empty when absent).
    pub fn revision(&self) -> &str {
        &self.original[self.revision.0..self.revision.1]
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

/// dpkg's weight of one character in a non-digit run: `~` sorts before
/// the end of the string, which sorts before letters, which sort before
/// every other character.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// The string comparison dpkg applies to upstream parts and revisions.
pub fn compare_fragment(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && j < b.len() && a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_fragment(self.upstream(), other.upstream()))
            .then_with(|| compare_fragment(self.revision(), other.revision()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

#[cfg(test)]
mod tests;
