//! The secrets directory of a recipes repository (`recipes/secrets/`), and
//! atomic file writes.
//!
//! Layout (flat, one pair of files a secret):
//!
//! ```text
//! secrets/
//!   recipients.txt     who secrets are encrypted to (age -R format, public)
//!   lab-key.age        the lab key, age-encrypted (see crate::tag)
//!   NAME.age           the secret, age-encrypted, armored
//!   NAME.tag           its tag: HMAC of the plaintext under the lab key
//! ```
//!
//! Why: every error about a secret names the secret *and* the file, which
//! only this layer knows. Invariants: files are replaced atomically (temp
//! file in the same directory, fsync, rename, fsync of the directory); no
//! plaintext is ever written here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hlb_cache::fsx::write_atomic;

use crate::age_file::{self, AgeError, Armor, Identity, Recipient};
use crate::plaintext::{Plaintext, SecretName};
use crate::tag::{LabKey, LabKeyId, Tag, TagError};

/// Name under which the lab key is stored (`lab-key.age`); it has no tag.
pub const LAB_KEY_NAME: &str = "lab-key";
/// File listing the recipients (public keys) secrets are encrypted to.
pub const RECIPIENTS_FILE: &str = "recipients.txt";

/// Errors about one secret in a secrets directory.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The `.age` file does not exist.
    #[error("secret {name}: {path} does not exist (create it with `hlb secret set {name}`)")]
    Missing {
        /// The secret.
        name: SecretName,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("secret {name}: {op} {path}: {source}")]
    Io {
        /// The secret.
        name: SecretName,
        /// What was being done ("reading", "writing", …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// age failed (wrong identity, corrupt or truncated file, …).
    #[error("secret {name}: decrypting {path}: {source}")]
    Decrypt {
        /// The secret.
        name: SecretName,
        /// The `.age` file.
        path: PathBuf,
        /// What age said.
        source: AgeError,
    },
    /// Encrypting failed.
    #[error("secret {name}: encrypting for {path}: {source}")]
    Encrypt {
        /// The secret.
        name: SecretName,
        /// The `.age` file to be written.
        path: PathBuf,
        /// What age said.
        source: AgeError,
    },
    /// The `.tag` file is missing or malformed.
    #[error("secret {name}: {source}")]
    Tag {
        /// The secret.
        name: SecretName,
        /// The tag problem (names the file).
        source: TagError,
    },
    /// The tag was made with another lab key (the lab key was rotated and
    /// this secret was not re-tagged).
    #[error(
        "secret {name}: {tag_path} was made with lab key {tag_lab_key}, the lab key is {lab_key} (set it again with `hlb secret set {name}`)"
    )]
    StaleTag {
        /// The secret.
        name: SecretName,
        /// The `.tag` file.
        tag_path: PathBuf,
        /// Lab key id in the tag file.
        tag_lab_key: LabKeyId,
        /// Id of the lab key in use.
        lab_key: LabKeyId,
    },
    /// The tag does not match the decrypted plaintext: the `.age` file was
    /// changed without `hlb secret set`, or the tag was.
    #[error(
        "secret {name}: {tag_path} does not match {age_path} (re-run `hlb secret set {name}` or `hlb secret retag`)"
    )]
    TagMismatch {
        /// The secret.
        name: SecretName,
        /// The `.tag` file.
        tag_path: PathBuf,
        /// The `.age` file.
        age_path: PathBuf,
    },
}

/// A secrets directory. Holds only its path; every call goes to the files.
#[derive(Debug, Clone)]
pub struct SecretsDir {
    root: PathBuf,
}

impl SecretsDir {
    /// A secrets directory at `root` (need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/NAME.age`.
    pub fn age_path(&self, name: &SecretName) -> PathBuf {
        self.root.join(format!("{name}.age"))
    }

    /// `ROOT/NAME.tag`.
    pub fn tag_path(&self, name: &SecretName) -> PathBuf {
        self.root.join(format!("{name}.tag"))
    }

    /// The lab key's name.
    pub fn lab_key_name() -> SecretName {
        SecretName::new(LAB_KEY_NAME).unwrap_or_else(|_| unreachable!("constant is valid"))
    }

    /// Reads the recipients file (`ROOT/recipients.txt`).
    pub fn recipients(&self) -> Result<Vec<Recipient>, RecipientsError> {
        let path = self.root.join(RECIPIENTS_FILE);
        let text = fs::read_to_string(&path).map_err(|source| RecipientsError::Read {
            path: path.clone(),
            source,
        })?;
        age_file::parse_recipients(&path.display().to_string(), &text)
            .map_err(RecipientsError::Parse)
    }

    /// Secret names that have an `.age` file, sorted.
    pub fn list(&self) -> io::Result<Vec<SecretName>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let file_name = entry?.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if let Some(stem) = file_name.strip_suffix(".age")
                && let Ok(name) = SecretName::new(stem)
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Decrypts `NAME.age` with `identities`, in memory.
    pub fn read(
        &self,
        name: &SecretName,
        identities: &[Identity],
    ) -> Result<Plaintext, SecretError> {
        let path = self.age_path(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SecretError::Missing {
                    name: name.clone(),
                    path,
                });
            }
            Err(source) => {
                return Err(SecretError::Io {
                    name: name.clone(),
                    op: "reading",
                    path,
                    source,
                });
            }
        };
        age_file::decrypt_with(identities, &bytes).map_err(|source| SecretError::Decrypt {
            name: name.clone(),
            path,
            source,
        })
    }

    /// Encrypts `plaintext` to `recipients` and atomically replaces
    /// `NAME.age` (armored).
    pub fn write(
        &self,
        name: &SecretName,
        recipients: &[Recipient],
        plaintext: &Plaintext,
    ) -> Result<(), SecretError> {
        let path = self.age_path(name);
        let bytes =
            age_file::encrypt_to_with(recipients, plaintext, Armor::Armored).map_err(|source| {
                SecretError::Encrypt {
                    name: name.clone(),
                    path: path.clone(),
                    source,
                }
            })?;
        write_atomic(&path, &bytes).map_err(|e| SecretError::Io {
            name: name.clone(),
            op: "writing",
            path,
            source: e.source,
        })
    }

    /// Sets a secret: writes `NAME.age` and then `NAME.tag` (tag under
    /// `lab_key`). Returns the tag. If interrupted between the two, the
    /// next [`SecretsDir::verify`] reports the mismatch.
    pub fn set(
        &self,
        name: &SecretName,
        recipients: &[Recipient],
        lab_key: &LabKey,
        plaintext: &Plaintext,
    ) -> Result<Tag, SecretError> {
        self.write(name, recipients, plaintext)?;
        let tag = Tag::compute(lab_key, name, plaintext);
        let tag_path = self.tag_path(name);
        write_atomic(&tag_path, tag.to_file_text().as_bytes()).map_err(|e| SecretError::Io {
            name: name.clone(),
            op: "writing",
            path: tag_path,
            source: e.source,
        })?;
        Ok(tag)
    }

    /// Reads `NAME.tag` without any key: what evaluation uses.
    pub fn read_tag(&self, name: &SecretName) -> Result<Tag, SecretError> {
        let path = self.tag_path(name);
        let text = fs::read_to_string(&path).map_err(|source| SecretError::Tag {
            name: name.clone(),
            source: TagError::Read {
                path: path.clone(),
                source,
            },
        })?;
        let tag = Tag::parse(&path, &text).map_err(|source| SecretError::Tag {
            name: name.clone(),
            source,
        })?;
        if tag.name() != name {
            return Err(SecretError::Tag {
                name: name.clone(),
                source: TagError::WrongName {
                    path,
                    found: tag.name().to_string(),
                },
            });
        }
        Ok(tag)
    }

    /// Reads the lab key (`lab-key.age`).
    pub fn read_lab_key(&self, identities: &[Identity]) -> Result<LabKey, SecretError> {
        let name = Self::lab_key_name();
        let text = self.read(&name, identities)?;
        LabKey::parse(&text).map_err(|source| SecretError::Tag { name, source })
    }

    /// Decrypts `NAME.age` and checks it against `NAME.tag`: what compiling
    /// a secret-bearing artifact does, so the plaintext used is the one the
    /// derivation id was computed from.
    pub fn read_verified(
        &self,
        name: &SecretName,
        identities: &[Identity],
        lab_key: &LabKey,
    ) -> Result<Plaintext, SecretError> {
        let tag = self.read_tag(name)?;
        if tag.lab_key_id() != lab_key.id() {
            return Err(SecretError::StaleTag {
                name: name.clone(),
                tag_path: self.tag_path(name),
                tag_lab_key: tag.lab_key_id(),
                lab_key: lab_key.id(),
            });
        }
        let plaintext = self.read(name, identities)?;
        if !tag.verify(lab_key, &plaintext) {
            return Err(SecretError::TagMismatch {
                name: name.clone(),
                tag_path: self.tag_path(name),
                age_path: self.age_path(name),
            });
        }
        Ok(plaintext)
    }
}

/// Errors reading the recipients file.
#[derive(Debug, thiserror::Error)]
pub enum RecipientsError {
    /// The file could not be read.
    #[error("reading recipients file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A line is not a recipient.
    #[error(transparent)]
    Parse(AgeError),
}

/// fsyncs a directory so renames in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
