//! Golden derivation ids: the ids of a fixed recipe are pinned, so a change
//! to hashing is always deliberate; and what must not matter (comments,
//! whitespace, file and declaration order, unused parameters) does not.

use std::collections::BTreeMap;
use std::path::Path;

use hlb_builder::io::{FsIo, MemIo, RelPath};
use hlb_builder::lock::Lock;
use hlb_builder::sched::Registry;

fn registry() -> Registry {
    hlb::ops::Env::default()
        .registry(&hlb::ops::events::silent())
        .expect("registry")
}

fn ids(io: &dyn hlb_builder::io::EvalIo) -> BTreeMap<String, String> {
    let reg = registry();
    let lab = match hlb_builder::load::load(io, &RelPath::new("lab.kdl").unwrap()) {
        Ok(l) => l,
        Err(e) => panic!("{}", e.diagnostics.render(&e.sources, false)),
    };
    // The planning step every command runs (plan, then the plan checks).
    let plan = match hlb::ops::plan::plan_lab(lab, &Lock::default(), &reg) {
        Ok(p) => p.plan,
        Err(e) => panic!("{e}: {:?}", e.problems()),
    };
    plan.by_name
        .iter()
        .map(|(n, id)| (n.clone(), id.hex()))
        .collect()
}

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/golden"
    ))
}

fn mem_fixture(lab_kdl: &str) -> MemIo {
    let mut io = MemIo::new().with("lab.kdl", lab_kdl);
    for f in ["site.conf", "ns.yaml", "app.yaml"] {
        io = io.with(
            &format!("files/{f}"),
            std::fs::read(fixture().join("files").join(f)).unwrap(),
        );
    }
    io
}

#[test]
fn golden_ids() {
    insta::assert_json_snapshot!(ids(&FsIo::new(fixture())));
}

#[test]
fn order_comments_whitespace_and_unused_params_do_not_matter() {
    let original = std::fs::read_to_string(fixture().join("lab.kdl")).unwrap();
    let base = ids(&mem_fixture(&original));
    // Reverse the declarations, drop comments, add blank lines and spaces,
    // change an unused parameter.
    let mut lines: Vec<&str> = original
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let lab_end = lines.iter().position(|l| *l == "}").unwrap();
    let (lab, rest) = lines.split_at_mut(lab_end + 1);
    rest.reverse();
    let shuffled = format!(
        "{}\n\n{}\n",
        rest.iter()
            .map(|l| format!("  {l}   // moved"))
            .collect::<Vec<_>>()
            .join("\n\n"),
        lab.join("\n")
            .replace("changing me rebuilds nothing", "something else")
    );
    assert_eq!(ids(&mem_fixture(&shuffled)), base);
}

#[test]
fn what_matters_changes_ids() {
    let original = std::fs::read_to_string(fixture().join("lab.kdl")).unwrap();
    let base = ids(&mem_fixture(&original));
    let changed = ids(&mem_fixture(
        &original.replace("golden.example.org", "other.example.org"),
    ));
    // Everything that reads ${domain} changes; what does not, does not.
    for name in ["site.conf", "motd", "app"] {
        assert_ne!(base[name], changed[name], "{name} should depend on domain");
    }
    for name in ["ns", "tool", "tool-copy"] {
        assert_eq!(
            base[name], changed[name],
            "{name} should not depend on domain"
        );
    }
    let moded = ids(&mem_fixture(&original.replace("mode=0o640", "mode=0o600")));
    // The mode is delivery metadata, not content: it lives in the generation.
    assert_eq!(base["site.conf"], moded["site.conf"]);
}
