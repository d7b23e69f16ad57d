//! Generations (canonical JSON, golden hash, storage) and profiles.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fs;

use hlb_cache::generation::GenerationError;
use hlb_cache::profile::ProfileError;
use hlb_cache::store::{EntryMeta, Store};
use hlb_cache::{Artifact, Digest, Generation, Profiles};

fn artifact(name: &str, secret: bool, meta: &[(&str, serde_json::Value)]) -> Artifact {
    Artifact {
        id: Digest::of(format!("drv:{name}").as_bytes()),
        name: name.into(),
        kind: if secret { "secret" } else { "talos-config" }.into(),
        content: Digest::of(format!("content:{name}").as_bytes()),
        secret,
        meta: meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn sample() -> Generation {
    let mut cp = BTreeMap::new();
    cp.insert(
        "machine.yaml".to_string(),
        artifact(
            "machine.yaml",
            false,
            &[
                ("path", "/var/lib/talos/machine.yaml".into()),
                ("mode", 0o600.into()),
            ],
        ),
    );
    let mut web = BTreeMap::new();
    web.insert(
        "tls.key".to_string(),
        artifact(
            "tls.key",
            true,
            // Inserted out of order on purpose: canonical JSON sorts keys.
            &[
                ("path", "/run/secrets/tls.key".into()),
                ("owner", serde_json::json!({"user": "www", "group": "www"})),
            ],
        ),
    );
    let mut targets = BTreeMap::new();
    targets.insert("cp1".to_string(), cp);
    targets.insert("web".to_string(), web);
    Generation {
        lab: "home".into(),
        targets,
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
        "aa077074680935750c7df33647cb671e0f43ea97d319d93a77b0226b663bf4b5"
    );
}

#[test]
fn round_trips_and_any_change_changes_the_hash() {
    let g = sample();
    let back = Generation::from_json(&g.canonical_json()).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.canonical_json(), g.canonical_json());
    let mut h = g.clone();
    h.targets
        .get_mut("web")
        .unwrap()
        .get_mut("tls.key")
        .unwrap()
        .meta
        .insert("mode".into(), 0o400.into());
    assert_ne!(h.hash(), g.hash());
    // Pretty, reordered input parses to the same generation.
    let v: serde_json::Value = serde_json::from_slice(&g.canonical_json()).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    assert_eq!(Generation::from_json(&pretty).unwrap().hash(), g.hash());
}

#[test]
fn from_json_checks_format_and_keys() {
    let g = sample();
    let text = String::from_utf8(g.canonical_json()).unwrap();
    let wrong = text.replace("hlb-generation-v1", "hlb-generation-v0");
    assert!(matches!(
        Generation::from_json(wrong.as_bytes()),
        Err(GenerationError::Format { .. })
    ));
    let renamed = text.replace("\"name\":\"tls.key\"", "\"name\":\"other\"");
    assert!(matches!(
        Generation::from_json(renamed.as_bytes()),
        Err(GenerationError::KeyMismatch { .. })
    ));
    let float = text.replace("384", "384.5");
    assert!(matches!(
        Generation::from_json(float.as_bytes()),
        Err(GenerationError::Float(_))
    ));
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
        .flat_map(|t| t.values().map(|a| a.id))
        .collect();
    ids.sort();
    assert_eq!(e.meta.references, ids);
    assert_eq!(fs::read(&e.out).unwrap(), g.canonical_json());
    assert_eq!(store.generation(&g.hash()).unwrap(), Some(g.clone()));
    assert_eq!(store.add_generation(&g).unwrap(), e);
    assert!(store.generation(&Digest::of(b"nope")).unwrap().is_none());

    // As a gc root it keeps its artifacts.
    for a in g.targets.values().flat_map(|t| t.values()) {
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
    assert_eq!(store.entries().unwrap().len(), 3);
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
