//! The CLI as a user sees it: exit codes, stdout and stderr, snapshotted
//! whole with temp paths and dates filtered. Hashes are not filtered: they
//! pin the derivation encoding, so any change to hashing shows up here and
//! must be deliberate.

mod common;

use common::*;

fn transcript(world: &World, o: &std::process::Output) -> String {
    let root = world.path().display().to_string();
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status.code().map_or("signal".into(), |c| c.to_string()),
        stdout(o),
        stderr(o)
    );
    text.replace(&root, "[WORLD]")
        .replace(&repo_root().display().to_string(), "[REPO]")
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "[DATE]"),
            (r"in \d+ ms", "in [N] ms"),
            (r#""created":\d+"#, r#""created":[T]"#),
            (r#""ms":\d+"#, r#""ms":[N]"#),
            // Secret artifacts are age ciphertext, whose header grease makes
            // their size vary between builds.
            (r"\b\d+(\.\d)? (B|KiB|MiB)\b", "[SIZE]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn build_show_generations_diff_graph() {
    let world = World::demo();
    let recipes = world.copy_example_lab_offline();

    let first = world.run(&recipes, &["build", "-j", "1"]);
    snap!("build_first", transcript(&world, &first));
    let noop = world.run(&recipes, &["build"]);
    snap!("build_noop", transcript(&world, &noop));
    assert_eq!(stdout(&first), stdout(&noop));

    snap!(
        "show_file",
        transcript(&world, &world.run(&recipes, &["show", "traefik.yaml"]))
    );
    snap!(
        "show_unknown",
        transcript(&world, &world.run(&recipes, &["show", "traefik.yml"]))
    );
    snap!(
        "why_depends_no",
        transcript(
            &world,
            &world.run(&recipes, &["why-depends", "gateway", "namespaces"])
        )
    );
    snap!(
        "graph_dot",
        transcript(&world, &world.run(&recipes, &["graph"]))
    );

    // Change one parameter: only what uses it is rebuilt, and diff shows it.
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        lab.replace("\"10.0.0.30\"", "\"10.0.0.31\""),
    )
    .unwrap();
    let second = world.run(&recipes, &["build", "--json"]);
    let text = ok(&second);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["number"], 2);
    // gitea-ip is used by traefik-dynamic.yaml only (and by the DNS
    // container's dnsdist.conf, which this offline copy leaves out).
    assert_eq!(last["built"], 1, "{text}");
    snap!(
        "generations",
        transcript(&world, &world.run(&recipes, &["generations"]))
    );
    snap!("diff", transcript(&world, &world.run(&recipes, &["diff"])));
    snap!(
        "diff_stat_json",
        transcript(
            &world,
            &world.run(&recipes, &["diff", "1", "2", "--stat", "--json"])
        )
    );
}

#[test]
fn why_depends_follows_inputs() {
    let world = World::demo();
    let golden = repo_root().join("tests/fixtures/golden");
    snap!(
        "why_depends_yes",
        transcript(
            &world,
            &world.run(&golden, &["why-depends", "tool-copy", "tool"])
        )
    );
    let json = ok(&world.run(&golden, &["why-depends", "tool-copy", "tool", "--json"]));
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["chain"][0]["name"], "tool-copy");
    assert_eq!(v["chain"][1]["name"], "tool");
    snap!(
        "show_fetch",
        transcript(&world, &world.run(&golden, &["show", "tool"]))
    );
}

#[test]
fn recipe_errors_exit_3_and_change_nothing() {
    let world = World::demo();
    let recipes = world.copy_example_lab_offline();
    let edge = std::fs::read_to_string(recipes.join("edge.kdl")).unwrap();
    std::fs::write(
        recipes.join("edge.kdl"),
        edge.replace(
            "target=\"traefik\" path=\"/etc/traefik/traefik.yaml\"",
            "target=\"traefik2\" path=\"/etc/traefik/traefik.yaml\" colour=\"red\"",
        ),
    )
    .unwrap();
    let o = world.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(3));
    snap!("recipe_errors", transcript(&world, &o));
    assert!(
        !world.state().join("profiles").exists()
            || std::fs::read_dir(world.state().join("profiles"))
                .unwrap()
                .count()
                == 0
    );
    let j = world.run(&recipes, &["build", "--json"]);
    snap!("recipe_errors_json", transcript(&world, &j));
}

#[test]
fn usage_errors_exit_2() {
    let world = World::demo();
    let recipes = repo_root().join("recipes");
    let o = world.run(&recipes, &["build", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    let o = world.run(&recipes, &["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_teaches_with_examples() {
    let world = World::demo();
    let recipes = repo_root().join("recipes");
    snap!(
        "help",
        transcript(&world, &world.run(&recipes, &["--help"]))
    );
    snap!(
        "help_build",
        transcript(&world, &world.run(&recipes, &["build", "--help"]))
    );
}

#[test]
fn gc_keeps_what_generations_need() {
    let world = World::demo();
    let recipes = world.copy_example_lab_offline();
    ok(&world.run(&recipes, &["build"]));
    // Build one extra thing outside any generation, then change the lab.
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        lab.replace("Europe/Berlin", "Europe/Paris"),
    )
    .unwrap();
    ok(&world.run(&recipes, &["build", "gitea-app.ini"]));
    let dry = world.run(&recipes, &["store", "gc", "--dry-run"]);
    // gitea-app.ini carries a secret: its stored bytes are age ciphertext,
    // whose header grease makes the size vary between builds.
    snap!("gc_dry_run", transcript(&world, &dry));
    // A pin keeps it.
    let id = {
        let v: serde_json::Value = serde_json::from_str(
            ok(&world.run(&recipes, &["show", "gitea-app.ini", "--json"])).trim(),
        )
        .unwrap();
        v["id"].as_str().unwrap()[..16].to_string()
    };
    ok(&world.run(&recipes, &["store", "pin", "keep-ini", &id]));
    assert!(ok(&world.run(&recipes, &["store", "pins"])).starts_with("keep-ini  "));
    let kept = ok(&world.run(&recipes, &["store", "gc", "--dry-run"]));
    assert!(kept.is_empty(), "a pinned entry would be collected: {kept}");
    ok(&world.run(&recipes, &["store", "unpin", "keep-ini"]));
    assert_eq!(
        world
            .run(&recipes, &["store", "unpin", "keep-ini"])
            .status
            .code(),
        Some(1)
    );
    ok(&world.run(&recipes, &["store", "gc"]));
    // Generation 1 is still whole: building its recipes again builds nothing.
    std::fs::write(recipes.join("lab.kdl"), lab).unwrap();
    let again = world.run(&recipes, &["build", "--json"]);
    let text = ok(&again);
    assert!(text.contains("\"built\":0"), "{text}");
    ok(&world.run(&recipes, &["store", "verify"]));
}

/// The first impression (issue 10): names hlb prints are accepted back,
/// `diff` after the first build, one message for a missing identity,
/// `show` of a container, `why-depends` across `after`.
#[test]
fn names_hlb_prints_are_accepted_back() {
    let world = World::demo();
    let recipes = world.copy_recipes(&repo_root().join("recipes"));
    write_made_up_lock(&recipes);
    // A derivation name no declaration has, and the same without its version.
    let full = ok(&world.run(&recipes, &["show", "deb-libc6_2.36-9+deb12u14", "--json"]));
    let short = ok(&world.run(&recipes, &["show", "deb-libc6", "--json"]));
    assert_eq!(full, short);
    let v: serde_json::Value = serde_json::from_str(full.trim()).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    // Its store entry's name, its id and an id prefix.
    for name in [
        format!("{id}-deb-libc6_2.36-9+deb12u14"),
        id.clone(),
        id[..8].to_string(),
    ] {
        assert_eq!(
            ok(&world.run(&recipes, &["show", &name, "--json"])),
            full,
            "{name}"
        );
    }
    // An artifact as `diff` names it: TARGET/ARTIFACT.
    let art = ok(&world.run(&recipes, &["show", "host/traefik/traefik.yaml", "--json"]));
    assert!(art.contains("\"name\":\"traefik.yaml\""), "{art}");
    snap!(
        "show_container",
        transcript(&world, &world.run(&recipes, &["show", "dns"]))
    );
    snap!(
        "why_depends_package",
        transcript(
            &world,
            &world.run(&recipes, &["why-depends", "dns", "deb-libc6"])
        )
    );
    snap!(
        "show_unknown_package",
        transcript(&world, &world.run(&recipes, &["show", "deb-libc7"]))
    );
}

#[test]
fn first_build_diff_and_a_build_without_identity() {
    let world = World::demo();
    let recipes = world.copy_example_lab_offline();
    let cold = World::new();
    snap!(
        "build_without_identity",
        transcript(&cold, &cold.run(&recipes, &["build", "-j", "1"]))
    );
    ok(&world.run(&recipes, &["build"]));
    snap!(
        "diff_first",
        transcript(&world, &world.run(&recipes, &["diff"]))
    );
}
