//! SealedSecrets: secrets for a Kubernetes cluster, encrypted to the
//! sealed-secrets controller's public key, in the controller's own wire
//! format, and reproducible.
//!
//! Wire format of one value (bitnami sealed-secrets `HybridEncrypt`):
//!
//! ```text
//! u16 big-endian len(R) || R = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session key)
//!                       || AES-256-GCM(session key, nonce = 12 zero bytes, no AAD)(value)
//! ```
//!
//! The 32-byte session key is fresh for every value; the all-zero nonce is
//! safe only because of that. The OAEP label binds a value to its scope:
//! strict `NAMESPACE/NAME`, namespace-wide `NAMESPACE`, cluster-wide empty.
//! `spec.encryptedData` holds each value base64-encoded (standard alphabet).
//!
//! Determinism (design D5): upstream draws the session key and the OAEP
//! seed from the OS. Here both come from a ChaCha20 generator seeded with
//! `HMAC-SHA256(seal_seed, "hlb-seal-v1" 0x00 lp(modulus) lp(label)
//! lp(key) value)` (lp = 8-byte big-endian length, then bytes), where
//! `seal_seed` is a secret the caller derives (see [`SealSeed::derive`]).
//! Why this is safe: (1) each distinct (public key, label, data key,
//! value) gets its own pseudorandom session key, so an AES-GCM key is never
//! used for two different messages and the zero nonce stays single-use;
//! (2) the seed is secret, so the session key and the OAEP randomness are
//! unpredictable to anyone without it, as OAEP requires; (3) the only
//! thing determinism reveals is equality: re-sealing the *same* value for
//! the same scope and key gives the same bytes, which is the point (same
//! inputs, same generation hash).

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::plaintext::Plaintext;
use crate::tag::LabKey;

type HmacSha256 = Hmac<Sha256>;

/// `apiVersion` of a SealedSecret.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// Annotation that makes a SealedSecret namespace-wide.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation that makes a SealedSecret cluster-wide.
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Domain separator of the per-value generator seed.
pub const SEAL_DOMAIN: &str = "hlb-seal-v1";
/// Domain separator of [`SealSeed::derive`].
pub const SEAL_SEED_DOMAIN: &str = "hlb-seal-seed-v1";

const SESSION_KEY_LEN: usize = 32;

/// Errors while sealing or unsealing.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// RSA-OAEP failed (e.g. a key too small for a 32-byte session key).
    #[error("sealing secret {secret}: RSA-OAEP: {reason}")]
    Rsa {
        /// `namespace/name` of the Secret.
        secret: String,
        /// What the RSA layer said.
        reason: String,
    },
    /// Strict and namespace-wide scopes need a namespace.
    #[error("sealing secret {name}: the {scope} scope needs a namespace")]
    NeedsNamespace {
        /// Secret name.
        name: String,
        /// The scope.
        scope: Scope,
    },
    /// A value could not be unsealed.
    #[error("unsealing: {0}")]
    Unseal(&'static str),
}

/// Sealing scope: what the OAEP label binds a value to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Bound to namespace and name (the default).
    Strict,
    /// Bound to the namespace; may be renamed within it.
    NamespaceWide,
    /// Bound to nothing; may be used in any namespace under any name.
    ClusterWide,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        })
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(format!(
                "unknown sealing scope {other:?} (expected strict, namespace-wide or cluster-wide)"
            )),
        }
    }
}

impl Scope {
    /// The annotation (key, "true") that selects this scope, if any.
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }
}

/// The OAEP label for a scope: `namespace/name`, `namespace`, or empty.
pub fn encryption_label(scope: Scope, namespace: &str, name: &str) -> String {
    match scope {
        Scope::Strict => format!("{namespace}/{name}"),
        Scope::NamespaceWide => namespace.to_owned(),
        Scope::ClusterWide => String::new(),
    }
}

/// The secret seed sealing draws its randomness from. Zeroized on drop.
#[derive(Clone)]
pub struct SealSeed(Zeroizing<[u8; 32]>);

impl SealSeed {
    /// A seed from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The recommended seed: `HMAC-SHA256(lab_key, "hlb-seal-seed-v1" 0x00
    /// context)`, with the derivation id as `context`. Secret (needs the lab
    /// key) and stable across rebuilds.
    pub fn derive(lab_key: &LabKey, context: &[u8]) -> Self {
        let mut input = Vec::with_capacity(SEAL_SEED_DOMAIN.len() + 1 + context.len());
        input.extend_from_slice(SEAL_SEED_DOMAIN.as_bytes());
        input.push(0);
        input.extend_from_slice(context);
        Self(Zeroizing::new(lab_key.prf(&input)))
    }
}

impl fmt::Debug for SealSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealSeed(<redacted>)")
    }
}

fn lp(mac: &mut HmacSha256, bytes: &[u8]) {
    mac.update(&(bytes.len() as u64).to_be_bytes());
    mac.update(bytes);
}

fn value_rng(
    seed: &SealSeed,
    key: &RsaPublicKey,
    label: &str,
    data_key: &str,
    value: &[u8],
) -> ChaCha20Rng {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&*seed.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(SEAL_DOMAIN.as_bytes());
    mac.update(&[0]);
    lp(&mut mac, &key.n().to_bytes_be());
    lp(&mut mac, label.as_bytes());
    lp(&mut mac, data_key.as_bytes());
    mac.update(value);
    let mut derived = Zeroizing::new([0u8; 32]);
    derived.copy_from_slice(&mac.finalize().into_bytes());
    ChaCha20Rng::from_seed(*derived)
}

/// Encrypts one value in the sealed-secrets wire format (see module docs).
/// `data_key` is the key of the value in `encryptedData`; it only feeds
/// the seed derivation, so two keys with the same value seal differently.
pub fn hybrid_encrypt(
    public_key: &RsaPublicKey,
    value: &[u8],
    label: &str,
    data_key: &str,
    seed: &SealSeed,
) -> Result<Vec<u8>, SealError> {
    let mut rng = value_rng(seed, public_key, label, data_key, value);
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    rng.fill_bytes(&mut *session_key);
    let rsa_err = |e: rsa::Error| SealError::Rsa {
        secret: label.to_owned(),
        reason: e.to_string(),
    };
    let wrapped = public_key
        .encrypt(
            &mut rng,
            Oaep::new_with_label::<Sha256, _>(label),
            &*session_key,
        )
        .map_err(rsa_err)?;
    let len = u16::try_from(wrapped.len()).map_err(|_| SealError::Rsa {
        secret: label.to_owned(),
        reason: "RSA ciphertext longer than 65535 bytes".into(),
    })?;
    let cipher =
        Aes256Gcm::new_from_slice(&*session_key).unwrap_or_else(|_| unreachable!("32-byte key"));
    let sealed = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), value)
        .map_err(|_| SealError::Unseal("AES-GCM refused the input"))?;
    let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts one value sealed with [`hybrid_encrypt`] (or by kubeseal);
/// used to check a sealing key pair and in tests.
pub fn hybrid_decrypt(
    private_key: &RsaPrivateKey,
    ciphertext: &[u8],
    label: &str,
) -> Result<Plaintext, SealError> {
    let (len, rest) = ciphertext
        .split_first_chunk::<2>()
        .ok_or(SealError::Unseal("value too short"))?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return Err(SealError::Unseal("value too short"));
    }
    let (wrapped, sealed) = rest.split_at(len);
    let session_key = Zeroizing::new(
        private_key
            .decrypt(Oaep::new_with_label::<Sha256, _>(label), wrapped)
            .map_err(|_| SealError::Unseal("RSA-OAEP failed (wrong key or wrong scope label)"))?,
    );
    let cipher = Aes256Gcm::new_from_slice(&session_key)
        .map_err(|_| SealError::Unseal("session key is not 32 bytes"))?;
    cipher
        .decrypt(Nonce::from_slice(&[0u8; 12]), sealed)
        .map(Plaintext::new)
        .map_err(|_| SealError::Unseal("AES-GCM authentication failed"))
}

/// What to seal: a Kubernetes Secret's metadata and data.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (required unless cluster-wide).
    pub namespace: Option<String>,
    /// The sealing scope.
    pub scope: Scope,
    /// `type` of the Secret (`Opaque` when `None`).
    pub secret_type: Option<String>,
    /// Labels for the generated Secret.
    pub labels: BTreeMap<String, String>,
    /// Annotations for the generated Secret (scope annotations are added).
    pub annotations: BTreeMap<String, String>,
    /// The values, by data key.
    pub data: BTreeMap<String, Plaintext>,
}

/// Seals `spec` to `public_key` and returns the SealedSecret manifest.
///
/// Key order is fixed (apiVersion, kind, metadata, spec) and maps are
/// sorted, so the same inputs give the same bytes.
pub fn seal_secret(
    public_key: &RsaPublicKey,
    spec: &SecretSpec,
    seed: &SealSeed,
) -> Result<Value, SealError> {
    let namespace = match (&spec.namespace, spec.scope) {
        (Some(ns), _) => ns.as_str(),
        (None, Scope::ClusterWide) => "",
        (None, scope) => {
            return Err(SealError::NeedsNamespace {
                name: spec.name.clone(),
                scope,
            });
        }
    };
    let label = encryption_label(spec.scope, namespace, &spec.name);
    let mut encrypted = Map::new();
    for (key, value) in &spec.data {
        let sealed =
            hybrid_encrypt(public_key, value.expose(), &label, key, seed).map_err(|e| match e {
                SealError::Rsa { reason, .. } => SealError::Rsa {
                    secret: format!("{namespace}/{}", spec.name),
                    reason,
                },
                other => other,
            })?;
        encrypted.insert(
            key.clone(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(sealed)),
        );
    }
    let mut annotations = spec.annotations.clone();
    annotations.remove(NAMESPACE_WIDE_ANNOTATION);
    annotations.remove(CLUSTER_WIDE_ANNOTATION);
    if let Some(a) = spec.scope.annotation() {
        annotations.insert(a.to_owned(), "true".to_owned());
    }
    let metadata = |with_labels: bool| {
        let mut m = Map::new();
        m.insert("name".into(), json!(spec.name));
        if let Some(ns) = &spec.namespace {
            m.insert("namespace".into(), json!(ns));
        }
        if with_labels && !spec.labels.is_empty() {
            m.insert("labels".into(), json!(spec.labels));
        }
        if !annotations.is_empty() {
            m.insert("annotations".into(), json!(annotations));
        }
        Value::Object(m)
    };
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": "SealedSecret",
        "metadata": metadata(false),
        "spec": {
            "encryptedData": Value::Object(encrypted),
            "template": {
                "metadata": metadata(true),
                "type": spec.secret_type.as_deref().unwrap_or("Opaque"),
            },
        },
    }))
}
