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
