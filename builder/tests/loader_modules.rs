//! The loader's modules (`src/load/*.rs`) import each other without a
//! cycle, and a kind's reader never reaches into another kind's module:
//! shared readers live in `values`, `content` and `reader`, and dispatch in
//! `kinds`. The graph is read from the source text, so a new `use` that
//! closes a circle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The modules of each kind of declaration: a kind's modules may use each
/// other, but never the modules of another kind.
const KIND_GROUPS: &[&[&str]] = &[
    &["basic"],
    &["sealed"],
    &["talos", "talos_network"],
    &["lxc", "lxc_items", "lxc_net"],
];

/// Module name -> its source, without `#[cfg(test)] mod tests` and comments.
fn sources() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/load");
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("read src/load") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).expect("read module");
        let text = match text.find("#[cfg(test)]\nmod tests") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        let code: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        out.insert(stem, code.join("\n"));
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of each item of a `{a, b::c, d}` group starting
/// at `s` (just after the `{`).
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident_at(s[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident_at(s[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads.into_iter().filter(|h| !h.is_empty()).collect()
}

/// Which loader modules `name`'s code names. A child names a sibling as
/// `super::x` or `crate::load::x`; any other item it takes from `super`
/// lives in `mod.rs`. `mod.rs` names its children by bare paths.
fn imports(name: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["super::", "crate::load::"] {
        for (i, _) in code.match_indices(prefix) {
            let rest = &code[i + prefix.len()..];
            let heads = match rest.strip_prefix('{') {
                Some(group) => group_heads(group),
                None => vec![ident_at(rest)],
            };
            for head in heads {
                if head == "self" || head.is_empty() {
                    continue;
                }
                let target = if modules.contains(head) { head } else { "mod" };
                if name != "mod" {
                    out.insert(target.to_string());
                }
            }
        }
    }
    if name == "mod" {
        for m in modules {
            let bare = format!("{m}::");
            let named = code.match_indices(&bare).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            });
            if named && m != "mod" {
                out.insert(m.clone());
            }
        }
    }
    out.remove(name);
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(name, code)| (name.clone(), imports(name, code, &modules)))
        .collect()
}

/// A cycle in `graph`, as the path of modules around it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_string(), Mark::Open);
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match marks.get(m).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = path.iter().position(|p| p == m).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(m, graph, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(c) = visit(n, graph, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_graph_is_read() {
    // Guards the parser: if it stopped seeing imports, the tests below
    // would pass on an empty graph.
    let g = graph();
    let has = |a: &str, b: &str| g.get(a).is_some_and(|s| s.contains(b));
    assert!(has("kinds", "basic"), "{g:#?}");
    assert!(has("lxc", "values"), "{g:#?}");
    assert!(has("lxc_net", "values"), "{g:#?}");
    assert!(has("mod", "files"), "{g:#?}");
    assert!(has("files", "state"), "{g:#?}");
}

#[test]
fn loader_modules_import_without_cycles() {
    let g = graph();
    if let Some(cycle) = find_cycle(&g) {
        panic!(
            "the loader's modules import each other in a cycle: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn a_kind_never_imports_another_kind() {
    let g = graph();
    let group_of = |m: &str| KIND_GROUPS.iter().position(|g| g.contains(&m));
    let mut wrong = Vec::new();
    for (from, tos) in &g {
        let Some(a) = group_of(from) else { continue };
        for to in tos {
            if group_of(to).is_some_and(|b| b != a) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a kind's reader uses another kind's module (move the shared reader to `values`): {wrong:?}"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(a, b)| (a.to_string(), BTreeSet::from([b.to_string()])))
        .collect();
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
