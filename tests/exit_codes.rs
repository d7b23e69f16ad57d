//! One failure of each class, through the binary: the exit code is the
//! class's (`hlb::ops::exit`, `docs/exit-codes.md`), and `--json` says the
//! same in the error record.

mod common;

use common::*;
use hlb::ops::ExitClass;

#[track_caller]
fn exits(world: &World, recipes: &std::path::Path, args: &[&str], class: ExitClass) {
    let o = world.run(recipes, args);
    assert_eq!(
        o.status.code(),
        Some(i32::from(class.code())),
        "hlb {args:?}:\n{}",
        stderr(&o)
    );
    // The JSON stream ends with the error record, naming the class.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let o = world.run(recipes, &json_args);
    if o.status.code() == Some(2) && class == ExitClass::Usage && stdout(&o).is_empty() {
        return; // clap's own usage errors print no JSON
    }
    let last: serde_json::Value = serde_json::from_str(
        stdout(&o)
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no JSON for {args:?}")),
    )
    .unwrap();
    assert_eq!(last["reason"], "error");
    assert_eq!(last["class"], class.name());
    assert_eq!(last["exit_code"], class.code());
}

#[test]
fn each_class_exits_with_its_code() {
    let world = World::demo();
    let recipes = world.copy_example_lab_offline();

    // 2: usage, from clap and from the ops layer.
    exits(
        &world,
        &recipes,
        &["build", "--no-such-flag"],
        ExitClass::Usage,
    );
    exits(
        &world,
        &recipes,
        &["show", "no-such-thing"],
        ExitClass::Usage,
    );
    exits(&world, &recipes, &["build", "-j", "0"], ExitClass::Usage);

    // 1: the answer is no.
    exits(
        &world,
        &recipes,
        &["why-depends", "gateway", "namespaces"],
        ExitClass::Failed,
    );

    // 5: environment: secret artifacts and no identity to open them.
    let no_identity = World::new();
    exits(&no_identity, &recipes, &["build"], ExitClass::Environment);

    // 4: store integrity: a corrupted entry.
    ok(&world.run(&recipes, &["build"]));
    let entries = world.store().join("entries");
    let entry = std::fs::read_dir(&entries)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-traefik.yaml"))
        .expect("traefik.yaml is in the store");
    let file = std::fs::read_dir(&entry)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n == "out"))
        .expect("an entry has its output");
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, "tampered\n").unwrap();
    exits(
        &world,
        &recipes,
        &["store", "verify"],
        ExitClass::StoreIntegrity,
    );

    // 3: recipe: a diagnostic.
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        lab.replace("param \"domain\"", "parm \"domain\""),
    )
    .unwrap();
    exits(&world, &recipes, &["build"], ExitClass::Recipe);
}
