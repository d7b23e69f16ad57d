//! Garbage collection: roots and their closure stay, the rest goes, and an
//! interrupted gc is finished by the next open or gc.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::path::Path;

use hlb_cache::gc::collect;
use hlb_cache::store::{EntryMeta, Store};
use hlb_cache::{Digest, Entry};

fn id(n: &str) -> Digest {
    Digest::of(n.as_bytes())
}

fn add(store: &Store, name: &str, refs: &[&str], bytes: &[u8]) -> Entry {
    let st = store.begin(&id(name), name).unwrap();
    fs::write(st.out_path(), bytes).unwrap();
    st.commit(EntryMeta {
        kind: "t".into(),
        references: refs.iter().map(|r| id(r)).collect(),
        secret: false,
        derivation: serde_json::Value::Null,
    })
    .unwrap()
}

fn names(store: &Store) -> Vec<String> {
    store
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// app -> lib -> base, tool -> base; orphan and its dependency old.
fn graph(store: &Store) {
    add(store, "base", &[], b"base");
    add(store, "lib", &["base"], b"lib!");
    add(store, "app", &["lib"], b"app..");
    add(store, "tool", &["base"], b"tool");
    add(store, "old", &[], b"old-bytes");
    add(store, "orphan", &["old", "base"], b"orphan");
}

#[test]
fn keeps_roots_and_their_closure() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    graph(&store);
    let report = collect(&store, &[id("app")], false).unwrap();
    assert_eq!(names(&store), ["app", "base", "lib"]);
    let mut removed: Vec<&str> = report.removed.iter().map(|(_, n, _)| n.as_str()).collect();
    removed.sort();
    assert_eq!(removed, ["old", "orphan", "tool"]);
    assert_eq!(report.freed_bytes, 4 + 9 + 6);
    for (i, n, _) in &report.removed {
        assert_eq!(*i, id(n));
    }
    assert!(listing(&dir.path().join("trash")).is_empty());
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn dry_run_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    graph(&store);
    let dry = collect(&store, &[id("app"), id("tool")], true).unwrap();
    assert_eq!(names(&store).len(), 6);
    let real = collect(&store, &[id("app"), id("tool")], false).unwrap();
    assert_eq!(dry, real);
    assert_eq!(names(&store), ["app", "base", "lib", "tool"]);
}

#[test]
fn no_roots_empties_the_store_and_unknown_roots_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    graph(&store);
    collect(&store, &[id("not-in-store")], false).unwrap();
    assert!(names(&store).is_empty());
}

#[test]
fn invalid_entry_directories_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    graph(&store);
    let lib = store.lookup(&id("lib"), "lib").unwrap().unwrap();
    fs::remove_file(lib.dir.join("entry.json")).unwrap();
    fs::create_dir(dir.path().join("entries/not-an-entry")).unwrap();
    let report = collect(&store, &[id("app")], false).unwrap();
    // lib is unreadable, so its references are unknown: base goes too.
    assert_eq!(names(&store), ["app"]);
    assert!(
        report
            .removed
            .iter()
            .any(|(_, n, size)| n == "lib" && *size == 0)
    );
    assert_eq!(listing(&dir.path().join("entries")).len(), 1);
}

#[test]
fn interrupted_gc_is_finished_later() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    graph(&store);
    // Simulate a gc killed after moving an entry into the trash (with a
    // read-only tree inside, as entries have) but before deleting it.
    let old = store.lookup(&id("old"), "old").unwrap().unwrap();
    let trashed = dir.path().join("trash").join("interrupted");
    fs::rename(&old.dir, &trashed).unwrap();
    assert!(store.lookup(&id("old"), "old").unwrap().is_none());
    // And a staging directory whose owner is gone (no lock file).
    fs::create_dir_all(dir.path().join("tmp/dead-owner/entry")).unwrap();

    let reopened = Store::open(dir.path()).unwrap();
    assert!(listing(&dir.path().join("trash")).is_empty());
    assert!(listing(&dir.path().join("tmp")).is_empty());
    assert!(reopened.verify().unwrap().is_ok());

    // gc itself also empties trash left behind.
    fs::create_dir_all(dir.path().join("trash/again/out")).unwrap();
    collect(&reopened, &[id("app"), id("tool"), id("orphan")], false).unwrap();
    assert!(listing(&dir.path().join("trash")).is_empty());
    assert_eq!(names(&reopened), ["app", "base", "lib", "orphan", "tool"]);
}

#[test]
fn gc_removes_idle_build_locks_but_builds_still_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    drop(store.build_lock(&id("x")).unwrap());
    assert!(dir.path().join(format!("locks/{}.lock", id("x"))).exists());
    collect(&store, &[], false).unwrap();
    assert!(!dir.path().join(format!("locks/{}.lock", id("x"))).exists());
    let _l = store.build_lock(&id("x")).unwrap();
}

#[test]
fn gc_waits_for_a_build_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let st = store.begin(&id("slow"), "slow").unwrap();
    fs::write(st.out_path(), b"built while gc waited").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = store.clone();
    let gc = std::thread::spawn(move || {
        let r = collect(&s2, &[id("slow")], false).unwrap();
        tx.send(()).unwrap();
        r
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "gc did not wait"
    );
    st.commit(EntryMeta {
        kind: "t".into(),
        references: vec![],
        secret: false,
        derivation: serde_json::Value::Null,
    })
    .unwrap();
    let report = gc.join().unwrap();
    assert!(report.removed.is_empty());
    assert_eq!(names(&store), ["slow"]);
}

#[test]
fn a_shared_lock_keeps_fresh_entries_safe_until_rooted() {
    // What `hlb build` does: hold the shared lock from the first build until
    // the generation is recorded, so a gc started meanwhile waits, then
    // reads the roots that now include the new generation.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let profiles = hlb_cache::Profiles::open(&dir.path().join("state")).unwrap();
    add(&store, "stale", &[], b"stale");
    let guard = store.lock_shared().unwrap();
    add(&store, "fresh", &[], b"fresh");
    let (s2, p2) = (store.clone(), profiles.clone());
    let gc = std::thread::spawn(move || hlb_cache::gc::collect_profiles(&s2, &p2, false).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        names(&store),
        ["fresh", "stale"],
        "gc ran while a build held the lock"
    );
    profiles.record("lab", &id("fresh")).unwrap();
    drop(guard);
    let report = gc.join().unwrap();
    assert_eq!(
        report
            .removed
            .iter()
            .map(|(_, n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["stale"]
    );
    assert_eq!(names(&store), ["fresh"]);
}

/// Tiny deterministic generator (xorshift64*), so failures name a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// gc against a naive model: random DAGs (with dangling references and
/// unknown roots), survivors must be exactly what a plain graph search
/// from the roots reaches.
#[test]
fn gc_matches_a_naive_reachability_model() {
    let (mut kept_total, mut removed_total) = (0, 0);
    for seed in 1..=24u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let n = 6 + rng.below(12) as usize;
        let names: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
        let mut refs: Vec<Vec<String>> = Vec::new();
        for i in 0..n {
            let mut r = Vec::new();
            for earlier in &names[..i] {
                if rng.below(4) == 0 {
                    r.push(earlier.clone());
                }
            }
            if rng.below(5) == 0 {
                r.push(format!("missing{i}"));
            }
            let rs: Vec<&str> = r.iter().map(String::as_str).collect();
            add(&store, &names[i], &rs, names[i].as_bytes());
            refs.push(r);
        }
        let mut roots: Vec<String> = names
            .iter()
            .filter(|_| rng.below(5) == 0)
            .cloned()
            .collect();
        roots.push("unknown-root".into());

        let mut model = std::collections::BTreeSet::new();
        let mut work = roots.clone();
        while let Some(x) = work.pop() {
            if let Some(i) = names.iter().position(|n| *n == x)
                && model.insert(x.clone())
            {
                work.extend(refs[i].iter().cloned());
            }
        }

        let root_ids: Vec<Digest> = roots.iter().map(|r| id(r)).collect();
        let dry = collect(&store, &root_ids, true).unwrap();
        let real = collect(&store, &root_ids, false).unwrap();
        assert_eq!(dry, real, "seed {seed}");
        let survivors: std::collections::BTreeSet<String> = names_set(&store);
        assert_eq!(survivors, model, "seed {seed}");
        assert_eq!(real.removed.len(), n - model.len(), "seed {seed}");
        assert!(store.verify().unwrap().is_ok(), "seed {seed}");
        kept_total += model.len();
        removed_total += real.removed.len();
    }
    // The seeds exercise both outcomes, not only "keep all" or "drop all".
    assert!(kept_total > 0 && removed_total > 0);
}

fn names_set(store: &Store) -> std::collections::BTreeSet<String> {
    store
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}
