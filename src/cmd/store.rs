//! `hlb store verify | gc | path | pin | unpin | pins`.

use hlb::ops::store::{self, StoreOpError};
use serde_json::json;

use crate::Result;
use crate::ctx::Ctx;

pub fn path(ctx: &Ctx) -> Result<()> {
    let dir = store::path(&ctx.env, &ctx.reporter())?;
    ctx.out.data(&dir.display().to_string());
    ctx.out.record("store-path", json!({"path": dir}));
    Ok(())
}

pub fn verify(ctx: &Ctx) -> Result<()> {
    let result = store::verify(&ctx.env, &ctx.reporter());
    let report = match &result {
        Ok(r) => r,
        Err(StoreOpError::Corrupted { report }) => report,
        Err(_) => return Ok(result.map(|_| ())?),
    };
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
    Ok(result.map(|_| ())?)
}

pub fn gc(ctx: &Ctx, dry_run: bool) -> Result<()> {
    let c = store::gc(&ctx.env, &store::GcOptions { dry_run }, &ctx.reporter())?;
    let verb = if c.dry_run { "would remove" } else { "removed" };
    for (id, name, bytes) in &c.report.removed {
        ctx.out
            .data(&format!("{verb} {}-{name} ({})", id.hex(), human(*bytes)));
        ctx.out.record(
            "gc-removed",
            json!({"id": id, "name": name, "bytes": bytes, "dry_run": dry_run}),
        );
    }
    let n = c.report.removed.len();
    ctx.out.status(&format!(
        "{verb} {n} entr{}, {} freed; {} root{} kept",
        if n == 1 { "y" } else { "ies" },
        human(c.report.freed_bytes),
        c.roots,
        if c.roots == 1 { "" } else { "s" }
    ));
    ctx.out.record(
        "gc-finished",
        json!({"removed": n, "freed_bytes": c.report.freed_bytes, "dry_run": dry_run}),
    );
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
    let opts = store::PinOptions {
        name: name.to_string(),
        what: what.to_string(),
    };
    let digest = store::pin(&ctx.env, &opts, &ctx.reporter())?;
    ctx.out.status(&format!(
        "pinned {name} = {digest}: `hlb store gc` keeps it and all it needs"
    ));
    ctx.out
        .record("pinned", json!({"name": name, "id": digest}));
    Ok(())
}

pub fn unpin(ctx: &Ctx, name: &str) -> Result<()> {
    store::unpin(&ctx.env, name, &ctx.reporter())?;
    ctx.out.status(&format!("unpinned {name}"));
    Ok(())
}

pub fn pins(ctx: &Ctx) -> Result<()> {
    for (name, digest) in store::pins(&ctx.env, &ctx.reporter())? {
        ctx.out.data(&format!("{name}  {digest}"));
        ctx.out.record("pin", json!({"name": name, "id": digest}));
    }
    Ok(())
}
