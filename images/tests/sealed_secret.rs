//! The `sealed-secret` compiler: a SealedSecret the controller's private
//! key opens for each scope, byte-identical across builds, checked before
//! anything is revealed, and never carrying plaintext.

mod support;

use base64::Engine as _;
use hlb_builder::{BuildError, Derivation, NoSecrets, Value};
use hlb_images::sealed_secret::SealedSecretCompiler;
use hlb_images::yaml::{Yaml, parse_documents};
use support::drv;
use support::secrets::{
    Built, Sources, TestSecrets, assert_no_canary, build_with, controller, unseal, with_sources,
};

const PASSWORD: &[u8] = b"hlb-canary-3b9e-grafana-admin-password";
const USER: &[u8] = b"admin";

fn lab(lab_key: u8) -> TestSecrets {
    TestSecrets::new(
        lab_key,
        &[("grafana-password", PASSWORD), ("grafana-user", USER)],
    )
}

fn params(scope: &str) -> Value {
    Value::map()
        .with("name", "grafana-admin")
        .with("namespace", "monitoring")
        .with("scope", scope)
        .with("type", "Opaque")
        .with(
            "labels",
            Value::map()
                .with("app.kubernetes.io/name", "grafana")
                .with("tier", "monitoring"),
        )
        .with(
            "annotations",
            Value::map().with("hlb.example/owner", "observability"),
        )
        .with(
            "data",
            Value::map()
                .with("admin-password", "grafana-password")
                .with("admin-user", "grafana-user"),
        )
}

fn sealed(lab: &TestSecrets, params: Value) -> (Derivation, Sources) {
    let mut sources = Sources::new();
    sources.insert("cert".into(), controller().0.clone().into_bytes());
    for name in ["grafana-password", "grafana-user"] {
        sources.insert(format!("tag:{name}"), lab.tag_text(name));
    }
    let d = drv("sealed-secret", "grafana-admin", params);
    (with_sources(d, &sources), sources)
}

fn manifest(b: &Built) -> String {
    if let Err(e) = &b.result {
        panic!("build failed: {e}");
    }
    std::fs::read_to_string(b.out.join("manifest.yaml")).unwrap()
}

fn objects(b: &Built) -> String {
    std::fs::read_to_string(b.out.join("objects.json")).unwrap()
}

/// `spec.encryptedData`, decoded.
fn encrypted_data(manifest: &str) -> Vec<(String, Vec<u8>)> {
    let docs = parse_documents(manifest).unwrap();
    let [doc] = docs.as_slice() else {
        panic!("one document expected")
    };
    let data = doc
        .root
        .value
        .get("spec")
        .unwrap()
        .value
        .get("encryptedData")
        .unwrap();
    data.value
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let Yaml::Str(b64) = &v.value else {
                panic!("a base64 string")
            };
            (
                k.value.as_str().unwrap().to_string(),
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
        })
        .collect()
}

#[test]
fn manifest_snapshot() {
    let lab = lab(0x42);
    let (d, sources) = sealed(&lab, params("strict"));
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    insta::assert_snapshot!("strict_manifest", manifest(&b));
    assert_eq!(
        objects(&b),
        "[{\"apiVersion\":\"bitnami.com/v1alpha1\",\"kind\":\"SealedSecret\",\"name\":\"grafana-admin\",\"namespace\":\"monitoring\"}]\n"
    );
    let mut asked = lab.asked();
    asked.sort();
    assert_eq!(asked, ["grafana-password", "grafana-user"]);
}

#[test]
fn same_inputs_same_bytes() {
    // Two operators (two age identities), one lab key: the same bytes.
    let (one, two) = (lab(0x42), lab(0x42));
    let (d1, s1) = sealed(&one, params("namespace-wide"));
    let (d2, s2) = sealed(&two, params("namespace-wide"));
    assert_eq!(d1.id(), d2.id(), "tags, hence ids, agree");
    let (b1, b2) = (
        build_with(&SealedSecretCompiler, &d1, &s1, &one),
        build_with(&SealedSecretCompiler, &d2, &s2, &two),
    );
    assert_eq!(manifest(&b1), manifest(&b2));
    assert_eq!(objects(&b1), objects(&b2));
    // A rebuild by the same operator too.
    let b3 = build_with(&SealedSecretCompiler, &d1, &s1, &one);
    assert_eq!(manifest(&b1), manifest(&b3));

    // Another derivation (here: another label) gets fresh randomness.
    let (d4, s4) = sealed(&one, params("namespace-wide").with("labels", Value::map()));
    let b4 = build_with(&SealedSecretCompiler, &d4, &s4, &one);
    let (old, new) = (
        encrypted_data(&manifest(&b1)),
        encrypted_data(&manifest(&b4)),
    );
    for ((k1, v1), (k2, v2)) in old.iter().zip(&new) {
        assert_eq!(k1, k2);
        assert_ne!(v1, v2, "{k1}: sealed anew for a new derivation id");
    }
}

#[test]
fn the_controller_key_unseals_every_value_in_every_scope() {
    let lab = lab(0x42);
    for (scope, label) in [
        ("strict", "monitoring/grafana-admin"),
        ("namespace-wide", "monitoring"),
        ("cluster-wide", ""),
    ] {
        let (d, sources) = sealed(&lab, params(scope));
        let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
        let text = manifest(&b);
        assert_no_canary(PASSWORD, text.as_bytes(), "the manifest");
        let data = encrypted_data(&text);
        let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["admin-password", "admin-user"], "{scope}");
        for (key, ciphertext) in &data {
            let want = if key == "admin-user" { USER } else { PASSWORD };
            let got = unseal(ciphertext, label)
                .unwrap_or_else(|e| panic!("{scope}: unsealing {key}: {e}"));
            assert!(got.ct_eq(want), "{scope}: {key} unseals to its plaintext");
            // The label binds the value to its scope.
            for other in [
                "monitoring/grafana-admin",
                "monitoring",
                "",
                "other/grafana-admin",
            ] {
                if other != label {
                    assert!(
                        unseal(ciphertext, other).is_err(),
                        "{scope}: {key} must not unseal under label {other:?}"
                    );
                }
            }
        }
        let scoped = match scope {
            "namespace-wide" => Some("sealedsecrets.bitnami.com/namespace-wide: \"true\""),
            "cluster-wide" => Some("sealedsecrets.bitnami.com/cluster-wide: \"true\""),
            _ => None,
        };
        match scoped {
            Some(a) => assert_eq!(text.matches(a).count(), 2, "{scope}: {a} on both metadata"),
            None => assert!(!text.contains("sealedsecrets.bitnami.com/"), "{text}"),
        }
    }
}

#[test]
fn without_an_identity_the_build_needs_one() {
    let lab = lab(0x42);
    let (d, sources) = sealed(&lab, params("strict"));
    let b = build_with(&SealedSecretCompiler, &d, &sources, &NoSecrets);
    assert!(
        matches!(&b.result, Err(BuildError::NeedsIdentity(what)) if what == "the lab key"),
        "{:?}",
        b.result
    );
    assert!(!b.out.exists());
}

/// Recipe mistakes are reported the same with or without an identity, and
/// before anything is revealed.
#[test]
fn bad_parameters_are_reported_before_revealing() {
    let lab = lab(0x42);
    let cases = [
        (
            params("strict").with("scope", "global"),
            "sealed-secret grafana-admin: unknown sealing scope \"global\" (expected strict, namespace-wide or cluster-wide)",
        ),
        (
            params("namespace-wide").with("namespace", Value::Null),
            "sealed-secret grafana-admin: the namespace-wide scope binds the Secret to its namespace, and none is given: give it a namespace, or make it cluster-wide",
        ),
        (
            params("strict").with("namespace", "Monitoring"),
            "sealed-secret grafana-admin: namespace `Monitoring` is not valid: ",
        ),
        (
            params("strict").with("name", "Grafana_Admin"),
            "sealed-secret Grafana_Admin: `Grafana_Admin` is not a valid Secret name: ",
        ),
        (
            params("strict").with(
                "data",
                Value::map().with("admin password", "grafana-password"),
            ),
            "sealed-secret grafana-admin: data key `admin password` is not valid: only letters, digits, `-`, `_` and `.` are allowed",
        ),
    ];
    for (p, want) in cases {
        for source in [&lab as &dyn hlb_builder::SecretSource, &NoSecrets] {
            let (d, sources) = sealed(&lab, p.clone());
            let b = build_with(&SealedSecretCompiler, &d, &sources, source);
            let Err(BuildError::Invalid(msg)) = &b.result else {
                panic!(
                    "expected an invalid-input error for {want:?}, got {:?}",
                    b.result
                )
            };
            assert!(msg.starts_with(want), "{msg}\n  should start with\n{want}");
        }
    }
    assert!(lab.asked().is_empty());
}

#[test]
fn a_bad_certificate_names_the_certificate() {
    let lab = lab(0x42);
    let (d, mut sources) = sealed(&lab, params("strict"));
    sources.insert(
        "cert".into(),
        b"-----BEGIN CERTIFICATE-----\nnope\n".to_vec(),
    );
    let d = with_sources(d, &sources);
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    let Err(BuildError::Invalid(msg)) = &b.result else {
        panic!("{:?}", b.result)
    };
    assert!(
        msg.starts_with("sealed-secret grafana-admin: certificate: not a PEM X.509 certificate"),
        "{msg}"
    );
    assert!(lab.asked().is_empty());
}

#[test]
fn only_the_data_secrets_are_revealed_and_each_needs_its_tag() {
    let lab = lab(0x42);
    let (d, mut sources) = sealed(&lab, params("strict"));
    sources.remove("tag:grafana-user");
    let d = with_sources(d, &sources);
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    assert!(
        matches!(&b.result, Err(BuildError::Internal(m)) if m.contains("has no source `tag:grafana-user`")),
        "{:?}",
        b.result
    );
    assert!(lab.asked().is_empty());

    let (d, sources) = sealed(
        &lab,
        params("strict").with("data", Value::map().with("password", "grafana-password")),
    );
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    manifest(&b);
    assert_eq!(lab.asked(), ["grafana-password"]);
}

#[test]
fn errors_and_results_carry_no_plaintext() {
    let lab = lab(0x42);
    let (d, sources) = sealed(&lab, params("strict"));
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    assert_no_canary(
        PASSWORD,
        format!("{:?}", b.result).as_bytes(),
        "Debug of the result",
    );
    for (path, bytes) in support::secrets::files_under(b.dir.path()) {
        assert_no_canary(PASSWORD, &bytes, &path.display().to_string());
    }
}

#[test]
fn cluster_wide_without_a_namespace() {
    let lab = lab(0x42);
    let (d, sources) = sealed(&lab, params("cluster-wide").with("namespace", Value::Null));
    let b = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    let text = manifest(&b);
    assert!(!text.contains("namespace:"), "{text}");
    assert_eq!(
        objects(&b),
        "[{\"apiVersion\":\"bitnami.com/v1alpha1\",\"kind\":\"SealedSecret\",\"name\":\"grafana-admin\",\"namespace\":null}]\n"
    );
    for (key, ciphertext) in encrypted_data(&text) {
        let want = if key == "admin-user" { USER } else { PASSWORD };
        assert!(unseal(&ciphertext, "").unwrap().ct_eq(want), "{key}");
    }
    // Written exactly as a manifest: Go map order, sigs.k8s.io/yaml style.
    let docs = hlb_images::yaml::parse_documents(&text).unwrap();
    let again = hlb_images::manifest::Normalized::from_checked([(
        docs[0].root.value.clone(),
        hlb_images::manifest::ObjectRef {
            api_version: "bitnami.com/v1alpha1".into(),
            kind: "SealedSecret".into(),
            name: "grafana-admin".into(),
            namespace: None,
        },
    )]);
    assert_eq!(again.yaml, text);
    assert!(text.starts_with("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    hlb.example/owner: observability\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"\n  name: grafana-admin\nspec:\n"), "{text}");
}
