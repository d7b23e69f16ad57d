//! SealedSecrets: wire layout, determinism, scope labels, manifests, and
//! the sealing key pair.

use std::collections::BTreeMap;

use base64::Engine as _;
use hlb_secrets::seal::{self, encryption_label, hybrid_decrypt, hybrid_encrypt};
use hlb_secrets::sealing_key::{self, SealingKeyParams};
use hlb_secrets::{LabKey, Plaintext, Scope, SealSeed, SecretSpec, seal_secret};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::traits::PublicKeyParts;

/// A 2048-bit key from a fixed seed: deterministic and quick enough.
fn test_key() -> RsaPrivateKey {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    RsaPrivateKey::new(&mut rng, 2048).unwrap()
}

fn seed(b: u8) -> SealSeed {
    SealSeed::from_bytes([b; 32])
}

fn spec(scope: Scope) -> SecretSpec {
    SecretSpec {
        name: "grafana-admin".into(),
        namespace: Some("monitoring".into()),
        scope,
        secret_type: None,
        labels: BTreeMap::from([("app".into(), "grafana".into())]),
        annotations: BTreeMap::new(),
        data: BTreeMap::from([
            ("password".into(), Plaintext::from_slice(b"s3cret")),
            ("user".into(), Plaintext::from_slice(b"admin")),
        ]),
    }
}

#[test]
fn labels_per_scope_are_the_controller_s() {
    assert_eq!(encryption_label(Scope::Strict, "ns", "name"), "ns/name");
    assert_eq!(encryption_label(Scope::NamespaceWide, "ns", "name"), "ns");
    assert_eq!(encryption_label(Scope::ClusterWide, "ns", "name"), "");
}

#[test]
fn wire_layout_is_length_prefix_rsa_block_then_gcm() {
    let key = test_key();
    let value = b"twelve bytes";
    let ct = hybrid_encrypt(&key.to_public_key(), value, "ns/n", "k", &seed(1)).unwrap();
    let rsa_len = usize::from(u16::from_be_bytes([ct[0], ct[1]]));
    assert_eq!(rsa_len, key.size(), "RSA block is one modulus long");
    assert_eq!(
        ct.len(),
        2 + rsa_len + value.len() + 16,
        "GCM adds a 16-byte tag, no nonce"
    );
    assert!(hybrid_decrypt(&key, &ct, "ns/n").unwrap().ct_eq(value));
}

#[test]
fn sealing_is_deterministic_in_its_inputs_and_separated_by_each() {
    let key = test_key().to_public_key();
    let a = hybrid_encrypt(&key, b"v", "ns/n", "k", &seed(1)).unwrap();
    assert_eq!(
        a,
        hybrid_encrypt(&key, b"v", "ns/n", "k", &seed(1)).unwrap()
    );
    for other in [
        hybrid_encrypt(&key, b"v", "ns/n", "k", &seed(2)).unwrap(),
        hybrid_encrypt(&key, b"w", "ns/n", "k", &seed(1)).unwrap(),
        hybrid_encrypt(&key, b"v", "ns/m", "k", &seed(1)).unwrap(),
        hybrid_encrypt(&key, b"v", "ns/n", "j", &seed(1)).unwrap(),
    ] {
        // Different session key, so both the RSA block and the GCM part differ.
        assert_ne!(a[2..258], other[2..258]);
        assert_ne!(a[258..], other[258..]);
    }
    let m1 = seal_secret(&key, &spec(Scope::Strict), &seed(5)).unwrap();
    let m2 = seal_secret(&key, &spec(Scope::Strict), &seed(5)).unwrap();
    assert_eq!(
        hlb_secrets::yaml::to_yaml(&m1),
        hlb_secrets::yaml::to_yaml(&m2)
    );
}

#[test]
fn seal_seed_derives_from_lab_key_and_context() {
    let lab = LabKey::from_bytes([4; 32]);
    let key = test_key().to_public_key();
    let enc = |s: &SealSeed| hybrid_encrypt(&key, b"v", "", "k", s).unwrap();
    let a = enc(&SealSeed::derive(&lab, b"drv-1"));
    assert_eq!(a, enc(&SealSeed::derive(&lab, b"drv-1")));
    assert_ne!(a, enc(&SealSeed::derive(&lab, b"drv-2")));
    assert_ne!(
        a,
        enc(&SealSeed::derive(&LabKey::from_bytes([5; 32]), b"drv-1"))
    );
}

#[test]
fn scope_label_binds_the_value() {
    let key = test_key();
    let m = seal_secret(&key.to_public_key(), &spec(Scope::Strict), &seed(1)).unwrap();
    let b64 = m["spec"]["encryptedData"]["password"].as_str().unwrap();
    let ct = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(
        hybrid_decrypt(&key, &ct, "monitoring/grafana-admin")
            .unwrap()
            .ct_eq(b"s3cret")
    );
    // Renamed or moved: the controller would refuse it.
    assert!(hybrid_decrypt(&key, &ct, "monitoring/other").is_err());
    assert!(hybrid_decrypt(&key, &ct, "monitoring").is_err());
    assert!(hybrid_decrypt(&key, &ct, "").is_err());
    // Wrong key.
    let other = RsaPrivateKey::new(&mut ChaCha20Rng::from_seed([1; 32]), 2048).unwrap();
    assert!(hybrid_decrypt(&other, &ct, "monitoring/grafana-admin").is_err());
    // Truncated.
    assert!(hybrid_decrypt(&key, &ct[..100], "monitoring/grafana-admin").is_err());
    assert!(hybrid_decrypt(&key, &ct[..1], "monitoring/grafana-admin").is_err());
}

#[test]
fn manifests_per_scope() {
    let key = test_key().to_public_key();
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let m = seal_secret(&key, &spec(scope), &seed(1)).unwrap();
        let mut redacted = m.clone();
        for v in redacted["spec"]["encryptedData"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            let len = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap()
                .len();
            *v = format!("<{len} bytes>").into();
        }
        insta::assert_snapshot!(
            format!("manifest_{scope}"),
            hlb_secrets::yaml::to_yaml(&redacted)
        );
    }
}

#[test]
fn strict_scope_without_namespace_is_an_error_naming_the_secret() {
    let key = test_key().to_public_key();
    let mut s = spec(Scope::Strict);
    s.namespace = None;
    let err = seal_secret(&key, &s, &seed(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sealing secret grafana-admin: the strict scope needs a namespace"
    );
    s.scope = Scope::ClusterWide;
    let m = seal_secret(&key, &s, &seed(1)).unwrap();
    assert!(m["metadata"].get("namespace").is_none());
}

#[test]
fn generated_sealing_key_is_deterministic_from_its_inputs_and_parses_back() {
    let params = SealingKeyParams {
        bits: 2048,
        common_name: String::new(),
        not_before_unix: 1_767_225_600, // 2026-01-01T00:00:00Z
        valid_for: sealing_key::DEFAULT_VALIDITY,
    };
    let a =
        sealing_key::generate_sealing_key(&mut ChaCha20Rng::from_seed([3; 32]), &params).unwrap();
    let b =
        sealing_key::generate_sealing_key(&mut ChaCha20Rng::from_seed([3; 32]), &params).unwrap();
    assert_eq!(
        a.certificate_pem, b.certificate_pem,
        "no clock, no hidden randomness"
    );
    assert!(
        a.private_key_pem
            .expose()
            .starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
    );
    assert!(
        !format!("{a:?}").contains("PRIVATE KEY"),
        "the key is redacted in Debug"
    );

    let cert = sealing_key::parse_certificate_pem("cert.pem", &a.certificate_pem).unwrap();
    assert_eq!(cert.not_before_unix, params.not_before_unix);
    assert_eq!(
        cert.not_after_unix,
        params.not_before_unix + 10 * 365 * 86400
    );
    let private = sealing_key::parse_private_key_pem("sealing-key", &a.private_key_pem).unwrap();
    assert_eq!(private.to_public_key(), cert.public_key);
    assert_eq!(cert.public_key.n().bits(), 2048);

    let ct = hybrid_encrypt(&cert.public_key, b"x", "", "k", &seed(0)).unwrap();
    assert!(hybrid_decrypt(&private, &ct, "").unwrap().ct_eq(b"x"));

    let err = sealing_key::parse_certificate_pem("recipes/k8s/cert.pem", "nope").unwrap_err();
    assert!(
        err.to_string().starts_with("recipes/k8s/cert.pem: "),
        "{err}"
    );
    assert!(sealing_key::parse_private_key_pem("k", &Plaintext::from_slice(b"x")).is_err());
}

#[test]
fn scope_parses_from_recipe_text() {
    for s in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        assert_eq!(s.to_string().parse::<Scope>().unwrap(), s);
    }
    assert!(
        "global"
            .parse::<Scope>()
            .unwrap_err()
            .contains("strict, namespace-wide or cluster-wide")
    );
    assert_eq!(seal::API_VERSION, "bitnami.com/v1alpha1");
}

#[test]
fn certificate_extensions_are_the_controller_s() {
    use x509_cert::der::DecodePem;
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
    let params = SealingKeyParams {
        bits: 2048,
        common_name: "sealed-secrets-lab".into(),
        not_before_unix: 2_600_000_000, // after 2049: GeneralizedTime
        valid_for: sealing_key::DEFAULT_VALIDITY,
    };
    let pair =
        sealing_key::generate_sealing_key(&mut ChaCha20Rng::from_seed([4; 32]), &params).unwrap();
    let cert = x509_cert::Certificate::from_pem(pair.certificate_pem.as_bytes()).unwrap();
    let tbs = &cert.tbs_certificate;
    assert_eq!(tbs.subject.to_string(), "CN=sealed-secrets-lab");
    assert_eq!(tbs.issuer, tbs.subject);
    assert!(matches!(
        tbs.validity.not_before,
        x509_cert::time::Time::GeneralTime(_)
    ));
    let (critical, ku) = tbs.get::<KeyUsage>().unwrap().unwrap();
    assert!(critical);
    assert!(ku.encipher_only() && !ku.key_cert_sign() && !ku.key_encipherment());
    assert_eq!(
        ku.0.bits(),
        x509_cert::der::flagset::FlagSet::<KeyUsages>::from(KeyUsages::EncipherOnly).bits()
    );
    let (critical, bc) = tbs.get::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && bc.ca && bc.path_len_constraint.is_none());
    assert!(tbs.get::<SubjectKeyIdentifier>().unwrap().is_some());
    // sha256WithRSAEncryption
    assert_eq!(
        cert.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11"
    );
}
