//! Finding plaintext secrets that were put in the recipes tree by mistake.
//!
//! Why: the recipes repository is meant to be public-safe; the easiest way
//! to break that is to drop `id_ed25519` or a `.pem` next to the `.age`
//! files. `hlb` scans every non-`.age` file it reads from the tree and
//! refuses to go on when one of these patterns appears.
//!
//! Invariant: a [`Finding`] names the file, the line and the kind of
//! secret, never the matched text, so reporting it leaks nothing.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of secret was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// `-----BEGIN … PRIVATE KEY-----` (PKCS#1, PKCS#8, SEC1, DSA, encrypted).
    PemPrivateKey,
    /// `-----BEGIN OPENSSH PRIVATE KEY-----`.
    OpenSshPrivateKey,
    /// `-----BEGIN PGP PRIVATE KEY BLOCK-----`.
    PgpPrivateKey,
    /// `AGE-SECRET-KEY-1…` (an age identity).
    AgeSecretKey,
    /// `AKIA…`/`ASIA…` followed by 16 upper-case letters or digits.
    AwsAccessKeyId,
    /// `aws_secret_access_key = <40 base64 characters>`.
    AwsSecretAccessKey,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::PemPrivateKey => "a PEM private key",
            FindingKind::OpenSshPrivateKey => "an OpenSSH private key",
            FindingKind::PgpPrivateKey => "a PGP private key",
            FindingKind::AgeSecretKey => "an age identity (AGE-SECRET-KEY-1…)",
            FindingKind::AwsAccessKeyId => "an AWS access key id",
            FindingKind::AwsSecretAccessKey => "an AWS secret access key",
        })
    }
}

/// A plaintext secret found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the match.
    pub line: usize,
    /// What it looks like.
    pub kind: FindingKind,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: looks like {} in plaintext; encrypt it with `hlb secret set` and delete this file",
            self.path.display(),
            self.line,
            self.kind
        )
    }
}

impl std::error::Error for Finding {}

/// Scans one file's bytes. Files named `*.age` are skipped (they are
/// encrypted). Returns the first finding.
pub fn scan_plaintext(path: &Path, bytes: &[u8]) -> Option<Finding> {
    if path.extension().is_some_and(|e| e == "age") {
        return None;
    }
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if let Some(kind) = scan_line(line) {
            return Some(Finding {
                path: path.to_owned(),
                line: i + 1,
                kind,
            });
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn scan_line(line: &[u8]) -> Option<FindingKind> {
    if let Some(at) = find(line, b"-----BEGIN ") {
        let rest = &line[at + 11..];
        if rest.starts_with(b"OPENSSH PRIVATE KEY-----") {
            return Some(FindingKind::OpenSshPrivateKey);
        }
        if rest.starts_with(b"PGP PRIVATE KEY BLOCK-----") {
            return Some(FindingKind::PgpPrivateKey);
        }
        if let Some(end) = find(rest, b"PRIVATE KEY-----") {
            // Anything like "RSA ", "EC ", "ENCRYPTED ", "" before it.
            let kind = &rest[..end];
            if kind.iter().all(|b| b.is_ascii_uppercase() || *b == b' ') {
                return Some(FindingKind::PemPrivateKey);
            }
        }
    }
    if let Some(at) = find(line, b"AGE-SECRET-KEY-1") {
        let body = &line[at + 16..];
        let n = body
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            .count();
        if n >= 50 {
            return Some(FindingKind::AgeSecretKey);
        }
    }
    for prefix in [&b"AKIA"[..], b"ASIA"] {
        let mut from = 0;
        while let Some(at) = find(&line[from..], prefix) {
            let start = from + at;
            let before_ok = start == 0 || !line[start - 1].is_ascii_alphanumeric();
            let body = &line[start + 4..];
            let n = body
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count();
            if before_ok && n == 16 {
                return Some(FindingKind::AwsAccessKeyId);
            }
            from = start + 4;
        }
    }
    let lower = line.to_ascii_lowercase();
    if let Some(at) = find(&lower, b"aws_secret_access_key") {
        let rest = &line[at + 21..];
        let rest = trim_start(rest, |b| b == b' ' || b == b'\t' || b == b'"' || b == b'\'');
        if let Some(rest) = rest.strip_prefix(b"=").or_else(|| rest.strip_prefix(b":")) {
            let value = trim_start(rest, |b| b == b' ' || b == b'\t' || b == b'"' || b == b'\'');
            let n = value
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b'='))
                .count();
            if n == 40 {
                return Some(FindingKind::AwsSecretAccessKey);
            }
        }
    }
    None
}

fn trim_start(mut s: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    while let Some((&b, rest)) = s.split_first() {
        if skip(b) {
            s = rest;
        } else {
            break;
        }
    }
    s
}
