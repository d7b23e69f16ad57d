//! The secrets bundle: reading Talos's fixtures, writing them back byte for
//! byte, refusing the invalid one, and generating bundles and admin
//! certificates with Talos's properties.
//!
//! Fixtures (`tests/bundle-fixtures/`) are Talos v1.14.0-rc.1's
//! `generate/secrets/testdata/{secrets,invalid-secrets}.yaml`, verbatim.

use std::path::PathBuf;

use hlb_talos::bundle::pki::{self, PrivateKey};
use hlb_talos::bundle::{AdminCertRequest, BundleError, SecretsBundle, TalosconfigInput, generate};
use hlb_talos::r#gen::Contract;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// 2023-05-25T12:14:42Z, the fixture bundle's issue time.
const ISSUED_AT: u64 = 1_685_016_882;
const TEN_YEARS: u64 = 87_600 * 3600;

#[test]
fn talosctl_bundle_round_trips_byte_for_byte() {
    let text = fixture("tests/bundle-fixtures/secrets.yaml");
    let bundle = SecretsBundle::parse(&text).expect("valid bundle");
    assert_eq!(bundle.to_yaml(), text);
    assert_eq!(bundle.trustd_info.token, "oamejv.9tk1nhuwnlc2nghf");
    assert!(
        bundle
            .certs
            .os
            .key
            .starts_with("-----BEGIN ED25519 PRIVATE KEY-----\n")
    );
    assert!(
        bundle
            .certs
            .etcd
            .key
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
    );
}

#[test]
fn golden_bundle_reads_and_writes_back_without_its_comment() {
    let text = fixture("tests/gen-golden/secrets.yaml");
    let bundle = SecretsBundle::parse(&text).expect("valid bundle");
    let (comment, rest) = text.split_once('\n').expect("two lines at least");
    assert!(comment.starts_with('#'));
    assert_eq!(bundle.to_yaml(), rest);
}

#[test]
fn serde_form_round_trips() {
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let json = serde_json::to_string(&bundle).unwrap();
    assert!(json.contains("\"trustdinfo\":{\"token\":\"oamejv.9tk1nhuwnlc2nghf\"}"));
    let back: SecretsBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, bundle);
}

#[test]
fn invalid_bundle_is_refused_naming_every_problem() {
    let err = SecretsBundle::parse(&fixture("tests/bundle-fixtures/invalid-secrets.yaml"))
        .expect_err("the invalid fixture must be refused");
    assert!(matches!(err, BundleError::Invalid(_)));
    insta::assert_snapshot!(err.to_string(), @r"
    invalid secrets bundle (7 problems):
      - 2:5: cluster.secret: is required
      - 4:5: secrets: one of secretboxencryptionsecret, aescbcencryptionsecret is required
      - 1:1: trustdinfo: is required
      - 7:9: certs.etcd.key: is required
      - 6:5: certs.k8saggregator: is required
      - 14:9: certs.os.crt: is required
      - 14:9: certs.os.key: is invalid: unexpected PEM block `CERTIFICATE` (expected EC PRIVATE KEY, ED25519 PRIVATE KEY, PRIVATE KEY or RSA PRIVATE KEY)
    ");
}

#[test]
fn structural_problems_carry_positions() {
    let text = "cluster:\n    id: x\n    secret: [1]\n    extra: 1\nsecrets: 3\n";
    let err = SecretsBundle::parse(text).unwrap_err().to_string();
    insta::assert_snapshot!(err, @r"
    invalid secrets bundle (5 problems):
      - 4:5: cluster.extra: unknown field (known: id, secret)
      - 3:13: cluster.secret: must be a string, found a sequence
      - 5:10: secrets: must be a mapping, found an integer
      - 1:1: trustdinfo: is required
      - 1:1: certs: is required
    ");
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let mut bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    bundle.certs.etcd.key = bundle.certs.k8s.key.clone();
    let text = bundle.to_yaml();
    let err = SecretsBundle::parse(&text).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid secrets bundle (1 problem):\n  - 12:9: certs.etcd.key: the private key does not belong to the certificate's public key"
    );
    assert!(bundle.validate().is_err());
}

#[test]
fn subject_key_ids_are_computed_as_talos_computes_them() {
    // Go's SKI for a CA is the SHA-1 of the public key bits; ours must agree
    // on Talos's own certificates.
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    for ck in [
        &bundle.certs.etcd,
        &bundle.certs.k8s,
        &bundle.certs.k8s_aggregator,
        &bundle.certs.os,
    ] {
        let cert = pki::parse_certificate_pem(&ck.crt).unwrap();
        let ours = SubjectKeyIdentifier::try_from(
            cert.tbs_certificate.subject_public_key_info.owned_to_ref(),
        )
        .unwrap();
        let theirs: SubjectKeyIdentifier = extension(&cert, "2.5.29.14").unwrap();
        assert_eq!(ours, theirs);
    }
}

use x509_cert::der::referenced::OwnedToRef as _;

fn extension<T: for<'a> x509_cert::der::Decode<'a>>(cert: &Certificate, oid: &str) -> Option<T> {
    let oid = x509_cert::der::oid::ObjectIdentifier::new(oid).unwrap();
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| T::from_der(e.extn_value.as_bytes()).unwrap())
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn unix(t: &x509_cert::time::Time) -> u64 {
    t.to_unix_duration().as_secs()
}

/// Verify `cert`'s signature with `key`'s public key.
fn verify(cert: &Certificate, issuer_key: &PrivateKey) {
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let sig = cert.signature.raw_bytes();
    match issuer_key {
        PrivateKey::EcdsaP256(k) => {
            use p256::ecdsa::signature::Verifier as _;
            let vk = p256::ecdsa::VerifyingKey::from(k.public_key());
            let sig = p256::ecdsa::Signature::from_der(sig).unwrap();
            vk.verify(&tbs, &sig).expect("ECDSA signature verifies");
        }
        PrivateKey::Ed25519(k) => {
            let sig = ed25519_dalek::Signature::from_slice(sig).unwrap();
            k.verifying_key()
                .verify_strict(&tbs, &sig)
                .expect("Ed25519 signature verifies");
        }
        PrivateKey::Rsa => panic!("no RSA CA expected"),
    }
}

fn generated(seed: u8) -> SecretsBundle {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    generate(&mut rng, ISSUED_AT, Contract::V1_13).expect("generation succeeds")
}

#[test]
fn generated_bundle_has_talos_key_types_and_certificate_properties() {
    let bundle = generated(7);
    // Round trip through the YAML form: what we write, we (and Talos) read.
    assert_eq!(SecretsBundle::parse(&bundle.to_yaml()).unwrap(), bundle);

    for (ck, want_subject, ed25519) in [
        (&bundle.certs.etcd, "O=etcd", false),
        (&bundle.certs.k8s, "O=kubernetes", false),
        (&bundle.certs.k8s_aggregator, "CN=front-proxy", false),
        (&bundle.certs.os, "O=talos", true),
    ] {
        let cert = pki::parse_certificate_pem(&ck.crt).unwrap();
        let key = PrivateKey::from_pem(&ck.key).unwrap();
        assert_eq!(
            matches!(key, PrivateKey::Ed25519(_)),
            ed25519,
            "{want_subject}"
        );
        if !ed25519 {
            assert!(ck.key.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        } else {
            assert!(ck.key.starts_with("-----BEGIN ED25519 PRIVATE KEY-----\n"));
        }
        pki::check_key_matches(&cert, &key).expect("key matches certificate");
        verify(&cert, &key);
        let tbs = &cert.tbs_certificate;
        assert_eq!(subject(&cert), want_subject);
        assert_eq!(tbs.issuer, tbs.subject, "self-signed");
        assert_eq!(unix(&tbs.validity.not_before), ISSUED_AT);
        assert_eq!(unix(&tbs.validity.not_after), ISSUED_AT + TEN_YEARS);
        let serial = tbs.serial_number.as_bytes();
        assert!(serial.len() <= 17 && serial.len() >= 8, "128-bit serial");
        let bc: BasicConstraints = extension(&cert, "2.5.29.19").unwrap();
        assert!(bc.ca);
        let ku: KeyUsage = extension(&cert, "2.5.29.15").unwrap();
        assert!(ku.digital_signature() && ku.key_cert_sign());
        let eku: ExtendedKeyUsage = extension(&cert, "2.5.29.37").unwrap();
        let eku: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
        assert_eq!(eku, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
        let ski: Option<SubjectKeyIdentifier> = extension(&cert, "2.5.29.14");
        assert!(ski.is_some());
    }
    let sa = PrivateKey::from_pem(&bundle.certs.k8s_service_account.key).unwrap();
    assert!(matches!(sa, PrivateKey::EcdsaP256(_)));

    let token = |t: &str| {
        let (a, b) = t.split_once('.').unwrap();
        a.len() == 6
            && b.len() == 16
            && (a.to_string() + b)
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    };
    assert!(token(&bundle.secrets.bootstrap_token));
    assert!(token(&bundle.trustd_info.token));
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let secretbox = bundle
        .secrets
        .secretbox_encryption_secret
        .as_deref()
        .unwrap();
    assert_eq!(STANDARD.decode(secretbox).unwrap().len(), 32);
    assert!(bundle.secrets.aescbc_encryption_secret.is_none());
    assert_eq!(URL_SAFE.decode(&bundle.cluster.id).unwrap().len(), 32);
    assert_eq!(STANDARD.decode(&bundle.cluster.secret).unwrap().len(), 32);
}

#[test]
fn generation_depends_only_on_the_rng_and_the_issue_time() {
    assert_eq!(generated(1), generated(1));
    let (a, b) = (generated(1), generated(2));
    assert_ne!(a.cluster.id, b.cluster.id);
    assert_ne!(a.certs.etcd.key, b.certs.etcd.key);
    assert_ne!(a.certs.os.crt, b.certs.os.crt);
}

fn admin_request(seed: u8) -> AdminCertRequest {
    AdminCertRequest::admin(1_700_000_000, [seed; 32])
}

#[test]
fn admin_certificate_is_signed_by_the_os_ca_with_the_admin_role() {
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let admin = bundle.admin_certificate(&admin_request(3)).unwrap();
    let cert = pki::parse_certificate_pem(&admin.crt).unwrap();
    let key = PrivateKey::from_pem(&admin.key).unwrap();
    pki::check_key_matches(&cert, &key).unwrap();
    let ca_cert = pki::parse_certificate_pem(&bundle.certs.os.crt).unwrap();
    let ca_key = PrivateKey::from_pem(&bundle.certs.os.key).unwrap();
    verify(&cert, &ca_key);
    let tbs = &cert.tbs_certificate;
    assert_eq!(subject(&cert), "O=os:admin");
    assert_eq!(tbs.issuer, ca_cert.tbs_certificate.subject);
    assert_eq!(unix(&tbs.validity.not_before), 1_700_000_000);
    assert_eq!(
        unix(&tbs.validity.not_after),
        1_700_000_000 + 365 * 24 * 3600
    );
    let ku: KeyUsage = extension(&cert, "2.5.29.15").unwrap();
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    let eku: ExtendedKeyUsage = extension(&cert, "2.5.29.37").unwrap();
    let eku: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
    assert_eq!(eku, ["1.3.6.1.5.5.7.3.2"]);
    let bc: Option<BasicConstraints> = extension(&cert, "2.5.29.19");
    assert!(bc.is_none_or(|bc| !bc.ca));
}

fn talosconfig_input(seed: u8) -> TalosconfigInput {
    TalosconfigInput {
        context: "base".into(),
        endpoints: vec!["192.0.2.10".into()],
        nodes: Vec::new(),
        cert: admin_request(seed),
    }
}

#[test]
fn talosconfig_is_deterministic_from_its_seed() {
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let one = bundle.talosconfig(&talosconfig_input(9)).unwrap();
    assert_eq!(one, bundle.talosconfig(&talosconfig_input(9)).unwrap());
    assert_ne!(one, bundle.talosconfig(&talosconfig_input(10)).unwrap());

    // Layout, with the (long, seed-dependent) base64 values elided.
    let shape: String = one
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((k, v)) if v.len() > 100 => format!("{k}: <base64, {} chars>\n", v.len()),
            _ => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!(shape, @r"
    context: base
    contexts:
        base:
            endpoints:
                - 192.0.2.10
            ca: <base64, 660 chars>
            crt: <base64, 616 chars>
            key: <base64, 180 chars>
    ");
    // The CA is the bundle's OS CA.
    let ca_line = one
        .lines()
        .find(|l| l.trim_start().starts_with("ca: "))
        .unwrap();
    assert_eq!(
        ca_line.trim_start(),
        format!("ca: {}", bundle.certs.os.crt_base64())
    );
}

#[test]
fn admin_certificate_refuses_an_empty_validity() {
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let mut req = admin_request(1);
    req.not_after = req.not_before;
    let err = bundle.admin_certificate(&req).unwrap_err().to_string();
    assert_eq!(
        err,
        "admin client certificate: validity must end after it starts (not before 1700000000, not after 1700000000)"
    );
}

#[test]
fn der_encoding_is_stable() {
    // Re-encoding a parsed Talos certificate gives its original DER: the
    // parser keeps everything (checks the x509 stack we rely on).
    let bundle = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let cert = pki::parse_certificate_pem(&bundle.certs.k8s.crt).unwrap();
    let der = cert.to_der().unwrap();
    assert_eq!(Certificate::from_der(&der).unwrap(), cert);
}

#[test]
fn hand_built_bundles_are_validated_too() {
    let mut bundle = generated(4);
    bundle.cluster.secret.clear();
    bundle.certs.os.key.clear();
    bundle.secrets.secretbox_encryption_secret = None;
    bundle.secrets.bootstrap_token = "not-a-token".into();
    let err = bundle.validate().unwrap_err().to_string();
    insta::assert_snapshot!(err, @r"
    invalid secrets bundle (4 problems):
      - cluster.secret: is required
      - certs.os.key: is required
      - secrets: one of secretboxencryptionsecret, aescbcencryptionsecret is required
      - secrets.bootstraptoken: must look like `abcdef.0123456789abcdef` ([0-9a-z]{6}.[0-9a-z]{16})
    ");
}

#[test]
fn debug_output_never_shows_secrets() {
    let bundle = generated(5);
    let debug = format!("{bundle:?}");
    for secret in [
        bundle.cluster.secret.as_str(),
        bundle.secrets.bootstrap_token.as_str(),
        bundle.trustd_info.token.as_str(),
        bundle
            .secrets
            .secretbox_encryption_secret
            .as_deref()
            .unwrap(),
        bundle.certs.os.key.as_str(),
        bundle.certs.k8s_service_account.key.as_str(),
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains(&bundle.cluster.id));
}

/// (extension id, critical) in certificate order.
fn extension_layout(cert: &Certificate) -> Vec<(String, bool)> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect()
}

#[test]
fn generated_cas_have_the_same_extensions_as_talos_cas() {
    let theirs = SecretsBundle::parse(&fixture("tests/bundle-fixtures/secrets.yaml")).unwrap();
    let ours = generated(6);
    for (t, o) in [
        (&theirs.certs.etcd, &ours.certs.etcd),
        (&theirs.certs.k8s, &ours.certs.k8s),
        (&theirs.certs.k8s_aggregator, &ours.certs.k8s_aggregator),
        (&theirs.certs.os, &ours.certs.os),
    ] {
        let t = pki::parse_certificate_pem(&t.crt).unwrap();
        let o = pki::parse_certificate_pem(&o.crt).unwrap();
        assert_eq!(extension_layout(&o), extension_layout(&t));
        assert_eq!(o.signature_algorithm, t.signature_algorithm);
        assert_eq!(
            o.tbs_certificate.subject_public_key_info.algorithm,
            t.tbs_certificate.subject_public_key_info.algorithm
        );
        assert_eq!(o.tbs_certificate.version, t.tbs_certificate.version);
    }
    // Same subjects as Talos for the CAs whose subject has not changed since
    // the fixture was made (the aggregator CA gained `CN=front-proxy` later).
    for (t, o) in [
        (&theirs.certs.etcd, &ours.certs.etcd),
        (&theirs.certs.k8s, &ours.certs.k8s),
        (&theirs.certs.os, &ours.certs.os),
    ] {
        let t = pki::parse_certificate_pem(&t.crt).unwrap();
        let o = pki::parse_certificate_pem(&o.crt).unwrap();
        assert_eq!(
            o.tbs_certificate.subject.to_der().unwrap(),
            t.tbs_certificate.subject.to_der().unwrap(),
            "subject encoded as Go does (PrintableString)"
        );
    }
}
