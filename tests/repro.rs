//! Reproducibility: the same recipes built in two different worlds (store,
//! TMPDIR, HOME, umask, LANG, TZ, time) give the same generation hash and the
//! same bytes in every store entry.

mod common;

use std::os::unix::process::CommandExt;

use common::*;

fn build(world: &World, recipes: &std::path::Path, umask: u32, lang: &str, tz: &str) -> String {
    let mut cmd = world.cmd(recipes);
    cmd.args(["build", "-j", "2"])
        .env("LANG", lang)
        .env("LC_ALL", lang)
        .env("TZ", tz);
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    let out = cmd.output().expect("run hlb");
    ok(&out).trim().to_string()
}

#[test]
fn example_lab_builds_identically_in_two_worlds() {
    let recipes = repo_root().join("recipes");
    let a = World::new();
    let b = World::new();
    let ha = build(&a, &recipes, 0o022, "C.UTF-8", "UTC");
    // A different moment: entries' mtimes and any clock leak would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let hb = build(&b, &recipes, 0o077, "de_DE.UTF-8", "Pacific/Kiritimati");
    assert_eq!(ha.len(), 64, "a generation hash on stdout: {ha}");
    assert_eq!(ha, hb, "generation hashes differ");

    let ea = tree_bytes(&a.store().join("entries"));
    let eb = tree_bytes(&b.store().join("entries"));
    assert!(!ea.is_empty());
    assert_eq!(
        ea.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        eb.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        "the two stores hold different entries"
    );
    for ((pa, ba), (_, bb)) in ea.iter().zip(&eb) {
        assert!(ba == bb, "{pa} differs between the two stores");
    }
}

#[test]
fn rebuilding_changes_nothing() {
    let recipes = repo_root().join("recipes");
    let w = World::new();
    let first = build(&w, &recipes, 0o022, "C.UTF-8", "UTC");
    let before = tree_bytes(&w.store().join("entries"));
    let out = w.run(&recipes, &["build", "--json"]);
    let text = ok(&out);
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a result line")).expect("json");
    assert_eq!(last["reason"], "build-finished");
    assert_eq!(last["generation"], first.as_str());
    assert_eq!(last["built"], 0, "a no-op build built something: {text}");
    assert_eq!(
        last["number"], 1,
        "an unchanged build must not make a new generation"
    );
    assert_eq!(before, tree_bytes(&w.store().join("entries")));
}
