//! `hlb lock [--check]` and `hlb prefetch URL`.

use hlb::ops::lock::{self, LockError};
use serde_json::json;

use crate::Result;
use crate::ctx::Ctx;

pub fn run(ctx: &Ctx, check: bool) -> Result<()> {
    if check {
        return match lock::check(&ctx.env, &ctx.reporter()) {
            Ok(c) => {
                ctx.out
                    .status(&format!("{} is up to date", c.path.display()));
                Ok(())
            }
            Err(e) => {
                if let LockError::Stale { stale, .. } = &e {
                    for s in stale {
                        ctx.out.data(&format!("stale: {s}"));
                        ctx.out.record("stale", json!({"problem": s}));
                    }
                }
                Err(e.into())
            }
        };
    }
    let locked = match lock::lock(&ctx.env, &ctx.reporter()) {
        Ok(l) => l,
        Err(e) => {
            if let LockError::Unresolvable { other, .. } = &e {
                for o in other {
                    ctx.out.status(&format!("error: {o}"));
                }
            }
            return Err(e.into());
        }
    };
    ctx.out
        .status(&format!("{}: {}", locked.path.display(), locked.changes));
    ctx.out.record(
        "lock-finished",
        json!({"path": locked.path, "changed": locked.changed}),
    );
    Ok(())
}

pub fn prefetch(ctx: &Ctx, url: &str) -> Result<()> {
    let p = lock::prefetch(&ctx.env, url, &ctx.reporter())?;
    ctx.out.data(&format!("hash=\"{}\"", p.hash));
    ctx.out.status(&format!(
        "{} bytes; paste the line above into the fetch declaration",
        p.size
    ));
    ctx.out.record(
        "prefetch",
        json!({"url": p.url, "hash": p.hash.to_string(), "size": p.size}),
    );
    Ok(())
}
