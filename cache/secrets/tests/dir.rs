//! The secrets directory: set, read the tag without keys, verify.

use std::path::Path;

use hlb_cache::fsx::write_atomic;
use hlb_secrets::age_file::{generate_x25519_identity, identity_search_path};
use hlb_secrets::{LabKey, Plaintext, SecretError, SecretName, SecretsDir, Tag, parse_identities};

#[test]
fn set_then_read_tag_without_identity_then_verify_with_one() {
    let g = generate_x25519_identity();
    let ids = parse_identities(Path::new("id"), g.identity_file.expose()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = SecretsDir::new(tmp.path());
    let lab = LabKey::from_bytes([2; 32]);
    let to = std::slice::from_ref(&g.recipient);
    dir.write(&SecretsDir::lab_key_name(), to, &lab.to_file_text())
        .unwrap();

    let name = SecretName::new("grafana.admin_password").unwrap();
    let p = Plaintext::from_slice(b"pa55");
    let tag = dir.set(&name, to, &lab, &p).unwrap();
    // Evaluation: no identity.
    assert_eq!(dir.read_tag(&name).unwrap(), tag);
    // Compilation: identity, lab key from the repository, tag checked.
    let lab_back = dir.read_lab_key(&ids).unwrap();
    assert!(
        dir.read_verified(&name, &ids, &lab_back)
            .unwrap()
            .ct_eq(b"pa55")
    );

    // Setting the same value again gives the same tag (same ids) even
    // though the age ciphertext changes.
    let age_before = std::fs::read(dir.age_path(&name)).unwrap();
    assert_eq!(dir.set(&name, to, &lab, &p).unwrap(), tag);
    assert_ne!(std::fs::read(dir.age_path(&name)).unwrap(), age_before);

    // A tag from before a lab key rotation is reported as stale.
    let rotated = LabKey::from_bytes([3; 32]);
    let err = dir.read_verified(&name, &ids, &rotated).unwrap_err();
    assert!(matches!(err, SecretError::StaleTag { .. }), "{err:?}");
    assert!(err.to_string().contains(&lab.id().to_string()), "{err}");

    // The .age changed behind the tag's back.
    dir.write(&name, to, &Plaintext::from_slice(b"other"))
        .unwrap();
    assert!(matches!(
        dir.read_verified(&name, &ids, &lab),
        Err(SecretError::TagMismatch { .. })
    ));
}

#[test]
fn tag_errors_name_the_secret_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SecretsDir::new(tmp.path());
    let name = SecretName::new("db").unwrap();
    let err = dir.read_tag(&name).unwrap_err().to_string();
    assert!(
        err.starts_with("secret db: reading tag file ") && err.contains("db.tag"),
        "{err}"
    );

    let lab = LabKey::from_bytes([2; 32]);
    let other = Tag::compute(
        &lab,
        &SecretName::new("web").unwrap(),
        &Plaintext::from_slice(b"x"),
    );
    write_atomic(&dir.tag_path(&name), other.to_file_text().as_bytes()).unwrap();
    let err = dir.read_tag(&name).unwrap_err().to_string();
    assert!(err.contains("is the tag of secret \"web\""), "{err}");

    write_atomic(&dir.tag_path(&name), b"hlb-secret-tag-v1\nname db\n").unwrap();
    let err = dir.read_tag(&name).unwrap_err().to_string();
    assert!(err.contains("db.tag:"), "{err}");
}

#[test]
fn names_are_validated() {
    for bad in [
        "",
        "../x",
        "a/b",
        ".hidden",
        "x.age",
        "x.tag",
        "sp ace",
        &"a".repeat(129),
    ] {
        assert!(SecretName::new(bad).is_err(), "{bad:?}");
    }
    for good in ["a", "db-password", "grafana.admin_password", "A1"] {
        assert!(SecretName::new(good).is_ok(), "{good:?}");
    }
}

#[test]
fn identity_search_order() {
    let home = Path::new("/home/u");
    assert_eq!(
        identity_search_path(Some(Path::new("/x")), Some("/y".as_ref()), Some(home)),
        vec![Path::new("/x")]
    );
    assert_eq!(
        identity_search_path(None, Some("/y".as_ref()), Some(home)),
        vec![Path::new("/y")]
    );
    assert_eq!(
        identity_search_path(None, Some("".as_ref()), Some(home)),
        vec![Path::new("/home/u/.ssh/id_ed25519")]
    );
    assert!(identity_search_path(None, None, None).is_empty());
}

#[test]
fn core_dump_guard_sets_and_restores_the_soft_limit() {
    use hlb_secrets::CoreDumpGuard;
    let before = CoreDumpGuard::current_soft_limit().unwrap();
    {
        let _g = CoreDumpGuard::new().unwrap();
        assert_eq!(CoreDumpGuard::current_soft_limit().unwrap(), 0);
    }
    assert_eq!(CoreDumpGuard::current_soft_limit().unwrap(), before);
}

#[test]
fn yaml_emitter_quotes_what_could_be_misread() {
    let v = serde_json::json!({
        "yes": "no",
        "a key": {"n": 1, "b": true, "z": null, "empty": {}, "list": ["x", {"k": "v"}], "e": []},
        "s": "line\nbreak: \"q\"",
    });
    insta::assert_snapshot!(hlb_secrets::yaml::to_yaml(&v), @r#"
    "yes": "no"
    "a key":
      "n": 1
      b: true
      z: null
      empty: {}
      list:
        - "x"
        - k: "v"
      e: []
    s: "line\nbreak: \"q\""
    "#);
}
