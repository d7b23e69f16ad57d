//! `hlb helm template` through the binary: the shared fixture cases that
//! helm renders deterministically give helm v4.1.4's exact bytes (run in
//! the fixture directory, with the case's own command line), and errors
//! keep helm's contract (`Error: …` on stderr, exit 1).

use std::path::Path;
use std::process::Command;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/helm"
    ))
}

fn hlb(dir: &Path, args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hlb"))
        .current_dir(dir)
        .args(["helm", "template"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn deterministic_fixture_cases_render_as_helm_does() {
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("cases.json")).unwrap()).unwrap();
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        if case["deterministic"] != true || case["expected_rc"] != 0 {
            continue;
        }
        // The command helm ran, less `helm template`.
        let command = case["command"].as_str().unwrap();
        let args: Vec<String> = command
            .strip_prefix("helm template ")
            .unwrap()
            .split(' ')
            .map(str::to_string)
            .collect();
        let out = hlb(fixtures(), &args);
        let id = case["id"].as_str().unwrap();
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read(fixtures().join(case["expected"].as_str().unwrap())).unwrap();
        assert!(out.stdout == want, "{id}: output differs from helm's");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} deterministic cases");
}

#[test]
fn errors_keep_helms_contract() {
    let missing = hlb(fixtures(), &["demo".into(), "charts/no-such-chart".into()]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(missing.stdout.is_empty());
    let flag = hlb(fixtures(), &["--no-such-flag".into()]);
    assert_eq!(
        flag.status.code(),
        Some(1),
        "usage errors exit 1, as helm's"
    );
}
