//! The conformance suite against the in-memory world, plus the cases only
//! an in-memory world can stage cheaply (a host lost during rollback).

mod conformance;

use std::path::PathBuf;

use conformance::World;
use hlb_cache::generation::contract::{Probe, SshAccess};
use hlb_cache::{Store, fsx};
use hlb_deploy::memory::{MemoryHost, MemoryWorld};
use hlb_deploy::{Connect, Event, LabState, Outcome, Recorder, Reporter, Step, Switch, switch};

struct Memory {
    world: MemoryWorld,
    store: Store,
    dir: tempfile::TempDir,
}

const ADDR: [&str; 2] = ["mem-a", "mem-b"];

fn memory() -> Memory {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let world = MemoryWorld::new(store.clone());
    for a in ADDR {
        world.add(a, MemoryHost::default());
    }
    Memory { world, store, dir }
}

impl World for Memory {
    fn connect(&self) -> &dyn Connect {
        &self.world
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state/deploy/conformance")
    }
    fn host(&self, i: usize) -> SshAccess {
        SshAccess {
            address: ADDR[i].into(),
            port: 22,
            user: "root".into(),
            host_key: None,
        }
    }
    fn unreachable(&self) -> SshAccess {
        SshAccess {
            address: "mem-gone".into(),
            port: 22,
            user: "root".into(),
            host_key: None,
        }
    }
    fn files_dir(&self, i: usize) -> String {
        format!("/srv/h{i}")
    }
    fn read(&self, i: usize, path: &str) -> Option<Vec<u8>> {
        self.world.with(ADDR[i], |h| h.files.get(path).cloned())
    }
    fn write(&self, i: usize, path: &str, bytes: &[u8]) {
        self.world
            .with(ADDR[i], |h| h.files.insert(path.into(), bytes.to_vec()));
    }
    fn fill_disk(&self, i: usize) {
        self.world.with(ADDR[i], |h| h.capacity = Some(64 << 10));
    }
    fn open_port(&self) -> u16 {
        22
    }
    fn closed_port(&self) -> u16 {
        9
    }
}

conformance!(memory);

/// Cuts `mem-a` off as soon as `mem-b` fails its health check, so the
/// rollback of `host/a` cannot reach it.
struct CutOnFailure<'a> {
    world: &'a MemoryWorld,
    inner: Recorder,
}

impl Reporter for CutOnFailure<'_> {
    fn event(&self, e: &Event) {
        if let Event::StepFailed {
            step: Step::Health, ..
        } = e
        {
            self.world.with("mem-a", |h| h.reachable = false);
        }
        self.inner.event(e);
    }
}

#[test]
fn a_failed_rollback_needs_attention_and_says_where() {
    let m = memory();
    let a = conformance::generation(&m, "1", |_| {});
    conformance::go(&m, &a).unwrap();
    let b = conformance::generation(&m, "2", |ts| {
        if let hlb_cache::generation::contract::TargetSpec::Host(h) =
            &mut ts.get_mut("host/b").unwrap().spec
        {
            h.probes = vec![Probe::Tcp { port: 9 }];
        }
    });
    let state = LabState::open(&m.state_dir()).unwrap();
    let reporter = CutOnFailure {
        world: &m.world,
        inner: Recorder::default(),
    };
    let r = switch(
        &Switch {
            lab: "conformance",
            state: &state,
            store: &m.store,
            connect: &m.world,
            reporter: &reporter,
            jobs: 1,
            only: None,
            holder: "test".into(),
            failpoint: None,
        },
        &b,
    )
    .unwrap();
    match &r.outcome {
        Outcome::NeedsAttention {
            failure: Some(f),
            rollback_failures,
        } => {
            assert_eq!((f.target.as_str(), f.step), ("host/b", Step::Health));
            assert_eq!(rollback_failures.len(), 1);
            assert_eq!(rollback_failures[0].target, "host/a");
        }
        other => panic!("expected needs-attention, got {other:?}"),
    }
    let dep = state.deployed().unwrap();
    assert_eq!(dep.of("host/b"), Some(a.hash()), "b went back");
    assert_eq!(dep.of("host/a"), None, "a is unknown");
    assert!(dep.targets["host/a"].attention.is_some());
    assert_eq!(
        state.journal().unwrap().unwrap().phase,
        hlb_deploy::Phase::NeedsAttention
    );
    // Once it is back, the next switch settles it.
    m.world.with("mem-a", |h| h.reachable = true);
    conformance::go(&m, &a).unwrap();
    conformance::assert_on(&m, &a);
    let _ = fsx::read_dir_sorted(m.dir.path());
}

#[test]
fn after_edges_order_the_switch_and_jobs_bound_it() {
    let m = memory();
    let a = conformance::generation(&m, "1", |_| {});
    let rec = Recorder::default();
    let r = conformance::run(
        &m,
        &a,
        &conformance::Run {
            jobs: 4,
            holder: "test",
            failpoint: None,
            reporter: &rec,
        },
    )
    .unwrap();
    assert_eq!(r.outcome.name(), "deployed");
    let order: Vec<(String, Step)> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepStarted { target, step } => Some((target, step)),
            _ => None,
        })
        .collect();
    let pos = |t: &str, s: Step| order.iter().position(|x| x.0 == t && x.1 == s).unwrap();
    assert!(
        pos("host/a", Step::Health) < pos("host/b", Step::Stage),
        "host/b is after host/a: {order:?}"
    );
}
