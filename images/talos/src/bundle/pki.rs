//! The key and certificate primitives of a Talos secrets bundle.
//!
//! Why this exists: `talosctl gen secrets` makes four self-signed CAs and a
//! service-account key with specific key types and certificate properties,
//! and `talosctl gen config` mints an admin client certificate from the OS
//! CA. hlb makes the same material from an explicit RNG and an explicit
//! issue time (design D5: no clock, no randomness in builds), so a caller
//! that passes a seeded RNG gets the same bytes every time.
//!
//! Formats (what Talos writes, so Talos and kubeadm read ours):
//! - certificates: PEM `CERTIFICATE`, X.509 v3, 128-bit random serial,
//!   names as PrintableString attributes, times as UTCTime before 2050;
//! - ECDSA P-256 keys: PEM `EC PRIVATE KEY` (SEC1 with curve and public key);
//! - Ed25519 keys: PEM `ED25519 PRIVATE KEY` holding a PKCS#8 v1 document
//!   (Talos's own label; `PRIVATE KEY` is accepted when reading).
//!
//! Invariants: nothing here reads the clock or the OS RNG; ECDSA signatures
//! are deterministic (RFC 6979) and Ed25519 signatures are deterministic by
//! construction, so certificate bytes depend only on the inputs.

use std::time::Duration;

use p256::ecdsa::signature::Signer as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand_core::CryptoRngCore;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::der::asn1::{Any, BitString, GeneralizedTime, SetOfVec};
use x509_cert::der::pem::LineEnding;
use x509_cert::der::referenced::OwnedToRef as _;
use x509_cert::der::{Decode as _, EncodePem as _, Tag};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{EncodePublicKey as _, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, attr::AttributeTypeAndValue};

/// Talos's CA lifetime: 87600 hours (10 years of 365 days).
pub const CA_VALIDITY: Duration = Duration::from_secs(87_600 * 3600);

/// The PEM label Talos uses for Ed25519 private keys.
pub const ED25519_KEY_LABEL: &str = "ED25519 PRIVATE KEY";
/// The PEM label for SEC1 ECDSA private keys.
pub const EC_KEY_LABEL: &str = "EC PRIVATE KEY";

const OID_CN: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_O: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_KP_SERVER_AUTH: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_KP_CLIENT_AUTH: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), before the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Something that went wrong making or reading keys and certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("PEM: {0}")]
    Pem(String),
    #[error("unexpected PEM block `{found}` (expected {expected})")]
    Label {
        found: String,
        expected: &'static str,
    },
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("private key: {0}")]
    Key(String),
    #[error("the private key does not belong to the certificate's public key")]
    KeyMismatch,
    #[error("time {0} (seconds since the Unix epoch) cannot be written in a certificate")]
    Time(u64),
    #[error("building a certificate: {0}")]
    Build(String),
}

/// A private key of one of the types Talos uses.
#[derive(Clone)]
pub enum PrivateKey {
    EcdsaP256(p256::SecretKey),
    Ed25519(ed25519_dalek::SigningKey),
    /// An RSA key (service-account keys of very old contracts): kept as PEM,
    /// never used for signing here.
    Rsa,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str(match self {
            PrivateKey::EcdsaP256(_) => "PrivateKey::EcdsaP256(..)",
            PrivateKey::Ed25519(_) => "PrivateKey::Ed25519(..)",
            PrivateKey::Rsa => "PrivateKey::Rsa(..)",
        })
    }
}

impl PrivateKey {
    /// A new ECDSA P-256 key from `rng`.
    pub fn generate_ecdsa(rng: &mut impl CryptoRngCore) -> PrivateKey {
        PrivateKey::EcdsaP256(p256::SecretKey::random(rng))
    }

    /// A new Ed25519 key from `rng`.
    pub fn generate_ed25519(rng: &mut impl CryptoRngCore) -> PrivateKey {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Read a PEM private key in any of the encodings Talos writes or reads.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, PkiError> {
        let (label, der) = x509_cert::der::pem::decode_vec(pem.trim_start().as_bytes())
            .map_err(|e| PkiError::Pem(e.to_string()))?;
        match label {
            EC_KEY_LABEL => p256::SecretKey::from_sec1_der(&der)
                .map(PrivateKey::EcdsaP256)
                .map_err(|e| PkiError::Key(format!("not a P-256 SEC1 key: {e}"))),
            ED25519_KEY_LABEL | "PRIVATE KEY" => {
                if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
                    return Ok(PrivateKey::Ed25519(k));
                }
                use p256::pkcs8::DecodePrivateKey as _;
                p256::SecretKey::from_pkcs8_der(&der)
                    .map(PrivateKey::EcdsaP256)
                    .map_err(|_| {
                        PkiError::Key("PKCS#8 key is neither Ed25519 nor ECDSA P-256".into())
                    })
            }
            "RSA PRIVATE KEY" => {
                Any::from_der(&der).map_err(|e| PkiError::Key(format!("RSA key: {e}")))?;
                Ok(PrivateKey::Rsa)
            }
            other => Err(PkiError::Label {
                found: other.to_string(),
                expected: "EC PRIVATE KEY, ED25519 PRIVATE KEY, PRIVATE KEY or RSA PRIVATE KEY",
            }),
        }
    }

    /// The key as PEM, in the encoding Talos writes for its type.
    pub fn to_pem(&self) -> Result<String, PkiError> {
        match self {
            PrivateKey::EcdsaP256(k) => k
                .to_sec1_pem(LineEnding::LF)
                .map(|s| s.to_string())
                .map_err(|e| PkiError::Key(e.to_string())),
            PrivateKey::Ed25519(k) => {
                let mut der = Vec::with_capacity(48);
                der.extend_from_slice(&ED25519_PKCS8_PREFIX);
                der.extend_from_slice(k.as_bytes());
                x509_cert::der::pem::encode_string(ED25519_KEY_LABEL, LineEnding::LF, &der)
                    .map_err(|e| PkiError::Key(e.to_string()))
            }
            PrivateKey::Rsa => Err(PkiError::Key("RSA keys are read, never written".into())),
        }
    }

    /// The public key's SubjectPublicKeyInfo.
    pub fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
        let der = match self {
            PrivateKey::EcdsaP256(k) => k.public_key().to_public_key_der(),
            PrivateKey::Ed25519(k) => k.verifying_key().to_public_key_der(),
            PrivateKey::Rsa => return Err(PkiError::Key("RSA public keys are not derived".into())),
        }
        .map_err(|e| PkiError::Key(e.to_string()))?;
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes())
            .map_err(|e| PkiError::Key(e.to_string()))
    }

    /// The raw public key bits, as they appear in a certificate.
    pub fn public_key_bits(&self) -> Option<Vec<u8>> {
        match self {
            PrivateKey::EcdsaP256(k) => {
                Some(k.public_key().to_encoded_point(false).as_bytes().to_vec())
            }
            PrivateKey::Ed25519(k) => Some(k.verifying_key().as_bytes().to_vec()),
            PrivateKey::Rsa => None,
        }
    }
}

/// A parsed certificate with the helpers the bundle needs.
pub fn parse_certificate_pem(pem: &str) -> Result<Certificate, PkiError> {
    let (label, der) = x509_cert::der::pem::decode_vec(pem.trim_start().as_bytes())
        .map_err(|e| PkiError::Pem(e.to_string()))?;
    if label != "CERTIFICATE" {
        return Err(PkiError::Label {
            found: label.to_string(),
            expected: "CERTIFICATE",
        });
    }
    Certificate::from_der(&der).map_err(|e| PkiError::Certificate(e.to_string()))
}

/// Check that `key` is the private half of `cert`'s public key.
pub fn check_key_matches(cert: &Certificate, key: &PrivateKey) -> Result<(), PkiError> {
    let Some(bits) = key.public_key_bits() else {
        return Ok(());
    };
    let in_cert = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    if in_cert == bits.as_slice() {
        Ok(())
    } else {
        Err(PkiError::KeyMismatch)
    }
}

/// A certificate subject: Talos sets either organizations or a common name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub organizations: Vec<String>,
    pub common_name: Option<String>,
}

impl Subject {
    pub fn organization(o: &str) -> Subject {
        Subject {
            organizations: vec![o.to_string()],
            common_name: None,
        }
    }

    pub fn common_name(cn: &str) -> Subject {
        Subject {
            organizations: Vec::new(),
            common_name: Some(cn.to_string()),
        }
    }

    /// The X.509 name, attributes in Go's order (O before CN), each value a
    /// PrintableString when it fits that alphabet (as Go writes it), else UTF8String.
    fn to_name(&self) -> Result<Name, PkiError> {
        let atv = |oid, value: &str| -> Result<AttributeTypeAndValue, PkiError> {
            let tag = if value.bytes().all(is_printable) {
                Tag::PrintableString
            } else {
                Tag::Utf8String
            };
            let value = Any::new(tag, value.as_bytes()).map_err(build_err)?;
            Ok(AttributeTypeAndValue { oid, value })
        };
        // Go writes one RDN per attribute type holding all its values.
        let mut rdns = Vec::new();
        if !self.organizations.is_empty() {
            let values = self
                .organizations
                .iter()
                .map(|o| atv(OID_O, o))
                .collect::<Result<Vec<_>, _>>()?;
            let set = SetOfVec::try_from(values).map_err(build_err)?;
            rdns.push(RelativeDistinguishedName(set));
        }
        if let Some(cn) = &self.common_name {
            let set = SetOfVec::try_from(vec![atv(OID_CN, cn)?]).map_err(build_err)?;
            rdns.push(RelativeDistinguishedName(set));
        }
        Ok(RdnSequence(rdns))
    }
}

fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

fn build_err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Build(e.to_string())
}

fn time(secs: u64) -> Result<Time, PkiError> {
    let t = GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| PkiError::Time(secs))?;
    Ok(Time::GeneralTime(t))
}

/// A 128-bit random serial number, as Talos draws it.
fn serial(rng: &mut impl CryptoRngCore) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(15);
    SerialNumber::new(&bytes[start..]).map_err(build_err)
}

/// What kind of certificate to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// A self-signed CA: KeyUsage digitalSignature+keyCertSign, EKU
    /// serverAuth+clientAuth, CA:true, subject key id.
    Ca,
    /// A client certificate: KeyUsage digitalSignature, EKU clientAuth,
    /// authority key id of the issuer.
    Client,
}

/// Issue a certificate for `subject_key` signed by `issuer_key`
/// (`issuer == None`: self-signed), valid from `not_before` to `not_after`
/// (seconds since the Unix epoch). Returns the certificate as PEM.
pub fn issue(
    rng: &mut impl CryptoRngCore,
    kind: CertKind,
    subject: &Subject,
    subject_key: &PrivateKey,
    issuer: Option<(&Certificate, &PrivateKey)>,
    not_before: u64,
    not_after: u64,
) -> Result<String, PkiError> {
    let serial = serial(rng)?;
    let validity = Validity {
        not_before: time(not_before)?,
        not_after: time(not_after)?,
    };
    let name = subject.to_name()?;
    let spki = subject_key.public_key_info()?;
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(build_err)?;
    let (issuer_name, issuer_key) = match issuer {
        Some((cert, key)) => (Some(cert.tbs_certificate.subject.clone()), key),
        None => (None, subject_key),
    };
    let aki = match issuer {
        Some((cert, _)) => issuer_ski(cert)?,
        None => None,
    };
    let cert = match issuer_key {
        PrivateKey::EcdsaP256(k) => {
            let signer = p256::ecdsa::SigningKey::from(k);
            let mut b = CertificateBuilder::new(
                Profile::Manual {
                    issuer: issuer_name,
                },
                serial,
                validity,
                name,
                spki,
                &signer,
            )
            .map_err(build_err)?;
            add_extensions(&mut b, kind, ski, aki)?;
            let tbs = b.finalize().map_err(build_err)?;
            let sig: p256::ecdsa::Signature = signer.sign(&tbs);
            let der = sig.to_der();
            b.assemble(BitString::from_bytes(der.as_bytes()).map_err(build_err)?)
                .map_err(build_err)?
        }
        PrivateKey::Ed25519(k) => {
            let mut b = CertificateBuilder::new(
                Profile::Manual {
                    issuer: issuer_name,
                },
                serial,
                validity,
                name,
                spki,
                k,
            )
            .map_err(build_err)?;
            add_extensions(&mut b, kind, ski, aki)?;
            let tbs = b.finalize().map_err(build_err)?;
            let sig = ed25519_dalek::Signer::sign(k, &tbs);
            b.assemble(BitString::from_bytes(&sig.to_bytes()).map_err(build_err)?)
                .map_err(build_err)?
        }
        PrivateKey::Rsa => return Err(PkiError::Key("cannot sign with an RSA key".into())),
    };
    cert.to_pem(LineEnding::LF).map_err(build_err)
}

fn issuer_ski(cert: &Certificate) -> Result<Option<Vec<u8>>, PkiError> {
    let Some(exts) = &cert.tbs_certificate.extensions else {
        return Ok(None);
    };
    for ext in exts {
        if ext.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER {
            let ski = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes())
                .map_err(|e| PkiError::Certificate(e.to_string()))?;
            return Ok(Some(ski.0.as_bytes().to_vec()));
        }
    }
    Ok(None)
}

fn add_extensions<S>(
    b: &mut CertificateBuilder<'_, S>,
    kind: CertKind,
    ski: SubjectKeyIdentifier,
    aki: Option<Vec<u8>>,
) -> Result<(), PkiError>
where
    S: x509_cert::spki::DynSignatureAlgorithmIdentifier + p256::ecdsa::signature::Keypair,
    S::VerifyingKey: x509_cert::spki::EncodePublicKey,
{
    // Go's order: key usage, extended key usage, basic constraints, subject
    // key id, authority key id.
    match kind {
        CertKind::Ca => {
            b.add_extension(&KeyUsage(
                KeyUsages::DigitalSignature | KeyUsages::KeyCertSign,
            ))
            .map_err(build_err)?;
            b.add_extension(&Eku(vec![OID_KP_SERVER_AUTH, OID_KP_CLIENT_AUTH]))
                .map_err(build_err)?;
            b.add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: None,
            })
            .map_err(build_err)?;
            b.add_extension(&ski).map_err(build_err)?;
        }
        CertKind::Client => {
            b.add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))
                .map_err(build_err)?;
            b.add_extension(&Eku(vec![OID_KP_CLIENT_AUTH]))
                .map_err(build_err)?;
            if let Some(id) = aki {
                let key_identifier =
                    x509_cert::der::asn1::OctetString::new(id).map_err(build_err)?;
                b.add_extension(&AuthorityKeyIdentifier {
                    key_identifier: Some(key_identifier),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                })
                .map_err(build_err)?;
            }
        }
    }
    Ok(())
}

/// Extended key usage, non-critical as Go writes it (x509-cert would mark
/// it critical).
struct Eku(Vec<x509_cert::der::oid::ObjectIdentifier>);

impl x509_cert::der::oid::AssociatedOid for Eku {
    const OID: x509_cert::der::oid::ObjectIdentifier =
        x509_cert::der::oid::db::rfc5280::ID_CE_EXT_KEY_USAGE;
}

impl x509_cert::der::Encode for Eku {
    fn encoded_len(&self) -> x509_cert::der::Result<x509_cert::der::Length> {
        ExtendedKeyUsage(self.0.clone()).encoded_len()
    }

    fn encode(&self, writer: &mut impl x509_cert::der::Writer) -> x509_cert::der::Result<()> {
        ExtendedKeyUsage(self.0.clone()).encode(writer)
    }
}

impl x509_cert::ext::AsExtension for Eku {
    fn critical(&self, _subject: &Name, _extensions: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}
