//! Tags: what derivation ids see instead of a secret.
//!
//! Why: evaluation must compute every derivation id without an identity
//! (design D4), yet an id must change when a secret changes. A tag is
//! `HMAC-SHA256(lab_key, message)` of the plaintext, committed beside the
//! `.age` file as `NAME.tag`. The lab key is 32 random bytes, itself an
//! age-encrypted secret (`lab-key.age`), so only holders of an identity can
//! compute or check a tag.
//!
//! Why it leaks nothing testable: without the lab key, HMAC-SHA256 is a
//! pseudorandom function; a tag is indistinguishable from 32 random bytes,
//! so an attacker holding the repository, the store and every id cannot
//! check a guessed plaintext (not even a low-entropy one like a 4-digit
//! PIN) against it. An unkeyed hash (SHA-256 of the plaintext) would allow
//! exactly that dictionary attack; this is why ids never see one.
//!
//! Domain separation (version 1), all lengths as 8-byte big-endian:
//!
//! ```text
//! message = "hlb-secret-tag-v1" 0x00 len(name) name plaintext
//! mac     = HMAC-SHA256(key = lab_key, message)
//! lab key id = first 8 bytes of HMAC-SHA256(lab_key, "hlb-lab-key-id-v1")
//! ```
//!
//! The name is inside the MAC, so the same plaintext under two names has
//! unrelated tags (no one learns that two secrets are equal). The lab key
//! id in the tag file tells which lab key a tag was made with (after a lab
//! key rotation, stale tags are found without decrypting anything); it is
//! itself a PRF output and says nothing about the key.
//!
//! Tag file (`NAME.tag`, versioned text, exactly these four lines):
//!
//! ```text
//! hlb-secret-tag-v1
//! name NAME
//! lab-key 0123456789abcdef
//! hmac-sha256 <64 hex digits>
//! ```
//!
//! Lab key file plaintext (inside `lab-key.age`): `hlb-lab-key-v1 <64 hex>\n`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::plaintext::{Plaintext, SecretName};

type HmacSha256 = Hmac<Sha256>;

/// First line of a tag file, and the MAC's domain separator.
pub const TAG_DOMAIN: &str = "hlb-secret-tag-v1";
/// Domain separator of the lab key id.
pub const LAB_KEY_ID_DOMAIN: &str = "hlb-lab-key-id-v1";
/// Prefix of the lab key file's plaintext.
pub const LAB_KEY_HEADER: &str = "hlb-lab-key-v1";

/// Errors about tags and the lab key.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// The tag file could not be read.
    #[error("reading tag file {path}: {source}")]
    Read {
        /// The `.tag` file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The tag file is not in the expected format.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        /// The `.tag` file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// The tag file names another secret (a copied file).
    #[error("{path} is the tag of secret {found:?}, not of this one")]
    WrongName {
        /// The `.tag` file.
        path: PathBuf,
        /// The name inside it.
        found: String,
    },
    /// The lab key plaintext is not `hlb-lab-key-v1 <64 hex>`.
    #[error("the lab key is malformed (expected `{LAB_KEY_HEADER} <64 hex digits>`)")]
    BadLabKey,
}

/// The lab key: 32 secret bytes. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct LabKey(Zeroizing<[u8; 32]>);

impl LabKey {
    /// A lab key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Generates a new lab key (at `hlb secret init`, never in a build).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *key);
        Self(key)
    }

    /// Parses the lab key file's plaintext.
    pub fn parse(text: &Plaintext) -> Result<Self, TagError> {
        let s = std::str::from_utf8(text.expose()).map_err(|_| TagError::BadLabKey)?;
        let hex_part = s
            .strip_prefix(LAB_KEY_HEADER)
            .and_then(|r| r.strip_prefix(' '))
            .map(|r| r.trim_end_matches('\n'))
            .ok_or(TagError::BadLabKey)?;
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_part, &mut *key).map_err(|_| TagError::BadLabKey)?;
        Ok(Self(key))
    }

    /// The lab key file's plaintext, to be age-encrypted as `lab-key.age`.
    pub fn to_file_text(&self) -> Plaintext {
        let mut s = String::with_capacity(LAB_KEY_HEADER.len() + 66);
        s.push_str(LAB_KEY_HEADER);
        s.push(' ');
        s.push_str(&hex::encode(*self.0));
        s.push('\n');
        Plaintext::from(s)
    }

    /// The public identifier of this key (see module docs).
    pub fn id(&self) -> LabKeyId {
        let mut mac = self.mac();
        mac.update(LAB_KEY_ID_DOMAIN.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&out[..8]);
        LabKeyId(id)
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&*self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }
}

impl fmt::Debug for LabKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabKey(<redacted>, id {})", self.id())
    }
}

/// Public 8-byte identifier of a lab key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabKeyId(pub [u8; 8]);

impl fmt::Display for LabKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LabKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabKeyId({self})")
    }
}

/// The tag of one secret. Public: safe to commit, hash and print.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tag {
    name: SecretName,
    lab_key: LabKeyId,
    mac: [u8; 32],
}

fn message_prefix(name: &SecretName) -> Vec<u8> {
    let mut m = Vec::with_capacity(TAG_DOMAIN.len() + 9 + name.as_str().len());
    m.extend_from_slice(TAG_DOMAIN.as_bytes());
    m.push(0);
    m.extend_from_slice(&(name.as_str().len() as u64).to_be_bytes());
    m.extend_from_slice(name.as_str().as_bytes());
    m
}

impl Tag {
    /// Computes the tag of `plaintext` as secret `name` under `lab_key`.
    pub fn compute(lab_key: &LabKey, name: &SecretName, plaintext: &Plaintext) -> Self {
        let mut mac = lab_key.mac();
        mac.update(&message_prefix(name));
        mac.update(plaintext.expose());
        Self {
            name: name.clone(),
            lab_key: lab_key.id(),
            mac: mac.finalize().into_bytes().into(),
        }
    }

    /// Whether `plaintext` is what this tag was computed from, under
    /// `lab_key` (constant-time comparison).
    pub fn verify(&self, lab_key: &LabKey, plaintext: &Plaintext) -> bool {
        if lab_key.id() != self.lab_key {
            return false;
        }
        let mut mac = lab_key.mac();
        mac.update(&message_prefix(&self.name));
        mac.update(plaintext.expose());
        mac.verify_slice(&self.mac).is_ok()
    }

    /// The secret this tag belongs to.
    pub fn name(&self) -> &SecretName {
        &self.name
    }

    /// The lab key it was made with.
    pub fn lab_key_id(&self) -> LabKeyId {
        self.lab_key
    }

    /// The 32 MAC bytes.
    pub fn mac(&self) -> &[u8; 32] {
        &self.mac
    }

    /// The canonical tag file text. Derivation ids hash exactly this
    /// string (it is the whole tag file, so ids change iff the file does).
    pub fn to_file_text(&self) -> String {
        format!(
            "{TAG_DOMAIN}\nname {}\nlab-key {}\nhmac-sha256 {}\n",
            self.name,
            self.lab_key,
            hex::encode(self.mac)
        )
    }

    /// Parses a tag file; `path` is only for errors. Strict: exactly the
    /// four lines of version 1, lowercase hex, trailing newline.
    pub fn parse(path: &Path, text: &str) -> Result<Self, TagError> {
        let bad = |line, reason| TagError::Malformed {
            path: path.to_owned(),
            line,
            reason,
        };
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad(text.lines().count().max(1), "missing final newline"));
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.first() != Some(&TAG_DOMAIN) {
            return Err(bad(
                1,
                "expected `hlb-secret-tag-v1` (unknown tag format version)",
            ));
        }
        if lines.len() != 4 {
            return Err(bad(lines.len().min(5), "expected exactly four lines"));
        }
        let name = lines[1]
            .strip_prefix("name ")
            .and_then(|n| SecretName::new(n).ok())
            .ok_or_else(|| bad(2, "expected `name NAME`"))?;
        let mut lab_key = [0u8; 8];
        lines[2]
            .strip_prefix("lab-key ")
            .filter(|h| is_lower_hex(h))
            .and_then(|h| hex::decode_to_slice(h, &mut lab_key).ok())
            .ok_or_else(|| bad(3, "expected `lab-key <16 hex digits>`"))?;
        let mut mac = [0u8; 32];
        lines[3]
            .strip_prefix("hmac-sha256 ")
            .filter(|h| is_lower_hex(h))
            .and_then(|h| hex::decode_to_slice(h, &mut mac).ok())
            .ok_or_else(|| bad(4, "expected `hmac-sha256 <64 hex digits>`"))?;
        Ok(Self {
            name,
            lab_key: LabKeyId(lab_key),
            mac,
        })
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl LabKey {
    /// `HMAC-SHA256(lab_key, input)`: a PRF for deriving other secrets
    /// (callers put a domain separator first).
    pub fn prf(&self, input: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(input);
        mac.finalize().into_bytes().into()
    }
}
