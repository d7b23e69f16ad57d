//! The sealed-secrets controller's key pair as an hlb secret
//! (`hlb secret sealing-key init`), and reading a controller certificate.
//!
//! The certificate mirrors what the controller generates for itself:
//! RSA-4096, self-signed with SHA256-RSA, a random 128-bit serial number,
//! issuer = subject = `CN=<common name>` (the controller's `--my-cn`
//! default is empty), basic constraints `CA:TRUE`, key usage
//! `encipherOnly`, a subject key identifier, validity ten years by
//! default (`--key-ttl`). Unlike the controller, the validity period and
//! the randomness are explicit inputs (design D5): `init` passes the
//! issue time it records and an OS RNG; tests pass a seeded generator.
//!
//! The private key is PKCS#1 PEM (`RSA PRIVATE KEY`), the form the
//! controller keeps in its `tls.key`, held in a [`Plaintext`] so it goes
//! straight into an age file.

use std::time::Duration;

use rand_core::CryptoRngCore;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{GeneralizedTime, UtcTime};
use x509_cert::der::referenced::OwnedToRef;
use x509_cert::der::{DecodePem, Encode, EncodePem};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::plaintext::Plaintext;

/// Key size the controller uses.
pub const DEFAULT_KEY_BITS: usize = 4096;
/// Validity the controller uses: 10 × 365 days.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Errors about sealing keys and certificates.
#[derive(Debug, thiserror::Error)]
pub enum SealingKeyError {
    /// Key generation failed.
    #[error("generating the sealing key: {0}")]
    Generate(String),
    /// Building or encoding the certificate failed.
    #[error("building the sealing certificate: {0}")]
    Certificate(String),
    /// The certificate PEM could not be parsed (`source_name` names the file).
    #[error("{source_name}: not a PEM X.509 certificate with an RSA public key: {reason}")]
    BadCertificate {
        /// File the PEM came from.
        source_name: String,
        /// What failed.
        reason: String,
    },
    /// The private key PEM could not be parsed (no key material in the message).
    #[error("{source_name}: not a PEM RSA private key")]
    BadPrivateKey {
        /// File or secret the PEM came from.
        source_name: String,
    },
}

/// A generated sealing key pair.
#[derive(Debug)]
pub struct SealingKeyPair {
    /// PKCS#1 PEM of the private key (secret: store as an age file).
    pub private_key_pem: Plaintext,
    /// PEM certificate (public: commit it, give it to the controller).
    pub certificate_pem: String,
}

/// What [`generate_sealing_key`] takes besides randomness.
#[derive(Debug, Clone)]
pub struct SealingKeyParams {
    /// RSA modulus size in bits ([`DEFAULT_KEY_BITS`]).
    pub bits: usize,
    /// Subject and issuer common name.
    pub common_name: String,
    /// `notBefore`, seconds since the Unix epoch (the recorded issue time).
    pub not_before_unix: u64,
    /// How long the certificate is valid ([`DEFAULT_VALIDITY`]).
    pub valid_for: Duration,
}

fn x509_time(unix: Duration) -> Result<Time, SealingKeyError> {
    let err = |e: x509_cert::der::Error| SealingKeyError::Certificate(e.to_string());
    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050 on.
    const Y2050: u64 = 2_524_608_000;
    if unix.as_secs() < Y2050 {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(unix).map_err(err)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(unix).map_err(err)?,
        ))
    }
}

/// Generates an RSA key and a self-signed certificate like the
/// controller's (see module docs). All randomness comes from `rng`.
pub fn generate_sealing_key(
    rng: &mut impl CryptoRngCore,
    params: &SealingKeyParams,
) -> Result<SealingKeyPair, SealingKeyError> {
    let cert_err = |e: &dyn std::fmt::Display| SealingKeyError::Certificate(e.to_string());
    let key = RsaPrivateKey::new(rng, params.bits)
        .map_err(|e| SealingKeyError::Generate(e.to_string()))?;
    let public = RsaPublicKey::from(&key);
    let spki = SubjectPublicKeyInfoOwned::from_key(public.clone()).map_err(|e| cert_err(&e))?;

    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7f; // positive INTEGER
    serial[0] |= 0x01; // no leading zero byte to strip: always 16 bytes
    let serial = SerialNumber::new(&serial).map_err(|e| cert_err(&e))?;

    let not_before = Duration::from_secs(params.not_before_unix);
    let not_after = not_before + params.valid_for;
    let validity = Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    };
    let subject: Name = if params.common_name.is_empty() {
        Name::default()
    } else {
        format!("CN={}", escape_rdn(&params.common_name))
            .parse()
            .map_err(|e| cert_err(&e))?
    };
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        serial,
        validity,
        subject,
        spki.clone(),
        &signer,
    )
    .map_err(|e| cert_err(&e))?;
    builder
        .add_extension(&BasicConstraints {
            ca: true,
            path_len_constraint: None,
        })
        .map_err(|e| cert_err(&e))?;
    builder
        .add_extension(&KeyUsage(KeyUsages::EncipherOnly.into()))
        .map_err(|e| cert_err(&e))?;
    builder
        .add_extension(
            &SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(|e| cert_err(&e))?,
        )
        .map_err(|e| cert_err(&e))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| cert_err(&e))?;
    let certificate_pem = cert.to_pem(LineEnding::LF).map_err(|e| cert_err(&e))?;
    let private_key_pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| SealingKeyError::Generate(e.to_string()))?;
    Ok(SealingKeyPair {
        private_key_pem: Plaintext::from(private_key_pem.as_bytes().to_vec()),
        certificate_pem,
    })
}

fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A parsed sealing certificate: the controller's public key and validity.
#[derive(Debug, Clone)]
pub struct SealingCertificate {
    /// The RSA public key values are sealed to.
    pub public_key: RsaPublicKey,
    /// `notBefore`, seconds since the Unix epoch.
    pub not_before_unix: u64,
    /// `notAfter`, seconds since the Unix epoch (the CLI compares it with
    /// the clock; this crate has none).
    pub not_after_unix: u64,
}

/// Parses a PEM certificate (the controller's `cert.pem`, or one from
/// [`generate_sealing_key`]) and extracts its RSA public key.
pub fn parse_certificate_pem(
    source_name: &str,
    pem: &str,
) -> Result<SealingCertificate, SealingKeyError> {
    let bad = |reason: String| SealingKeyError::BadCertificate {
        source_name: source_name.to_owned(),
        reason,
    };
    let cert =
        Certificate::from_pem(pem.trim_start().as_bytes()).map_err(|e| bad(e.to_string()))?;
    let spki_der = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    let public_key = RsaPublicKey::from_public_key_der(&spki_der)
        .map_err(|e| bad(format!("public key is not RSA: {e}")))?;
    let validity = &cert.tbs_certificate.validity;
    Ok(SealingCertificate {
        public_key,
        not_before_unix: validity.not_before.to_unix_duration().as_secs(),
        not_after_unix: validity.not_after.to_unix_duration().as_secs(),
    })
}

/// Parses an RSA private key PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8
/// `PRIVATE KEY`).
pub fn parse_private_key_pem(
    source_name: &str,
    pem: &Plaintext,
) -> Result<RsaPrivateKey, SealingKeyError> {
    let bad = || SealingKeyError::BadPrivateKey {
        source_name: source_name.to_owned(),
    };
    let text = std::str::from_utf8(pem.expose()).map_err(|_| bad())?;
    RsaPrivateKey::from_pkcs1_pem(text)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(text))
        .map_err(|_| bad())
}

/// The public key in SPKI PEM form (what `kubeseal --fetch-cert` users
/// sometimes keep instead of a certificate).
pub fn public_key_pem(key: &RsaPublicKey) -> Result<String, SealingKeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| SealingKeyError::Certificate(e.to_string()))
}
