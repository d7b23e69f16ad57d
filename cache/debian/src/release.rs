//! Archive authentication: `InRelease` signatures and the hash chain from
//! a `Release` file down to the indexes it lists.
//!
//! The chain a lock trusts is: the machine's keyring (named by `Signed-By`)
//! → an OpenPGP signature over `InRelease` → the SHA256 list in that
//! Release → each `Packages` index → each package's SHA256. This module
//! does the first three links; the resolver carries the last one into the
//! lock.
//!
//! Invariants:
//! - [`verify_inrelease`] parses the Release fields only from the text the
//!   signature covers, never from the bytes around it;
//! - a Release without a `SHA256` list is refused (MD5 and SHA1 lists are
//!   not trusted);
//! - the library has no clock: `Valid-Until` is returned, and the caller
//!   decides ([`Release::is_expired_at`] takes the time explicitly).

use std::collections::BTreeMap;

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::KeyDetails;

use crate::deb822::{self, SingleParagraphError};
use crate::digest::Sha256;

/// One index listed in a Release file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: Sha256,
}

/// An index whose bytes differ from its Release entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMismatch {
    /// The Release.
    pub origin: String,
    /// The index path.
    pub path: String,
    /// What the Release lists.
    pub expected: IndexEntry,
    /// What the bytes are.
    pub actual: IndexEntry,
}

/// The fields of a Release file that matter for resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `Origin`.
    pub origin: Option<String>,
    /// `Label`.
    pub label: Option<String>,
    /// `Suite` (`stable`, `bookworm-security`, ...).
    pub suite: Option<String>,
    /// `Codename` (`bookworm`).
    pub codename: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `Date`, as written (RFC 2822).
    pub date: Option<String>,
    /// `Valid-Until`, as written (RFC 2822).
    pub valid_until: Option<String>,
    /// `Architectures`.
    pub architectures: Vec<String>,
    /// `Components`.
    pub components: Vec<String>,
    /// `Acquire-By-Hash: yes`.
    pub acquire_by_hash: bool,
    /// The `SHA256` list: path relative to `dists/SUITE/` → entry.
    pub files: BTreeMap<String, IndexEntry>,
}

/// Why a Release could not be read or an index does not match it.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The Release text is not one deb822 paragraph.
    #[error(transparent)]
    Syntax(#[from] SingleParagraphError),
    /// No `SHA256` field.
    #[error("{origin}: Release has no SHA256 list (weaker hashes are not trusted)")]
    NoSha256 {
        /// The Release.
        origin: String,
    },
    /// A malformed `SHA256` line.
    #[error("{origin}:{line}: malformed SHA256 entry {entry:?}")]
    BadEntry {
        /// The Release.
        origin: String,
        /// Line in the Release text.
        line: usize,
        /// The entry.
        entry: String,
    },
    /// The index is not listed.
    #[error("{origin}: Release does not list {path}")]
    NotListed {
        /// The Release.
        origin: String,
        /// The index path.
        path: String,
    },
    /// Size or hash differ from the listing.
    #[error(
        "{}: {} does not match the Release: expected {} bytes with sha256 {}, got {} bytes with sha256 {}",
        .0.origin, .0.path, .0.expected.size, .0.expected.sha256, .0.actual.size, .0.actual.sha256
    )]
    Mismatch(Box<IndexMismatch>),
    /// The keyring could not be parsed.
    #[error("{origin}: cannot read OpenPGP keyring: {message}")]
    Keyring {
        /// The keyring path.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// The InRelease is not a clear-signed message.
    #[error("{origin}: not an OpenPGP clear-signed message: {message}")]
    NotClearSigned {
        /// The InRelease.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// No signature verifies against the keyring.
    #[error(
        "{origin}: no valid signature from a key in the keyring (signatures by {issuers}; keyring has {keys})"
    )]
    BadSignature {
        /// The InRelease.
        origin: String,
        /// Issuer fingerprints or key ids of the signatures present.
        issuers: String,
        /// Fingerprints in the keyring.
        keys: String,
    },
}

impl Release {
    /// Parses a Release text (already authenticated, or from a `Release`
    /// file checked by other means).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ReleaseError> {
        let p = deb822::parse_single(text, origin)?;
        let owned = |name: &str| p.get(name).map(str::to_owned);
        let words = |name: &str| {
            p.get(name)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let sha = p.field("SHA256").ok_or_else(|| ReleaseError::NoSha256 {
            origin: origin.to_owned(),
        })?;
        let mut files = BTreeMap::new();
        for (offset, line) in sha.value.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = || ReleaseError::BadEntry {
                origin: origin.to_owned(),
                line: sha.line + offset,
                entry: line.to_owned(),
            };
            let mut parts = line.split_whitespace();
            let (Some(hash), Some(size), Some(path), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let entry = IndexEntry {
                size: size.parse().map_err(|_| bad())?,
                sha256: hash.parse().map_err(|_| bad())?,
            };
            files.insert(path.to_owned(), entry);
        }
        Ok(Release {
            origin: owned("Origin"),
            label: owned("Label"),
            suite: owned("Suite"),
            codename: owned("Codename"),
            version: owned("Version"),
            date: owned("Date"),
            valid_until: owned("Valid-Until"),
            architectures: words("Architectures"),
            components: words("Components"),
            acquire_by_hash: p
                .get("Acquire-By-Hash")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            files,
        })
    }

    /// Whether this Release is for `suite`, by its `Suite` or `Codename`
    /// (apt's guard against a mirror serving another suite's Release).
    pub fn matches_suite(&self, suite: &str) -> bool {
        self.suite.as_deref() == Some(suite) || self.codename.as_deref() == Some(suite)
    }

    /// Checks `bytes` against the entry for `path` (relative to
    /// `dists/SUITE/`, e.g. `main/binary-amd64/Packages.xz`).
    pub fn verify_index(&self, origin: &str, path: &str, bytes: &[u8]) -> Result<(), ReleaseError> {
        let entry = self
            .files
            .get(path)
            .ok_or_else(|| ReleaseError::NotListed {
                origin: origin.to_owned(),
                path: path.to_owned(),
            })?;
        let actual = Sha256::of(bytes);
        if actual != entry.sha256 || bytes.len() as u64 != entry.size {
            return Err(ReleaseError::Mismatch(Box::new(IndexMismatch {
                origin: origin.to_owned(),
                path: path.to_owned(),
                expected: *entry,
                actual: IndexEntry {
                    size: bytes.len() as u64,
                    sha256: actual,
                },
            })));
        }
        Ok(())
    }

    /// Whether `Valid-Until` lies before `unix_seconds`. A Release without
    /// `Valid-Until` never expires; an unparsable one counts as expired.
    pub fn is_expired_at(&self, unix_seconds: i64) -> bool {
        match &self.valid_until {
            None => false,
            Some(text) => parse_rfc2822_utc(text).is_none_or(|t| t < unix_seconds),
        }
    }
}

/// Parses the `Date`/`Valid-Until` form `Sat, 10 Aug 2024 09:26:01 UTC`
/// (also `+0000`/`GMT`/`Z`), returning Unix seconds.
pub fn parse_rfc2822_utc(text: &str) -> Option<i64> {
    let rest = text.split_once(',').map_or(text, |(_, r)| r);
    let mut parts = rest.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !matches!(parts.next()?, "UTC" | "GMT" | "Z" | "+0000") || parts.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from civil date (proleptic Gregorian), after H. Hinnant's method.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// A set of trusted OpenPGP public keys (a `Signed-By` keyring).
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Reads a keyring, binary (`.gpg`) or ASCII-armored (`.asc`).
    /// `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, ReleaseError> {
        let err = |e: pgp::errors::Error| ReleaseError::Keyring {
            origin: origin.to_owned(),
            message: e.to_string(),
        };
        let trimmed = bytes.trim_ascii_start();
        let keys: Vec<SignedPublicKey> = if trimmed.starts_with(b"-----BEGIN") {
            let (iter, _) = SignedPublicKey::from_armor_many(trimmed).map_err(err)?;
            iter.collect::<Result<_, _>>().map_err(err)?
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map_err(err)?
                .collect::<Result<_, _>>()
                .map_err(err)?
        };
        if keys.is_empty() {
            return Err(ReleaseError::Keyring {
                origin: origin.to_owned(),
                message: "no public keys found".to_owned(),
            });
        }
        Ok(Keyring { keys })
    }

    /// Adds the keys of `other` (several `Signed-By` files).
    pub fn extend(&mut self, other: Keyring) {
        self.keys.extend(other.keys);
    }

    /// Hex fingerprints of the primary keys, in keyring order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| hex::encode_upper(k.fingerprint().as_bytes()))
            .collect()
    }
}

/// A Release whose signature checked out.
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    /// The signed Release fields.
    pub release: Release,
    /// Fingerprints (uppercase hex) of the keyring keys whose signatures
    /// verified, sorted.
    pub signed_by: Vec<String>,
    /// The signed text with `\n` line endings.
    pub text: String,
}

/// Verifies a clear-signed `InRelease` against `keyring` and parses the
/// Release it carries. At least one signature must verify with a key (or
/// subkey) of the keyring; signatures by unknown keys, and signatures over
/// MD5, SHA-1 or RIPEMD-160 digests, are ignored.
pub fn verify_inrelease(
    bytes: &[u8],
    keyring: &Keyring,
    origin: &str,
) -> Result<VerifiedRelease, ReleaseError> {
    let not_signed = |message: String| ReleaseError::NotClearSigned {
        origin: origin.to_owned(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| not_signed(e.to_string()))?;
    let (msg, _) =
        CleartextSignedMessage::from_string(text).map_err(|e| not_signed(e.to_string()))?;
    let signed = msg.signed_text();
    let mut signed_by = Vec::new();
    let mut issuers = Vec::new();
    for sig in msg.signatures() {
        // MD5 and SHA-1 signatures are forgeable; apt refuses them too.
        let strong = !matches!(
            sig.hash_alg(),
            None | Some(
                HashAlgorithm::None
                    | HashAlgorithm::Md5
                    | HashAlgorithm::Sha1
                    | HashAlgorithm::Ripemd160
            )
        );
        if !strong {
            continue;
        }
        issuers.extend(
            sig.issuer_fingerprint()
                .iter()
                .map(|f| hex::encode_upper(f.as_bytes())),
        );
        for key in &keyring.keys {
            let primary = hex::encode_upper(key.fingerprint().as_bytes());
            let ok = sig.verify(&key.primary_key, signed.as_bytes()).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|sub| sig.verify(&sub.key, signed.as_bytes()).is_ok());
            if ok {
                signed_by.push(primary);
            }
        }
    }
    signed_by.sort();
    signed_by.dedup();
    if signed_by.is_empty() {
        issuers.sort();
        issuers.dedup();
        return Err(ReleaseError::BadSignature {
            origin: origin.to_owned(),
            issuers: if issuers.is_empty() {
                "unknown issuers".to_owned()
            } else {
                issuers.join(", ")
            },
            keys: keyring.fingerprints().join(", "),
        });
    }
    let text = signed.replace("\r\n", "\n");
    let release = Release::parse(&text, origin)?;
    Ok(VerifiedRelease {
        release,
        signed_by,
        text,
    })
}

#[cfg(test)]
mod tests;
