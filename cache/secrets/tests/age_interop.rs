//! age interop with the real `age` CLI, both ways, X25519 and ssh-ed25519,
//! and the errors for bad input.

mod common;

use std::path::Path;
use std::process::Command;

use common::{read, require_tool, run, run_with_stdin};
use hlb_secrets::{
    AgeError, Armor, Plaintext, Recipient, SecretError, SecretName, SecretsDir, decrypt_with,
    encrypt_to, encrypt_to_with, parse_identities, read_identity_file,
};

const CANARY: &[u8] = b"canary-7f3a9c\x00\xffbinary tail\n";

fn keygen_x25519(dir: &Path) -> (std::path::PathBuf, Recipient) {
    require_tool("age-keygen", "age");
    let key = dir.join("key.txt");
    run(Command::new("age-keygen").arg("-o").arg(&key));
    let out = run(Command::new("age-keygen").arg("-y").arg(&key));
    let recipient: Recipient = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (key, recipient)
}

fn keygen_ssh(dir: &Path) -> (std::path::PathBuf, Recipient) {
    require_tool("ssh-keygen", "openssh-client");
    let key = dir.join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test@hlb", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().parse().unwrap())
}

fn hlb_to_cli(key: &Path, recipient: &Recipient, armor: Armor) {
    require_tool("age", "age");
    let ct = encrypt_to_with(
        std::slice::from_ref(recipient),
        &Plaintext::from_slice(CANARY),
        armor,
    )
    .unwrap();
    let out = run_with_stdin(Command::new("age").arg("-d").arg("-i").arg(key), &ct);
    assert_eq!(out.stdout, CANARY);
}

fn cli_to_hlb(key: &Path, recipient: &Recipient, armor: bool) {
    require_tool("age", "age");
    let mut cmd = Command::new("age");
    cmd.arg("-e").arg("-r").arg(recipient.to_string());
    if armor {
        cmd.arg("-a");
    }
    let ct = run_with_stdin(&mut cmd, CANARY).stdout;
    let ids = read_identity_file(key).unwrap();
    let pt = decrypt_with(&ids, &ct).unwrap();
    assert!(pt.ct_eq(CANARY));
}

#[test]
fn x25519_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, recipient) = keygen_x25519(tmp.path());
    hlb_to_cli(&key, &recipient, Armor::Binary);
    hlb_to_cli(&key, &recipient, Armor::Armored);
    cli_to_hlb(&key, &recipient, false);
    cli_to_hlb(&key, &recipient, true);
}

#[test]
fn ssh_ed25519_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, recipient) = keygen_ssh(tmp.path());
    assert!(recipient.to_string().starts_with("ssh-ed25519 "));
    hlb_to_cli(&key, &recipient, Armor::Binary);
    hlb_to_cli(&key, &recipient, Armor::Armored);
    cli_to_hlb(&key, &recipient, false);
    cli_to_hlb(&key, &recipient, true);
    // The identity knows its own recipient.
    let ids = read_identity_file(&key).unwrap();
    assert_eq!(
        ids[0].to_recipient().unwrap().to_string(),
        recipient.to_string()
    );
}

#[test]
fn secrets_dir_file_decrypts_with_cli_and_cli_file_reads_back() {
    require_tool("age", "age");
    let tmp = tempfile::tempdir().unwrap();
    let (key, recipient) = keygen_x25519(tmp.path());
    let dir = SecretsDir::new(tmp.path().join("secrets"));
    std::fs::create_dir(dir.root()).unwrap();
    let name = SecretName::new("db-password").unwrap();
    dir.write(
        &name,
        std::slice::from_ref(&recipient),
        &Plaintext::from_slice(CANARY),
    )
    .unwrap();
    let file = read(&dir.age_path(&name));
    assert!(
        file.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
        "repository files are armored"
    );
    let out = run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(dir.age_path(&name)));
    assert_eq!(out.stdout, CANARY);

    // A file the CLI wrote into the directory reads back through SecretsDir.
    let other = SecretName::new("api-token").unwrap();
    run(Command::new("age")
        .args(["-e", "-a", "-r", &recipient.to_string(), "-o"])
        .arg(dir.age_path(&other))
        .arg(dir.age_path(&name)));
    let ids = read_identity_file(&key).unwrap();
    // (the input was the ciphertext of `name`; decrypt twice)
    let inner = dir.read(&other, &ids).unwrap();
    assert!(decrypt_with(&ids, inner.expose()).unwrap().ct_eq(CANARY));
    assert_eq!(dir.list().unwrap(), vec![other, name]);
}

#[test]
fn bad_input_errors_name_secret_and_file_and_never_the_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, recipient) = keygen_x25519(tmp.path());
    let (other_key, _) = {
        let d = tmp.path().join("other");
        std::fs::create_dir(&d).unwrap();
        keygen_x25519(&d)
    };
    let wrong = read_identity_file(&other_key).unwrap();
    let dir = SecretsDir::new(tmp.path());
    let name = SecretName::new("wifi-psk").unwrap();
    dir.write(&name, &[recipient], &Plaintext::from_slice(CANARY))
        .unwrap();
    let path = dir.age_path(&name);
    let canary = String::from_utf8_lossy(CANARY).into_owned();

    let check = |err: SecretError, want: &str| {
        let msg = err.to_string();
        assert!(msg.contains("wifi-psk") || msg.contains("missing"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(want), "{msg} should mention {want}");
        assert!(!msg.contains("canary-7f3a9c") && !format!("{err:?}").contains(&canary[..13]));
    };

    // Wrong identity.
    let err = dir.read(&name, &wrong).unwrap_err();
    assert!(matches!(
        err,
        SecretError::Decrypt {
            source: AgeError::NoMatchingIdentity,
            ..
        }
    ));
    check(err, "no configured identity");

    // Truncated file (armored: cut in the middle of the body).
    let ids = read_identity_file(&_key).unwrap();
    let full = read(&path);
    std::fs::write(&path, &full[..full.len() - 80]).unwrap();
    let err = dir.read(&name, &ids).unwrap_err();
    assert!(
        matches!(
            err,
            SecretError::Decrypt {
                source: AgeError::Corrupt(_),
                ..
            }
        ),
        "{err:?}"
    );
    check(err, "corrupt or truncated");

    // Flipped byte in the binary payload.
    let ct = encrypt_to(
        &[ids[0].to_recipient().unwrap()],
        &Plaintext::from_slice(CANARY),
    )
    .unwrap();
    let mut bad = ct.clone();
    let last = bad.len() - 3;
    bad[last] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let err = dir.read(&name, &ids).unwrap_err();
    check(err, "corrupt or truncated");

    // Not an age file at all.
    std::fs::write(&path, b"hello").unwrap();
    check(dir.read(&name, &ids).unwrap_err(), "corrupt or truncated");

    // Missing secret.
    let missing = SecretName::new("missing").unwrap();
    let err = dir.read(&missing, &ids).unwrap_err();
    assert!(matches!(err, SecretError::Missing { .. }));
    assert!(
        err.to_string()
            .contains(&dir.age_path(&missing).display().to_string())
    );

    // No identity configured at all.
    std::fs::write(&path, &ct).unwrap();
    let err = dir.read(&name, &[]).unwrap_err();
    assert!(err.to_string().contains("HLB_AGE_IDENTITY"), "{err}");
}

#[test]
fn identity_file_errors() {
    let p = Path::new("/keys/id");
    let err = parse_identities(p, b"# only a comment\n").unwrap_err();
    assert!(err.to_string().contains("/keys/id") && err.to_string().contains("no identity"));
    let err = parse_identities(p, b"AGE-SECRET-KEY-1NOTAKEY\n").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert!(
        !err.to_string().contains("NOTAKEY"),
        "the key text is not echoed: {err}"
    );
    assert!(parse_identities(p, b"-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n").is_err());
}

#[test]
fn passphrase_protected_ssh_key_is_refused_with_a_reason() {
    require_tool("ssh-keygen", "openssh-client");
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&key));
    let err = read_identity_file(&key).unwrap_err();
    assert!(err.to_string().contains("passphrase-protected"), "{err}");
}

#[test]
fn recipients_file_parse_errors_point_at_the_line() {
    let text =
        "# lab\nage1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n\nnot-a-key\n";
    let err = hlb_secrets::parse_recipients("secrets/recipients.txt", text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secrets/recipients.txt:4: not an age or ssh recipient (expected `age1…` or `ssh-ed25519 …`)"
    );
    let ok = hlb_secrets::parse_recipients("r", &text.replace("not-a-key\n", "")).unwrap();
    assert_eq!(ok.len(), 1);
}
