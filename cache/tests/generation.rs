//! Generations (canonical JSON, golden hash, storage) and profiles.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fs;

use hlb_cache::generation::GenerationError;
use hlb_cache::generation::contract::{
    ClusterObject, ClusterSpec, Credentials, FileDelivery, HostSpec, Probe, SshAccess, apply_order,
};
use hlb_cache::profile::ProfileError;
use hlb_cache::store::{EntryMeta, Store};
use hlb_cache::{Artifact, Digest, Generation, Profiles, Target, TargetSpec};

fn artifact(name: &str, kind: &str, secret: bool) -> Artifact {
    Artifact {
        id: Digest::of(format!("drv:{name}").as_bytes()),
        name: name.into(),
        kind: kind.into(),
        content: Digest::of(format!("content:{name}").as_bytes()),
        secret,
    }
}

fn target(arts: &[Artifact], spec: TargetSpec) -> Target {
    Target {
        artifacts: arts.iter().map(|a| (a.name.clone(), a.clone())).collect(),
        after: Vec::new(),
        spec,
    }
}

fn sample() -> Generation {
    let edge = target(
        &[artifact("traefik.yaml", "file", false)],
        TargetSpec::Host(HostSpec {
            access: SshAccess {
                address: "10.200.0.2".into(),
                port: 22,
                user: "root".into(),
                host_key: None,
            },
            files: vec![FileDelivery {
                artifact: "traefik.yaml".into(),
                path: "/etc/traefik/traefik.yaml".into(),
                mode: "0640".into(),
                owner: "root".into(),
                group: "root".into(),
            }],
            services: vec![],
            probes: vec![Probe::Tcp { port: 443 }],
        }),
    );
    let cluster = target(
        &[
            artifact("namespaces", "manifest", false),
            artifact("issuer", "manifest", false),
        ],
        TargetSpec::Cluster(ClusterSpec {
            api: "https://10.200.0.10:6443".into(),
            credentials: Credentials::Operator,
            objects: apply_order(vec![
                ClusterObject {
                    artifact: "issuer".into(),
                    namespace: None,
                    after: vec!["namespaces".into()],
                },
                ClusterObject {
                    artifact: "namespaces".into(),
                    namespace: None,
                    after: vec![],
                },
            ]),
            files: vec![],
        }),
    );
    let lab = target(&[artifact("tls.key", "file", true)], TargetSpec::Lab);
    let mut targets = BTreeMap::new();
    targets.insert("host/edge".to_string(), edge);
    targets.insert("cluster/home".to_string(), cluster);
    targets.insert("lab".to_string(), lab);
    Generation {
        lab: "home".into(),
        targets,
        v1_hash: None,
    }
}

#[test]
fn canonical_json_is_stable() {
    let json = String::from_utf8(sample().canonical_json()).unwrap();
    assert!(json.ends_with("}\n"));
    assert_eq!(json.matches('\n').count(), 1);
    insta::assert_snapshot!(json);
}

#[test]
fn hash_is_pinned() {
    // Golden: if this changes, every recorded generation changes meaning.
    // Change it only together with GENERATION_FORMAT.
    assert_eq!(
        sample().hash().hex(),
        "7da7edd5dc3f6c0a3c1486303bada7bd2bcb94c8dec3cf9fa3e7cc0ce0b0e3c9"
    );
}

#[test]
fn round_trips_and_any_change_changes_the_hash() {
    let g = sample();
    let back = Generation::from_json(&g.canonical_json()).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.canonical_json(), g.canonical_json());
    let mut h = g.clone();
    let TargetSpec::Host(host) = &mut h.targets.get_mut("host/edge").unwrap().spec else {
        panic!("host");
    };
    host.files[0].mode = "0600".into();
    assert_ne!(h.hash(), g.hash());
    // Pretty, reordered input parses to the same generation.
    let v: serde_json::Value = serde_json::from_slice(&g.canonical_json()).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    assert_eq!(Generation::from_json(&pretty).unwrap().hash(), g.hash());
}

#[test]
fn from_json_checks_format_keys_and_references() {
    let g = sample();
    let text = String::from_utf8(g.canonical_json()).unwrap();
    let wrong = text.replace("hlb-generation-v2", "hlb-generation-v0");
    assert!(matches!(
        Generation::from_json(wrong.as_bytes()),
        Err(GenerationError::Format { .. })
    ));
    let renamed = text.replace("\"name\":\"tls.key\"", "\"name\":\"other\"");
    assert!(matches!(
        Generation::from_json(renamed.as_bytes()),
        Err(GenerationError::KeyMismatch { .. })
    ));
    let float = text.replace("443", "443.5");
    assert!(matches!(
        Generation::from_json(float.as_bytes()),
        Err(GenerationError::Float(_))
    ));
    let dangling = text.replace(
        "\"artifact\":\"traefik.yaml\"",
        "\"artifact\":\"missing.yaml\"",
    );
    assert!(matches!(
        Generation::from_json(dangling.as_bytes()),
        Err(GenerationError::UnknownArtifact { .. })
    ));
    let mode = text.replace("\"0640\"", "\"0980\"");
    assert!(matches!(
        Generation::from_json(mode.as_bytes()),
        Err(GenerationError::Mode { .. })
    ));
    let unknown_kind = text.replace("\"kind\":\"host\"", "\"kind\":\"printer\"");
    assert!(matches!(
        Generation::from_json(unknown_kind.as_bytes()),
        Err(GenerationError::Json(_))
    ));
}

/// A generation recorded by hlb before the typed contract (format v1)
/// still reads, keeps its hash, and is refused as a deploy source.
#[test]
fn version_1_records_still_read() {
    let bytes = fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/generation-v1.json"
    ))
    .unwrap();
    let g = Generation::from_json(&bytes).unwrap();
    // The v1 golden hash of this record.
    assert_eq!(
        g.hash().hex(),
        "aa077074680935750c7df33647cb671e0f43ea97d319d93a77b0226b663bf4b5"
    );
    assert_eq!(g.targets["web"].artifacts["tls.key"].kind, "secret");
    assert!(g.targets.values().all(|t| t.spec == TargetSpec::Lab));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.add_generation(&g).is_err());
}

#[test]
fn stored_generation_references_its_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let g = sample();
    let e = store.add_generation(&g).unwrap();
    assert_eq!(e.id, g.hash());
    assert_eq!(e.name, "generation-home");
    assert_eq!(
        e.dir.file_name().unwrap().to_str().unwrap(),
        format!("{}-generation-home", g.hash())
    );
    let mut ids: Vec<Digest> = g
        .targets
        .values()
        .flat_map(|t| t.artifacts.values().map(|a| a.id))
        .collect();
    ids.sort();
    assert_eq!(e.meta.references, ids);
    assert_eq!(fs::read(&e.out).unwrap(), g.canonical_json());
    assert_eq!(store.generation(&g.hash()).unwrap(), Some(g.clone()));
    assert_eq!(store.add_generation(&g).unwrap(), e);
    assert!(store.generation(&Digest::of(b"nope")).unwrap().is_none());

    // As a gc root it keeps its artifacts.
    for a in g.targets.values().flat_map(|t| t.artifacts.values()) {
        let st = store.begin(&a.id, &a.name).unwrap();
        fs::write(st.out_path(), a.name.as_bytes()).unwrap();
        st.commit(EntryMeta {
            kind: a.kind.clone(),
            references: vec![],
            secret: a.secret,
            derivation: serde_json::Value::Null,
        })
        .unwrap();
    }
    let st = store.begin(&Digest::of(b"stray"), "stray").unwrap();
    fs::write(st.out_path(), b"x").unwrap();
    st.commit(EntryMeta {
        kind: "x".into(),
        references: vec![],
        secret: false,
        derivation: serde_json::Value::Null,
    })
    .unwrap();
    let report = hlb_cache::gc::collect(&store, &[g.hash()], false).unwrap();
    assert_eq!(report.removed.len(), 1);
    assert_eq!(store.entries().unwrap().len(), g.artifacts().count() + 1);
}

#[test]
fn profiles_number_generations_and_track_current() {
    let dir = tempfile::tempdir().unwrap();
    let p = Profiles::open(dir.path()).unwrap();
    let (g1, g2) = (Digest::of(b"g1"), Digest::of(b"g2"));
    assert!(p.current("home").unwrap().is_none());
    let r1 = p.record("home", &g1).unwrap();
    assert_eq!((r1.number, r1.generation), (1, g1));
    // Unchanged generation: same record, no new number.
    assert_eq!(p.record("home", &g1).unwrap(), r1);
    let r2 = p.record("home", &g2).unwrap();
    assert_eq!(r2.number, 2);
    assert_eq!(p.current("home").unwrap(), Some(r2));
    let link = dir.path().join("profiles/home/current");
    assert_eq!(
        fs::read_link(&link).unwrap(),
        std::path::Path::new("2.json")
    );
    // Rollback; recording the (now current) g1 again changes nothing.
    assert_eq!(p.set_current("home", 1).unwrap(), r1);
    assert_eq!(
        fs::read_link(&link).unwrap(),
        std::path::Path::new("1.json")
    );
    assert_eq!(p.record("home", &g1).unwrap(), r1);
    let r3 = p.record("home", &g2).unwrap();
    assert_eq!(r3.number, 3);
    assert_eq!(
        p.list("home")
            .unwrap()
            .iter()
            .map(|r| r.number)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(p.get("home", 2).unwrap(), Some(r2));
    assert!(p.get("home", 9).unwrap().is_none());
    assert!(matches!(
        p.set_current("home", 9),
        Err(ProfileError::NoSuchNumber { .. })
    ));
    let rec: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("profiles/home/1.json")).unwrap())
            .unwrap();
    assert_eq!(rec["generation"], g1.hex());
    assert!(rec["created"].as_u64().unwrap() > 1_700_000_000);
}

#[test]
fn roots_are_all_generations_and_pins() {
    let dir = tempfile::tempdir().unwrap();
    let p = Profiles::open(dir.path()).unwrap();
    let (a, b, c) = (Digest::of(b"a"), Digest::of(b"b"), Digest::of(b"c"));
    p.record("home", &a).unwrap();
    p.record("home", &b).unwrap();
    p.record("lab2", &a).unwrap();
    p.pin("keep", &c).unwrap();
    assert_eq!(p.labs().unwrap(), ["home", "lab2"]);
    let mut want = vec![a, b, c];
    want.sort();
    assert_eq!(p.roots().unwrap(), want);
    assert!(p.unpin("keep").unwrap());
    assert!(!p.unpin("keep").unwrap());
    assert!(!p.roots().unwrap().contains(&c));
    assert!(matches!(
        p.record("../evil", &a),
        Err(ProfileError::BadName { .. })
    ));
}

/// The example in docs/store.md is a valid generation.
#[test]
fn the_documented_example_reads() {
    let doc = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/store.md")).unwrap();
    let section = &doc[doc.find("## Generations").unwrap()..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let g = Generation::from_json(block.as_bytes()).unwrap();
    assert_eq!(g.targets.len(), 2);
    assert_eq!(g.targets["host/traefik"].spec.kind(), "host");
    assert_eq!(
        g.targets["host/traefik"]
            .spec
            .delivery("traefik.yaml")
            .unwrap()["path"],
        "/etc/traefik/traefik.yaml"
    );
}
