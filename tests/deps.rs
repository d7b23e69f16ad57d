//! Which crate may depend on which (docs/architecture.md draws it):
//!
//! - every workspace crate lives in one of the layer folders, and depends
//!   only on crates of its own folder or of folders below it:
//!   `cache/` < `builder/` < `images/` < `deploy/` < the `hlb` crate;
//! - the pure core (every crate of `cache/`, `builder/` and `images/`
//!   except the network edge `hlb-fetch`) never reaches the network stack,
//!   an SSH or Kubernetes client, or the edges themselves.
//!
//! Checked over `cargo metadata`, normal dependencies only (tests may use
//! anything). A crate in a folder the rules do not know fails the test, so
//! a new folder has to be placed in the picture first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layer folders, bottom first; `.` is the `hlb` crate at the root.
const LAYERS: &[&str] = &["cache", "builder", "images", "deploy", "."];

/// Crates of the lower layers that do I/O beyond the local filesystem.
const EDGES: &[&str] = &["hlb-fetch"];

/// What no pure crate may depend on, directly or not.
const BANNED_IN_PURE: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "tonic",
    "kube",
    "kube-client",
    "russh",
    "openssh",
    "ssh2",
];

struct Workspace {
    /// Crate name → its layer folder.
    layer: BTreeMap<String, &'static str>,
    /// Normal dependency edges between all packages, by name.
    edges: BTreeMap<String, Vec<String>>,
}

fn workspace() -> Workspace {
    let root = env!("CARGO_MANIFEST_DIR");
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
    let mut layer = BTreeMap::new();
    for id in meta["workspace_members"].as_array().unwrap() {
        let p = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *id)
            .unwrap();
        let manifest = Path::new(p["manifest_path"].as_str().unwrap());
        let rel = manifest
            .parent()
            .unwrap()
            .strip_prefix(root)
            .expect("workspace members live under the root");
        let folder = rel.components().next().map_or(".".to_string(), |c| {
            c.as_os_str().to_string_lossy().into_owned()
        });
        let name = p["name"].as_str().unwrap().to_string();
        let known = LAYERS
            .iter()
            .find(|l| **l == folder)
            .unwrap_or_else(|| panic!("{name} is in `{folder}/`, which is no layer folder"));
        layer.insert(name, *known);
    }
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
    Workspace { layer, edges }
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

fn rank(layer: &str) -> usize {
    LAYERS.iter().position(|l| *l == layer).unwrap()
}

#[test]
fn every_crate_is_in_a_layer_folder() {
    let ws = workspace();
    // The crates the picture in docs/architecture.md shows, at least.
    for (krate, folder) in [
        ("hlb-cache", "cache"),
        ("hlb-secrets", "cache"),
        ("hlb-debian", "cache"),
        ("hlb-fetch", "cache"),
        ("hlb-builder", "builder"),
        ("hlb-images", "images"),
        ("hlb-talos", "images"),
        ("hlb-lxc", "images"),
        ("hlb", "."),
    ] {
        assert_eq!(ws.layer.get(krate).copied(), Some(folder), "{krate}");
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/architecture.md"))
        .unwrap();
    for krate in ws.layer.keys() {
        assert!(
            doc.contains(&format!("`{krate}`")),
            "docs/architecture.md does not place `{krate}`"
        );
    }
}

#[test]
fn layers_point_downwards() {
    let ws = workspace();
    for (krate, layer) in &ws.layer {
        for dep in ws.edges.get(krate).into_iter().flatten() {
            if let Some(dep_layer) = ws.layer.get(dep) {
                assert!(
                    rank(dep_layer) <= rank(layer),
                    "{krate} (in {layer}/) depends on {dep} (in {dep_layer}/): layers point downwards"
                );
            }
        }
    }
}

#[test]
fn the_pure_core_has_no_network_stack() {
    let ws = workspace();
    let pure: Vec<&String> = ws
        .layer
        .iter()
        .filter(|(k, l)| rank(l) <= rank("images") && !EDGES.contains(&k.as_str()))
        .map(|(k, _)| k)
        .collect();
    assert!(pure.len() >= 7, "{pure:?}");
    for krate in pure {
        let deps = closure(&ws.edges, krate);
        for banned in BANNED_IN_PURE.iter().chain(EDGES) {
            assert!(
                !deps.contains(*banned),
                "{krate} depends on {banned}: keep I/O at the edges"
            );
        }
        for (other, layer) in &ws.layer {
            if rank(layer) > rank("images") {
                assert!(!deps.contains(other), "{krate} depends on {other}");
            }
        }
    }
}
