//! Talos patch problems as recipe errors: a `talos-cluster` patch Talos
//! would refuse, or one whose result does not validate against Talos's
//! schema, is reported by `hlb build`/`show`/`graph` at the patch's
//! file:line:col before anything is built and without an identity (the
//! check uses a placeholder secrets bundle). A good cluster passes and
//! builds.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A 2-node cluster (`version` is the Talos contract) with `node_patch` as
/// cp1's own patch (a KDL node line, or empty).
fn lab(version: &str, node_patch: &str) -> String {
    format!(
        r#"lab "home"

secret "talos-home"

talos-cluster "home" {{
    talos-version "{version}"
    kubernetes-version "1.33.4"
    endpoint "https://10.0.0.10:6443"
    secrets "talos-home"
    install-disk "/dev/sda"
    admin-cert-valid-from "2026-01-01T00:00:00Z"
    patch "patches/common.yaml"
    node "cp1" role="controlplane" {{
        address "10.0.0.11/24" gateway="10.0.0.1"
        {node_patch}
    }}
    node "w1" role="worker" {{
        address "10.0.0.12/24" gateway="10.0.0.1"
    }}
}}
"#
    )
}

const COMMON: &str = "machine:\n  install:\n    wipe: false\n";

/// A recipes tree (`files` may replace `patches/common.yaml`) with a
/// stand-in secret (its tag only: planning never
/// opens it), and no identity anywhere.
fn tree(world: &World, lab_kdl: &str, files: &[(&str, &str)]) -> PathBuf {
    let recipes = world.path().join("recipes");
    write(&recipes.join("lab.kdl"), lab_kdl);
    write(&recipes.join("patches/common.yaml"), COMMON);
    for (rel, text) in files {
        write(&recipes.join(rel), text);
    }
    let fixture = repo_root().join("builder/tests/recipes/ok-talos/secrets");
    copy_dir(&fixture, &recipes.join("secrets"));
    recipes
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// stderr with the world's temp path replaced.
fn rendered(world: &World, o: &std::process::Output) -> String {
    stderr(o).replace(&world.path().to_string_lossy().into_owned(), "[WORLD]")
}

/// `text` without whitespace and the renderer's margin, so that a message
/// can be found across wrapped lines.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

/// `hlb ARGS` refuses with exit 3 (the recipes need fixing), before building anything.
#[track_caller]
fn refused(world: &World, recipes: &Path, args: &[&str]) -> String {
    assert!(
        world.identity.is_none(),
        "error cases run without an identity"
    );
    let o = world.run(recipes, args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        !world.store().exists() || tree_bytes(&world.store()).is_empty(),
        "nothing built: {:?}",
        tree_bytes(&world.store())
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>()
    );
    rendered(world, &o)
}

#[test]
fn deleting_a_missing_path_is_a_recipe_error_at_the_patch() {
    let world = World::new();
    let kdl = lab("v1.13", r#"patch "patches/delete.yaml""#);
    let recipes = tree(
        &world,
        &kdl,
        &[(
            "patches/delete.yaml",
            "machine:\n  network:\n    hostname:\n      $patch: delete\n",
        )],
    );
    let err = refused(&world, &recipes, &["build"]);
    assert!(err.contains("E0510"), "{err}");
    assert!(err.contains("lab.kdl:15:"), "at the patch's line: {err}");
    assert!(err.contains("patches/delete.yaml"), "names the file: {err}");
    assert!(
        squeeze(&err).contains(&squeeze(
            "patch delete: path 'machine.network.hostname' in document '/v1alpha1': failed to delete path 'machine.network.hostname': lookup failed"
        )),
        "Talos's message: {err}"
    );
    insta::assert_snapshot!("delete_missing_path", err);
    // Every command that plans reports it.
    for args in [&["show", "home-cp1"][..], &["graph"][..]] {
        let again = refused(&world, &recipes, args);
        assert!(again.contains("E0510"), "{args:?}: {again}");
    }
}

#[test]
fn a_json_patch_on_a_multi_document_config_is_refused() {
    let world = World::new();
    let kdl = lab(
        "v1.14",
        r#"patch text="- op: add\n  path: /machine/env\n  value: {FOO: bar}\n""#,
    );
    // A cluster patch in v1.14's form (a document), which applies.
    let common = "apiVersion: v1alpha1\nkind: KubeletConfig\nclusterDNS:\n  - 3.3.3.3\n";
    let recipes = tree(&world, &kdl, &[("patches/common.yaml", common)]);
    let err = refused(&world, &recipes, &["build"]);
    assert!(err.contains("E0510"), "{err}");
    assert!(err.contains("lab.kdl:15:"), "at the patch's line: {err}");
    insta::assert_snapshot!("json_patch_multidoc", err);
}

#[test]
fn a_schema_violation_names_the_json_path() {
    let world = World::new();
    let kdl = lab("v1.13", r#"patch "patches/bad.yaml""#);
    let recipes = tree(
        &world,
        &kdl,
        &[(
            "patches/bad.yaml",
            "machine:\n  install:\n    wipe: sometimes\n",
        )],
    );
    let err = refused(&world, &recipes, &["build"]);
    assert!(err.contains("E0511"), "{err}");
    assert!(err.contains("/machine/install/wipe"), "JSON path: {err}");
    assert!(err.contains("lab.kdl:15:"), "at the patch's line: {err}");
    insta::assert_snapshot!("schema_violation", err);
}

#[test]
fn a_cluster_patch_failing_on_every_node_is_one_diagnostic() {
    let world = World::new();
    let kdl = lab("v1.13", "");
    let recipes = tree(
        &world,
        &kdl,
        &[(
            "patches/common.yaml",
            "machine:\n  install:\n    wipe: sometimes\n",
        )],
    );
    let err = refused(&world, &recipes, &["build"]);
    assert_eq!(err.matches("E0511").count(), 1, "{err}");
    assert!(err.contains("nodes `cp1`, `w1`"), "{err}");
    assert!(err.contains("lab.kdl:12:"), "at the cluster patch: {err}");
}

#[test]
fn a_good_cluster_has_no_diagnostic_and_builds() {
    let mut world = World::new();
    let identity = world.path().join("identity.txt");
    let recipes = world.path().join("recipes");
    std::fs::create_dir_all(&recipes).expect("mkdir");
    let id = identity.to_string_lossy().into_owned();
    ok(&world.run(&recipes, &["secret", "init", "--new-identity", &id]));
    world.identity = Some(identity);
    let golden = repo_root().join("images/talos/tests/gen-golden/secrets.yaml");
    ok(&world.run(
        &recipes,
        &[
            "talos",
            "secrets",
            "import",
            &golden.to_string_lossy(),
            "talos-home",
        ],
    ));
    let kdl = lab("v1.13", r#"patch "patches/cp1.yaml""#);
    write(&recipes.join("lab.kdl"), &kdl);
    write(&recipes.join("patches/common.yaml"), COMMON);
    write(
        &recipes.join("patches/cp1.yaml"),
        "machine:\n  kubelet:\n    extraArgs:\n      max-pods: \"150\"\n",
    );
    let o = world.run(&recipes, &["build"]);
    ok(&o);
    let err = stderr(&o);
    assert!(!err.contains("E051"), "no diagnostic: {err}");
    assert!(tree_bytes(&world.store()).len() > 1, "configs built");
}
