//! Every example `hlb --help` (and every subcommand's `--help`) shows runs
//! against the example lab, as written.
//!
//! The lab is the example lab without its container (which needs
//! `hlb lock` against the Debian mirror: see `copy_example_lab_offline`),
//! prepared as the examples assume: two generations built, an operator
//! identity, an ssh key, and the files they name (`secrets.yaml`,
//! `all.yaml`, `cp.yaml`, `key.txt`). Each example runs alone in a fresh
//! directory holding a fresh copy of the recipes, through `bash`, with `hlb`
//! on the PATH. Examples about the DNS container (`dns`, `deb-…`) run
//! against the whole lab with a lock pinning made-up packages: they only
//! plan, never download. An example that sets up secrets or a Talos bundle
//! runs where they do not exist yet; one that reads the bundle
//! `home-talos` runs where `hlb talos secrets init home-talos` made it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// `hlb ARGS --help`.
fn help(path: &[String]) -> String {
    let o = Command::new(hlb_bin())
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "hlb {path:?} --help");
    stdout(&o)
}

/// Every command path: `[]`, `["build"]`, `["secret", "set"]`, …
fn command_paths() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        let mut in_commands = false;
        for line in text.lines() {
            if line == "Commands:" {
                in_commands = true;
                continue;
            }
            if in_commands {
                // Two spaces, then the name; wrapped descriptions are
                // indented further.
                let Some(name) = line
                    .strip_prefix("  ")
                    .filter(|l| !l.starts_with(' '))
                    .and_then(|l| l.split_whitespace().next())
                else {
                    in_commands = false;
                    continue;
                };
                if name != "help" {
                    let mut p = path.clone();
                    p.push(name.to_string());
                    todo.push(p);
                }
            }
        }
        out.push(path);
    }
    out.sort();
    out
}

/// The example commands of a help text: the lines under `Example:` or
/// `Examples:` (continuation lines joined), without their descriptions
/// (what follows three spaces), that run `hlb`.
fn examples(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_examples = false;
    let mut pending = String::new();
    for line in text.lines() {
        if matches!(line.trim(), "Example:" | "Examples:") {
            in_examples = true;
            continue;
        }
        if !in_examples {
            continue;
        }
        if !line.starts_with("  ") {
            in_examples = false;
            continue;
        }
        let line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let full = format!("{pending}{line}");
        pending.clear();
        let command = full.split("   ").next().unwrap_or("").trim().to_string();
        if command.contains("hlb ") {
            out.push(command);
        }
    }
    out
}

struct Fixture {
    world: World,
    /// The offline example lab, with generations 1 and 2 built from it.
    lab: PathBuf,
    /// The whole example lab with a made-up lock.
    lab_with_container: PathBuf,
    /// Files the examples name.
    files: PathBuf,
}

fn shell(world: &World, cwd: &Path, recipes: &Path, script: &str) -> std::process::Output {
    let bin_dir = Path::new(hlb_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The environment `hlb` runs with, for bash.
    let c = world.cmd(recipes);
    let mut b = Command::new("bash");
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            b.env(k, v);
        }
    }
    b.env("PATH", path)
        .args(["-o", "pipefail", "-c", script])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("bash")
}

fn fixture() -> Fixture {
    let world = World::demo();
    let lab = world.copy_example_lab_offline();
    // Generation 1 from a lab one parameter away, generation 2 (current)
    // from the example lab.
    let text = std::fs::read_to_string(lab.join("lab.kdl")).unwrap();
    std::fs::write(
        lab.join("lab.kdl"),
        text.replace("Europe/Berlin", "Europe/Paris"),
    )
    .unwrap();
    ok(&world.run(&lab, &["build"]));
    std::fs::write(lab.join("lab.kdl"), &text).unwrap();
    ok(&world.run(&lab, &["build"]));

    let files = world.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("key.txt"), "NOT-REAL example key\n").unwrap();
    std::fs::write(
        files.join("all.yaml"),
        "machine:\n  time:\n    servers:\n      - time.cloudflare.com\n",
    )
    .unwrap();
    std::fs::write(
        files.join("cp.yaml"),
        "cluster:\n  allowSchedulingOnControlPlanes: true\n",
    )
    .unwrap();
    // A talosctl-format bundle, made and exported in a scratch copy.
    let scratch = world.path().join("scratch");
    copy_dir(&lab, &scratch);
    ok(&world.run(&scratch, &["talos", "secrets", "init", "bundle"]));
    let bundle = ok(&world.run(&scratch, &["talos", "secrets", "export", "bundle"]));
    std::fs::write(files.join("secrets.yaml"), bundle).unwrap();
    // The operator's ssh key.
    let ssh = world.path().join("home/.ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(ssh.join("id_ed25519"))
        .status()
        .expect("ssh-keygen");
    assert!(keygen.success());

    let lab_with_container = world.path().join("whole-lab");
    copy_dir(&repo_root().join("recipes"), &lab_with_container);
    write_made_up_lock(&lab_with_container);
    Fixture {
        world,
        lab,
        lab_with_container,
        files,
    }
}

/// Whether every program the example pipes through is installed.
fn programs_installed(example: &str) -> Option<String> {
    for segment in example.split(['|', '&', ';']) {
        let Some(program) = segment.split_whitespace().next() else {
            continue;
        };
        if program == "hlb" || program.contains('=') {
            continue;
        }
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(program.to_string());
        }
    }
    None
}

#[test]
fn every_help_example_runs_against_the_example_lab() {
    let f = fixture();
    let mut ran = 0;
    let mut failures = Vec::new();
    for (i, example) in command_paths()
        .iter()
        .flat_map(|p| examples(&help(p)))
        .enumerate()
    {
        if let Some(missing) = programs_installed(&example) {
            eprintln!("skipped (no `{missing}` here): {example}");
            continue;
        }
        let dir = f.world.path().join(format!("example-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(&f.files).unwrap().flatten() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
        let recipes = dir.join("recipes");
        let about_container = example.contains(" dns ") || example.contains("deb-");
        copy_dir(
            if about_container {
                &f.lab_with_container
            } else {
                &f.lab
            },
            &recipes,
        );
        if example.contains("secret init") {
            std::fs::remove_dir_all(recipes.join("secrets")).unwrap();
        }
        if example.contains("secrets export home-talos") {
            ok(&f
                .world
                .run(&recipes, &["talos", "secrets", "init", "home-talos"]));
        }
        let o = shell(&f.world, &dir, &recipes, &example);
        ran += 1;
        if !o.status.success() {
            failures.push(format!(
                "{example}\n  exit {:?}\n  {}",
                o.status.code(),
                stderr(&o).trim().replace('\n', "\n  ")
            ));
        }
    }
    assert!(ran >= 25, "only {ran} examples found");
    assert!(
        failures.is_empty(),
        "examples that fail:\n{}",
        failures.join("\n")
    );
}

#[test]
fn examples_are_found() {
    let text = "Examples:\n  hlb a b      does a\n  hlb c \\\n      d   does c\n\nMore\n  hlb not-an-example\n";
    assert_eq!(examples(text), ["hlb a b", "hlb c d"]);
}
