//! Which crate may depend on which: the pure core (evaluation, hashing,
//! compiling) never reaches the network stack, and lower layers never depend
//! on higher ones. Checked over `cargo metadata`, normal dependencies only
//! (tests may use anything).

use std::collections::{BTreeMap, BTreeSet};

fn graph() -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let from = names[node["id"].as_str().unwrap()].clone();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                edges
                    .entry(from.clone())
                    .or_default()
                    .push(names[dep["pkg"].as_str().unwrap()].clone());
            }
        }
    }
    (names, edges)
}

fn closure(edges: &BTreeMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_string()];
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            stack.extend(edges.get(&n).cloned().unwrap_or_default());
        }
    }
    seen
}

#[test]
fn the_pure_core_has_no_network_stack() {
    let (_, edges) = graph();
    for krate in [
        "hlb-builder",
        "hlb-images",
        "hlb-cache",
        "hlb-secrets",
        "hlb-debian",
        "hlb-lxc",
    ] {
        let deps = closure(&edges, krate);
        assert!(deps.contains(krate), "{krate} is not in the workspace");
        for banned in ["tokio", "reqwest", "hyper", "hlb-fetch"] {
            assert!(
                !deps.contains(banned),
                "{krate} depends on {banned}: keep I/O at the edges"
            );
        }
    }
}

#[test]
fn layers_point_downwards() {
    let (_, edges) = graph();
    let rules: &[(&str, &[&str])] = &[
        (
            "hlb-cache",
            &["hlb-builder", "hlb-images", "hlb-fetch", "hlb"],
        ),
        ("hlb-builder", &["hlb-images", "hlb-fetch", "hlb"]),
        ("hlb-images", &["hlb-fetch", "hlb"]),
        ("hlb-fetch", &["hlb-builder", "hlb-images", "hlb"]),
    ];
    for (krate, forbidden) in rules {
        let deps = closure(&edges, krate);
        for f in *forbidden {
            assert!(!deps.contains(*f), "{krate} must not depend on {f}");
        }
    }
}
