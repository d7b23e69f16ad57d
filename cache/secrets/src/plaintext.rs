//! Secret bytes in memory, and the names secrets go by.
//!
//! Why: the one rule every other module leans on is that plaintext cannot
//! leak by accident. [`Plaintext`] owns its bytes in a zeroizing buffer
//! (wiped on drop), has no `Display`, and its `Debug` prints `<redacted>`,
//! so a `{:?}` in a log line or an error chain never shows a secret. The
//! bytes are reachable only through [`Plaintext::expose`], which is easy to
//! grep for in review.
//!
//! [`SecretName`] is the validated name of a secret file in the recipes
//! repository (`secrets/NAME.age`). Names are flat (no `/`), so a name can
//! never climb out of the secrets directory.

use std::fmt;

use zeroize::Zeroizing;

/// Secret bytes: zeroized on drop, redacted in `Debug`, never `Display`.
///
/// Invariant: no method of this type returns or formats the bytes except
/// [`Plaintext::expose`].
#[derive(Clone, Default)]
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    /// Wraps bytes that are already in memory; the vector is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies a slice into a new zeroizing buffer.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret bytes. Every call site is a place where plaintext is used.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes (not secret: the age file leaks it too).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality, for tests and verification; there is no
    /// `PartialEq` so that `assert_eq!` cannot print a secret on failure.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        if self.0.len() != other.len() {
            return false;
        }
        let mut diff = 0u8;
        for (a, b) in self.0.iter().zip(other) {
            diff |= a ^ b;
        }
        diff == 0
    }
}

impl From<Vec<u8>> for Plaintext {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<String> for Plaintext {
    fn from(text: String) -> Self {
        Self::new(text.into_bytes())
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plaintext(<redacted>)")
    }
}

/// Longest secret name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// A validated secret name: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most
/// [`MAX_NAME_LEN`] bytes, not ending in `.age` or `.tag`.
///
/// Names are not secret; they appear in file names, tags and errors.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SecretName(String);

/// Why a string is not a valid secret name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid secret name {name:?}: {reason}")]
pub struct InvalidName {
    /// The rejected input.
    pub name: String,
    /// What rule it broke.
    pub reason: &'static str,
}

impl SecretName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, InvalidName> {
        let fail = |reason| {
            Err(InvalidName {
                name: name.chars().take(MAX_NAME_LEN + 8).collect(),
                reason,
            })
        };
        let Some(first) = name.bytes().next() else {
            return fail("it is empty");
        };
        if name.len() > MAX_NAME_LEN {
            return fail("it is longer than 128 bytes");
        }
        if !first.is_ascii_alphanumeric() {
            return fail("it must start with a letter or digit");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return fail("only letters, digits, '.', '_' and '-' are allowed");
        }
        if name.ends_with(".age") || name.ends_with(".tag") {
            return fail("it must not end in .age or .tag (give the name without the extension)");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SecretName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
