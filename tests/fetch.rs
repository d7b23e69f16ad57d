//! Fixed-output downloads through the binary: pins from the lock, mirrors,
//! offline mode, mismatches, and `hlb lock --check` / `hlb prefetch`.

mod common;

use common::*;

fn sha256_hex(bytes: &[u8]) -> String {
    // The real tool, so the test does not trust hlb's own hashing.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&p)
        .output()
        .expect("sha256sum");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn lock_then_build_from_a_file_url() {
    let world = World::new();
    let upstream = world.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    std::fs::write(upstream.join("tool.sh"), "#!/bin/sh\necho tool 1.0\n").unwrap();
    let recipes = world.path().join("lab");
    std::fs::create_dir_all(&recipes).unwrap();
    let url = format!("file://{}/tool.sh", upstream.display());
    std::fs::write(
        recipes.join("lab.kdl"),
        format!(
            "lab \"f\" {{\n}}\nhost \"box\" address=\"10.0.0.2\"\nfetch \"tool\" url=\"{url}\" executable=#true\nfile \"tool-bin\" target=\"box\" path=\"/usr/local/bin/tool\" mode=0o755 fetch=\"tool\"\n"
        ),
    )
    .unwrap();

    // No pin yet: build refuses and says what to do.
    // A missing pin is the recipes' to fix: exit 3.
    let o = world.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("hlb lock"), "{}", stderr(&o));
    let o = world.run(&recipes, &["lock", "--check"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    ok(&world.run(&recipes, &["lock"]));
    let lock = std::fs::read_to_string(recipes.join("hlb.lock")).unwrap();
    let want = sha256_hex(b"#!/bin/sh\necho tool 1.0\n");
    assert!(lock.contains(&format!("sha256:{want}")), "{lock}");
    ok(&world.run(&recipes, &["lock", "--check"]));
    // Locking again changes nothing.
    ok(&world.run(&recipes, &["lock"]));
    assert_eq!(
        lock,
        std::fs::read_to_string(recipes.join("hlb.lock")).unwrap()
    );

    let out = ok(&world.run(&recipes, &["build", "tool-bin"]));
    let path = out.trim();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "#!/bin/sh\necho tool 1.0\n"
    );

    // Upstream changes under the pin: the store already has it, so nothing
    // is downloaded; in a fresh store the mismatch is an error naming both hashes.
    std::fs::write(upstream.join("tool.sh"), "#!/bin/sh\necho evil\n").unwrap();
    ok(&world.run(&recipes, &["build"]));
    let fresh = World::new();
    let o = fresh.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&want), "expected hash missing: {err}");
    assert!(
        err.contains(&sha256_hex(b"#!/bin/sh\necho evil\n")),
        "actual hash missing: {err}"
    );
    let v = fresh.run(&recipes, &["store", "verify", "--json"]);
    assert!(
        ok(&v).contains("\"checked\":0"),
        "a failed download left an entry"
    );

    let pre = ok(&world.run(&recipes, &["prefetch", &url]));
    assert_eq!(
        pre.trim(),
        format!("hash=\"sha256:{}\"", sha256_hex(b"#!/bin/sh\necho evil\n"))
    );
}

#[test]
fn offline_builds_come_from_mirrors_only() {
    let world = World::new();
    let body = b"release tarball bytes\n".repeat(100);
    let hash = sha256_hex(&body);
    let recipes = world.path().join("lab");
    std::fs::create_dir_all(&recipes).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        format!("lab \"m\" {{\n}}\nfetch \"release\" url=\"https://downloads.example.invalid/v1/release-1.0.tar\" hash=\"sha256:{hash}\"\n"),
    )
    .unwrap();

    // Offline without a mirror: a clear error, nothing in the store.
    let o = world.run(&recipes, &["build", "--offline"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("offline"), "{}", stderr(&o));

    // By file name in a directory mirror.
    let by_name = world.path().join("mirror-by-name");
    std::fs::create_dir_all(&by_name).unwrap();
    std::fs::write(by_name.join("release-1.0.tar"), &body).unwrap();
    let out = ok(&world.run(
        &recipes,
        &[
            "build",
            "--offline",
            "--mirror",
            by_name.to_str().unwrap(),
            "release",
        ],
    ));
    assert_eq!(std::fs::read(out.trim()).unwrap(), body);

    // By hash, through HLB_MIRRORS, in a fresh store; a mirror with wrong bytes first is skipped.
    let fresh = World::new();
    let by_hash = world.path().join("mirror-by-hash");
    std::fs::create_dir_all(by_hash.join("sha256")).unwrap();
    std::fs::write(by_hash.join("sha256").join(&hash), &body).unwrap();
    let bad = world.path().join("mirror-bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("release-1.0.tar"), b"tampered").unwrap();
    let o = fresh
        .cmd(&recipes)
        .args(["build", "--offline", "release"])
        .env(
            "HLB_MIRRORS",
            format!("{} {}", bad.display(), by_hash.display()),
        )
        .output()
        .unwrap();
    let text = ok(&o);
    assert_eq!(std::fs::read(text.trim()).unwrap(), body);
    assert!(stderr(&o).contains("skipping mirror"), "{}", stderr(&o));
}
