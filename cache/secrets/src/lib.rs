//! hlb-secrets: the cryptographic core of hlb's secrets.
//!
//! Secrets live in the recipes repository as age files
//! (`secrets/NAME.age`), each with a tag (`secrets/NAME.tag`): an HMAC of
//! the plaintext under the lab key, which is itself an age file. Evaluation
//! reads tags only, so every derivation id is known without an identity;
//! compiling a secret-bearing artifact decrypts in memory. See
//! `docs/secrets.md` for the threat model and the file formats.
//!
//! This crate is pure: no network, no clock, no printing, no environment.
//! Randomness appears only where a caller asks for it (age encryption, key
//! generation at `init`); sealing for Kubernetes is deterministic from an
//! explicit secret seed.
//!
//! Modules:
//! - [`plaintext`]: [`Plaintext`] (zeroizing, redacted) and [`SecretName`].
//! - [`age_file`]: recipients, identities, [`encrypt_to`] / [`decrypt_with`].
//! - [`dir`]: the secrets directory ([`SecretsDir`]), atomic writes, errors
//!   that name the secret and the file.
//! - [`tag`]: [`LabKey`], [`Tag`], the tag file format.
//! - [`rekey`]: all-or-nothing re-encryption with a journal.
//! - [`scan`]: plaintext secrets accidentally put in the recipes tree.
//! - [`seal`]: SealedSecrets (RSA-OAEP + AES-256-GCM), deterministic.
//! - [`sealing_key`]: the controller key pair and certificate.
//! - [`yaml`]: a minimal emitter for the manifests.
//! - [`coredump`]: [`CoreDumpGuard`], no core dumps while secrets are in memory.

pub mod age_file;
pub mod coredump;
pub mod dir;
pub mod plaintext;
pub mod rekey;
pub mod scan;
pub mod seal;
pub mod sealing_key;
pub mod tag;
pub mod yaml;

pub use age_file::{
    AgeError, Armor, Identity, Recipient, decrypt_with, encrypt_to, encrypt_to_with,
    parse_identities, parse_recipients, read_identity_file,
};
pub use coredump::CoreDumpGuard;
pub use dir::{SecretError, SecretsDir};
pub use plaintext::{Plaintext, SecretName};
pub use rekey::{Recovery, RekeyError, RekeyReport, recover, rekey};
pub use scan::{Finding, FindingKind, scan_plaintext};
pub use seal::{Scope, SealError, SealSeed, SecretSpec, seal_secret};
pub use sealing_key::{SealingCertificate, SealingKeyPair, SealingKeyParams, generate_sealing_key};
pub use tag::{LabKey, Tag, TagError};
