//! age v1 encryption and decryption: recipients, identities, and the two
//! byte-level helpers everything else uses, [`encrypt_to`] and
//! [`decrypt_with`].
//!
//! Why a wrapper over the `age` crate: hlb accepts exactly two key kinds
//! (native X25519 `age1…` and OpenSSH `ssh-ed25519`/`ssh-rsa`), names the
//! file an identity came from in every error, and keeps decrypted bytes in
//! a [`Plaintext`] from the first byte read. Files written here are plain
//! age v1, so the `age` command line tool reads them and vice versa.
//!
//! Invariants: decryption output is read straight into a zeroizing buffer
//! whose capacity is reserved up front (the plaintext is never longer than
//! the ciphertext), so no reallocation leaves a stray copy on the heap.
//! Error values never carry plaintext or key material.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::plaintext::Plaintext;

/// Errors from parsing keys or running age.
#[derive(Debug, thiserror::Error)]
pub enum AgeError {
    /// A recipient string is neither `age1…` nor an OpenSSH public key.
    #[error(
        "{source_name}:{line}: not an age or ssh recipient (expected `age1…` or `ssh-ed25519 …`)"
    )]
    BadRecipient {
        /// File (or other source) the recipient came from.
        source_name: String,
        /// 1-based line number.
        line: usize,
    },
    /// An identity file could not be parsed.
    #[error("identity file {path}: {reason}")]
    BadIdentity {
        /// The identity file.
        path: PathBuf,
        /// What is wrong (never contains key material).
        reason: String,
    },
    /// Reading an identity file failed.
    #[error("reading identity file {path}: {source}")]
    ReadIdentity {
        /// The identity file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// No recipients were given to encrypt to.
    #[error("no recipients to encrypt to")]
    NoRecipients,
    /// No identities were given to decrypt with.
    #[error("no identities to decrypt with (set HLB_AGE_IDENTITY or pass --identity)")]
    NoIdentities,
    /// age refused the recipient set.
    #[error("encrypting: {0}")]
    Encrypt(String),
    /// None of the identities matches any recipient stanza of the file.
    #[error("no configured identity can decrypt it (the file is encrypted to other recipients)")]
    NoMatchingIdentity,
    /// The bytes are not a well-formed age file, or fail authentication.
    #[error("corrupt or truncated age file: {0}")]
    Corrupt(String),
}

/// Someone a secret is encrypted to: a public key. Not secret.
#[derive(Clone)]
pub enum Recipient {
    /// Native age X25519 recipient (`age1…`).
    X25519(age::x25519::Recipient),
    /// OpenSSH public key (`ssh-ed25519 …` or `ssh-rsa …`).
    Ssh(age::ssh::Recipient),
}

impl Recipient {
    fn as_dyn(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        }
    }
}

impl FromStr for Recipient {
    type Err = AgeError;
    /// Parses one recipient; the source in the error is `<argument>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_recipient(s.trim()).ok_or(AgeError::BadRecipient {
            source_name: "<argument>".into(),
            line: 1,
        })
    }
}

fn parse_recipient(s: &str) -> Option<Recipient> {
    if s.starts_with("age1") {
        s.parse().ok().map(Recipient::X25519)
    } else if s.starts_with("ssh-") {
        s.parse().ok().map(Recipient::Ssh)
    } else {
        None
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::X25519(r) => write!(f, "{r}"),
            Recipient::Ssh(r) => write!(f, "{r}"),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

/// Parses a recipients file: one recipient a line, `#` comments and blank
/// lines ignored (the format of `age -R`). `source_name` names the file in
/// errors.
pub fn parse_recipients(source_name: &str, text: &str) -> Result<Vec<Recipient>, AgeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(line).ok_or(AgeError::BadRecipient {
            source_name: source_name.to_owned(),
            line: i + 1,
        })?);
    }
    Ok(out)
}

enum IdentityKind {
    X25519(age::x25519::Identity),
    Ssh(age::ssh::Identity),
}

/// A private key that can decrypt, with the file it came from.
/// `Debug` shows the kind and the file, never the key.
pub struct Identity {
    kind: IdentityKind,
    source: PathBuf,
}

impl Identity {
    fn as_dyn(&self) -> &dyn age::Identity {
        match &self.kind {
            IdentityKind::X25519(i) => i,
            IdentityKind::Ssh(i) => i,
        }
    }

    /// The file this identity was loaded from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The public half, to encrypt to oneself.
    pub fn to_recipient(&self) -> Option<Recipient> {
        match &self.kind {
            IdentityKind::X25519(i) => Some(Recipient::X25519(i.to_public())),
            IdentityKind::Ssh(i) => age::ssh::Recipient::try_from(i.clone())
                .ok()
                .map(Recipient::Ssh),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            IdentityKind::X25519(_) => "x25519",
            IdentityKind::Ssh(_) => "ssh",
        };
        write!(
            f,
            "Identity({kind}, <redacted>, from {})",
            self.source.display()
        )
    }
}

/// A freshly generated X25519 identity: the identity file text (secret)
/// and its recipient (public).
#[derive(Debug)]
pub struct GeneratedIdentity {
    /// Contents for an identity file (`AGE-SECRET-KEY-1…` plus a comment line).
    pub identity_file: Plaintext,
    /// The matching recipient.
    pub recipient: Recipient,
}

/// Generates a new X25519 identity from the OS RNG (for `hlb secret init`;
/// never called during a build).
pub fn generate_x25519_identity() -> GeneratedIdentity {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public();
    let secret = id.to_string();
    let text = format!("# public key: {recipient}\n{}\n", secret.expose_secret());
    GeneratedIdentity {
        identity_file: Plaintext::from(text),
        recipient: Recipient::X25519(recipient),
    }
}

/// Parses identities from the bytes of an identity file at `path`: an age
/// identity file (`AGE-SECRET-KEY-1…` lines, `#` comments) or an unencrypted
/// OpenSSH private key. Passphrase-protected ssh keys are refused with an
/// error saying so (the build has no terminal to ask on).
pub fn parse_identities(path: &Path, bytes: &[u8]) -> Result<Vec<Identity>, AgeError> {
    let bad = |reason: &str| AgeError::BadIdentity {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text"))?;
    if text.trim_start().starts_with("-----BEGIN") {
        let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
            .map_err(|_| bad("not a supported OpenSSH private key"))?;
        return match id {
            age::ssh::Identity::Unencrypted(_) => Ok(vec![Identity {
                kind: IdentityKind::Ssh(id),
                source: path.to_owned(),
            }]),
            age::ssh::Identity::Encrypted(_) => Err(bad(
                "the ssh key is passphrase-protected; use an unencrypted key or an age identity file",
            )),
            age::ssh::Identity::Unsupported(_) => Err(bad("unsupported ssh key type")),
        };
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = age::x25519::Identity::from_str(line).map_err(|_| AgeError::BadIdentity {
            path: path.to_owned(),
            reason: format!("line {}: not an AGE-SECRET-KEY-1 identity", i + 1),
        })?;
        out.push(Identity {
            kind: IdentityKind::X25519(id),
            source: path.to_owned(),
        });
    }
    if out.is_empty() {
        return Err(bad("contains no identity"));
    }
    Ok(out)
}

/// Reads and parses an identity file. The file bytes are held in a
/// zeroizing buffer while parsed.
pub fn read_identity_file(path: &Path) -> Result<Vec<Identity>, AgeError> {
    let mut buf = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|source| AgeError::ReadIdentity {
            path: path.to_owned(),
            source,
        })?;
    parse_identities(path, &buf)
}

/// Where to look for identities, in order, given what the CLI knows:
/// `--identity` (wins alone), else `HLB_AGE_IDENTITY`, else
/// `~/.ssh/id_ed25519`. Pure: the caller reads the environment.
pub fn identity_search_path(
    explicit: Option<&Path>,
    env_value: Option<&OsStr>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_owned()];
    }
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        return vec![PathBuf::from(v)];
    }
    home.map(|h| vec![h.join(".ssh").join("id_ed25519")])
        .unwrap_or_default()
}

/// Whether to ASCII-armor the output (`-----BEGIN AGE ENCRYPTED FILE-----`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Armor {
    /// Binary age v1 (store artifacts).
    Binary,
    /// PEM-style armor (files committed to git: diffable as text).
    Armored,
}

/// Encrypts `plaintext` to every recipient; returns binary age v1.
pub fn encrypt_to(recipients: &[Recipient], plaintext: &Plaintext) -> Result<Vec<u8>, AgeError> {
    encrypt_to_with(recipients, plaintext, Armor::Binary)
}

/// Encrypts `plaintext` to every recipient, armored or not.
pub fn encrypt_to_with(
    recipients: &[Recipient],
    plaintext: &Plaintext,
    armor: Armor,
) -> Result<Vec<u8>, AgeError> {
    if recipients.is_empty() {
        return Err(AgeError::NoRecipients);
    }
    let enc = age::Encryptor::with_recipients(recipients.iter().map(Recipient::as_dyn))
        .map_err(|e| AgeError::Encrypt(e.to_string()))?;
    let format = match armor {
        Armor::Binary => age::armor::Format::Binary,
        Armor::Armored => age::armor::Format::AsciiArmor,
    };
    let io_err = |e: io::Error| AgeError::Encrypt(e.to_string());
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let armored = age::armor::ArmoredWriter::wrap_output(&mut out, format).map_err(io_err)?;
    let mut writer = enc.wrap_output(armored).map_err(io_err)?;
    writer.write_all(plaintext.expose()).map_err(io_err)?;
    writer
        .finish()
        .and_then(|armored| armored.finish())
        .map_err(io_err)?;
    Ok(out)
}

/// Decrypts an age v1 file (binary or armored) with the first identity
/// that matches.
pub fn decrypt_with(identities: &[Identity], ciphertext: &[u8]) -> Result<Plaintext, AgeError> {
    if identities.is_empty() {
        return Err(AgeError::NoIdentities);
    }
    let reader = age::armor::ArmoredReader::new(io::BufReader::new(ciphertext));
    let dec = age::Decryptor::new_buffered(reader).map_err(map_decrypt_error)?;
    let mut stream = dec
        .decrypt(identities.iter().map(Identity::as_dyn))
        .map_err(map_decrypt_error)?;
    // Plaintext is shorter than the ciphertext, so this never reallocates.
    let mut buf = Vec::with_capacity(ciphertext.len());
    let result = stream.read_to_end(&mut buf);
    let buf = Plaintext::new(buf);
    result.map_err(|e| AgeError::Corrupt(e.to_string()))?;
    Ok(buf)
}

fn map_decrypt_error(e: age::DecryptError) -> AgeError {
    match e {
        age::DecryptError::NoMatchingKeys => AgeError::NoMatchingIdentity,
        other => AgeError::Corrupt(other.to_string()),
    }
}

/// Whether bytes look like an age file (binary or armored) at all.
pub fn looks_like_age(bytes: &[u8]) -> bool {
    let start: &[u8] = {
        let mut r = bytes;
        while let Some((b, rest)) = r.split_first() {
            if b.is_ascii_whitespace() {
                r = rest;
            } else {
                break;
            }
        }
        r
    };
    start.starts_with(b"age-encryption.org/v1\n")
        || start.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}
