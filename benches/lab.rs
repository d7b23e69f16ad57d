//! Benchmarks that print figures (run with `cargo bench --bench lab`):
//!
//! - evaluation + planning of the example lab, and its no-op build (all cached);
//! - evaluation + planning of a synthetic lab with 1,000 hosts and 10,000
//!   derivations declared like the example lab's, split into where the time
//!   goes (reading + KDL parsing + evaluation, planning), with peak memory;
//! - the no-op build of the synthetic lab.
//!
//! Targets (issue 3): example no-op build < 50 ms; synthetic evaluation +
//! planning < 1 s and < 300 MB peak.

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::Path;
use std::time::{Duration, Instant};

use hlb::ops::build::BuildOptions;
use hlb::ops::{Env, events};
use hlb_builder::lock::Lock;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss as f64 / 1024.0
}

struct Figures {
    load: Duration,
    plan: Duration,
    noop: Duration,
    drvs: usize,
}

fn measure(dir: &Path, runs: usize, store_dir: &Path) -> Figures {
    measure_with(dir, runs, store_dir, None, &Lock::default())
}

/// What `hlb lock` would write for `dir`: the example lab's container
/// packages, resolved against the machine's apt sources (the mirror moves
/// on, so no lock is committed). Not `hlb::ops::lock::lock`, which writes
/// the recipes' `hlb.lock`: the benchmark keeps the lock in memory.
fn lock_of(dir: &Path) -> Lock {
    let env = Env {
        recipes: dir.to_path_buf(),
        ..Env::default()
    };
    let lab = hlb::ops::plan::load(&env).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems()));
    let requests = hlb_builder::plan::lock_requests(&lab);
    let fetcher = hlb_fetch::Fetcher::new(hlb_fetch::FetchOptions::default()).expect("fetcher");
    let debian = hlb_fetch::DebianResolver::new();
    let mut lock = Lock::default();
    hlb_fetch::update_lock(&mut lock, &requests, &[&debian], &fetcher, &|_| {})
        .unwrap_or_else(|e| panic!("locking the example lab: {e}"));
    lock
}

/// The pipeline as the CLI runs it (`hlb::ops`), timed step by step:
/// load, plan (with the plan checks), build.
fn measure_with(
    dir: &Path,
    runs: usize,
    store_dir: &Path,
    identity: Option<&Path>,
    lock: &Lock,
) -> Figures {
    let env = Env {
        recipes: dir.to_path_buf(),
        store: Some(store_dir.to_path_buf()),
        identity: identity.map(Path::to_path_buf),
        ..Env::default()
    };
    let reporter = events::silent();
    let reg = env.registry(&reporter).expect("registry");
    let (mut loads, mut plans, mut noops) = (Vec::new(), Vec::new(), Vec::new());
    let store = env.open_store().expect("store");
    let opts = BuildOptions {
        jobs: Some(2),
        ..BuildOptions::default()
    };
    let mut drvs = 0;
    for i in 0..runs {
        let t = Instant::now();
        let lab = hlb::ops::plan::load(&env).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems()));
        let t_load = t.elapsed();
        let t = Instant::now();
        let planned = hlb::ops::plan::plan_lab(lab, lock, &reg)
            .unwrap_or_else(|e| panic!("{e}: {:?}", e.problems()));
        let t_plan = t.elapsed();
        drvs = planned.plan.graph.len();
        let roots = planned.plan.roots();
        let t = Instant::now();
        let out = hlb::ops::build::build_plan(
            &env,
            &store,
            &reg,
            &planned.lab,
            &planned.plan,
            &roots,
            &opts,
            &reporter,
        )
        .expect("build");
        let t_build = t.elapsed();
        if i > 0 {
            // The first run fills the store; later ones are no-ops.
            assert!(out.built.is_empty());
            loads.push(t_load);
            plans.push(t_plan);
            noops.push(t_load + t_plan + t_build);
        }
    }
    Figures {
        load: median(loads),
        plan: median(plans),
        noop: median(noops),
        drvs,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tempdir");

    let ex = measure_with(
        &root.join("recipes"),
        21,
        &tmp.path().join("store-example"),
        Some(&root.join("demo/age-identity.txt")),
        &lock_of(&root.join("recipes")),
    );
    println!("example lab ({} derivations):", ex.drvs);
    println!("  evaluation (read + parse + check)  {}", ms(ex.load));
    println!("  planning                           {}", ms(ex.plan));
    println!(
        "  no-op build, in process            {}   (target < 50 ms)",
        ms(ex.noop)
    );

    let synth_dir = tmp.path().join("synth");
    let t = Instant::now();
    synth::write_lab(&synth_dir, 1000, 9, 2048, "bench");
    let kdl_bytes = std::fs::metadata(synth_dir.join("lab.kdl"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "synthetic lab generated in {} ({} KiB of KDL)",
        ms(t.elapsed()),
        kdl_bytes / 1024
    );
    let rss_before = peak_rss_mib();
    let sy = measure(&synth_dir, 4, &tmp.path().join("store-synth"));
    println!("synthetic lab ({} derivations):", sy.drvs);
    println!("  evaluation (read + parse + check)  {}", ms(sy.load));
    println!("  planning                           {}", ms(sy.plan));
    println!(
        "  evaluation + planning              {}   (target < 1 s)",
        ms(sy.load + sy.plan)
    );
    println!("  no-op build, in process            {}", ms(sy.noop));
    println!(
        "  peak RSS of this process           {:.0} MiB (before the synthetic lab: {:.0} MiB; target < 300 MB)",
        peak_rss_mib(),
        rss_before
    );
}
