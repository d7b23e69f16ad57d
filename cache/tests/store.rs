//! The store: commit, lookup, verify, crashes, concurrency.
#![allow(clippy::disallowed_methods)] // tests poke at the store with std::fs

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use hlb_cache::Digest;
use hlb_cache::store::{EntryMeta, Store, StoreError};

fn meta(kind: &str, refs: &[Digest]) -> EntryMeta {
    EntryMeta {
        kind: kind.into(),
        references: refs.to_vec(),
        secret: false,
        derivation: serde_json::json!({"builder": kind}),
    }
}

fn id(n: &str) -> Digest {
    Digest::of(n.as_bytes())
}

fn build_dir(store: &Store, id: &Digest, name: &str) -> hlb_cache::Entry {
    let st = store.begin(id, name).unwrap();
    let out = st.out_path();
    fs::create_dir(out).unwrap();
    fs::write(out.join("config.yaml"), format!("name: {name}\n")).unwrap();
    fs::create_dir(out.join("bin")).unwrap();
    fs::write(out.join("bin/run"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(out.join("bin/run"), fs::Permissions::from_mode(0o700)).unwrap();
    st.commit(meta("test", &[])).unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn commit_then_lookup_and_find() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let i = id("a");
    assert!(store.lookup(&i, "cfg").unwrap().is_none());
    let e = build_dir(&store, &i, "cfg");
    assert_eq!(e.dir, store.entry_dir(&i, "cfg"));
    assert_eq!(e.size, 10 + 10);
    assert_eq!(e.content_hash, hlb_cache::tree::hash_path(&e.out).unwrap());
    assert_eq!(store.lookup(&i, "cfg").unwrap(), Some(e.clone()));
    assert_eq!(store.find(&i).unwrap(), Some(e.clone()));
    assert!(store.find(&id("b")).unwrap().is_none());
    // Read-only, executable bit kept.
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&e.out), 0o555);
    assert_eq!(mode(&e.out.join("config.yaml")), 0o444);
    assert_eq!(mode(&e.out.join("bin/run")), 0o555);
    // Staging is gone.
    assert!(names_in(&store.root().join("tmp")).is_empty());
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(e.dir.join("entry.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "hlb-entry-v1");
    assert_eq!(json["id"], i.hex());
    assert_eq!(json["content_hash"], e.content_hash.hex());
    assert_eq!(json["derivation"]["builder"], "test");
}

#[test]
fn single_file_and_symlink_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let st = store.begin(&id("f"), "file.txt").unwrap();
    fs::write(st.out_path(), b"hello").unwrap();
    let e = st.commit(meta("file", &[id("x"), id("x")])).unwrap();
    assert_eq!(e.size, 5);
    assert_eq!(e.meta.references, vec![id("x")]);
    let st = store.begin(&id("l"), "link").unwrap();
    std::os::unix::fs::symlink("target", st.out_path()).unwrap();
    let e = st.commit(meta("link", &[])).unwrap();
    assert_eq!(fs::read_link(&e.out).unwrap(), PathBuf::from("target"));
    let all: Vec<Digest> = store.entries().unwrap().into_iter().map(|e| e.id).collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(all.len(), 2);
}

#[test]
fn verify_names_a_corrupted_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let good = build_dir(&store, &id("good"), "good");
    let bad = build_dir(&store, &id("bad"), "bad");
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checked, 2);

    // Flip one byte of one file.
    let f = bad.out.join("config.yaml");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&f).unwrap();
    bytes[0] ^= 1;
    fs::write(&f, bytes).unwrap();
    // And damage another entry's entry.json.
    let third = build_dir(&store, &id("third"), "third");
    fs::write(third.dir.join("entry.json"), b"{").unwrap();

    let report = store.verify().unwrap();
    let named: Vec<_> = report
        .corrupted
        .iter()
        .map(|c| (c.id, c.name.clone()))
        .collect();
    assert_eq!(report.checked, 3);
    assert_eq!(named.len(), 2, "{report:?}");
    assert!(named.contains(&(Some(bad.id), Some("bad".into()))));
    assert!(named.contains(&(Some(third.id), Some("third".into()))));
    assert!(!named.iter().any(|(i, _)| *i == Some(good.id)));
    let bad_report = report
        .corrupted
        .iter()
        .find(|c| c.id == Some(bad.id))
        .unwrap();
    assert!(
        bad_report.problem.contains("content hash"),
        "{}",
        bad_report.problem
    );
    // A damaged entry.json is not a valid entry.
    assert!(store.lookup(&third.id, "third").unwrap().is_none());
}

#[test]
fn dropped_staging_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    {
        let st = store.begin(&id("x"), "x").unwrap();
        fs::create_dir(st.out_path()).unwrap();
        fs::write(st.out_path().join("f"), b"partial").unwrap();
        fs::write(st.tmp_dir().join("scratch"), b"scratch").unwrap();
        fs::set_permissions(st.out_path(), fs::Permissions::from_mode(0o555)).unwrap();
        assert_eq!(names_in(&store.root().join("tmp")).len(), 2);
    }
    assert!(names_in(&store.root().join("tmp")).is_empty());
    assert!(names_in(&store.root().join("entries")).is_empty());
}

#[test]
fn commit_without_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let st = store.begin(&id("x"), "x").unwrap();
    let err = st.commit(meta("x", &[])).unwrap_err();
    assert!(matches!(err, StoreError::MissingOutput { .. }), "{err}");
    assert!(names_in(&store.root().join("tmp")).is_empty());
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for n in ["", "../x", "a/b", ".hidden"] {
        assert!(
            matches!(store.begin(&id("x"), n), Err(StoreError::BadName { .. })),
            "{n}"
        );
    }
}

#[test]
fn open_refuses_unknown_versions_and_foreign_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    Store::open(&root).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("hlb-store")).unwrap(),
        "hlb-store-v1\n"
    );
    Store::open(&root).unwrap();
    fs::write(root.join("hlb-store"), "hlb-store-v9\n").unwrap();
    let err = Store::open(&root).unwrap_err();
    assert!(matches!(err, StoreError::Version { .. }), "{err}");
    assert!(err.to_string().contains("hlb-store-v9"), "{err}");
    let home = dir.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join(".bashrc"), b"").unwrap();
    assert!(matches!(
        Store::open(&home),
        Err(StoreError::NotAStore { .. })
    ));
}

#[test]
fn two_threads_committing_the_same_id_get_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                let st = store.begin(&id("same"), "same").unwrap();
                fs::write(st.out_path(), b"identical").unwrap();
                barrier.wait();
                st.commit(meta("t", &[])).unwrap()
            })
        })
        .collect();
    let entries: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(entries[0], entries[1]);
    assert_eq!(names_in(&store.root().join("entries")).len(), 1);
    assert!(names_in(&store.root().join("tmp")).is_empty());
    assert!(names_in(&store.root().join("trash")).is_empty());
}

#[test]
fn build_lock_makes_the_second_builder_wait() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = store.build_lock(&id("x")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = store.clone();
    let t = std::thread::spawn(move || {
        let _second = s2.build_lock(&id("x")).unwrap();
        tx.send(()).unwrap();
    });
    // Another id is not blocked.
    drop(store.build_lock(&id("y")).unwrap());
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err()
    );
    drop(first);
    rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    t.join().unwrap();
}

// ---- child processes -------------------------------------------------------

const CHILD_ENV: &str = "HLB_STORE_TEST_CHILD";

/// Runs the test binary itself as a child executing `child_process_role`.
fn spawn_child(role: &str, store: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_role",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, role)
        .env("HLB_STORE_TEST_ROOT", store)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Not a test of its own: the body of the child processes above. Without
/// the environment variable it returns at once.
#[test]
fn child_process_role() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let root = PathBuf::from(std::env::var("HLB_STORE_TEST_ROOT").unwrap());
    let store = Store::open(&root).unwrap();
    match role.as_str() {
        "die-mid-write" => {
            let st = store.begin(&id("crash"), "crash").unwrap();
            fs::create_dir(st.out_path()).unwrap();
            fs::write(st.out_path().join("half"), b"half of it").unwrap();
            println!("HLB-READY");
            // The parent kills us; if it died first, do not linger.
            std::thread::sleep(std::time::Duration::from_secs(120));
            std::process::exit(3);
        }
        "commit-same" => {
            let st = store.begin(&id("race"), "race").unwrap();
            fs::write(st.out_path(), b"same bytes").unwrap();
            // Both children commit at roughly the same moment.
            let go = root.join("go");
            while !go.exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let e = st.commit(meta("t", &[])).unwrap();
            println!("HLB-COMMITTED {}", e.content_hash);
        }
        other => panic!("unknown role {other}"),
    }
}

fn wait_for_line(child: &mut std::process::Child, prefix: &str) -> String {
    let out = child.stdout.as_mut().unwrap();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        // libtest prints "test child_process_role ... " before our output.
        if let Some(at) = line.find(prefix) {
            return line[at..].to_string();
        }
    }
    panic!("child exited without printing {prefix}");
}

#[test]
fn killed_builder_leaves_nothing_valid_and_is_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    Store::open(&root).unwrap();
    let mut child = spawn_child("die-mid-write", &root);
    wait_for_line(&mut child, "HLB-READY");
    child.kill().unwrap(); // SIGKILL: no destructors run
    child.wait().unwrap();

    // The half-written output is in tmp/, never in entries/.
    assert!(!names_in(&root.join("tmp")).is_empty());
    assert!(names_in(&root.join("entries")).is_empty());
    let store = Store::open(&root).unwrap();
    assert!(store.lookup(&id("crash"), "crash").unwrap().is_none());
    // Opening found the owner gone and removed the staging area.
    assert!(names_in(&root.join("tmp")).is_empty());
}

#[test]
fn live_staging_survives_another_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let st = store.begin(&id("live"), "live").unwrap();
    fs::write(st.out_path(), b"in progress").unwrap();
    Store::open(dir.path()).unwrap();
    assert!(st.out_path().exists());
    st.commit(meta("t", &[])).unwrap();
}

#[test]
fn two_processes_committing_the_same_id_get_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    Store::open(&root).unwrap();
    let mut a = spawn_child("commit-same", &root);
    let mut b = spawn_child("commit-same", &root);
    fs::write(root.join("go"), b"").unwrap();
    let la = wait_for_line(&mut a, "HLB-COMMITTED");
    let lb = wait_for_line(&mut b, "HLB-COMMITTED");
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    assert_eq!(la, lb);
    let store = Store::open(&root).unwrap();
    assert_eq!(store.entries().unwrap().len(), 1);
    assert!(names_in(&root.join("tmp")).is_empty());
}
