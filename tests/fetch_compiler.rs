//! The `fetch` derivation kind through the `Compiler` interface.

#[path = "../cache/fetch/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use hlb::fetch_compiler::FetchCompiler;
use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, FixedHash, Value};
use support::*;

fn drv(url: &str, hash: FixedHash, executable: Option<bool>) -> Derivation {
    let mut params = Value::map().with("url", url);
    if let Some(x) = executable {
        params = params.with("executable", x);
    }
    Derivation {
        kind: "fetch".into(),
        name: "tool".into(),
        builder_version: 1,
        params,
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        fixed_output: Some(hash),
        secret: false,
    }
}

fn build(c: &FetchCompiler, d: &Derivation, out: &Path, tmp: &Path) -> Result<(), BuildError> {
    let cx = BuildCx {
        id: d.id(),
        drv: d,
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        out,
        tmp,
        secrets: &hlb_builder::NoSecrets,
    };
    c.build(&cx)
}

#[test]
fn builds_a_pinned_file_with_the_requested_mode() {
    let body = payload(5000);
    let srv = TestServer::start(&[("/bin/tool", Reply::Ok(body.clone()))]);
    let (f, _) = fetcher_with(fast_options(vec![]));
    let c = FetchCompiler::new(Arc::new(f));
    assert_eq!((c.kind(), c.version()), ("fetch", 1));
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for (name, exe, mode) in [
        ("a", Some(true), 0o755),
        ("b", Some(false), 0o644),
        ("c", None, 0o644),
    ] {
        let out = dir.path().join(name);
        build(
            &c,
            &drv(&srv.url("/bin/tool"), sha256(&body), exe),
            &out,
            scratch.path(),
        )
        .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), body);
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            mode,
            "{name}"
        );
    }
}

#[test]
fn mismatch_is_an_invalid_input_and_leaves_no_output() {
    let srv = TestServer::start(&[("/bin/tool", Reply::Ok(b"changed".to_vec()))]);
    let (f, _) = fetcher_with(fast_options(vec![]));
    let c = FetchCompiler::new(Arc::new(f));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let err = build(
        &c,
        &drv(&srv.url("/bin/tool"), sha256(b"orig"), None),
        &out,
        dir.path(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, BuildError::Invalid(m) if m.contains("hash mismatch")),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn a_derivation_without_pin_or_url_is_an_internal_error() {
    let (f, _) = fetcher_with(fast_options(vec![]));
    let c = FetchCompiler::new(Arc::new(f));
    let dir = tempfile::tempdir().unwrap();
    let mut d = drv("https://example.org/x", sha256(b"x"), None);
    d.fixed_output = None;
    let err = build(&c, &d, &dir.path().join("o"), dir.path()).unwrap_err();
    assert!(matches!(err, BuildError::Internal(_)), "{err}");
    let mut d = drv("https://example.org/x", sha256(b"x"), None);
    d.params = Value::map();
    let err = build(&c, &d, &dir.path().join("o"), dir.path()).unwrap_err();
    assert!(matches!(err, BuildError::Internal(_)), "{err}");
}
