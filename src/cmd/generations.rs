//! `hlb generations` and `hlb diff`.

use hlb::ops::history::{self, utc};
use serde_json::json;

use crate::Result;
use crate::ctx::Ctx;

pub fn list(ctx: &Ctx) -> Result<()> {
    let h = history::generations(&ctx.env, &ctx.reporter())?;
    if h.records.is_empty() {
        ctx.out.status(&format!(
            "lab {} has no generations yet: run `hlb build`",
            h.lab
        ));
    }
    for r in &h.records {
        let current = Some(r.number) == h.current;
        let mark = if current { "*" } else { " " };
        ctx.out.data(&format!(
            "{mark} {:>4}  {}  {}",
            r.number,
            utc(r.created),
            r.generation
        ));
        ctx.out.record(
            "generation",
            json!({"number": r.number, "created": r.created, "generation": r.generation, "current": current}),
        );
    }
    Ok(())
}

pub fn diff(ctx: &Ctx, a: Option<u64>, b: Option<u64>, stat: bool) -> Result<()> {
    let opts = history::DiffOptions {
        from: a,
        to: b,
        stat,
    };
    let d = history::diff(&ctx.env, &opts, &ctx.reporter())?;
    match &d.from {
        Some(from) => ctx
            .out
            .data(&format!("generation {} → {}", from.number, d.to.number)),
        None => ctx.out.data(&format!(
            "generation {} (the first: compared with nothing)",
            d.to.number
        )),
    }
    let mut changes = Vec::new();
    for t in &d.targets {
        ctx.out.data(&format!("{}:", t.target));
        for (artifact, status, lines) in &t.changes {
            let status = status.as_str();
            changes.push(json!({"target": t.target, "artifact": artifact, "status": status}));
            ctx.out.data(&format!("  {status:<8} {artifact}"));
            for l in lines {
                ctx.out.data(&format!("           {l}"));
            }
        }
    }
    if changes.is_empty() {
        ctx.out.data("  no changes");
    }
    let from = d
        .from
        .as_ref()
        .map(|r| json!({"number": r.number, "generation": r.generation}));
    ctx.out.record(
        "diff",
        json!({"from": from, "to": {"number": d.to.number, "generation": d.to.generation}, "changes": changes}),
    );
    Ok(())
}
