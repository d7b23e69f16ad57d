//! Reproducibility: the same recipes built in two different worlds (store,
//! TMPDIR, HOME, umask, LANG, TZ, time) give the same generation hash and the
//! same bytes in every store entry, the DNS container's template included.
//!
//! The example lab's container needs its packages pinned: `hlb lock`
//! resolves them against the machine's apt sources at test time (the
//! Debian mirror moves on, so no lock is committed), once; both worlds
//! build from that lock.

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

/// A copy of the example lab in `world`, locked there.
fn locked_example_lab(world: &World) -> std::path::PathBuf {
    let recipes = world.copy_recipes(&repo_root().join("recipes"));
    let _ = std::fs::remove_file(recipes.join("hlb.lock"));
    ok(&world.run(&recipes, &["lock"]));
    recipes
}

#[test]
fn example_lab_builds_identically_in_two_worlds() {
    let a = World::demo();
    let b = World::demo();
    let ra = locked_example_lab(&a);
    // World B gets the recipes and the lock (as a git clone would), in
    // another directory.
    let rb = b.copy_recipes(&ra);
    let ha = build(&a, &ra, 0o022, "C.UTF-8", "UTC");
    // A different moment: entries' mtimes and any clock leak would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let hb = build(&b, &rb, 0o077, "de_DE.UTF-8", "Pacific/Kiritimati");
    assert_eq!(ha.len(), 64, "a generation hash on stdout: {ha}");
    assert_eq!(ha, hb, "generation hashes differ");

    // Public entries: identical bytes. Secret entries: identical plaintext
    // (their age ciphertext is randomized: design D1), and identical
    // metadata but for the ciphertext's hash and size.
    let names = |w: &World| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(w.store().join("entries"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let (na, nb) = (names(&a), names(&b));
    assert_eq!(na, nb, "the two stores hold different entries");
    let mut secrets = 0;
    for n in &na {
        let (da, db) = (
            a.store().join("entries").join(n),
            b.store().join("entries").join(n),
        );
        let meta = |d: &std::path::Path| -> serde_json::Value {
            serde_json::from_slice(&std::fs::read(d.join("entry.json")).unwrap()).unwrap()
        };
        let (mut ma, mut mb) = (meta(&da), meta(&db));
        if ma["secret"] == true {
            secrets += 1;
            for m in [&mut ma, &mut mb] {
                m.as_object_mut().unwrap().remove("content_hash");
                m.as_object_mut().unwrap().remove("size");
            }
            assert_eq!(ma, mb, "{n}: metadata differs");
            let identity = repo_root().join("demo/age-identity.txt");
            let plain = |d: &std::path::Path| {
                let o = std::process::Command::new("age")
                    .args(["-d", "-i"])
                    .arg(&identity)
                    .arg(d.join("out"))
                    .output()
                    .expect("age CLI (apt-get install age)");
                assert!(
                    o.status.success(),
                    "{n}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                o.stdout
            };
            assert!(
                plain(&da) == plain(&db),
                "{n}: plaintext differs between the two stores"
            );
        } else {
            assert!(
                tree_bytes(&da) == tree_bytes(&db),
                "{n} differs between the two stores"
            );
        }
    }
    assert!(
        secrets >= 2,
        "the example lab should exercise secret artifacts"
    );
    assert!(
        na.iter().any(|n| n.ends_with("-dns")),
        "the example lab's container template was compared: {na:?}"
    );
}

#[test]
fn rebuilding_changes_nothing() {
    let w = World::demo();
    let recipes = locked_example_lab(&w);
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
