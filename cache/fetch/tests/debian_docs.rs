//! The `debian` lock examples in docs/lxc.md are accepted as written: the
//! request parses as a [`DebianRequest`], the lock parses, and the entry has
//! exactly the fields the resolver writes (the real-mirror test in
//! `debian.rs` checks the resolver against the same field lists).

use std::collections::BTreeSet;

use hlb_cache::lock::Lock;
use hlb_fetch::{DEBIAN_SECTION, DebianRequest};
use serde_json::Value;

pub const ENTRY_FIELDS: [&str; 3] = ["packages", "request", "sources"];
pub const PACKAGE_FIELDS: [&str; 7] = [
    "architecture",
    "filename",
    "name",
    "sha256",
    "size",
    "url",
    "version",
];
pub const SOURCE_FIELDS: [&str; 3] = ["inrelease_sha256", "suite", "uri"];

fn json_blocks() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lxc.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn the_documented_request_and_entry_are_valid() {
    let blocks = json_blocks();
    assert!(blocks.len() >= 2, "docs/lxc.md lost its JSON examples");
    let request: Value = serde_json::from_str(&blocks[0]).unwrap();
    DebianRequest::from_json("doc", &request).unwrap_or_else(|e| panic!("{e}"));

    let lock = Lock::parse(&blocks[1]).unwrap_or_else(|e| panic!("{e}"));
    let entry = lock.get(DEBIAN_SECTION, "dns").expect("a debian entry");
    assert_eq!(keys(entry), BTreeSet::from(ENTRY_FIELDS));
    DebianRequest::from_json("doc", &entry["request"]).unwrap_or_else(|e| panic!("{e}"));
    let packages = entry["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "the documented closure is sorted by name");
    for p in packages {
        assert_eq!(keys(p), BTreeSet::from(PACKAGE_FIELDS));
        assert!(
            p["url"]
                .as_str()
                .unwrap()
                .ends_with(p["filename"].as_str().unwrap())
        );
    }
    for s in entry["sources"].as_array().unwrap() {
        assert_eq!(keys(s), BTreeSet::from(SOURCE_FIELDS));
    }
}
