//! The `file` compiler on secret-bearing derivations: outputs are age
//! ciphertext for the deploy recipients (readable by hlb and by the real
//! `age` CLI), only declared secrets are revealed, builds without an
//! identity fail cleanly, and a canary plaintext never escapes.

mod support;

use std::process::Command;

use hlb_builder::{BuildError, Derivation, NoSecrets, Value};
use hlb_images::file::FileCompiler;
use support::drv;
use support::secrets::{
    Built, Sources, TestSecrets, assert_no_canary, build_with, files_under, with_sources,
};

const DB_PASSWORD: &[u8] = b"correct horse battery staple";
const CANARY: &[u8] = b"hlb-canary-7c1f0e93-plaintext-must-not-leak";

fn lab() -> TestSecrets {
    TestSecrets::new(
        0x42,
        &[
            ("db-password", DB_PASSWORD),
            ("api-token", b"tok_123"),
            ("canary", CANARY),
            ("binary", b"\x00\xff\xfe binary"),
            ("other", b"never asked for"),
        ],
    )
}

/// A secret `file` derivation declaring `secrets`, with their tag sources.
fn secret_file(lab: &TestSecrets, params: Value, secrets: &[&str]) -> (Derivation, Sources) {
    let mut sources = Sources::new();
    for s in secrets {
        sources.insert(format!("tag:{s}"), lab.tag_text(s));
    }
    let params = params.with(
        "secrets",
        secrets.iter().map(|s| Value::from(*s)).collect::<Vec<_>>(),
    );
    let mut d = drv("file", "secret-file", params);
    d.secret = true;
    (with_sources(d, &sources), sources)
}

fn interpolated(text: &str) -> Value {
    Value::map()
        .with("interpolate", true)
        .with("text", text)
        .with("params", Value::map().with("db.user", "grafana"))
}

fn output(b: &Built) -> Vec<u8> {
    b.result.as_ref().unwrap();
    std::fs::read(&b.out).unwrap()
}

#[test]
fn secret_content_is_stored_encrypted_and_age_decrypts_it() {
    let lab = lab();
    let (d, sources) = secret_file(
        &lab,
        Value::map().with("secret_content", "db-password"),
        &["db-password"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let stored = output(&b);
    assert!(stored.starts_with(b"age-encryption.org/v1\n"), "binary age");
    assert_no_canary(DB_PASSWORD, &stored, "the stored output");
    assert!(lab.open(&stored).ct_eq(DB_PASSWORD));

    let cli = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(lab.identity_file())
        .arg(&b.out)
        .output()
        .expect("running `age` (apt-get install age)");
    assert!(
        cli.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(cli.stdout == DB_PASSWORD, "age -d gave other bytes");
    assert_eq!(lab.asked(), ["db-password"]);
}

#[test]
fn interpolates_secrets_beside_parameters() {
    let lab = lab();
    let text = "user=${db.user}\npassword=${secret.db-password}\n\
                again=${ secret.db-password }\ntoken=${secret.api-token}\nliteral=$${secret.x}\n";
    let (d, sources) = secret_file(&lab, interpolated(text), &["api-token", "db-password"]);
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let plain = lab.open(&output(&b));
    let expected = "user=grafana\npassword=correct horse battery staple\n\
                    again=correct horse battery staple\ntoken=tok_123\nliteral=${secret.x}\n";
    assert!(
        plain.ct_eq(expected.as_bytes()),
        "interpolated plaintext differs"
    );
    // Each secret is revealed once, however often it is used.
    assert_eq!(lab.asked(), ["api-token", "db-password"]);
}

#[test]
fn parameter_values_that_look_like_markers_stay_text() {
    let lab = lab();
    // Control characters in the text and the parameters must not be taken
    // for the markers that stand in for secrets during interpolation.
    let text = "\u{1}0\u{1} ${p} ${secret.api-token} \u{2}";
    let params = Value::map()
        .with("interpolate", true)
        .with("text", text)
        .with("params", Value::map().with("p", "\u{3}0\u{3}\u{4}"));
    let (d, sources) = secret_file(&lab, params, &["api-token"]);
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let plain = lab.open(&output(&b));
    assert!(plain.ct_eq("\u{1}0\u{1} \u{3}0\u{3}\u{4} tok_123 \u{2}".as_bytes()));
}

#[test]
fn uninterpolated_secret_file_passes_its_bytes_through_sealed() {
    let lab = lab();
    let bytes = b"${secret.db-password} stays \xff as is";
    let (d, mut sources) = secret_file(&lab, Value::map().with("interpolate", false), &[]);
    sources.insert("src".into(), bytes.to_vec());
    let d = with_sources(d, &sources);
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    assert!(lab.open(&output(&b)).ct_eq(bytes));
    assert!(lab.asked().is_empty());
}

#[test]
fn declared_secrets_without_interpolation_are_a_planner_bug() {
    let lab = lab();
    let (d, sources) = secret_file(
        &lab,
        Value::map()
            .with("interpolate", false)
            .with("text", "token=${secret.api-token}\n"),
        &["api-token"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let Err(BuildError::Internal(msg)) = &b.result else {
        panic!("expected an internal error, got {:?}", b.result)
    };
    assert_eq!(
        msg,
        "derivation secret-file declares secrets (api-token) but neither interpolates nor has `secret_content`: they could never be revealed"
    );
    assert!(lab.asked().is_empty());
    assert!(!b.out.exists());
}

#[test]
fn an_undeclared_secret_is_never_revealed() {
    let lab = lab();
    let (d, sources) = secret_file(
        &lab,
        interpolated("a=${secret.db-password} b=${secret.other}\n"),
        &["db-password"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let Err(BuildError::Internal(msg)) = &b.result else {
        panic!("expected a refusal, got {:?}", b.result)
    };
    assert_eq!(
        msg,
        "derivation secret-file uses secret `other` without declaring it (declared: db-password); refusing to reveal it"
    );
    assert!(
        lab.asked().is_empty(),
        "nothing revealed: {:?}",
        lab.asked()
    );
    assert!(!b.out.exists());

    let (d, sources) = secret_file(
        &lab,
        Value::map().with("secret_content", "other"),
        &["db-password"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    assert!(
        matches!(&b.result, Err(BuildError::Internal(m)) if m.contains("uses secret `other` without declaring it")),
        "{:?}",
        b.result
    );
    assert!(lab.asked().is_empty());
}

#[test]
fn a_declared_secret_needs_its_tag_source() {
    let lab = lab();
    let (mut d, mut sources) = secret_file(
        &lab,
        Value::map().with("secret_content", "db-password"),
        &["db-password"],
    );
    sources.remove("tag:db-password");
    d = with_sources(d, &sources);
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    assert!(
        matches!(&b.result, Err(BuildError::Internal(m)) if m.contains("has no source `tag:db-password`")),
        "{:?}",
        b.result
    );
    assert!(lab.asked().is_empty());
}

#[test]
fn without_an_identity_the_build_needs_one() {
    let lab = lab();
    for params in [
        Value::map().with("secret_content", "db-password"),
        interpolated("p=${secret.db-password}\n"),
    ] {
        let (d, sources) = secret_file(&lab, params, &["db-password"]);
        let b = build_with(&FileCompiler, &d, &sources, &NoSecrets);
        let Err(e @ BuildError::NeedsIdentity(_)) = &b.result else {
            panic!("expected NeedsIdentity, got {:?}", b.result)
        };
        assert_eq!(
            e.to_string(),
            "secret `db-password` is needed to build this, and no age identity opens it: pass --identity FILE or set HLB_AGE_IDENTITY"
        );
        assert!(!b.out.exists());
    }
}

#[test]
fn a_public_file_with_secret_parameters_is_refused() {
    let lab = lab();
    let (mut d, sources) = secret_file(
        &lab,
        Value::map().with("secret_content", "db-password"),
        &["db-password"],
    );
    d.secret = false;
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    assert!(
        matches!(&b.result, Err(BuildError::Internal(m)) if m.contains("not marked secret")),
        "{:?}",
        b.result
    );
    assert!(lab.asked().is_empty());
    assert!(!b.out.exists());
}

#[test]
fn a_binary_secret_cannot_be_interpolated() {
    let lab = lab();
    let (d, sources) = secret_file(&lab, interpolated("k=${secret.binary}\n"), &["binary"]);
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let Err(BuildError::Invalid(msg)) = &b.result else {
        panic!("expected an invalid-input error, got {:?}", b.result)
    };
    assert_eq!(
        msg,
        "secret-file: secret `binary` is not UTF-8 text, so `${secret.binary}` cannot be interpolated into a text file; deliver it as a file of its own instead"
    );
    // As a whole file it is fine.
    let (d, sources) = secret_file(
        &lab,
        Value::map().with("secret_content", "binary"),
        &["binary"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    assert!(lab.open(&output(&b)).ct_eq(b"\x00\xff\xfe binary"));
}

#[test]
fn interpolation_errors_name_positions_not_secrets() {
    let lab = lab();
    let (d, sources) = secret_file(
        &lab,
        interpolated("ok=${secret.canary}\n  bad=${nope}\n"),
        &["canary"],
    );
    let b = build_with(&FileCompiler, &d, &sources, &lab);
    let Err(BuildError::Invalid(msg)) = &b.result else {
        panic!("expected an invalid-input error, got {:?}", b.result)
    };
    assert_eq!(msg, "secret-file:2:7: unknown parameter `nope`");
    // Syntax is checked before anything is revealed.
    assert!(lab.asked().is_empty());
}

/// Every way a build can end, with the canary as the secret: the canary is
/// in no output byte, no temp file, no error message and no `Debug`.
#[test]
fn the_canary_never_escapes() {
    let lab = TestSecrets::new(
        0x17,
        &[
            ("canary", CANARY),
            ("bad-canary", &[CANARY, b"\xff"].concat()),
        ],
    );
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "whole",
            Value::map().with("secret_content", "canary"),
            &["canary"],
        ),
        (
            "interpolated",
            interpolated("x=${secret.canary}\n"),
            &["canary"],
        ),
        (
            "non-utf8",
            interpolated("x=${secret.bad-canary}\n"),
            &["bad-canary"],
        ),
        (
            "syntax error",
            interpolated("x=${secret.canary} ${\n"),
            &["canary"],
        ),
        (
            "undeclared",
            interpolated("x=${secret.canary}\n"),
            &["bad-canary"],
        ),
    ];
    let mut built = 0;
    for (case, params, secrets) in cases {
        let (d, sources) = secret_file(&lab, params, secrets);
        let b = build_with(&FileCompiler, &d, &sources, &lab);
        if let Err(e) = &b.result {
            assert_no_canary(CANARY, e.to_string().as_bytes(), &format!("{case}: error"));
        } else {
            built += 1;
            let want: &[u8] = if case == "whole" {
                CANARY
            } else {
                b"x=hlb-canary-7c1f0e93-plaintext-must-not-leak\n"
            };
            assert!(lab.open(&output(&b)).ct_eq(want), "{case}: plaintext");
        }
        assert_no_canary(
            CANARY,
            format!("{:?}", b.result).as_bytes(),
            &format!("{case}: Debug of the result"),
        );
        for (path, bytes) in files_under(b.dir.path()) {
            assert_no_canary(CANARY, &bytes, &format!("{case}: {}", path.display()));
        }
        assert!(files_under(&b.tmp).is_empty(), "{case}: scratch left empty");
    }
    assert_eq!(built, 2, "the two good cases built");
}
