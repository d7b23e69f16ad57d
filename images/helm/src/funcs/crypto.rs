//! Sprig's certificate and key functions (`crypto.go` behaviour): `genCA`,
//! `genSelfSignedCert`, `genSignedCert` (and their `WithKey` forms),
//! `genPrivateKey`, `buildCustomCert`. Certificates are RSA-2048 with a
//! random 128-bit serial, valid from `now` for the given days; CAs have
//! `KeyEncipherment|DigitalSignature|CertSign`, leaves also
//! `ServerAuth,ClientAuth`.
//!
//! Determinism (the intended difference from helm): keys and serials come
//! from the template's seeded generator and `now` is the render's time
//! input, so the same release renders the same certificates.

use std::rc::Rc;
use std::time::Duration;

use rand_core::RngCore as _;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::LineEnding;
use sha2::Sha256;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::der::EncodePem as _;
use x509_cert::der::asn1::{GeneralizedTime, Ia5String, UtcTime};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use super::{Error, FnResult, Registry, Ty, int, s, strval};
use crate::objects::Struct;
use crate::template::Exec;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.add("genCA", &[Str, Int], |x, a| {
        let key = new_key(x)?;
        ca(x, s(&a[0]), int(&a[1]), key)
    });
    r.add("genCAWithKey", &[Str, Int, Str], |x, a| {
        let key = parse_key(s(&a[2]))?;
        ca(x, s(&a[0]), int(&a[1]), key)
    });
    r.add("genSelfSignedCert", &[Str, Any, Any, Int], |x, a| {
        let key = new_key(x)?;
        leaf(x, &a, key, None)
    });
    r.add(
        "genSelfSignedCertWithKey",
        &[Str, Any, Any, Int, Str],
        |x, a| {
            let key = parse_key(s(&a[4]))?;
            leaf(x, &a, key, None)
        },
    );
    r.add("genSignedCert", &[Str, Any, Any, Int, Any], |x, a| {
        let key = new_key(x)?;
        let ca = a[4].clone();
        leaf(x, &a, key, Some(ca))
    });
    r.add(
        "genSignedCertWithKey",
        &[Str, Any, Any, Int, Any, Str],
        |x, a| {
            let key = parse_key(s(&a[5]))?;
            let ca = a[4].clone();
            leaf(x, &a, key, Some(ca))
        },
    );
    r.add("genPrivateKey", &[Str], |x, a| {
        Ok(Value::str(match s(&a[0]) {
            "" | "rsa" => {
                let k = RsaPrivateKey::new(x.host.rng(), 4096)
                    .map_err(|e| Error::Msg(e.to_string()))?;
                k.to_pkcs1_pem(LineEnding::LF)
                    .map_err(|e| Error::Msg(e.to_string()))?
                    .to_string()
            }
            "ecdsa" => {
                use p256::pkcs8::EncodePrivateKey as _;
                let k = p256::SecretKey::random(x.host.rng());
                let _ = k.to_pkcs8_der();
                k.to_sec1_pem(LineEnding::LF)
                    .map_err(|e| Error::Msg(e.to_string()))?
                    .to_string()
            }
            "ed25519" => {
                use ed25519_dalek::pkcs8::EncodePrivateKey as _;
                let mut seed = [0u8; 32];
                x.host.rng().fill_bytes(&mut seed);
                let k = ed25519_dalek::SigningKey::from_bytes(&seed);
                k.to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| Error::Msg(e.to_string()))?
                    .to_string()
            }
            other => return Err(format!("Unknown type {other}").into()),
        }))
    });
    r.add("buildCustomCert", &[Str, Str], |_, a| {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD;
        let cert = b
            .decode(s(&a[0]))
            .map_err(|_| Error::Msg("unable to decode base64 certificate".into()))?;
        let key = b
            .decode(s(&a[1]))
            .map_err(|_| Error::Msg("unable to decode base64 private key".into()))?;
        Ok(cert_value(
            String::from_utf8_lossy(&cert).into_owned(),
            String::from_utf8_lossy(&key).into_owned(),
        ))
    });
}

fn cert_value(cert: String, key: String) -> Value {
    Value::Object(Rc::new(Struct {
        type_name: "sprig.certificate",
        fields: vec![("Cert", Value::str(cert)), ("Key", Value::str(key))],
    }))
}

fn field(v: &Value, name: &str) -> String {
    match v {
        Value::Object(o) => o.field(name).map(|f| strval(&f)).unwrap_or_default(),
        Value::Map(m) => m.borrow().get(name).map(strval).unwrap_or_default(),
        _ => String::new(),
    }
}

fn new_key(x: &mut Exec) -> Result<RsaPrivateKey, Error> {
    RsaPrivateKey::new(x.host.rng(), 2048)
        .map_err(|e| Error::Msg(format!("error generating rsa key: {e}")))
}

fn parse_key(pem: &str) -> Result<RsaPrivateKey, Error> {
    use rsa::pkcs8::DecodePrivateKey as _;
    RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| Error::Msg("error parsing private key: unsupported key type".into()))
}

fn x509_time(secs: i64) -> Result<Time, Error> {
    let d = Duration::from_secs(secs.max(0) as u64);
    if secs < 2_524_608_000 {
        UtcTime::from_unix_duration(d).map(Time::UtcTime)
    } else {
        GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime)
    }
    .map_err(|e| Error::Msg(e.to_string()))
}

fn cn_name(cn: &str) -> Result<Name, Error> {
    let mut esc = String::new();
    for c in cn.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            esc.push('\\');
        }
        esc.push(c);
    }
    if esc.is_empty() {
        return Ok(Name::default());
    }
    format!("CN={esc}")
        .parse()
        .map_err(|e: x509_cert::der::Error| Error::Msg(e.to_string()))
}

fn serial(x: &mut Exec) -> Result<SerialNumber, Error> {
    let mut b = [0u8; 16];
    x.host.rng().fill_bytes(&mut b);
    b[0] &= 0x7f;
    b[0] |= 0x01;
    SerialNumber::new(&b).map_err(|e| Error::Msg(e.to_string()))
}

fn pem_pair(cert: &x509_cert::Certificate, key: &RsaPrivateKey) -> FnResult {
    let c = cert
        .to_pem(LineEnding::LF)
        .map_err(|e| Error::Msg(e.to_string()))?;
    let k = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| Error::Msg(e.to_string()))?;
    Ok(cert_value(c, k.to_string()))
}

fn ca(x: &mut Exec, cn: &str, days: i64, key: RsaPrivateKey) -> FnResult {
    let e = |e: &dyn std::fmt::Display| Error::Msg(e.to_string());
    let now = x.host.now();
    let validity = Validity {
        not_before: x509_time(now)?,
        not_after: x509_time(now + days * 86_400)?,
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).map_err(|x| e(&x))?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let serial = serial(x)?;
    let name = cn_name(cn)?;
    let mut b = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        serial,
        validity,
        name,
        spki,
        &signer,
    )
    .map_err(|x| e(&x))?;
    b.add_extension(&KeyUsage(
        KeyUsages::KeyEncipherment | KeyUsages::DigitalSignature | KeyUsages::KeyCertSign,
    ))
    .map_err(|x| e(&x))?;
    b.add_extension(&BasicConstraints {
        ca: true,
        path_len_constraint: None,
    })
    .map_err(|x| e(&x))?;
    let cert = b.build::<rsa::pkcs1v15::Signature>().map_err(|x| e(&x))?;
    pem_pair(&cert, &key)
}

fn leaf(x: &mut Exec, a: &[Value], key: RsaPrivateKey, ca: Option<Value>) -> FnResult {
    let e = |e: &dyn std::fmt::Display| Error::Msg(e.to_string());
    let cn = s(&a[0]).to_string();
    let days = int(&a[3]);
    let now = x.host.now();
    let validity = Validity {
        not_before: x509_time(now)?,
        not_after: x509_time(now + days * 86_400)?,
    };
    let mut sans = Vec::new();
    for ip in a[1].items().unwrap_or_default() {
        let t = strval(&ip);
        let parsed: std::net::IpAddr = t
            .parse()
            .map_err(|_| Error::Msg(format!("error parsing ip: {t}")))?;
        let octets = match parsed {
            std::net::IpAddr::V4(v) => v.octets().to_vec(),
            std::net::IpAddr::V6(v) => v.octets().to_vec(),
        };
        sans.push(GeneralName::IpAddress(
            x509_cert::der::asn1::OctetString::new(octets).map_err(|x| e(&x))?,
        ));
    }
    for dns in a[2].items().unwrap_or_default() {
        let t = strval(&dns);
        sans.push(GeneralName::DnsName(Ia5String::new(&t).map_err(|x| e(&x))?));
    }
    let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).map_err(|x| e(&x))?;
    let (signer_key, issuer) = match &ca {
        Some(c) => {
            let ck = parse_key(&field(c, "Key"))?;
            use x509_cert::der::DecodePem as _;
            let cc = x509_cert::Certificate::from_pem(field(c, "Cert").as_bytes())
                .map_err(|_| Error::Msg("error parsing ca certificate".into()))?;
            (ck, Some(cc.tbs_certificate.subject))
        }
        None => (key.clone(), None),
    };
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(signer_key);
    let serial = serial(x)?;
    let name = cn_name(&cn)?;
    let mut b = CertificateBuilder::new(
        Profile::Manual { issuer },
        serial,
        validity,
        name,
        spki,
        &signer,
    )
    .map_err(|x| e(&x))?;
    b.add_extension(&KeyUsage(
        KeyUsages::KeyEncipherment | KeyUsages::DigitalSignature,
    ))
    .map_err(|x| e(&x))?;
    b.add_extension(&ExtendedKeyUsage(vec![
        x509_cert::der::oid::db::rfc5280::ID_KP_SERVER_AUTH,
        x509_cert::der::oid::db::rfc5280::ID_KP_CLIENT_AUTH,
    ]))
    .map_err(|x| e(&x))?;
    b.add_extension(&BasicConstraints {
        ca: false,
        path_len_constraint: None,
    })
    .map_err(|x| e(&x))?;
    if !sans.is_empty() {
        b.add_extension(&SubjectAltName(sans)).map_err(|x| e(&x))?;
    }
    let cert = b.build::<rsa::pkcs1v15::Signature>().map_err(|x| e(&x))?;
    pem_pair(&cert, &key)
}
