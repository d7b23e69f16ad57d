//! The admin's client configuration (`talosconfig`) and its certificate.
//!
//! Why this exists: `talosctl gen config` writes a talosconfig holding a
//! client certificate minted from the OS CA (`O=os:admin`, EKU clientAuth,
//! KeyUsage digitalSignature). Talos mints it with the clock and a fresh
//! key; hlb builds are pure (design D5), so here the validity period is an
//! explicit input and the key and serial come from a caller-given seed:
//! the same bundle, times and seed give the same bytes.
//!
//! Layout (go-yaml v3, 4-space indent):
//! `context: NAME` then `contexts: {NAME: {endpoints, nodes?, ca, crt, key}}`,
//! `ca`/`crt`/`key` being base64 of PEM.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hlb_images::yaml::{Style, Yaml, emit};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

use super::pki::{self, CertKind, PrivateKey, Subject};
use super::{BundleError, CertAndKey, SecretsBundle};

/// Talos's default lifetime of an admin client certificate: one year (365 days).
pub const ADMIN_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// What the admin client certificate is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCertRequest {
    /// Roles, written as the subject's organizations (Talos: `os:admin`).
    pub roles: Vec<String>,
    /// Validity start, seconds since the Unix epoch.
    pub not_before: u64,
    /// Validity end, seconds since the Unix epoch.
    pub not_after: u64,
    /// Seed of the key and serial: same seed, same certificate.
    pub seed: [u8; 32],
}

impl AdminCertRequest {
    /// `os:admin`, valid for [`ADMIN_CERT_VALIDITY`] from `not_before`.
    pub fn admin(not_before: u64, seed: [u8; 32]) -> AdminCertRequest {
        AdminCertRequest {
            roles: vec!["os:admin".to_string()],
            not_before,
            not_after: not_before.saturating_add(ADMIN_CERT_VALIDITY.as_secs()),
            seed,
        }
    }
}

/// Inputs of a talosconfig.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalosconfigInput {
    /// Context name (talosctl uses the cluster name).
    pub context: String,
    /// Talos API endpoints (IPs or host names).
    pub endpoints: Vec<String>,
    /// Default target nodes; omitted from the output when empty.
    pub nodes: Vec<String>,
    pub cert: AdminCertRequest,
}

impl SecretsBundle {
    /// Mint a client certificate signed by the OS CA, deterministically
    /// from `req` (Ed25519 key, as Talos makes for an Ed25519 OS CA).
    pub fn admin_certificate(&self, req: &AdminCertRequest) -> Result<CertAndKey, BundleError> {
        let what = "admin client certificate";
        let pki_err = |source| BundleError::Pki { what, source };
        if req.not_after <= req.not_before {
            return Err(BundleError::Input(format!(
                "{what}: validity must end after it starts (not before {}, not after {})",
                req.not_before, req.not_after
            )));
        }
        if req.roles.is_empty() {
            return Err(BundleError::Input(format!("{what}: no role given")));
        }
        let ca_cert = pki::parse_certificate_pem(&self.certs.os.crt).map_err(pki_err)?;
        let ca_key = PrivateKey::from_pem(&self.certs.os.key).map_err(pki_err)?;
        let mut rng = ChaCha20Rng::from_seed(req.seed);
        let key = PrivateKey::generate_ed25519(&mut rng);
        let subject = Subject {
            organizations: req.roles.clone(),
            common_name: None,
        };
        let crt = pki::issue(
            &mut rng,
            CertKind::Client,
            &subject,
            &key,
            Some((&ca_cert, &ca_key)),
            req.not_before,
            req.not_after,
        )
        .map_err(pki_err)?;
        let key = key.to_pem().map_err(pki_err)?;
        Ok(CertAndKey { crt, key })
    }

    /// The talosconfig YAML for `input`.
    pub fn talosconfig(&self, input: &TalosconfigInput) -> Result<String, BundleError> {
        if input.context.is_empty() {
            return Err(BundleError::Input("talosconfig: empty context name".into()));
        }
        let admin = self.admin_certificate(&input.cert)?;
        let mut ctx = vec![("endpoints", Yaml::seq(input.endpoints.iter().cloned()))];
        if !input.nodes.is_empty() {
            ctx.push(("nodes", Yaml::seq(input.nodes.iter().cloned())));
        }
        ctx.push((
            "ca",
            Yaml::str(STANDARD.encode(self.certs.os.crt.as_bytes())),
        ));
        ctx.push(("crt", Yaml::str(admin.crt_base64())));
        ctx.push(("key", Yaml::str(admin.key_base64())));
        let doc = Yaml::map([
            ("context", Yaml::str(&input.context)),
            (
                "contexts",
                Yaml::map([(input.context.as_str(), Yaml::map(ctx))]),
            ),
        ]);
        Ok(emit(&doc, &Style::TALOS))
    }
}
