//! `hlb diff` of two container templates: which packages moved (from the
//! SBOMs), which files of the root filesystem were added, removed or
//! changed (from the archives' listings), and unified diffs of the small
//! text files among them — what a reviewer wants before a switch, where a
//! byte comparison of two `rootfs.tar.zst` says only "differs".

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hlb_cache::archive::{Listed, ListedKind, list, read_files};

/// Files larger than this are named, not shown.
const SHOWN_MAX: u64 = 64 * 1024;
/// At most this many paths are listed (and diffed) per template.
const LISTED_MAX: usize = 40;

/// Package name → version, from a CycloneDX SBOM.
fn packages(sbom: &Path) -> BTreeMap<String, String> {
    let Ok(bytes) = std::fs::read(sbom) else {
        return BTreeMap::new();
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return BTreeMap::new();
    };
    v["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c["name"].as_str()?.to_string(),
                c["version"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

fn describe(l: &Listed) -> String {
    match &l.kind {
        ListedKind::File { size, .. } => format!("{:04o} {}:{} {size} bytes", l.mode, l.uid, l.gid),
        ListedKind::Dir => format!("directory {:04o} {}:{}", l.mode, l.uid, l.gid),
        ListedKind::Symlink { target } => format!("→ {target}"),
        ListedKind::Hardlink { target } => format!("hard link to {target}"),
        ListedKind::Other(t) => format!("special (tar type {t})"),
    }
}

/// The lines describing how template directory `a` became `b` (each
/// holding `rootfs.tar.zst` and `sbom.cdx.json`); `name` labels paths.
pub fn lines(a: &Path, b: &Path, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (pa, pb) = (
        packages(&a.join("sbom.cdx.json")),
        packages(&b.join("sbom.cdx.json")),
    );
    let names: BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
    let mut moved = Vec::new();
    for n in names {
        match (pa.get(n), pb.get(n)) {
            (Some(x), Some(y)) if x != y => moved.push(format!("{n} {x} → {y}")),
            (None, Some(y)) => moved.push(format!("+{n} {y}")),
            (Some(x), None) => moved.push(format!("-{n} {x}")),
            _ => {}
        }
    }
    if !moved.is_empty() {
        out.push(format!("packages: {}", moved.join(", ")));
    }
    let open = |p: &Path| std::fs::File::open(p.join("rootfs.tar.zst")).ok();
    let (Some(fa), Some(fb)) = (open(a), open(b)) else {
        out.push("(a root filesystem is missing from the store: files not compared)".into());
        return out;
    };
    let (la, lb) = match (list(fa), list(fb)) {
        (Ok(la), Ok(lb)) => (la, lb),
        (Err(e), _) | (_, Err(e)) => {
            out.push(format!("(cannot read a root filesystem: {e})"));
            return out;
        }
    };
    let paths: BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
    let mut changed = Vec::new();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for p in paths {
        match (la.get(p), lb.get(p)) {
            (Some(x), Some(y)) if x != y => changed.push((p.clone(), x, y)),
            (None, Some(y)) => added.push((p.clone(), y)),
            (Some(x), None) => removed.push((p.clone(), x)),
            _ => {}
        }
    }
    if changed.is_empty() && added.is_empty() && removed.is_empty() {
        out.push("files: none changed".into());
        return out;
    }
    out.push(format!(
        "files: {} changed, {} added, {} removed",
        changed.len(),
        added.len(),
        removed.len()
    ));
    // Text contents of the changed small files, read in a second pass.
    let small: BTreeSet<String> = changed
        .iter()
        .take(LISTED_MAX)
        .filter(|(_, x, y)| {
            matches!((&x.kind, &y.kind), (ListedKind::File { size: s1, .. }, ListedKind::File { size: s2, .. }) if *s1 <= SHOWN_MAX && *s2 <= SHOWN_MAX)
        })
        .map(|(p, _, _)| p.clone())
        .collect();
    let read = |dir: &Path| {
        std::fs::File::open(dir.join("rootfs.tar.zst"))
            .ok()
            .and_then(|f| read_files(f, &small, SHOWN_MAX).ok())
            .unwrap_or_default()
    };
    let (ca, cb) = if small.is_empty() {
        (BTreeMap::new(), BTreeMap::new())
    } else {
        (read(a), read(b))
    };
    let mut shown = 0;
    for (p, x, y) in &changed {
        if shown == LISTED_MAX {
            break;
        }
        shown += 1;
        let label = format!("{name}:/{p}");
        let text = |m: &BTreeMap<String, Vec<u8>>| {
            m.get(p.as_str())
                .and_then(|b| String::from_utf8(b.clone()).ok())
                .filter(|t| !t.contains('\0'))
        };
        match (text(&ca), text(&cb)) {
            (Some(tx), Some(ty)) if tx != ty => {
                out.push(format!("~ /{p}"));
                let unified = super::diff::unified_diff(&tx, &ty, &label);
                out.extend(unified.lines().map(|l| format!("  {l}")));
            }
            _ => out.push(format!("~ /{p} ({} → {})", describe(x), describe(y))),
        }
    }
    for (p, y) in &added {
        if shown == LISTED_MAX {
            break;
        }
        shown += 1;
        out.push(format!("+ /{p} ({})", describe(y)));
    }
    for (p, x) in &removed {
        if shown == LISTED_MAX {
            break;
        }
        shown += 1;
        out.push(format!("- /{p} ({})", describe(x)));
    }
    let total = changed.len() + added.len() + removed.len();
    if total > shown {
        out.push(format!("… and {} more paths", total - shown));
    }
    out
}
