//! Crash safety: `hlb build` killed with SIGKILL at random moments never
//! leaves the store inconsistent, and the next build completes.

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::*;

/// A small deterministic PRNG (xorshift64*), so a failing run can be replayed
/// from the seed it prints.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn killed_builds_leave_a_consistent_store() {
    let world = World::new();
    let recipes = world.path().join("lab");
    synth::write_lab(&recipes, 40, 4, 16 * 1024, "0");

    // How long a full build takes here, to spread the kills over it.
    let t0 = Instant::now();
    ok(&world.run(&recipes, &["build", "-j", "2"]));
    let full = t0.elapsed().max(Duration::from_millis(50));

    let seed = std::env::var("HLB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    eprintln!("crash test: seed {seed}, full build {full:?}");
    let mut rng = Rng(seed);
    let runs = 50;
    let (mut killed, mut interrupted_writes) = (0, 0);
    for run in 1..=runs {
        synth::write_lab(&recipes, 40, 4, 16 * 1024, &run.to_string());
        let mut child = world
            .cmd(&recipes)
            .args(["build", "-j", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let delay = Duration::from_micros(rng.next() % (full.as_micros() as u64 + 1));
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait");
        if status.signal() == Some(libc::SIGKILL) {
            killed += 1;
        }
        let staging = std::fs::read_dir(world.store().join("tmp"))
            .map(|r| r.count())
            .unwrap_or(0);
        if staging > 0 {
            interrupted_writes += 1;
        }
        let v = world.run(&recipes, &["store", "verify"]);
        assert!(
            v.status.success(),
            "run {run} (seed {seed}, kill after {delay:?}): verify failed:\n{}{}",
            stdout(&v),
            stderr(&v)
        );
    }
    eprintln!(
        "crash test: {killed} of {runs} builds killed, {interrupted_writes} with staging left behind"
    );
    assert!(
        killed >= runs / 2,
        "only {killed} of {runs} builds were killed before they finished: the kills are not testing anything"
    );
    // The next build completes, and afterwards everything verifies.
    ok(&world.run(&recipes, &["build", "-j", "2"]));
    let v = world.run(&recipes, &["store", "verify", "--json"]);
    let text = ok(&v);
    assert!(text.contains("\"corrupted\":0"), "{text}");
    // No staging directories survive a completed build in a quiet store.
    let gc = world.run(&recipes, &["store", "gc"]);
    ok(&gc);
    let tmp = world.store().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "staging left behind after gc: {left:?}");
}
