//! The conformance suite: every fault case of the deploy protocol, one
//! function each, run against every target implementation through a
//! [`World`] (the machines, how to reach them, and how to break them).
//!
//! `conformance!(make_world)` instantiates one `#[test]` per case. Each
//! case builds its generations in the world's store, switches a lab of two
//! hosts (`host/b` is `after` `host/a`) and checks what the machines
//! themselves show, not only what the orchestrator says.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};

use hlb_cache::generation::contract::{self, FileDelivery, HostSpec, Probe, SshAccess, TargetSpec};
use hlb_cache::generation::{Artifact, Generation};
use hlb_cache::store::EntryMeta;
use hlb_cache::{Digest, Store, fsx};
use hlb_deploy::{
    Connect, Event, LabState, Outcome, Phase, Recorder, Step, Switch, SwitchError, SwitchReport,
    recover, status, switch,
};

/// The machines a case runs against.
pub trait World: Send + Sync {
    fn connect(&self) -> &dyn Connect;
    fn store(&self) -> &Store;
    /// The lab's deploy state directory.
    fn state_dir(&self) -> std::path::PathBuf;
    /// How to reach host `i` (0 or 1).
    fn host(&self, i: usize) -> SshAccess;
    /// An access nothing answers at.
    fn unreachable(&self) -> SshAccess;
    /// A directory on host `i` that delivered files go under.
    fn files_dir(&self, i: usize) -> String;
    /// What a reader on host `i` sees at `path`.
    fn read(&self, i: usize, path: &str) -> Option<Vec<u8>>;
    /// Change `path` on host `i` by hand (through whatever is there).
    fn write(&self, i: usize, path: &str, bytes: &[u8]);
    /// From now on host `i` holds at most about 64 KiB of staged files.
    fn fill_disk(&self, i: usize);
    /// A port every host answers on, and one none does.
    fn open_port(&self) -> u16;
    fn closed_port(&self) -> u16;
}

pub const BIG: usize = 1 << 20;

/// A generation of the two-host lab: `version` goes into every file;
/// `tweak` edits the targets before the generation is stored.
pub fn generation(
    w: &dyn World,
    version: &str,
    tweak: impl FnOnce(&mut BTreeMap<String, contract::Target>),
) -> Generation {
    let mut targets = BTreeMap::new();
    for (i, name) in ["host/a", "host/b"].into_iter().enumerate() {
        let dir = w.files_dir(i);
        let mut artifacts = BTreeMap::new();
        let mut files = Vec::new();
        for (file, content) in [
            ("app.conf", format!("version={version} host={i}\n")),
            ("conf.d/extra.conf", format!("extra {version}\n")),
        ] {
            let art = format!("{}-{}", name.replace('/', "-"), file.replace('/', "-"));
            artifacts.insert(art.clone(), artifact(w.store(), &art, content.as_bytes()));
            files.push(FileDelivery {
                artifact: art,
                path: format!("{dir}/{file}"),
                mode: "0640".into(),
                owner: "root".into(),
                group: "root".into(),
            });
        }
        targets.insert(
            name.to_string(),
            contract::Target {
                artifacts,
                after: if i == 1 {
                    vec!["host/a".into()]
                } else {
                    vec![]
                },
                spec: TargetSpec::Host(HostSpec {
                    access: w.host(i),
                    files,
                    services: vec![],
                    probes: vec![Probe::Tcp {
                        port: w.open_port(),
                    }],
                }),
            },
        );
    }
    tweak(&mut targets);
    let g = Generation {
        lab: "conformance".into(),
        targets,
        v1_hash: None,
    };
    w.store().add_generation(&g).expect("store the generation");
    g
}

/// A file artifact in the store.
pub fn artifact(store: &Store, name: &str, bytes: &[u8]) -> Artifact {
    let mut key = name.as_bytes().to_vec();
    key.extend_from_slice(bytes);
    let id = Digest::of(&key);
    let entry = match store.lookup(&id, name).unwrap() {
        Some(e) => e,
        None => {
            let st = store.begin(&id, name).unwrap();
            fsx::write_atomic(st.out_path(), bytes).unwrap();
            st.commit(EntryMeta {
                kind: "file".into(),
                references: vec![],
                secret: false,
                derivation: serde_json::json!({ "test": name }),
            })
            .unwrap()
        }
    };
    Artifact {
        id,
        name: name.into(),
        kind: "file".into(),
        content: entry.content_hash,
        secret: false,
    }
}

fn host_mut(t: &mut contract::Target) -> &mut HostSpec {
    match &mut t.spec {
        TargetSpec::Host(h) => h,
        _ => unreachable!(),
    }
}

/// Add a big file to `target` (bigger than a filled disk holds), after
/// its small ones, so staging fails midway.
pub fn with_big_file(w: &dyn World, t: &mut contract::Target, i: usize) {
    let art = format!("big-{i}");
    let bytes = vec![b'x'; BIG];
    t.artifacts
        .insert(art.clone(), artifact(w.store(), &art, &bytes));
    host_mut(t).files.push(FileDelivery {
        artifact: art,
        path: format!("{}/zz-big.bin", w.files_dir(i)),
        mode: "0644".into(),
        owner: "root".into(),
        group: "root".into(),
    });
}

pub struct Run<'a> {
    pub jobs: usize,
    pub holder: &'a str,
    pub failpoint: Option<&'a (dyn Fn(usize) -> bool + Sync)>,
    pub reporter: &'a Recorder,
}

pub fn run(w: &dyn World, g: &Generation, r: &Run<'_>) -> Result<SwitchReport, SwitchError> {
    let state = LabState::open(&w.state_dir()).unwrap();
    switch(
        &Switch {
            lab: "conformance",
            state: &state,
            store: w.store(),
            connect: w.connect(),
            reporter: r.reporter,
            jobs: r.jobs,
            only: None,
            holder: r.holder.to_string(),
            failpoint: r.failpoint,
        },
        g,
    )
}

pub fn go(w: &dyn World, g: &Generation) -> Result<SwitchReport, SwitchError> {
    run(
        w,
        g,
        &Run {
            jobs: 2,
            holder: "test",
            failpoint: None,
            reporter: &Recorder::default(),
        },
    )
}

/// Every host shows exactly generation `g`'s files, and the records and
/// the machines agree that they run it.
pub fn assert_on(w: &dyn World, g: &Generation) {
    for (i, name) in ["host/a", "host/b"].into_iter().enumerate() {
        let t = &g.targets[name];
        let h = match &t.spec {
            TargetSpec::Host(h) => h,
            _ => unreachable!(),
        };
        for f in &h.files {
            let entry = w
                .store()
                .lookup(&t.artifacts[&f.artifact].id, &f.artifact)
                .unwrap()
                .unwrap();
            let want = fsx::read(&entry.out).unwrap();
            assert_eq!(
                w.read(i, &f.path).as_deref(),
                Some(want.as_slice()),
                "{name}: {}",
                f.path
            );
        }
    }
    let state = LabState::open(&w.state_dir()).unwrap();
    let dep = state.deployed().unwrap();
    let hash = g.hash();
    assert!(
        dep.lab_is_at(&hash, ["host/a", "host/b"].into_iter()),
        "deployed records: {dep:?}"
    );
    let st = status(&state, w.store(), w.connect()).unwrap();
    assert!(st.interrupted.is_none());
    for name in ["host/a", "host/b"] {
        let s = st.targets[name].as_ref().unwrap();
        assert_eq!(s.running, Some(hash), "{name} reports");
        assert!(s.drift.is_empty(), "{name}: {:?}", s.drift);
    }
}

fn deployed(outcome: &Outcome) -> (&[String], &[String]) {
    match outcome {
        Outcome::Deployed {
            switched,
            unchanged,
            warnings,
        } => {
            assert!(warnings.is_empty(), "{warnings:?}");
            (switched, unchanged)
        }
        other => panic!("expected deployed, got {other:?}"),
    }
}

// ---- the cases ----

/// A first switch delivers everything; the same switch again touches
/// nothing; a switch back to the first generation is a rollback.
pub fn switch_then_nothing_then_back(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    let r = go(w, &a).unwrap();
    assert_eq!(deployed(&r.outcome).0, ["host/a", "host/b"]);
    assert_on(w, &a);

    let again = go(w, &a).unwrap();
    let (switched, unchanged) = deployed(&again.outcome);
    assert!(switched.is_empty());
    assert_eq!(unchanged, ["host/a", "host/b"]);

    let b = generation(w, "2", |ts| {
        // b drops its extra file: removal is part of the switch.
        let h = host_mut(ts.get_mut("host/b").unwrap());
        h.files.retain(|f| !f.path.ends_with("extra.conf"));
        ts.get_mut("host/b")
            .unwrap()
            .artifacts
            .retain(|k, _| !k.ends_with("extra.conf"));
    });
    let plan_b = go(w, &b).unwrap();
    assert_eq!(deployed(&plan_b.outcome).0, ["host/a", "host/b"]);
    assert_on(w, &b);
    let gone = format!("{}/conf.d/extra.conf", w.files_dir(1));
    assert_eq!(w.read(1, &gone), None, "removed file is gone");

    go(w, &a).unwrap();
    assert_on(w, &a);
}

/// `host/b`'s probe fails after activation: both hosts go back to the
/// deployed generation, in reverse order, healthy again.
pub fn health_fails_after_activation(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    go(w, &a).unwrap();
    let closed = w.closed_port();
    let b = generation(w, "2", |ts| {
        host_mut(ts.get_mut("host/b").unwrap()).probes = vec![Probe::Tcp { port: closed }];
    });
    let rec = Recorder::default();
    let r = run(
        w,
        &b,
        &Run {
            jobs: 2,
            holder: "test",
            failpoint: None,
            reporter: &rec,
        },
    )
    .unwrap();
    match &r.outcome {
        Outcome::RolledBack {
            failure: Some(f),
            rolled_back,
        } => {
            assert_eq!((f.target.as_str(), f.step), ("host/b", Step::Health));
            assert_eq!(rolled_back, &["host/b", "host/a"], "reverse start order");
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_on(w, &a);
    let rollbacks: Vec<String> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepFinished {
                target,
                step: Step::Rollback,
            } => Some(target),
            _ => None,
        })
        .collect();
    assert_eq!(rollbacks, ["host/b", "host/a"]);
}

/// Staging runs out of disk midway on `host/b`: nothing of the new
/// generation becomes visible anywhere.
pub fn a_step_fails_mid_stage(w: &dyn World) {
    w.fill_disk(1);
    let a = generation(w, "1", |_| {});
    go(w, &a).unwrap();
    let b = generation(w, "2", |ts| {
        with_big_file(w, ts.get_mut("host/b").unwrap(), 1)
    });
    let r = go(w, &b).unwrap();
    match &r.outcome {
        Outcome::RolledBack {
            failure: Some(f), ..
        } => assert_eq!((f.target.as_str(), f.step), ("host/b", Step::Stage)),
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_on(w, &a);
    assert_eq!(w.read(1, &format!("{}/zz-big.bin", w.files_dir(1))), None);
}

/// One host cannot be reached when planning: the switch is refused and no
/// target changes, not even the reachable one.
pub fn unreachable_at_plan_changes_nothing(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    go(w, &a).unwrap();
    let gone = w.unreachable();
    let b = generation(w, "2", |ts| {
        host_mut(ts.get_mut("host/b").unwrap()).access = gone;
    });
    let err = go(w, &b).unwrap_err();
    match &err {
        SwitchError::Plan(errs) => {
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(
                (errs[0].target.as_str(), errs[0].step),
                ("host/b", Step::Plan)
            );
            assert!(matches!(
                errs[0].cause,
                hlb_deploy::TargetError::Unreachable { .. }
            ));
        }
        other => panic!("expected a plan failure, got {other:?}"),
    }
    assert_on(w, &a);
    let j = LabState::open(&w.state_dir())
        .unwrap()
        .journal()
        .unwrap()
        .unwrap();
    assert_eq!(
        (j.to, j.phase),
        (a.hash(), Phase::Done),
        "no journal written"
    );
}

/// Stop the orchestrator right after each journal write in turn (as a
/// crash would); recovery leaves every host on one whole generation, and
/// the next switch converges.
pub fn crash_at_every_journal_step(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    let b = generation(w, "2", |_| {});
    go(w, &a).unwrap();
    // How many journal writes a clean switch makes.
    let count = Mutex::new(0usize);
    let counting = |n: usize| {
        *count.lock().unwrap() = n;
        false
    };
    let quiet = Recorder::default();
    let one = |g: &Generation, fp: Option<&(dyn Fn(usize) -> bool + Sync)>| {
        run(
            w,
            g,
            &Run {
                jobs: 1,
                holder: "test",
                failpoint: fp,
                reporter: &quiet,
            },
        )
    };
    one(&b, Some(&counting)).unwrap();
    let steps = *count.lock().unwrap();
    assert!(
        steps >= 8,
        "a two-host switch writes the journal {steps} times"
    );
    go(w, &a).unwrap();
    assert_on(w, &a);

    // Each round crashes a switch from one generation to the other, then
    // converges there; the next round goes back the other way.
    let (mut from, mut to) = (&a, &b);
    for k in 1..=steps {
        let crash = move |n: usize| n == k;
        match one(to, Some(&crash)) {
            Err(SwitchError::Crashed(n)) => assert_eq!(n, k),
            other => panic!("step {k}: expected a crash, got {other:?}"),
        }
        // Settle it alone: one whole generation everywhere.
        let state = LabState::open(&w.state_dir()).unwrap();
        let rec = recover(&Switch {
            lab: "conformance",
            state: &state,
            store: w.store(),
            connect: w.connect(),
            reporter: &quiet,
            jobs: 1,
            only: None,
            holder: "recovery".into(),
            failpoint: None,
        })
        .unwrap();
        let j = state.journal().unwrap().unwrap();
        assert!(j.phase.is_final(), "step {k}: {j:?}");
        match rec {
            Some(r) if r.decision == "resume" => assert_on(w, to),
            Some(r) => {
                assert_eq!(r.decision, "roll-back");
                assert_on(w, from);
            }
            // Crashed after the final write: nothing to recover.
            None => assert_on(w, to),
        }
        go(w, to).unwrap();
        assert_on(w, to);
        std::mem::swap(&mut from, &mut to);
    }
}

/// A second switch of the lab while one runs is refused with the holder
/// named; the first finishes.
pub fn two_switches_at_once(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    let b = generation(w, "2", |_| {});
    go(w, &a).unwrap();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(Some(started_tx));
    let release_rx = Mutex::new(release_rx);
    let hold = move |n: usize| {
        if n == 1 {
            if let Some(tx) = started_tx.lock().unwrap().take() {
                tx.send(()).unwrap();
            }
            release_rx.lock().unwrap().recv().unwrap();
        }
        false
    };
    let rec = Recorder::default();
    let first = Arc::new(Mutex::new(None));
    std::thread::scope(|s| {
        let first = first.clone();
        let b = &b;
        let (hold, rec) = (&hold, &rec);
        s.spawn(move || {
            let r = run(
                w,
                b,
                &Run {
                    jobs: 2,
                    holder: "`hlb switch` (the first)",
                    failpoint: Some(hold),
                    reporter: rec,
                },
            );
            *first.lock().unwrap() = Some(r);
        });
        started_rx.recv().unwrap();
        match go(w, &a) {
            Err(SwitchError::Locked { lab, holder }) => {
                assert_eq!(lab, "conformance");
                assert_eq!(holder, "`hlb switch` (the first)");
            }
            other => panic!("expected the second switch refused, got {other:?}"),
        }
        release_tx.send(()).unwrap();
    });
    let r = first.lock().unwrap().take().unwrap().unwrap();
    deployed(&r.outcome);
    assert_on(w, &b);
}

/// A file changed by hand is drift: status names it, the plan shows it,
/// and the next switch puts the generation's content back.
pub fn drift_is_found_and_overwritten(w: &dyn World) {
    let a = generation(w, "1", |_| {});
    go(w, &a).unwrap();
    let path = format!("{}/app.conf", w.files_dir(0));
    w.write(0, &path, b"edited by hand\n");
    let state = LabState::open(&w.state_dir()).unwrap();
    let st = status(&state, w.store(), w.connect()).unwrap();
    let drift = &st.targets["host/a"].as_ref().unwrap().drift;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(
        (drift[0].what.as_str(), drift[0].how),
        (path.as_str(), "changed")
    );
    let r = go(w, &a).unwrap();
    assert!(!r.plans["host/a"].drift.is_empty());
    assert_eq!(deployed(&r.outcome).0, ["host/a"]);
    assert_on(w, &a);
}

/// One `#[test]` per case for a world made by `$make` (a function
/// returning something that implements [`World`]).
#[macro_export]
macro_rules! conformance {
    ($make:path) => {
        #[test]
        fn switch_then_nothing_then_back() {
            conformance::switch_then_nothing_then_back(&$make());
        }
        #[test]
        fn health_fails_after_activation() {
            conformance::health_fails_after_activation(&$make());
        }
        #[test]
        fn a_step_fails_mid_stage() {
            conformance::a_step_fails_mid_stage(&$make());
        }
        #[test]
        fn unreachable_at_plan_changes_nothing() {
            conformance::unreachable_at_plan_changes_nothing(&$make());
        }
        #[test]
        fn crash_at_every_journal_step() {
            conformance::crash_at_every_journal_step(&$make());
        }
        #[test]
        fn two_switches_at_once() {
            conformance::two_switches_at_once(&$make());
        }
        #[test]
        fn drift_is_found_and_overwritten() {
            conformance::drift_is_found_and_overwritten(&$make());
        }
    };
}
