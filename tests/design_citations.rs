//! The decision record is `docs/design.md`, and every citation of it holds:
//! no tracked file points at the old record outside the repository, and
//! every `design D<n>` or `design.md#d<n>` names a decision the page
//! defines. The page numbers its decisions D1, D2, … in order, each with an
//! anchor, and never drops one, so a citation keeps meaning what it meant.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DESIGN: &str = "docs/design.md";

/// The fewest decisions the page may hold: numbers are never removed.
const AT_LEAST: u32 = 18;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every tracked file, as a path relative to the repository root. Outside
/// a git checkout (a source tarball) every file but `target/` and hidden
/// directories.
fn tracked_files() -> Vec<String> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output();
    match out {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
        _ => {
            let mut files = Vec::new();
            walk(&root(), "", &mut files);
            files
        }
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("dir entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if (name.starts_with('.') && name != ".ci") || (prefix.is_empty() && name == "target") {
            continue;
        }
        let rel = format!("{prefix}{name}");
        if e.file_type().expect("file type").is_dir() {
            walk(&e.path(), &format!("{rel}/"), out);
        } else {
            out.push(rel);
        }
    }
}

/// The decision numbers `text` defines: one `<a id="dN"></a>` anchor each,
/// directly above its `## DN.` heading, numbered 1, 2, … without a gap.
fn defined(text: &str) -> BTreeSet<u32> {
    let mut numbers = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("<a id=\"d") else {
            continue;
        };
        let n: u32 = rest
            .strip_suffix("\"></a>")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{DESIGN}:{}: malformed anchor `{line}`", i + 1));
        let heading = lines.get(i + 1).copied().unwrap_or_default();
        assert!(
            heading.starts_with(&format!("## D{n}. ")),
            "{DESIGN}:{}: anchor d{n} is not followed by its `## D{n}. ` heading",
            i + 1
        );
        numbers.push(n);
    }
    let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
    assert_eq!(
        numbers, expected,
        "{DESIGN}: decisions are numbered in order without gaps"
    );
    assert!(
        numbers.len() as u32 >= AT_LEAST,
        "{DESIGN}: {} decisions, fewer than the {AT_LEAST} it had: a number is never removed",
        numbers.len()
    );
    numbers.into_iter().collect()
}

/// Reads the digits at the start of `s`.
fn number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// The decision numbers `text` cites: `design D4` (any case), a list after
/// it (`design D6 and D10`, `design D1, D3`), and links `design.md#d4`.
fn cited(text: &str) -> Vec<u32> {
    let text = text.to_ascii_lowercase();
    let mut found = Vec::new();
    for (i, _) in text.match_indices("design d") {
        let mut rest = &text[i + "design d".len()..];
        while let Some((n, after)) = number(rest) {
            found.push(n);
            let next = [", d", " and d", " or d", "–d", "-d"]
                .iter()
                .find_map(|sep| after.strip_prefix(sep));
            match next {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    for (i, _) in text.match_indices("design.md#d") {
        if let Some((n, _)) = number(&text[i + "design.md#d".len()..]) {
            found.push(n);
        }
    }
    found
}

#[test]
fn every_citation_names_a_decision_of_docs_design() {
    let design = std::fs::read_to_string(root().join(DESIGN)).expect("docs/design.md");
    let defined = defined(&design);
    // Spelled in two halves so that this file does not cite the old record
    // itself.
    let old_record = ["DECI", "SIONS"].concat();
    let mut problems = Vec::new();
    let mut citations = 0;
    for path in tracked_files() {
        let Ok(bytes) = std::fs::read(root().join(&path)) else {
            continue; // deleted in the work tree, not yet committed
        };
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if path != DESIGN && line.contains(&old_record) {
                problems.push(format!(
                    "{path}:{}: cites {old_record}, which is not in the repository: cite docs/design.md instead",
                    n + 1
                ));
            }
            for d in cited(line) {
                citations += 1;
                if !defined.contains(&d) {
                    problems.push(format!(
                        "{path}:{}: cites design D{d}, which docs/design.md does not define",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(citations > 0, "no citation of docs/design.md found at all");
}

#[test]
fn citations_are_read_as_written() {
    assert_eq!(cited("(design D4)"), [4]);
    assert_eq!(cited("Design D2: anything"), [2]);
    assert_eq!(cited("design D6 and D10; design D1, D3"), [6, 10, 1, 3]);
    assert_eq!(cited("[design D2](design.md#d2)"), [2, 2]);
    assert_eq!(cited("[D10](../../docs/design.md#d10)"), [10]);
    assert_eq!(cited("the design Decision, design DX"), Vec::<u32>::new());
}
