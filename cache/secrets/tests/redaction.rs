//! Canary discipline: a known plaintext never shows up in the Debug or
//! Display of any type that held it, nor in any error.

use std::path::Path;

use hlb_secrets::age_file::generate_x25519_identity;
use hlb_secrets::sealing_key::{SealingKeyParams, generate_sealing_key};
use hlb_secrets::{
    LabKey, Plaintext, SealSeed, SecretName, SecretsDir, Tag, decrypt_with, encrypt_to,
    parse_identities,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const CANARY: &str = "CANARY-5e1f0c7d-do-not-print";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaks the canary: {text}");
    assert!(
        !text.contains("5e1f0c7d"),
        "{what} leaks part of the canary: {text}"
    );
}

#[test]
fn plaintext_and_keys_are_redacted_in_debug() {
    let p = Plaintext::from(CANARY.to_string());
    assert_eq!(format!("{p:?}"), "Plaintext(<redacted>)");
    assert_eq!(format!("{p:#?}"), "Plaintext(<redacted>)");
    assert_clean("Option<Plaintext>", &format!("{:?}", Some(p.clone())));
    assert_clean("Vec<Plaintext>", &format!("{:?}", vec![p.clone()]));

    let lab = LabKey::from_bytes([0x5e; 32]);
    assert!(!format!("{lab:?}").contains("5e5e"), "{lab:?}");
    let seed = SealSeed::from_bytes([0x5e; 32]);
    assert_eq!(format!("{seed:?}"), "SealSeed(<redacted>)");

    let g = generate_x25519_identity();
    let ids = parse_identities(Path::new("/k/id.txt"), g.identity_file.expose()).unwrap();
    let secret_line = std::str::from_utf8(g.identity_file.expose())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_owned();
    let dbg = format!("{ids:?} {g:?}");
    assert!(!dbg.contains(&secret_line[16..]), "{dbg}");
    assert!(dbg.contains("/k/id.txt"));

    let pair = generate_sealing_key(
        &mut ChaCha20Rng::from_seed([0; 32]),
        &SealingKeyParams {
            bits: 1024,
            common_name: String::new(),
            not_before_unix: 0,
            valid_for: std::time::Duration::from_secs(60),
        },
    )
    .unwrap();
    assert!(!format!("{pair:?}").contains("PRIVATE"));
}

#[test]
fn tags_and_errors_never_carry_the_plaintext() {
    let g = generate_x25519_identity();
    let other = generate_x25519_identity();
    let wrong = parse_identities(Path::new("wrong"), other.identity_file.expose()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = SecretsDir::new(tmp.path());
    let name = SecretName::new("canary").unwrap();
    let lab = LabKey::from_bytes([1; 32]);
    let p = Plaintext::from(CANARY.to_string());
    let tag = dir
        .set(&name, std::slice::from_ref(&g.recipient), &lab, &p)
        .unwrap();
    assert_clean("tag", &format!("{tag:?} {}", tag.to_file_text()));
    assert_clean(
        "tag file",
        &std::fs::read_to_string(dir.tag_path(&name)).unwrap(),
    );
    assert_clean(
        "age file",
        &String::from_utf8_lossy(&std::fs::read(dir.age_path(&name)).unwrap()),
    );

    let mut errors = Vec::new();
    errors.push(dir.read(&name, &wrong).unwrap_err().to_string());
    let ct = encrypt_to(std::slice::from_ref(&g.recipient), &p).unwrap();
    errors.push(format!("{:?}", decrypt_with(&wrong, &ct).unwrap_err()));
    let ids = parse_identities(Path::new("right"), g.identity_file.expose()).unwrap();
    errors.push(format!(
        "{:?}",
        decrypt_with(&ids, &ct[..ct.len() - 1]).unwrap_err()
    ));
    // A tag made for another plaintext: the mismatch error names files only.
    let stale = Tag::compute(&lab, &name, &Plaintext::from_slice(b"old value"));
    std::fs::write(dir.tag_path(&name), stale.to_file_text()).unwrap();
    let err = dir.read_verified(&name, &ids, &lab).unwrap_err();
    errors.push(format!("{err} {err:?}"));
    // A malformed lab key whose "plaintext" is the canary.
    let err = LabKey::parse(&p).unwrap_err();
    errors.push(format!("{err} {err:?}"));
    // Sealing-key parse of the canary.
    let err = hlb_secrets::sealing_key::parse_private_key_pem("k", &p).unwrap_err();
    errors.push(format!("{err} {err:?}"));
    for e in &errors {
        assert_clean("error", e);
    }
    assert!(
        errors[3].contains("canary.tag") && errors[3].contains("canary.age"),
        "{}",
        errors[3]
    );
}
