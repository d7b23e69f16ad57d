//! The scheduler against a naive model, on random graphs with random
//! failures: what gets built, failed and skipped, in which order, and how
//! often, must match what the model says.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hlb_builder::graph::Graph;
use hlb_builder::sched::{
    self, BuildStore, Event, FixedClock, MemoryStore, Options, Registry, Reporter,
};
use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, DrvId, Value};
use hlb_cache::store::Store;

/// Writes the concatenation of its inputs' outputs plus its own label;
/// fails when `params.fail` is true. Checks that every input exists.
struct Concat {
    builds: Mutex<Vec<String>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl Compiler for Concat {
    fn kind(&self) -> &'static str {
        "concat"
    }
    fn version(&self) -> u32 {
        1
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(2));
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.builds.lock().unwrap().push(cx.drv.name.clone());
        if cx.drv.params.get("fail").and_then(Value::as_bool) == Some(true) {
            return Err(BuildError::Invalid(format!(
                "{} was told to fail",
                cx.drv.name
            )));
        }
        let mut text = String::new();
        for p in cx.inputs.values() {
            text.push_str(&std::fs::read_to_string(p).map_err(|e| BuildError::io("read", p, e))?);
        }
        text.push_str(&cx.drv.name);
        std::fs::write(cx.out, text).map_err(|e| BuildError::io("write", cx.out, e))
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Collect(Mutex<Vec<Event>>);
impl Reporter<Event> for Collect {
    fn event(&self, e: &Event) {
        self.0.lock().unwrap().push(e.clone());
    }
}

fn random_graph(rng: &mut Rng, n: usize, fail_pct: u64) -> (Graph, Vec<DrvId>, BTreeSet<DrvId>) {
    let mut drvs = BTreeMap::new();
    let mut ids = Vec::new();
    let mut failing = BTreeSet::new();
    for i in 0..n {
        let mut inputs = BTreeMap::new();
        for _ in 0..rng.below(3) {
            if i > 0 {
                let j = rng.below(i as u64) as usize;
                inputs.insert(format!("in{j}"), ids[j]);
            }
        }
        let fail = rng.below(100) < fail_pct;
        let d = Derivation {
            kind: "concat".into(),
            name: format!("d{i}"),
            builder_version: 1,
            params: Value::map().with("fail", fail),
            inputs,
            sources: BTreeMap::new(),
            fixed_output: None,
            secret: false,
        };
        let id = d.id();
        if fail {
            failing.insert(id);
        }
        ids.push(id);
        drvs.insert(id, d);
    }
    (Graph::new(drvs).unwrap(), ids, failing)
}

/// The scheduler's I/O is a trait: the same model check runs against the
/// real store and the in-memory one.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Disk,
    Memory,
}

fn open(backend: Backend, dir: &std::path::Path) -> Box<dyn BuildStore> {
    match backend {
        Backend::Disk => Box::new(Store::open(&dir.join("store")).unwrap()),
        Backend::Memory => Box::new(MemoryStore::new(dir)),
    }
}

#[test]
fn matches_the_model_on_random_graphs() {
    model_check(Backend::Disk);
}

#[test]
fn matches_the_model_in_memory() {
    model_check(Backend::Memory);
}

/// Events carry the fixed clock's durations: a run is timed through
/// `Options::clock` only.
#[test]
fn build_times_come_from_the_clock() {
    let mut rng = Rng(7);
    let (graph, ids, _) = random_graph(&mut rng, 6, 0);
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::new(dir.path());
    let mut reg = Registry::new();
    reg.register(Box::new(Concat {
        builds: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        max_running: AtomicUsize::new(0),
    }));
    let reporter = Collect(Mutex::new(Vec::new()));
    let opts = Options {
        jobs: 2,
        clock: std::sync::Arc::new(FixedClock),
        ..Options::default()
    };
    let out = sched::build(
        &store,
        &graph,
        &ids,
        &Default::default(),
        &reg,
        &reporter,
        &opts,
    )
    .unwrap();
    assert!(out.ok());
    assert_eq!(store.entries().len(), graph.closure(&ids).len());
    assert_eq!(store.locks_held(), 0);
    let built: Vec<_> = reporter
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Built { elapsed, .. } => Some(*elapsed),
            _ => None,
        })
        .collect();
    assert_eq!(built.len(), store.entries().len());
    assert!(built.iter().all(|d| d.is_zero()));
}

fn model_check(backend: Backend) {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let n = 5 + rng.below(30) as usize;
        let (graph, ids, failing) = random_graph(&mut rng, n, 15);
        let dir = tempfile::tempdir().unwrap();
        let store = open(backend, dir.path());
        let store = store.as_ref();
        let concat = Concat {
            builds: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        };
        let mut reg = Registry::new();
        reg.register(Box::new(concat));
        let roots: Vec<DrvId> = ids.iter().rev().take(3).copied().collect();
        let reporter = Collect(Mutex::new(Vec::new()));
        let opts = Options {
            jobs: 3,
            keep_going: true,
            ..Options::default()
        };
        let out = sched::build(
            store,
            &graph,
            &roots,
            &Default::default(),
            &reg,
            &reporter,
            &opts,
        )
        .unwrap();

        // The model: in the closure, a node is built iff neither it nor any
        // of its dependencies fails; it fails iff it fails itself and no
        // dependency failed; otherwise it is skipped.
        let closure = graph.closure(&roots);
        let mut want_built = BTreeSet::new();
        let mut want_failed = BTreeSet::new();
        let mut want_skipped = BTreeSet::new();
        for id in &closure {
            let deps: BTreeSet<_> = graph
                .closure(&[*id])
                .into_iter()
                .filter(|d| d != id)
                .collect();
            let dep_fails = deps.iter().any(|d| failing.contains(d));
            if dep_fails {
                want_skipped.insert(*id);
            } else if failing.contains(id) {
                want_failed.insert(*id);
            } else {
                want_built.insert(*id);
            }
        }
        let built: BTreeSet<_> = out.built.iter().copied().collect();
        let failed: BTreeSet<_> = out.failed.iter().map(|f| f.id).collect();
        let skipped: BTreeSet<_> = out.skipped.iter().copied().collect();
        assert_eq!(built, want_built, "seed {seed}: built");
        assert_eq!(failed, want_failed, "seed {seed}: failed");
        assert_eq!(skipped, want_skipped, "seed {seed}: skipped");
        assert_eq!(
            out.built.len(),
            built.len(),
            "seed {seed}: something was built twice"
        );
        // The store holds exactly what was built, with the right contents.
        for id in &want_built {
            let d = graph.get(id).unwrap();
            let e = store
                .lookup(id, &d.name)
                .unwrap()
                .expect("built entry in store");
            let text = std::fs::read_to_string(&e.out).unwrap();
            assert!(text.ends_with(&d.name));
        }
        for id in want_failed.iter().chain(&want_skipped) {
            assert!(
                store
                    .lookup(id, &graph.get(id).unwrap().name)
                    .unwrap()
                    .is_none()
            );
        }
        // Events: every start is followed by its end; inputs finish before users start.
        let events = reporter.0.lock().unwrap();
        let mut done = BTreeSet::new();
        for e in events.iter() {
            match e {
                Event::Started { id, .. } => {
                    for i in graph.get(id).unwrap().inputs.values() {
                        assert!(done.contains(i), "seed {seed}: started before its input");
                    }
                }
                Event::Built { id, .. } => {
                    done.insert(*id);
                }
                // With keep_going, a skip always names the failed input behind it.
                Event::Skipped {
                    id, failed_input, ..
                } => {
                    let (cause, _) = failed_input
                        .as_ref()
                        .expect("keep_going skips name their cause");
                    assert!(
                        failing.contains(cause),
                        "seed {seed}: skip blamed a derivation that did not fail"
                    );
                    assert!(
                        graph.closure(&[*id]).contains(cause),
                        "seed {seed}: skip blamed a non-input"
                    );
                }
                _ => {}
            }
        }

        // Second run: everything that was built is cached, nothing is rebuilt.
        let again = sched::build(
            store,
            &graph,
            &roots,
            &Default::default(),
            &reg,
            &sched::Silent,
            &opts,
        )
        .unwrap();
        assert!(again.built.is_empty(), "seed {seed}: rebuilt something");
        assert_eq!(again.cached, want_built.len(), "seed {seed}: cached");
    }
}

#[test]
fn stops_after_first_failure_without_keep_going() {
    let mut drvs = BTreeMap::new();
    let mk = |name: &str, fail: bool| Derivation {
        kind: "concat".into(),
        name: name.into(),
        builder_version: 1,
        params: Value::map().with("fail", fail),
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        fixed_output: None,
        secret: false,
    };
    let bad = mk("a-bad", true);
    let bad_id = bad.id();
    drvs.insert(bad_id, bad);
    let mut roots = vec![bad_id];
    for i in 0..20 {
        let d = mk(&format!("z{i}"), false);
        roots.push(d.id());
        drvs.insert(d.id(), d);
    }
    let graph = Graph::new(drvs).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let mut reg = Registry::new();
    reg.register(Box::new(Concat {
        builds: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        max_running: AtomicUsize::new(0),
    }));
    let opts = Options {
        jobs: 1,
        keep_going: false,
        ..Options::default()
    };
    let out = sched::build(
        &store,
        &graph,
        &roots,
        &Default::default(),
        &reg,
        &sched::Silent,
        &opts,
    )
    .unwrap();
    assert_eq!(out.failed.len(), 1);
    assert!(!out.ok());
    // With one job, at most the failing one ran before we stopped.
    assert!(
        out.built.len() < 20,
        "kept going after a failure: built {}",
        out.built.len()
    );
    assert_eq!(out.built.len() + out.skipped.len() + 1, 21);
}

#[test]
fn builds_in_parallel_up_to_jobs() {
    let mut drvs = BTreeMap::new();
    let mut roots = Vec::new();
    for i in 0..12 {
        let d = Derivation {
            kind: "concat".into(),
            name: format!("p{i}"),
            builder_version: 1,
            params: Value::map(),
            inputs: BTreeMap::new(),
            sources: BTreeMap::new(),
            fixed_output: None,
            secret: false,
        };
        roots.push(d.id());
        drvs.insert(d.id(), d);
    }
    let graph = Graph::new(drvs).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let concat = std::sync::Arc::new(Concat {
        builds: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        max_running: AtomicUsize::new(0),
    });
    struct Shared(std::sync::Arc<Concat>);
    impl Compiler for Shared {
        fn kind(&self) -> &'static str {
            "concat"
        }
        fn version(&self) -> u32 {
            1
        }
        fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
            self.0.build(cx)
        }
    }
    let mut reg = Registry::new();
    reg.register(Box::new(Shared(concat.clone())));
    let out = sched::build(
        &store,
        &graph,
        &roots,
        &Default::default(),
        &reg,
        &sched::Silent,
        &Options {
            jobs: 4,
            keep_going: false,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(out.built.len(), 12);
    let max = concat.max_running.load(Ordering::SeqCst);
    assert!(max <= 4, "more than 4 builds at once: {max}");
    assert!(max >= 2, "builds never overlapped with -j 4: {max}");
}
