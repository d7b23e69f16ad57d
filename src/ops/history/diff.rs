//! `diff`: two generations compared per target, text artifacts with a
//! unified diff, container templates by package and file, secrets only by
//! which secret changed (never a value).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hlb_cache::{Artifact, Generation, GenerationRecord, Store};

use super::super::env::Env;
use super::super::events::SharedReporter;
use super::{HistoryError, generations};

/// How an artifact differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactChange {
    Added,
    Removed,
    Changed,
}

impl ArtifactChange {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactChange::Added => "added",
            ArtifactChange::Removed => "removed",
            ArtifactChange::Changed => "changed",
        }
    }
}

/// What changed in one target.
#[derive(Debug)]
pub struct TargetChanges {
    pub target: String,
    /// Artifact name, how it changed, and the lines that show how (empty
    /// with `stat`).
    pub changes: Vec<(String, ArtifactChange, Vec<String>)>,
}

/// Two generations compared.
#[derive(Debug)]
pub struct Diffed {
    /// `None`: `to` is the lab's first generation, compared with nothing.
    pub from: Option<GenerationRecord>,
    pub to: GenerationRecord,
    /// Targets with a change, in name order.
    pub targets: Vec<TargetChanges>,
}

/// Which generations `diff` compares, and how much it says.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiffOptions {
    /// The older generation [default: the one before `to`, or nothing
    /// when `to` is the first].
    pub from: Option<u64>,
    /// The newer generation [default: the current one].
    pub to: Option<u64>,
    /// Only which artifacts changed, no text diffs.
    pub stat: bool,
}

/// Compare two generations of the lab.
pub fn diff(
    env: &Env,
    opts: &DiffOptions,
    reporter: &SharedReporter,
) -> Result<Diffed, HistoryError> {
    let (a, b, stat) = (opts.from, opts.to, opts.stat);
    let history = generations(env, reporter)?;
    let lab = history.lab.clone();
    let current = history
        .current
        .ok_or_else(|| HistoryError::NoGenerations { lab: lab.clone() })?;
    let find = |n: u64| {
        history
            .records
            .iter()
            .find(|r| r.number == n)
            .cloned()
            .ok_or_else(|| HistoryError::NoSuchGeneration {
                lab: lab.clone(),
                number: n,
            })
    };
    let rb = find(b.unwrap_or(current))?;
    let ra = match a {
        Some(n) => Some(find(n)?),
        None => history
            .records
            .iter()
            .rfind(|r| r.number < rb.number)
            .cloned(),
    };
    let store = env.open_store()?;
    let gb = load(&store, &rb)?;
    let ga = ra.as_ref().map(|r| load(&store, r)).transpose()?;
    Ok(Diffed {
        targets: compare(&store, ga.as_ref(), &gb, stat),
        from: ra,
        to: rb,
    })
}

fn load(store: &Store, r: &GenerationRecord) -> Result<Generation, HistoryError> {
    store
        .generation(&r.generation)
        .map_err(|source| HistoryError::Read {
            number: r.number,
            hash: r.generation,
            source,
        })?
        .ok_or(HistoryError::NotInStore {
            number: r.number,
            hash: r.generation,
        })
}

/// `ga` is `None` for the first generation: everything in `gb` is added.
fn compare(
    store: &Store,
    ga: Option<&Generation>,
    gb: &Generation,
    stat: bool,
) -> Vec<TargetChanges> {
    let none = BTreeMap::new();
    let ga_targets = ga.map_or(&none, |g| &g.targets);
    let out_path = |art: &Artifact| -> Option<PathBuf> {
        store
            .lookup(&art.id, &art.name)
            .ok()
            .flatten()
            .map(|e| e.out)
    };
    let targets: BTreeSet<&String> = ga_targets.keys().chain(gb.targets.keys()).collect();
    let mut result = Vec::new();
    for t in targets {
        let (ta, tb) = (ga_targets.get(t), gb.targets.get(t));
        let no_artifacts = BTreeMap::new();
        let (aa, ab) = (
            ta.map_or(&no_artifacts, |t| &t.artifacts),
            tb.map_or(&no_artifacts, |t| &t.artifacts),
        );
        // What the target's spec says about delivering each artifact
        // (path, mode, namespace, order…): a change there is a change too.
        let delivery = |t: Option<&hlb_cache::Target>, n: &str| t.and_then(|t| t.spec.delivery(n));
        let names: BTreeSet<&String> = aa.keys().chain(ab.keys()).collect();
        let mut changes = Vec::new();
        for n in names {
            let (x, y) = (aa.get(n), ab.get(n));
            let (dx, dy) = (delivery(ta, n), delivery(tb, n));
            let status = match (x, y) {
                (None, Some(_)) => ArtifactChange::Added,
                (Some(_), None) => ArtifactChange::Removed,
                (Some(x), Some(y)) if x.content != y.content || dx != dy => ArtifactChange::Changed,
                _ => continue,
            };
            let mut lines = Vec::new();
            if let (false, Some(x), Some(y)) = (stat, x, y) {
                lines = changed_lines(store, (x, &dx), (y, &dy), n, &out_path);
            }
            changes.push((n.clone(), status, lines));
        }
        if !changes.is_empty() {
            result.push(TargetChanges {
                target: t.clone(),
                changes,
            });
        }
    }
    result
}

/// How a changed artifact changed, for people.
fn changed_lines(
    store: &Store,
    (x, dx): (&Artifact, &Option<serde_json::Value>),
    (y, dy): (&Artifact, &Option<serde_json::Value>),
    n: &str,
    out_path: &dyn Fn(&Artifact) -> Option<PathBuf>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if dx != dy {
        let show = |d: &Option<serde_json::Value>| {
            d.as_ref()
                .map_or("(not delivered)".to_string(), |d| d.to_string())
        };
        lines.push(format!("delivery: {} → {}", show(dx), show(dy)));
    }
    let sealed = hlb_builder::kinds::SEALED_SECRET;
    if x.secret || y.secret || x.kind == sealed || y.kind == sealed {
        // Never a value: which secrets changed, by their tags, and (for a
        // SealedSecret) which data keys they feed.
        let (tx, ty) = (secret_tags(store, x), secret_tags(store, y));
        let names: BTreeSet<&String> = tx.keys().chain(ty.keys()).collect();
        let changed: Vec<&str> = names
            .into_iter()
            .filter(|n| tx.get(*n) != ty.get(*n))
            .map(String::as_str)
            .collect();
        let keys = data_keys_changed(store, x, y);
        let mut what = String::from("(secret: values not shown)");
        if !changed.is_empty() {
            what.push_str(&format!(" secrets changed: {}", changed.join(", ")));
        }
        if !keys.is_empty() {
            what.push_str(&format!("; data keys affected: {}", keys.join(", ")));
        }
        lines.push(what);
        return lines;
    }
    if let (Some(px), Some(py)) = (out_path(x), out_path(y)) {
        let template = hlb_builder::kinds::LXC_TEMPLATE;
        if x.kind == template && y.kind == template {
            lines.extend(super::template_diff::lines(&px, &py, n));
        } else {
            lines.extend(text_diff(&px, &py, n));
        }
    }
    lines
}

/// The tags of the secrets an artifact's derivation uses (its `tag:NAME`
/// sources): they change exactly when a secret's plaintext changes.
fn secret_tags(store: &Store, art: &Artifact) -> BTreeMap<String, String> {
    let Ok(Some(entry)) = store.lookup(&art.id, &art.name) else {
        return Default::default();
    };
    entry.meta.derivation["sources"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(role, digest)| {
                    Some((
                        role.strip_prefix("tag:")?.to_string(),
                        digest.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// For SealedSecrets: the data keys whose secret changed or that were added or removed.
fn data_keys_changed(store: &Store, x: &Artifact, y: &Artifact) -> Vec<String> {
    let data = |a: &Artifact| -> BTreeMap<String, String> {
        let Ok(Some(entry)) = store.lookup(&a.id, &a.name) else {
            return Default::default();
        };
        entry.meta.derivation["params"]["data"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (dx, dy) = (data(x), data(y));
    let (tx, ty) = (secret_tags(store, x), secret_tags(store, y));
    let keys: BTreeSet<&String> = dx.keys().chain(dy.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let (sx, sy) = (dx.get(*k), dy.get(*k));
            sx != sy || sx.is_some_and(|s| tx.get(s) != ty.get(s))
        })
        .cloned()
        .collect()
}

/// Files of an output (a file, or every file under a directory), relative.
fn files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if root.is_file() {
        out.push((String::new(), root.to_path_buf()));
        return out;
    }
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            let p = e.path();
            if p.is_dir() {
                stack.push((format!("{name}/"), p));
            } else {
                out.push((name, p));
            }
        }
    }
    out.sort();
    out
}

/// A unified diff of two texts, with three lines of context, headed
/// `a/LABEL` and `b/LABEL`.
pub(super) fn unified_diff(a: &str, b: &str, label: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string()
}

fn text_diff(a: &Path, b: &Path, name: &str) -> Vec<String> {
    let (fa, fb) = (files(a), files(b));
    let rels: BTreeSet<&String> = fa
        .iter()
        .map(|f| &f.0)
        .chain(fb.iter().map(|f| &f.0))
        .collect();
    let mut lines = Vec::new();
    for rel in rels {
        let read = |fs: &[(String, PathBuf)]| {
            fs.iter()
                .find(|f| &f.0 == rel)
                .and_then(|f| std::fs::read(&f.1).ok())
                .unwrap_or_default()
        };
        let (x, y) = (read(&fa), read(&fb));
        if x == y {
            continue;
        }
        let label = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{name}/{rel}")
        };
        match (std::str::from_utf8(&x), std::str::from_utf8(&y)) {
            (Ok(tx), Ok(ty)) if !tx.contains('\0') && !ty.contains('\0') => {
                lines.extend(unified_diff(tx, ty, &label).lines().map(str::to_string));
            }
            _ => lines.push(format!(
                "binary {label} differs ({} → {} bytes)",
                x.len(),
                y.len()
            )),
        }
    }
    lines
}
