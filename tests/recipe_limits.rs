//! Inputs that would make the KDL parser recurse without bound (thousands
//! of nested blocks, a huge block comment) get a located error (E0012) and
//! the recipe-error exit code, never a crash of `hlb`.

mod common;

use common::*;

/// `hlb build --recipes DIR` on a lab whose `lab.kdl` is `lab "home"`
/// followed by `body`.
fn build(world: &World, body: &str, json: bool) -> std::process::Output {
    let dir = world.path().join("deep");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lab.kdl"), format!("lab \"home\"\n{body}")).unwrap();
    let dir = dir.display().to_string();
    let mut args = vec!["build", "--recipes", dir.as_str()];
    if json {
        args.push("--json");
    }
    world.run(std::path::Path::new(&dir), &args)
}

#[test]
fn five_thousand_nested_blocks_are_a_located_error() {
    let world = World::demo();
    for body in [
        "a {\n".repeat(5000),
        "a {\n".repeat(5000) + &"}\n".repeat(5000),
    ] {
        let o = build(&world, &body, false);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(
            err.contains("error[E0012]: blocks are nested more than 128 deep"),
            "{err}"
        );
        // Line 1 is the lab node; the 129th `a {` is on line 130.
        assert!(err.contains("lab.kdl:130:3"), "{err}");
        assert!(!err.contains("overflow"), "{err}");
    }
    let o = build(&world, &"a {\n".repeat(5000), true);
    assert_eq!(o.status.code(), Some(3));
    let out = stdout(&o) + &stderr(&o);
    assert!(out.contains("\"code\":\"E0012\""), "{out}");
    assert!(out.contains("\"line\":130"), "{out}");
}

#[test]
fn a_huge_block_comment_is_a_located_error() {
    let world = World::demo();
    let o = build(&world, &format!("/*{}*/\n", "*".repeat(100_000)), false);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("error[E0012]"), "{err}");
    assert!(err.contains("lab.kdl:2:1"), "{err}");
}
