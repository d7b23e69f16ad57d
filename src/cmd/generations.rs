//! `hlb generations` and `hlb diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use hlb_cache::{Artifact, Generation, GenerationRecord};
use serde_json::json;

use crate::Result;
use crate::ctx::Ctx;

/// `YYYY-MM-DD HH:MM:SS` UTC from unix seconds (no time-zone database needed).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn lab_name(ctx: &Ctx) -> Result<String> {
    Ok(ctx.load()?.name.value)
}

/// The lab's name, its generations, and the current one.
fn history(ctx: &Ctx) -> Result<(String, Vec<GenerationRecord>, Option<GenerationRecord>)> {
    let lab = lab_name(ctx)?;
    let profiles = ctx.profiles()?;
    let records = profiles.list(&lab).map_err(|e| anyhow!("{e}"))?;
    let current = profiles.current(&lab).map_err(|e| anyhow!("{e}"))?;
    Ok((lab, records, current))
}

pub fn list(ctx: &Ctx) -> Result<()> {
    let (lab, records, current) = history(ctx)?;
    let current = current.map(|r| r.number);
    if records.is_empty() {
        ctx.out.status(&format!(
            "lab {lab} has no generations yet: run `hlb build`"
        ));
    }
    for r in &records {
        let mark = if Some(r.number) == current { "*" } else { " " };
        ctx.out.data(&format!(
            "{mark} {:>4}  {}  {}",
            r.number,
            utc(r.created),
            r.generation
        ));
        ctx.out.record(
            "generation",
            json!({"number": r.number, "created": r.created, "generation": r.generation, "current": Some(r.number) == current}),
        );
    }
    Ok(())
}

fn load_generation(ctx: &Ctx, r: &GenerationRecord) -> Result<Generation> {
    let store = ctx.store()?;
    store
        .generation(&r.generation)
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow!(
                "generation {} ({}) is not in the store",
                r.number,
                r.generation
            )
            .into()
        })
}

pub fn diff(ctx: &Ctx, a: Option<u64>, b: Option<u64>, stat: bool) -> Result<()> {
    let (lab, records, current) = history(ctx)?;
    let current =
        current.ok_or_else(|| anyhow!("lab {lab} has no generations yet: run `hlb build`"))?;
    let find = |n: u64| {
        records
            .iter()
            .find(|r| r.number == n)
            .cloned()
            .ok_or_else(|| anyhow!("lab {lab} has no generation {n} (see `hlb generations`)"))
    };
    let rb = match b {
        Some(n) => find(n)?,
        None => current,
    };
    let ra = match a {
        Some(n) => find(n)?,
        None => records
            .iter()
            .rfind(|r| r.number < rb.number)
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "generation {} is the first: nothing to compare it with",
                    rb.number
                )
            })?,
    };
    let (ga, gb) = (load_generation(ctx, &ra)?, load_generation(ctx, &rb)?);
    let store = ctx.store()?;
    let out_path = |art: &Artifact| -> Option<PathBuf> {
        store
            .lookup(&art.id, &art.name)
            .ok()
            .flatten()
            .map(|e| e.out)
    };
    ctx.out
        .data(&format!("generation {} → {}", ra.number, rb.number));
    let targets: BTreeSet<&String> = ga.targets.keys().chain(gb.targets.keys()).collect();
    let mut changes = Vec::new();
    for t in targets {
        let (ta, tb) = (ga.targets.get(t), gb.targets.get(t));
        let none = BTreeMap::new();
        let (aa, ab) = (
            ta.map_or(&none, |t| &t.artifacts),
            tb.map_or(&none, |t| &t.artifacts),
        );
        let delivery = |t: Option<&hlb_cache::Target>, n: &str| t.and_then(|t| t.spec.delivery(n));
        let names: BTreeSet<&String> = aa.keys().chain(ab.keys()).collect();
        let mut lines = Vec::new();
        for n in names {
            let (x, y) = (aa.get(n), ab.get(n));
            let (dx, dy) = (delivery(ta, n), delivery(tb, n));
            let status = match (x, y) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(x), Some(y)) if x.content != y.content || dx != dy => "changed",
                _ => continue,
            };
            changes.push(json!({"target": t, "artifact": n, "status": status}));
            lines.push(format!("  {status:<8} {n}"));
            if stat || status != "changed" {
                continue;
            }
            let (x, y) = (x.expect("changed"), y.expect("changed"));
            if dx != dy {
                let show = |d: &Option<serde_json::Value>| {
                    d.as_ref()
                        .map_or("(not delivered)".to_string(), |d| d.to_string())
                };
                lines.push(format!(
                    "           delivery: {} → {}",
                    show(&dx),
                    show(&dy)
                ));
            }
            if x.secret || y.secret || x.kind == "sealed-secret" || y.kind == "sealed-secret" {
                // Never a value: which secrets changed, by their tags, and
                // (for a SealedSecret) which data keys they feed.
                let (tx, ty) = (secret_tags(&store, x), secret_tags(&store, y));
                let names: BTreeSet<&String> = tx.keys().chain(ty.keys()).collect();
                let changed: Vec<&str> = names
                    .into_iter()
                    .filter(|n| tx.get(*n) != ty.get(*n))
                    .map(String::as_str)
                    .collect();
                let keys = data_keys_changed(&store, x, y);
                let mut what = String::from("           (secret: values not shown)");
                if !changed.is_empty() {
                    what.push_str(&format!(" secrets changed: {}", changed.join(", ")));
                }
                if !keys.is_empty() {
                    what.push_str(&format!("; data keys affected: {}", keys.join(", ")));
                }
                lines.push(what);
                continue;
            }
            if let (Some(px), Some(py)) = (out_path(x), out_path(y)) {
                if x.kind == "lxc-template" && y.kind == "lxc-template" {
                    lines.extend(
                        super::template_diff::lines(&px, &py, n)
                            .into_iter()
                            .map(|l| format!("           {l}")),
                    );
                } else {
                    lines.extend(text_diff(&px, &py, n));
                }
            }
        }
        if !lines.is_empty() {
            ctx.out.data(&format!("{t}:"));
            for l in lines {
                ctx.out.data(&l);
            }
        }
    }
    if changes.is_empty() {
        ctx.out.data("  no changes");
    }
    ctx.out.record(
        "diff",
        json!({"from": {"number": ra.number, "generation": ra.generation}, "to": {"number": rb.number, "generation": rb.generation}, "changes": changes}),
    );
    Ok(())
}

/// The tags of the secrets an artifact's derivation uses (its `tag:NAME`
/// sources): they change exactly when a secret's plaintext changes.
fn secret_tags(
    store: &hlb_cache::Store,
    art: &Artifact,
) -> std::collections::BTreeMap<String, String> {
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
fn data_keys_changed(store: &hlb_cache::Store, x: &Artifact, y: &Artifact) -> Vec<String> {
    let data = |a: &Artifact| -> std::collections::BTreeMap<String, String> {
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
                lines.extend(
                    unified_diff(tx, ty, &label)
                        .lines()
                        .map(|l| format!("           {l}")),
                );
            }
            _ => lines.push(format!(
                "           binary {label} differs ({} → {} bytes)",
                x.len(),
                y.len()
            )),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_795_500_000), "2026-11-24 06:00:00");
    }
}
