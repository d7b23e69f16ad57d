//! The planner's side of `talos-cluster`: the derivation contract the
//! `talos-config` and `talosconfig` compilers build against (see
//! `plan/talos.rs`), and which ids move when something changes.

use std::collections::BTreeMap;

use hlb_builder::drv::{Derivation, Value};
use hlb_builder::io::{MemIo, RelPath};
use hlb_builder::load::load;
use hlb_builder::lock::Lock;
use hlb_builder::plan::{Plan, plan};
use hlb_cache::Digest;
use serde_json::json;

const AGE: &str =
    "-----BEGIN AGE ENCRYPTED FILE-----\nnot really ciphertext\n-----END AGE ENCRYPTED FILE-----\n";

fn tag(version: u8) -> String {
    format!(
        "hlb-secret-tag-v1\nname talos-home\nlab-key c27ae3e33558728b\nhmac-sha256 {}\n",
        format!("{version:02x}").repeat(32)
    )
}

const LAB: &str = r#"
lab "home"
secret "talos-home"
talos-cluster "home" {
    talos-version "v1.13.2"
    kubernetes-version "1.33.4"
    endpoint "https://10.0.0.10:6443"
    vip "10.0.0.10"
    secrets "talos-home"
    admin-cert-valid-from "VALID_FROM"
    cni "none"; kube-proxy #false
    install-disk "/dev/sda"
    schematic { extension "siderolabs/qemu-guest-agent"; }
    patch "patches/common.yaml"
    patch "patches/cp.yaml" role="controlplane"
    node "cp1" role="controlplane" {
        address "10.0.0.11/24" gateway="10.0.0.1"
        nameserver "10.0.0.53"
        label "topology.kubernetes.io/zone" "rack1"
        taint "dedicated" "infra:NoSchedule"
        patch "patches/cp1.yaml"
    }
    node "w1" role="worker" {
        address "10.0.0.12/24" gateway="10.0.0.1" link="ens18"
        install-disk "/dev/vda"
        patch text="machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"${lab.name}\"\n"
    }
}
"#;

struct Inputs {
    tag: u8,
    cp1_patch: &'static str,
    valid_from: &'static str,
}

const BASE: Inputs = Inputs {
    tag: 1,
    cp1_patch: "machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"150\"\n",
    valid_from: "2026-01-01T00:00:00Z",
};

fn planned(i: &Inputs) -> Plan {
    let io = MemIo::new()
        .with("lab.kdl", LAB.replace("VALID_FROM", i.valid_from))
        .with("secrets/talos-home.age", AGE)
        .with("secrets/talos-home.tag", tag(i.tag))
        .with(
            "patches/common.yaml",
            "machine:\n  sysctls:\n    a: \"1\"\n",
        )
        .with(
            "patches/cp.yaml",
            "cluster:\n  allowSchedulingOnControlPlanes: true\n",
        )
        .with("patches/cp1.yaml", i.cp1_patch);
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap())
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    plan(&lab, &Lock::default(), &|_| Some(1))
        .unwrap_or_else(|d| panic!("{}", d.render(&lab.sources, false)))
}

fn drv<'p>(p: &'p Plan, target: &str, artifact: &str) -> &'p Derivation {
    let id = p.targets[target].artifacts[artifact];
    p.graph.get(&id).unwrap()
}

fn json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Str(s) => json!(s),
        Value::List(l) => l.iter().map(json).collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), json(v))).collect(),
    }
}

fn digest(text: &str) -> Digest {
    Digest::of(text.as_bytes())
}

#[test]
fn one_secret_config_per_node_and_a_talosconfig() {
    let p = planned(&BASE);
    let targets: Vec<(&str, Vec<&str>)> = p
        .targets
        .iter()
        .map(|(t, a)| (t.as_str(), a.artifacts.keys().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (
                "talos/home",
                vec!["home-secrets-bundle", "home-talosconfig"]
            ),
            ("talos/home/cp1", vec!["home-cp1"]),
            ("talos/home/w1", vec!["home-w1"]),
        ]
    );
    // The bundle rides in the store as a secret file, so a deploy can mint
    // admin certificates from the store alone.
    let bundle = drv(&p, "talos/home", "home-secrets-bundle");
    assert_eq!((bundle.kind.as_str(), bundle.secret), ("file", true));
    assert!(
        bundle.sources.contains_key("tag:talos-home"),
        "{:?}",
        bundle.sources
    );
    let cp1 = drv(&p, "talos/home/cp1", "home-cp1");
    assert_eq!(cp1.kind, "talos-config");
    assert_eq!(cp1.name, "home-cp1");
    assert!(
        cp1.secret,
        "machine configs carry the cluster's private keys"
    );
    assert_eq!(
        json(&cp1.params),
        json!({
            "cluster": "home",
            "talos_version": "v1.13.2",
            "kubernetes_version": "1.33.4",
            "endpoint": "https://10.0.0.10:6443",
            "secrets": "talos-home",
            "schematic": {"extensions": ["siderolabs/qemu-guest-agent"], "extra_kernel_args": []},
            "pod_cidr": null,
            "service_cidr": null,
            "cni": "none",
            "kube_proxy": false,
            "role": "controlplane",
            "install_disk": "/dev/sda",
            "vip": "10.0.0.10",
            "node": {
                "hostname": "cp1",
                "address": "10.0.0.11/24",
                "gateway": "10.0.0.1",
                "link": "eth0",
                "nameservers": ["10.0.0.53"],
                "labels": {"topology.kubernetes.io/zone": "rack1"},
                "taints": {"dedicated": "infra:NoSchedule"},
            },
            "patches": ["patch:0", "patch:1", "patch:2"],
            "patch_names": ["patches/common.yaml", "patches/cp.yaml", "patches/cp1.yaml"],
        })
    );
    // Cluster patch, role patch, node patch, in that order; the bundle's tag.
    let sources: BTreeMap<&str, Digest> =
        cp1.sources.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        sources["patch:0"],
        digest("machine:\n  sysctls:\n    a: \"1\"\n")
    );
    assert_eq!(
        sources["patch:1"],
        digest("cluster:\n  allowSchedulingOnControlPlanes: true\n")
    );
    assert_eq!(sources["patch:2"], digest(BASE.cp1_patch));
    assert_eq!(sources["tag:talos-home"], digest(&tag(1)));
    assert_eq!(sources.len(), 4);
    for d in cp1.sources.values() {
        assert!(
            p.sources.contains_key(d),
            "every source's bytes are in the plan"
        );
    }

    let w1 = drv(&p, "talos/home/w1", "home-w1");
    assert_eq!(
        w1.params.get("vip"),
        Some(&Value::Null),
        "workers hold no VIP"
    );
    assert_eq!(
        w1.params.get("install_disk").and_then(Value::as_str),
        Some("/dev/vda")
    );
    assert_eq!(
        json(w1.params.get("patch_names").unwrap()),
        json!(["patches/common.yaml", "inline patch at lab.kdl:26:20"])
    );
    assert_eq!(w1.sources.len(), 3);
    assert_eq!(
        w1.sources["patch:1"],
        digest("machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"home\"\n"),
        "inline patches are interpolated and hashed like files"
    );
    assert!(p.sources.contains_key(&w1.sources["patch:1"]));
    let meta = p.targets["talos/home/w1"].spec.delivery("home-w1").unwrap();
    assert_eq!(meta["address"], json!("10.0.0.12"));
    assert_eq!(meta["role"], json!("worker"));
    assert_eq!(meta["config"], json!("home-w1"));
    assert_eq!(
        meta["credentials"],
        json!({"type": "talos-bundle", "target": "talos/home", "bundle": "home-secrets-bundle"})
    );

    let tc = drv(&p, "talos/home", "home-talosconfig");
    assert_eq!(tc.kind, "talosconfig");
    assert!(tc.secret);
    assert_eq!(
        json(&tc.params),
        json!({
            "cluster": "home",
            "endpoints": ["10.0.0.11"],
            "nodes": ["10.0.0.11", "10.0.0.12"],
            "secrets": "talos-home",
            "valid_from": 1_767_225_600,
            "valid_seconds": 31_536_000,
        })
    );
    assert_eq!(
        tc.sources.keys().collect::<Vec<_>>(),
        vec!["tag:talos-home"]
    );
    assert_eq!(
        p.by_name["home"],
        p.targets["talos/home"].artifacts["home-talosconfig"]
    );
    assert_eq!(
        p.by_name["home-cp1"],
        p.targets["talos/home/cp1"].artifacts["home-cp1"]
    );
}

fn ids(p: &Plan) -> [hlb_builder::DrvId; 3] {
    [
        p.targets["talos/home/cp1"].artifacts["home-cp1"],
        p.targets["talos/home/w1"].artifacts["home-w1"],
        p.targets["talos/home"].artifacts["home-talosconfig"],
    ]
}

#[test]
fn exactly_what_a_change_touches_rebuilds() {
    let base = ids(&planned(&BASE));
    assert_eq!(base, ids(&planned(&BASE)), "planning is deterministic");
    let [cp1, w1, tc] = base;

    let patched = ids(&planned(&Inputs {
        cp1_patch: "machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"200\"\n",
        ..BASE
    }));
    assert_eq!(patched, [patched[0], w1, tc]);
    assert_ne!(patched[0], cp1, "cp1's own patch changed");

    let retagged = ids(&planned(&Inputs { tag: 2, ..BASE }));
    for (a, b) in retagged.iter().zip(base) {
        assert_ne!(*a, b, "a new bundle rebuilds everything");
    }

    let renewed = ids(&planned(&Inputs {
        valid_from: "2027-01-01T00:00:00Z",
        ..BASE
    }));
    assert_eq!(
        &renewed[..2],
        &[cp1, w1],
        "renewing the admin certificate leaves configs alone"
    );
    assert_ne!(renewed[2], tc);
}

#[test]
fn planning_without_the_compilers_names_them() {
    let io = MemIo::new()
        .with("lab.kdl", LAB.replace("VALID_FROM", BASE.valid_from))
        .with("secrets/talos-home.age", AGE)
        .with("secrets/talos-home.tag", tag(1))
        .with("patches/common.yaml", "{}\n")
        .with("patches/cp.yaml", "{}\n")
        .with("patches/cp1.yaml", "{}\n");
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap();
    let err = plan(&lab, &Lock::default(), &|k| {
        (k != "talos-config").then_some(1)
    })
    .unwrap_err();
    let text = err.render(&lab.sources, false);
    assert!(text.contains("no compiler for `talos-config`"), "{text}");
}
