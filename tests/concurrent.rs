//! Two `hlb build` processes on one store at once both succeed, with the
//! same result, and the store holds each entry once.

mod common;
#[path = "common/synth.rs"]
mod synth;

use common::*;

#[test]
fn two_builds_at_once_on_one_store() {
    let world = World::new();
    let recipes = world.path().join("lab");
    synth::write_lab(&recipes, 30, 4, 8 * 1024, "1");
    let spawn = || {
        world
            .cmd(&recipes)
            .args(["build", "-j", "2"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (oa, ob) = (
        a.wait_with_output().expect("wait"),
        b.wait_with_output().expect("wait"),
    );
    let (ha, hb) = (ok(&oa), ok(&ob));
    assert_eq!(
        ha.trim(),
        hb.trim(),
        "the two builds recorded different generations"
    );
    let v = world.run(&recipes, &["store", "verify"]);
    ok(&v);
    // 30 hosts × (4 files + 1 manifest), plus the generation entry.
    let entries = std::fs::read_dir(world.store().join("entries"))
        .expect("entries")
        .count();
    assert_eq!(entries, 30 * 5 + 1);
    // Both processes recorded the same generation: one profile entry.
    let gens = ok(&world.run(&recipes, &["generations", "--json"]));
    assert_eq!(gens.lines().count(), 1, "{gens}");
}
