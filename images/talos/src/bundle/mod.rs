//! The cluster's secrets bundle, in `talosctl gen secrets` format.
//!
//! Why this exists: every machine config of a Talos cluster is derived from
//! one bundle of secrets (cluster identity, tokens, four CAs, the
//! service-account key). Users coming from talosctl or talhelper already
//! have one; hlb reads it ([`SecretsBundle::parse`]), writes it back
//! byte for byte in the same layout ([`SecretsBundle::to_yaml`]), and can
//! make a new one ([`generate`]) with the key types and certificate
//! properties Talos uses.
//!
//! Invariants:
//! - a [`SecretsBundle`] value has passed validation: every field is present,
//!   every certificate and key parses, and each CA key matches its
//!   certificate (the only ways to get one are `parse` and `generate`, or
//!   building the struct by hand, which [`SecretsBundle::validate`] checks);
//! - certificate and key fields hold **PEM text**; the YAML form holds
//!   base64 of that PEM (as Talos's `[]byte` fields marshal);
//! - nothing here reads the clock or the OS RNG: generation takes the RNG
//!   and the issue time from the caller (design D5).

pub mod pki;
mod read;
pub mod talosconfig;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hlb_images::yaml::{Style, Yaml, emit};
use rand_core::CryptoRngCore;

use crate::r#gen::Contract;
pub use pki::PkiError;
use pki::{CertKind, PrivateKey, Subject};
pub use talosconfig::{ADMIN_CERT_VALIDITY, AdminCertRequest, TalosconfigInput};

/// The whole bundle, fields in Talos's order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretsBundle {
    pub cluster: ClusterSecrets,
    pub secrets: Secrets,
    #[serde(rename = "trustdinfo")]
    pub trustd_info: TrustdInfo,
    pub certs: Certs,
}

/// Cluster identity: `id` is base64url of 32 random bytes, `secret` base64 of 32.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterSecrets {
    pub id: String,
    pub secret: String,
}

/// Kubernetes secrets. Exactly one of the two encryption secrets is set:
/// secretbox for every contract after v1.2, AES-CBC before.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secrets {
    #[serde(rename = "bootstraptoken")]
    pub bootstrap_token: String,
    #[serde(
        rename = "aescbcencryptionsecret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aescbc_encryption_secret: Option<String>,
    #[serde(
        rename = "secretboxencryptionsecret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secretbox_encryption_secret: Option<String>,
}

/// The token nodes use to request certificates from trustd.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrustdInfo {
    pub token: String,
}

/// The certificate authorities and the service-account key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Certs {
    pub etcd: CertAndKey,
    pub k8s: CertAndKey,
    #[serde(rename = "k8saggregator")]
    pub k8s_aggregator: CertAndKey,
    #[serde(rename = "k8sserviceaccount")]
    pub k8s_service_account: KeyOnly,
    pub os: CertAndKey,
}

/// A certificate and its private key, both PEM text (base64 of the PEM in
/// YAML and in serde forms, as Talos writes them).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertAndKey {
    #[serde(with = "b64")]
    pub crt: String,
    #[serde(with = "b64")]
    pub key: String,
}

/// A private key alone (PEM text).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyOnly {
    #[serde(with = "b64")]
    pub key: String,
}

// Key material never appears in debug output.
impl std::fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAndKey")
            .field("crt", &format_args!("<{} bytes of PEM>", self.crt.len()))
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for ClusterSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The id is public (nodes advertise it); the secret is not.
        f.debug_struct("ClusterSecrets")
            .field("id", &self.id)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<redacted>" } else { "none" };
        f.debug_struct("Secrets")
            .field("bootstrap_token", &format_args!("<redacted>"))
            .field(
                "aescbc_encryption_secret",
                &format_args!("{}", set(&self.aescbc_encryption_secret)),
            )
            .field(
                "secretbox_encryption_secret",
                &format_args!("{}", set(&self.secretbox_encryption_secret)),
            )
            .finish()
    }
}

impl std::fmt::Debug for TrustdInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustdInfo")
            .field("token", &format_args!("<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for KeyOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyOnly")
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

impl CertAndKey {
    /// The certificate PEM as base64 (the form machine configs carry).
    pub fn crt_base64(&self) -> String {
        STANDARD.encode(self.crt.as_bytes())
    }

    /// The key PEM as base64.
    pub fn key_base64(&self) -> String {
        STANDARD.encode(self.key.as_bytes())
    }
}

impl KeyOnly {
    pub fn key_base64(&self) -> String {
        STANDARD.encode(self.key.as_bytes())
    }
}

/// serde for PEM fields: base64 of the PEM text, as Go marshals `[]byte`.
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: serde::Serializer>(pem: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(pem.as_bytes()))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))?;
        String::from_utf8(bytes).map_err(|_| serde::de::Error::custom("not PEM text"))
    }
}

/// One thing wrong with a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the field (`certs.etcd.key`).
    pub path: String,
    /// `line:column` in the source, when the field was present.
    pub at: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("reading secrets bundle: {0}")]
    Yaml(#[from] hlb_images::yaml::YamlError),
    #[error("reading secrets bundle: {0}")]
    Shape(String),
    #[error("invalid secrets bundle ({n} problem{s}):{list}", n = .0.len(), s = if .0.len() == 1 { "" } else { "s" }, list = .0.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Invalid(Vec<Problem>),
    /// A request that cannot be honoured (admin certificate, talosconfig).
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Pki {
        what: &'static str,
        #[source]
        source: PkiError,
    },
}

impl SecretsBundle {
    /// Read a bundle (`talosctl gen secrets` YAML) and validate it. Every
    /// problem found is reported, each with its field path and position.
    pub fn parse(text: &str) -> Result<SecretsBundle, BundleError> {
        read::read(text)
    }

    /// Check what Talos checks (every field present, exactly one encryption
    /// secret, certificates and keys parse) and more: keys match their
    /// certificates, tokens have kubeadm's `[0-9a-z]{6}.[0-9a-z]{16}` form,
    /// and the CA certificates are CAs.
    pub fn validate(&self) -> Result<(), BundleError> {
        let mut problems = Vec::new();
        let mut need = |path: &str, value: &str| {
            if value.is_empty() {
                problems.push(Problem {
                    path: path.to_string(),
                    at: None,
                    message: "is required".to_string(),
                });
            }
        };
        need("cluster.id", &self.cluster.id);
        need("cluster.secret", &self.cluster.secret);
        need("secrets.bootstraptoken", &self.secrets.bootstrap_token);
        need("trustdinfo.token", &self.trustd_info.token);
        for (name, ck) in [
            ("etcd", &self.certs.etcd),
            ("k8s", &self.certs.k8s),
            ("k8saggregator", &self.certs.k8s_aggregator),
            ("os", &self.certs.os),
        ] {
            need(&format!("certs.{name}.crt"), &ck.crt);
            need(&format!("certs.{name}.key"), &ck.key);
        }
        need(
            "certs.k8sserviceaccount.key",
            &self.certs.k8s_service_account.key,
        );
        if self.secrets.aescbc_encryption_secret.is_none()
            && self.secrets.secretbox_encryption_secret.is_none()
        {
            problems.push(Problem {
                path: "secrets".to_string(),
                at: None,
                message: "one of secretboxencryptionsecret, aescbcencryptionsecret is required"
                    .to_string(),
            });
        }
        read::check_semantics(self, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BundleError::Invalid(problems))
        }
    }

    /// The bundle as `talosctl gen secrets` writes it (go-yaml v3, 4-space
    /// indent, PEM fields as base64).
    pub fn to_yaml(&self) -> String {
        emit(&self.to_yaml_tree(), &Style::TALOS)
    }

    fn to_yaml_tree(&self) -> Yaml {
        let cert = |c: &CertAndKey| Yaml::map([("crt", c.crt_base64()), ("key", c.key_base64())]);
        let mut secrets = vec![("bootstraptoken", Yaml::str(&self.secrets.bootstrap_token))];
        if let Some(s) = &self.secrets.aescbc_encryption_secret {
            secrets.push(("aescbcencryptionsecret", Yaml::str(s)));
        }
        if let Some(s) = &self.secrets.secretbox_encryption_secret {
            secrets.push(("secretboxencryptionsecret", Yaml::str(s)));
        }
        Yaml::map([
            (
                "cluster",
                Yaml::map([
                    ("id", self.cluster.id.as_str()),
                    ("secret", self.cluster.secret.as_str()),
                ]),
            ),
            ("secrets", Yaml::map(secrets)),
            (
                "trustdinfo",
                Yaml::map([("token", self.trustd_info.token.as_str())]),
            ),
            (
                "certs",
                Yaml::map([
                    ("etcd", cert(&self.certs.etcd)),
                    ("k8s", cert(&self.certs.k8s)),
                    ("k8saggregator", cert(&self.certs.k8s_aggregator)),
                    (
                        "k8sserviceaccount",
                        Yaml::map([("key", self.certs.k8s_service_account.key_base64())]),
                    ),
                    ("os", cert(&self.certs.os)),
                ]),
            ),
        ])
    }
}

/// Make a new bundle as `talosctl gen secrets` does for `contract`: the
/// etcd, Kubernetes and aggregator CAs (ECDSA P-256, subjects `O=etcd`,
/// `O=kubernetes`, `CN=front-proxy`), the service-account key (ECDSA P-256),
/// the OS CA (Ed25519, `O=talos`), all CAs valid for 87600h from
/// `issued_at` (seconds since the Unix epoch); then the bootstrap token,
/// the secretbox secret, the trustd token, the cluster id and secret.
/// All randomness comes from `rng`, drawn in that order.
pub fn generate(
    rng: &mut impl CryptoRngCore,
    issued_at: u64,
    contract: Contract,
) -> Result<SecretsBundle, BundleError> {
    let not_after = issued_at
        .checked_add(pki::CA_VALIDITY.as_secs())
        .ok_or(BundleError::Pki {
            what: "issue time",
            source: PkiError::Time(issued_at),
        })?;
    let _ = contract; // every supported contract (>= v1.12) uses ECDSA and secretbox
    let etcd_key = PrivateKey::generate_ecdsa(rng);
    let etcd = ca(
        rng,
        issued_at,
        not_after,
        "etcd CA",
        Subject::organization("etcd"),
        etcd_key,
    )?;
    let k8s_key = PrivateKey::generate_ecdsa(rng);
    let k8s = ca(
        rng,
        issued_at,
        not_after,
        "Kubernetes CA",
        Subject::organization("kubernetes"),
        k8s_key,
    )?;
    let agg_key = PrivateKey::generate_ecdsa(rng);
    let k8s_aggregator = ca(
        rng,
        issued_at,
        not_after,
        "aggregator CA",
        Subject::common_name("front-proxy"),
        agg_key,
    )?;
    let sa = PrivateKey::generate_ecdsa(rng)
        .to_pem()
        .map_err(|source| BundleError::Pki {
            what: "service-account key",
            source,
        })?;
    let os_key = PrivateKey::generate_ed25519(rng);
    let os = ca(
        rng,
        issued_at,
        not_after,
        "OS CA",
        Subject::organization("talos"),
        os_key,
    )?;
    let bootstrap_token = token(rng);
    let secretbox = STANDARD.encode(random_bytes::<32>(rng));
    let trustd = token(rng);
    let id = URL_SAFE.encode(random_bytes::<32>(rng));
    let secret = STANDARD.encode(random_bytes::<32>(rng));
    let bundle = SecretsBundle {
        cluster: ClusterSecrets { id, secret },
        secrets: Secrets {
            bootstrap_token,
            aescbc_encryption_secret: None,
            secretbox_encryption_secret: Some(secretbox),
        },
        trustd_info: TrustdInfo { token: trustd },
        certs: Certs {
            etcd,
            k8s,
            k8s_aggregator,
            k8s_service_account: KeyOnly { key: sa },
            os,
        },
    };
    bundle.validate()?;
    Ok(bundle)
}

/// A self-signed CA for `key`, as PEM certificate and key.
fn ca(
    rng: &mut impl CryptoRngCore,
    not_before: u64,
    not_after: u64,
    what: &'static str,
    subject: Subject,
    key: PrivateKey,
) -> Result<CertAndKey, BundleError> {
    let crt = pki::issue(
        rng,
        CertKind::Ca,
        &subject,
        &key,
        None,
        not_before,
        not_after,
    )
    .map_err(|source| BundleError::Pki { what, source })?;
    let key = key
        .to_pem()
        .map_err(|source| BundleError::Pki { what, source })?;
    Ok(CertAndKey { crt, key })
}

fn random_bytes<const N: usize>(rng: &mut impl CryptoRngCore) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// A kubeadm-style token `[0-9a-z]{6}.[0-9a-z]{16}`, unbiased (bytes of 252
/// and above are redrawn, as Talos does).
fn token(rng: &mut impl CryptoRngCore) -> String {
    const CHARS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut part = |n: usize| {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let mut b = [0u8; 1];
            rng.fill_bytes(&mut b);
            if b[0] < 252 {
                s.push(char::from(CHARS[usize::from(b[0]) % 36]));
            }
        }
        s
    };
    let first = part(6);
    let second = part(16);
    format!("{first}.{second}")
}
