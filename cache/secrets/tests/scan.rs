//! The plaintext scanner: a table of what must and must not be flagged.

use std::path::Path;

use hlb_secrets::{FindingKind, scan_plaintext};

/// The kind and line a case must be flagged with, or `None`.
type Expected = Option<(FindingKind, usize)>;

#[test]
fn scanner_table() {
    use FindingKind::*;
    // Built at run time so this test file does not itself trip scanners.
    let begin = |kind: &str| format!("-----BEGIN {kind}-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n");
    let age_key = format!(
        "AGE-SECRET-KEY-1{}",
        "QYZ7RP8T6KC3L0J4EDNWUHGF5AX9SM2V".repeat(2)
    );
    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "k8s/key.pem",
            begin("PRIVATE KEY"),
            Some((PemPrivateKey, 1)),
        ),
        (
            "tls.key",
            begin("RSA PRIVATE KEY"),
            Some((PemPrivateKey, 1)),
        ),
        (
            "ec.key",
            format!("# comment\n{}", begin("EC PRIVATE KEY")),
            Some((PemPrivateKey, 2)),
        ),
        (
            "enc.key",
            begin("ENCRYPTED PRIVATE KEY"),
            Some((PemPrivateKey, 1)),
        ),
        (
            "id_ed25519",
            begin("OPENSSH PRIVATE KEY"),
            Some((OpenSshPrivateKey, 1)),
        ),
        (
            "key.asc",
            begin("PGP PRIVATE KEY BLOCK"),
            Some((PgpPrivateKey, 1)),
        ),
        (
            "identity.txt",
            format!("# created: today\n{age_key}\n"),
            Some((AgeSecretKey, 2)),
        ),
        (
            "vars.kdl",
            "aws-key \"AKIAIOSFODNN7EXAMPLE\"\n".into(),
            Some((AwsAccessKeyId, 1)),
        ),
        (
            "sts.env",
            "X=ASIAABCDEFGHIJKLMNOP".into(),
            Some((AwsAccessKeyId, 1)),
        ),
        (
            "credentials",
            "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n".into(),
            Some((AwsSecretAccessKey, 2)),
        ),
        (
            "conf.yaml",
            "AWS_SECRET_ACCESS_KEY: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n".into(),
            Some((AwsSecretAccessKey, 1)),
        ),
        // Not secrets.
        ("cert.pem", begin("CERTIFICATE"), None),
        ("pub.pem", begin("PUBLIC KEY"), None),
        (
            "id_ed25519.pub",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO test\n".into(),
            None,
        ),
        (
            "recipients.txt",
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n".into(),
            None,
        ),
        (
            "docs.md",
            "Identities look like `AGE-SECRET-KEY-1...`.\n".into(),
            None,
        ),
        (
            "notes.md",
            "The key id prefix AKIA is for long-term keys.\n".into(),
            None,
        ),
        ("word.txt", "XAKIAIOSFODNN7EXAMPLE\n".into(), None),
        ("aws.txt", "aws_secret_access_key = <set me>\n".into(), None),
        ("db.tag", "hlb-secret-tag-v1\nname db\n".into(), None),
        // .age files are encrypted: never flagged, whatever they contain.
        ("db.age", begin("PRIVATE KEY"), None),
    ];
    for (path, text, want) in cases {
        let got = scan_plaintext(Path::new(path), text.as_bytes()).map(|f| (f.kind, f.line));
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn a_finding_names_file_line_and_kind_but_not_the_secret() {
    let key = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let f = scan_plaintext(
        Path::new("recipes/hosts/aws.env"),
        format!("\n\n{key}\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(
        f.to_string(),
        "recipes/hosts/aws.env:3: looks like an AWS secret access key in plaintext; \
         encrypt it with `hlb secret set` and delete this file"
    );
    assert!(!format!("{f:?}").contains("wJalr"));
}

#[test]
fn binary_files_are_scanned_without_panicking() {
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    assert_eq!(scan_plaintext(Path::new("blob.bin"), &bytes), None);
    bytes.extend_from_slice(b"\n-----BEGIN OPENSSH PRIVATE KEY-----\n");
    assert!(scan_plaintext(Path::new("blob.bin"), &bytes).is_some());
}
