//! Interop with kubesealpy (PyPI), a sealed-secrets implementation nobody
//! here wrote: it must unseal what hlb seals, in all three scopes, with the
//! private key of an hlb-generated sealing key pair, and accept that
//! certificate as the controller's; and hlb must unseal what kubesealpy
//! seals to that certificate.
//!
//! The test installs kubesealpy into its own virtualenv under the cargo
//! target directory (`target/tmp/kubesealpy-venv`, or the directory in
//! `HLB_TEST_KUBESEALPY_VENV`). CI pre-installs it with:
//!
//! ```sh
//! python3 -m venv target/tmp/kubesealpy-venv && target/tmp/kubesealpy-venv/bin/pip install kubesealpy
//! ```
//!
//! When it cannot be installed, the test fails and says so; it never
//! passes without having run the check.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use hlb_secrets::seal;
use hlb_secrets::sealing_key::{self, SealingKeyParams};
use hlb_secrets::{Plaintext, Scope, SealSeed, SecretSpec, seal_secret};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn venv() -> PathBuf {
    let dir = std::env::var_os("HLB_TEST_KUBESEALPY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("kubesealpy-venv"));
    let python = dir.join("bin/python");
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", "import kubesealpy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if has(&python) {
        return python;
    }
    common::require_tool("python3", "python3-venv");
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&dir)
        .output();
    let made_ok = made.as_ref().map(|o| o.status.success()).unwrap_or(false);
    assert!(
        made_ok,
        "cannot create a virtualenv at {} for kubesealpy (apt-get install python3-venv): {:?}",
        dir.display(),
        made.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
    );
    let pip = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "kubesealpy"])
        .output();
    let pip_ok = pip.as_ref().map(|o| o.status.success()).unwrap_or(false);
    assert!(
        pip_ok && has(&python),
        "cannot install kubesealpy into {} (needs the PyPI registry; pre-install it with \
         `{}/bin/pip install kubesealpy`): {:?}",
        dir.display(),
        dir.display(),
        pip.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
    );
    python
}

#[test]
fn kubesealpy_unseals_what_hlb_seals_in_every_scope() {
    let python = venv();
    let tmp = tempfile::tempdir().unwrap();
    // A controller-like key pair: RSA-4096, empty CN, ten years.
    let params = SealingKeyParams {
        bits: sealing_key::DEFAULT_KEY_BITS,
        common_name: String::new(),
        not_before_unix: 1_767_225_600,
        valid_for: sealing_key::DEFAULT_VALIDITY,
    };
    let pair =
        sealing_key::generate_sealing_key(&mut ChaCha20Rng::from_seed([11; 32]), &params).unwrap();
    let key_path = tmp.path().join("sealing.key");
    let cert_path = tmp.path().join("sealing.crt");
    std::fs::write(&key_path, pair.private_key_pem.expose()).unwrap();
    std::fs::write(&cert_path, &pair.certificate_pem).unwrap();
    let cert = sealing_key::parse_certificate_pem("sealing.crt", &pair.certificate_pem).unwrap();
    let private = sealing_key::parse_private_key_pem("sealing.key", &pair.private_key_pem).unwrap();

    let values: BTreeMap<String, Vec<u8>> = BTreeMap::from([
        ("password".into(), b"correct horse battery staple".to_vec()),
        ("binary".into(), vec![0, 255, 10, 13, 0x80]),
        ("empty".into(), Vec::new()),
    ]);
    for (scope, scope_name) in [
        (Scope::Strict, "strict"),
        (Scope::NamespaceWide, "namespace-wide"),
        (Scope::ClusterWide, "cluster-wide"),
    ] {
        let spec = SecretSpec {
            name: "app-credentials".into(),
            namespace: Some("apps".into()),
            scope,
            secret_type: Some("Opaque".into()),
            labels: BTreeMap::new(),
            annotations: BTreeMap::from([("team".into(), "infra".into())]),
            data: values
                .iter()
                .map(|(k, v)| (k.clone(), Plaintext::from_slice(v)))
                .collect(),
        };
        let manifest =
            seal_secret(&cert.public_key, &spec, &SealSeed::from_bytes([1; 32])).unwrap();
        let manifest_path = tmp.path().join(format!("{scope_name}.yaml"));
        std::fs::write(&manifest_path, hlb_secrets::yaml::to_yaml(&manifest)).unwrap();

        let out = common::run(
            Command::new(&python)
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/kubesealpy_check.py"
                ))
                .arg(&manifest_path)
                .arg(&key_path)
                .arg(&cert_path),
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let data: BTreeMap<String, Vec<u8>> = got["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                (k.clone(), bytes)
            })
            .collect();
        assert_eq!(data, values, "scope {scope_name}");
        assert_eq!(got["scope"], scope_name);
        // And the other way: hlb unseals what kubesealpy sealed to hlb's certificate.
        let theirs = base64::engine::general_purpose::STANDARD
            .decode(got["sealed_by_kubesealpy"].as_str().unwrap())
            .unwrap();
        let label = seal::encryption_label(scope, "apps", "app-credentials");
        let unsealed = seal::hybrid_decrypt(&private, &theirs, &label).unwrap();
        assert!(
            unsealed.ct_eq(b"sealed by kubesealpy"),
            "scope {scope_name}"
        );
        assert_eq!(got["template_name"], "app-credentials");
        let c = &got["cert"];
        assert_eq!(c["same_key"], true);
        assert_eq!(c["key_size"], 4096);
        assert_eq!(c["subject"], c["issuer"]);
        assert_eq!(c["signature_hash"], "sha256");
        assert!(c["serial_bits"].as_u64().unwrap() > 120, "{c}");
    }
}
