//! A [`SecretSource`] backed by real keys, as the CLI's is: an age X25519
//! identity written to a file (so the `age` command can use it too), a
//! secrets directory holding `.age` and `.tag` files made with
//! `SecretsDir::set`, and a lab key. It records every name it is asked to
//! reveal, so tests can check what a compiler never asked for.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, SecretSource};
use hlb_cache::Digest;
use hlb_secrets::age_file::generate_x25519_identity;
use hlb_secrets::seal::hybrid_decrypt;
use hlb_secrets::sealing_key::{
    DEFAULT_VALIDITY, SealingKeyParams, generate_sealing_key, parse_private_key_pem,
};
use hlb_secrets::{
    Identity, LabKey, Plaintext, Recipient, SealError, SecretName, SecretsDir, decrypt_with,
    encrypt_to, parse_identities,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub struct TestSecrets {
    dir: tempfile::TempDir,
    secrets: SecretsDir,
    identity_file: PathBuf,
    identities: Vec<Identity>,
    recipients: Vec<Recipient>,
    lab_key: LabKey,
    /// Every name `reveal` was called with, in order.
    pub asked: Mutex<Vec<String>>,
}

impl TestSecrets {
    /// A fresh identity and the lab key of 32 bytes `lab_key_byte`, holding
    /// `secrets` (name, plaintext).
    pub fn new(lab_key_byte: u8, secrets: &[(&str, &[u8])]) -> TestSecrets {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate_x25519_identity();
        let identity_file = dir.path().join("identity.txt");
        std::fs::write(&identity_file, generated.identity_file.expose()).unwrap();
        let identities =
            parse_identities(&identity_file, generated.identity_file.expose()).unwrap();
        let store = SecretsDir::new(dir.path().join("secrets"));
        std::fs::create_dir(store.root()).unwrap();
        let lab_key = LabKey::from_bytes([lab_key_byte; 32]);
        let recipients = vec![generated.recipient];
        for (name, value) in secrets {
            store
                .set(
                    &SecretName::new(name).unwrap(),
                    &recipients,
                    &lab_key,
                    &Plaintext::from_slice(value),
                )
                .unwrap();
        }
        TestSecrets {
            dir,
            secrets: store,
            identity_file,
            identities,
            recipients,
            lab_key,
            asked: Mutex::new(Vec::new()),
        }
    }

    /// The committed tag file text of `name` (what a `tag:NAME` source holds).
    pub fn tag_text(&self, name: &str) -> Vec<u8> {
        self.secrets
            .read_tag(&SecretName::new(name).unwrap())
            .unwrap()
            .to_file_text()
            .into_bytes()
    }

    pub fn identity_file(&self) -> &Path {
        &self.identity_file
    }

    /// Decrypt a store output with the identity.
    pub fn open(&self, ciphertext: &[u8]) -> Plaintext {
        decrypt_with(&self.identities, ciphertext).unwrap()
    }

    /// Directory holding the identity and the `.age` files (to scan).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl SecretSource for TestSecrets {
    fn reveal(&self, name: &str) -> Result<Plaintext, BuildError> {
        self.asked.lock().unwrap().push(name.to_string());
        let name = SecretName::new(name).map_err(|e| BuildError::Invalid(e.to_string()))?;
        self.secrets
            .read_verified(&name, &self.identities, &self.lab_key)
            .map_err(|e| BuildError::Invalid(e.to_string()))
    }

    fn lab_key(&self) -> Result<&LabKey, BuildError> {
        Ok(&self.lab_key)
    }

    fn seal_for_store(&self, plaintext: &Plaintext) -> Result<Vec<u8>, BuildError> {
        encrypt_to(&self.recipients, plaintext).map_err(|e| BuildError::Invalid(e.to_string()))
    }
}

/// Sources of a derivation: role → bytes. [`with_sources`] puts their
/// digests into the derivation, as the planner does, so ids are real.
pub type Sources = BTreeMap<String, Vec<u8>>;

pub fn with_sources(mut drv: Derivation, sources: &Sources) -> Derivation {
    drv.sources = sources
        .iter()
        .map(|(role, bytes)| (role.clone(), Digest::of(bytes)))
        .collect();
    drv
}

pub struct Built {
    /// Keeps the output and scratch directories alive for the test.
    pub dir: tempfile::TempDir,
    pub out: PathBuf,
    pub tmp: PathBuf,
    pub result: Result<(), BuildError>,
}

/// Build `drv` with `compiler`, `sources` and `secrets`, as the scheduler does.
pub fn build_with(
    compiler: &dyn Compiler,
    drv: &Derivation,
    sources: &Sources,
    secrets: &dyn SecretSource,
) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let cx = BuildCx {
        id: drv.id(),
        drv,
        inputs: BTreeMap::new(),
        sources: sources
            .iter()
            .map(|(k, v)| (k.clone(), Arc::<[u8]>::from(v.as_slice())))
            .collect(),
        out: &out,
        tmp: &tmp,
        secrets,
    };
    let result = compiler.build(&cx);
    Built {
        dir,
        out,
        tmp,
        result,
    }
}

/// Every regular file under `path` (or `path` itself), with its bytes.
pub fn files_under(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return out;
    };
    if meta.is_file() {
        out.push((path.to_path_buf(), std::fs::read(path).unwrap()));
    } else if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            out.extend(files_under(&e));
        }
    }
    out
}

/// The forms a leaked canary could take: raw, hex (both cases), and base64
/// (standard and URL-safe) at each of the three alignments it could have
/// inside a longer encoded stream (only whole 3-byte groups, whose
/// characters do not depend on the neighbouring bytes).
pub fn canary_forms(canary: &[u8]) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![
        ("raw".to_string(), canary.to_vec()),
        ("hex".to_string(), hex::encode(canary).into_bytes()),
        ("HEX".to_string(), hex::encode_upper(canary).into_bytes()),
    ];
    for shift in 0..3 {
        let part = &canary[shift..];
        let part = &part[..part.len() / 3 * 3];
        forms.push((
            format!("base64+{shift}"),
            STANDARD_NO_PAD.encode(part).into_bytes(),
        ));
        forms.push((
            format!("base64url+{shift}"),
            URL_SAFE_NO_PAD.encode(part).into_bytes(),
        ));
    }
    forms
}

/// Panics, naming `what` and the form, when any form of `canary` is in
/// `haystack` (without printing the haystack).
pub fn assert_no_canary(canary: &[u8], haystack: &[u8], what: &str) {
    for (form, needle) in canary_forms(canary) {
        assert!(
            !haystack
                .windows(needle.len())
                .any(|w| w == needle.as_slice()),
            "the canary ({form}) appears in {what}"
        );
    }
}

/// The test controller's certificate and private key PEM: from a seeded
/// generator, so the certificate (and every snapshot sealed to it) is the
/// same on every run.
pub fn controller() -> &'static (String, Plaintext) {
    static KEY: OnceLock<(String, Plaintext)> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = generate_sealing_key(
            &mut ChaCha20Rng::from_seed([9; 32]),
            &SealingKeyParams {
                bits: 2048,
                common_name: "sealed-secrets-test".into(),
                not_before_unix: 1_767_225_600, // 2026-01-01T00:00:00Z
                valid_for: DEFAULT_VALIDITY,
            },
        )
        .unwrap();
        (pair.certificate_pem, pair.private_key_pem)
    })
}

/// Unseal one value with the controller's private key and the scope label.
pub fn unseal(ciphertext: &[u8], label: &str) -> Result<Plaintext, SealError> {
    let key = parse_private_key_pem("test key", &controller().1).unwrap();
    hybrid_decrypt(&key, ciphertext, label)
}
