//! The examples in `docs/compilers.md` are real: each input block goes
//! through the compiler or emitter its info string names and must give
//! the output block shown after it.

mod support;

use std::collections::BTreeMap;

use hlb_builder::Value;
use hlb_images::file::FileCompiler;
use hlb_images::manifest::normalize;
use hlb_images::yaml::{Style, emit, parse_documents};

/// Fenced blocks whose info string has a second word (`yaml emit-v2`), by
/// that word.
fn blocks() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/compilers.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                let tag = info.split_whitespace().nth(1).unwrap_or("").to_string();
                current = Some((tag, String::new()));
            }
            (Some(_), Some("")) => {
                let (tag, body) = current.take().unwrap();
                if !tag.is_empty() {
                    assert!(
                        out.insert(tag.clone(), body).is_none(),
                        "two blocks tagged {tag}"
                    );
                }
            }
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn file_example() {
    let b = blocks();
    let params = Value::map().with("interpolate", true).with(
        "params",
        Value::map().with("lab.domain", "home.example.org"),
    );
    let d = support::drv("file", "motd", params);
    let (run, r) = support::build(&FileCompiler, &d, Some(b["file-input"].as_bytes()), None);
    r.unwrap();
    assert_eq!(std::fs::read_to_string(&run.out).unwrap(), b["file-output"]);
}

#[test]
fn manifest_example() {
    let b = blocks();
    let n = normalize(&b["manifest-input"], "example.yaml", Some("web")).unwrap();
    assert_eq!(n.yaml, b["manifest-output"]);
    assert_eq!(n.objects_json(), b["objects-output"]);
}

#[test]
fn emit_examples() {
    let b = blocks();
    let docs = parse_documents(&b["emit-input"]).unwrap();
    let value = &docs[0].root.value;
    assert_eq!(emit(value, &Style::K8S), b["emit-v2"]);
    assert_eq!(emit(value, &Style::TALOS), b["emit-v3"]);
}

#[test]
fn secret_file_example() {
    use support::secrets::{Sources, TestSecrets, build_with, with_sources};
    let b = blocks();
    let lab = TestSecrets::new(1, &[("db-password", b"s3cret pa55")]);
    let sources = Sources::from([
        (
            "src".to_string(),
            b["secret-file-input"].clone().into_bytes(),
        ),
        ("tag:db-password".to_string(), lab.tag_text("db-password")),
    ]);
    let params = Value::map()
        .with("interpolate", true)
        .with("params", Value::map().with("db.user", "grafana"))
        .with("secrets", vec!["db-password"]);
    let mut d = support::drv("file", "my.cnf", params);
    d.secret = true;
    let d = with_sources(d, &sources);
    let built = build_with(&FileCompiler, &d, &sources, &lab);
    built.result.unwrap();
    let stored = std::fs::read(&built.out).unwrap();
    assert!(
        lab.open(&stored)
            .ct_eq(b["secret-file-plaintext"].as_bytes())
    );
}

#[test]
fn sealed_secret_example() {
    use hlb_images::sealed_secret::SealedSecretCompiler;
    use support::secrets::{Sources, TestSecrets, build_with, controller, with_sources};
    let b = blocks();
    let lab = TestSecrets::new(
        1,
        &[("grafana-user", b"admin"), ("grafana-password", b"pw")],
    );
    let params: Value = serde_json::from_str(&b["sealed-secret-params"]).unwrap();
    let sources = Sources::from([
        ("cert".to_string(), controller().0.clone().into_bytes()),
        ("tag:grafana-user".to_string(), lab.tag_text("grafana-user")),
        (
            "tag:grafana-password".to_string(),
            lab.tag_text("grafana-password"),
        ),
    ]);
    let d = with_sources(
        support::drv("sealed-secret", "grafana-admin", params),
        &sources,
    );
    let built = build_with(&SealedSecretCompiler, &d, &sources, &lab);
    built.result.unwrap();
    let manifest = std::fs::read_to_string(built.out.join("manifest.yaml")).unwrap();
    // Shorten each sealed value as the page does.
    let mut in_data = false;
    let shortened: String = manifest
        .lines()
        .map(|line| {
            if line == "  encryptedData:" {
                in_data = true;
            } else if !line.starts_with("    ") {
                in_data = false;
            } else if in_data && let Some((key, value)) = line.split_once(": ") {
                return format!("{key}: {}…\n", &value[..2]);
            }
            format!("{line}\n")
        })
        .collect();
    assert_eq!(shortened, b["sealed-secret-output"]);
    let objects = std::fs::read_to_string(built.out.join("objects.json")).unwrap();
    assert_eq!(objects, b["sealed-secret-objects"]);
}
