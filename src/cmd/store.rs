//! `hlb store verify | gc | path`.

use anyhow::anyhow;
use serde_json::json;

use crate::ctx::Ctx;
use crate::{Failure, Result};

pub fn path(ctx: &Ctx) -> Result<()> {
    let dir = ctx.store_dir()?;
    ctx.out.data(&dir.display().to_string());
    ctx.out.record("store-path", json!({"path": dir}));
    Ok(())
}

pub fn verify(ctx: &Ctx) -> Result<()> {
    let store = ctx.store()?;
    let report = store.verify().map_err(|e| anyhow!("{e}"))?;
    for bad in &report.corrupted {
        ctx.out.data(&format!(
            "corrupted: {} ({})",
            bad.dir.display(),
            bad.problem
        ));
        ctx.out.record(
            "corrupted",
            json!({"path": bad.dir, "id": bad.id, "name": bad.name, "problem": bad.problem}),
        );
    }
    ctx.out.status(&format!(
        "{} entries checked, {} corrupted",
        report.checked,
        report.corrupted.len()
    ));
    ctx.out.record(
        "verify-finished",
        json!({"checked": report.checked, "corrupted": report.corrupted.len()}),
    );
    if report.corrupted.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported(format!(
            "{} corrupted store entr{}: remove them with `hlb store gc` after fixing, or rebuild",
            report.corrupted.len(),
            if report.corrupted.len() == 1 {
                "y"
            } else {
                "ies"
            }
        )))
    }
}

pub fn gc(ctx: &Ctx, dry_run: bool) -> Result<()> {
    let store = ctx.store()?;
    let profiles = ctx.profiles()?;
    // Roots are read under gc's exclusive lock, so a build that is still
    // recording its generation cannot lose its outputs.
    let report =
        hlb_cache::gc::collect_profiles(&store, &profiles, dry_run).map_err(|e| anyhow!("{e}"))?;
    let roots = profiles.roots().map_err(|e| anyhow!("{e}"))?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for (id, name, bytes) in &report.removed {
        ctx.out
            .data(&format!("{verb} {}-{name} ({})", id.hex(), human(*bytes)));
        ctx.out.record(
            "gc-removed",
            json!({"id": id, "name": name, "bytes": bytes, "dry_run": dry_run}),
        );
    }
    ctx.out.status(&format!(
        "{verb} {} entr{}, {} freed; {} root{} kept",
        report.removed.len(),
        if report.removed.len() == 1 {
            "y"
        } else {
            "ies"
        },
        human(report.freed_bytes),
        roots.len(),
        if roots.len() == 1 { "" } else { "s" }
    ));
    ctx.out.record("gc-finished", json!({"removed": report.removed.len(), "freed_bytes": report.freed_bytes, "dry_run": dry_run}));
    Ok(())
}

pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn pin(ctx: &Ctx, name: &str, what: &str) -> Result<()> {
    let store = ctx.store()?;
    let digest = if let Ok(n) = what.parse::<u64>() {
        let lab = ctx.load()?.name.value;
        ctx.profiles()?
            .get(&lab, n)
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("lab {lab} has no generation {n} (see `hlb generations`)"))?
            .generation
    } else {
        let matches: Vec<_> = store
            .entries()
            .map_err(|e| anyhow!("{e}"))?
            .into_iter()
            .filter(|e| e.id.hex().starts_with(what))
            .collect();
        match matches.as_slice() {
            [e] if what.len() >= 6 => e.id,
            [] => {
                return Err(
                    anyhow!("no store entry `{what}…` (see `hlb show NAME` for ids)").into(),
                );
            }
            _ => {
                return Err(
                    anyhow!("`{what}` is ambiguous or too short: give more of the id").into(),
                );
            }
        }
    };
    ctx.profiles()?
        .pin(name, &digest)
        .map_err(|e| anyhow!("{e}"))?;
    ctx.out.status(&format!(
        "pinned {name} = {digest}: `hlb store gc` keeps it and all it needs"
    ));
    ctx.out
        .record("pinned", json!({"name": name, "id": digest}));
    Ok(())
}

pub fn unpin(ctx: &Ctx, name: &str) -> Result<()> {
    if !ctx.profiles()?.unpin(name).map_err(|e| anyhow!("{e}"))? {
        return Err(anyhow!("no pin named `{name}` (see `hlb store pins`)").into());
    }
    ctx.out.status(&format!("unpinned {name}"));
    Ok(())
}

pub fn pins(ctx: &Ctx) -> Result<()> {
    for (name, digest) in ctx.profiles()?.pins().map_err(|e| anyhow!("{e}"))? {
        ctx.out.data(&format!("{name}  {digest}"));
        ctx.out.record("pin", json!({"name": name, "id": digest}));
    }
    Ok(())
}
