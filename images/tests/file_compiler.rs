//! The `file` compiler: pass-through, interpolation and its errors.

mod support;

use hlb_builder::{BuildError, Value};
use hlb_images::file::FileCompiler;
use support::{build, drv};

fn params(interpolate: bool) -> Value {
    Value::map().with("interpolate", interpolate).with(
        "params",
        Value::map()
            .with("lab.domain", "home.example.org")
            .with("port", 8443i64),
    )
}

#[test]
fn interpolates_recipe_source() {
    let d = drv("file", "motd", params(true));
    let src = b"Welcome to ${lab.domain}:${port}\nliteral $${x} and $HOME stay\n";
    let (run, r) = build(&FileCompiler, &d, Some(src), None);
    r.unwrap();
    assert_eq!(
        std::fs::read_to_string(&run.out).unwrap(),
        "Welcome to home.example.org:8443\nliteral ${x} and $HOME stay\n"
    );
}

#[test]
fn inline_text_wins() {
    let d = drv(
        "file",
        "motd",
        params(true).with("text", "at ${lab.domain}"),
    );
    let (run, r) = build(&FileCompiler, &d, Some(b"ignored"), None);
    r.unwrap();
    assert_eq!(
        std::fs::read_to_string(&run.out).unwrap(),
        "at home.example.org"
    );
}

#[test]
fn binary_passes_through_without_interpolation() {
    let bytes: Vec<u8> = (0..=255u8).chain(*b"${lab.domain}").collect();
    let d = drv("file", "blob", params(false));
    let (run, r) = build(&FileCompiler, &d, Some(&bytes), None);
    r.unwrap();
    assert_eq!(std::fs::read(&run.out).unwrap(), bytes);
}

#[test]
fn reads_the_single_file_of_an_input() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("download.conf"), "port=${port}\n").unwrap();
    let d = drv("file", "conf", params(true));
    let (run, r) = build(&FileCompiler, &d, None, Some(input.path()));
    r.unwrap();
    assert_eq!(std::fs::read_to_string(&run.out).unwrap(), "port=8443\n");

    std::fs::write(input.path().join("second"), "x").unwrap();
    let (_, r) = build(&FileCompiler, &d, None, Some(input.path()));
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("exactly one regular file, it holds 2 entries"),
        "{e}"
    );
}

#[test]
fn unknown_names_are_reported_with_line_and_column() {
    let d = drv("file", "motd", params(true));
    let src = "ok ${port}\n  bad ${nope} and ${also.missing}\n";
    let (run, r) = build(&FileCompiler, &d, Some(src.as_bytes()), None);
    let Err(BuildError::Invalid(msg)) = r else {
        panic!("expected an invalid-input error")
    };
    insta::assert_snapshot!(msg, @r"
    motd:2:7: unknown parameter `nope`
    motd:2:19: unknown parameter `also.missing`
    ");
    assert!(!run.out.exists(), "no output on failure");
}

#[test]
fn non_utf8_with_interpolation_is_a_clear_error() {
    let d = drv("file", "blob", params(true));
    let (_, r) = build(&FileCompiler, &d, Some(b"line one\nab\xffcd"), None);
    let Err(BuildError::Invalid(msg)) = r else {
        panic!("expected an invalid-input error")
    };
    assert_eq!(
        msg,
        "blob:2:3: not UTF-8 text (invalid byte at offset 11); interpolation needs text: turn `interpolate` off to copy the file unchanged"
    );
}

#[test]
fn no_content_is_an_internal_error() {
    let d = drv("file", "empty", params(false));
    let (_, r) = build(&FileCompiler, &d, None, None);
    assert!(matches!(r, Err(BuildError::Internal(_))), "{r:?}");
}
