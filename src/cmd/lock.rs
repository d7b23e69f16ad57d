//! `hlb lock [--check]` and `hlb prefetch URL`.
//!
//! The resolvers registered here are the lock sections the CLI can fill:
//! `fetch` (URL pins) and `debian` (package closures of `lxc` containers).

use anyhow::anyhow;
use hlb_fetch::{DebianResolver, FetchResolver, Resolver};
use serde_json::json;

use crate::ctx::Ctx;
use crate::{Failure, Result};

pub fn run(ctx: &Ctx, check: bool) -> Result<()> {
    let lab = ctx.load()?;
    let mut lock = ctx.read_lock()?;
    let requests = hlb_builder::plan::lock_requests(&lab);
    let path = ctx.lock_path();
    if check {
        let stale = lock.stale(&requests);
        for s in &stale {
            ctx.out.data(&format!("stale: {s}"));
            ctx.out.record("stale", json!({"problem": s.to_string()}));
        }
        if stale.is_empty() {
            ctx.out.status(&format!("{} is up to date", path.display()));
            return Ok(());
        }
        return Err(Failure::Reported(format!(
            "{} is stale ({} problem{}): run `hlb lock`",
            path.display(),
            stale.len(),
            if stale.len() == 1 { "" } else { "s" }
        )));
    }
    let fetcher = ctx.fetcher()?;
    let fetch = FetchResolver;
    // Debian package closures (`lxc` containers): the machine's apt
    // sources name the mirrors; verified indexes are kept in the state
    // directory so a re-lock against an unchanged Release is offline.
    let debian = DebianResolver::new().with_index_cache(ctx.state_dir()?.join("debian-indexes"));
    let resolvers: [&dyn Resolver; 2] = [&fetch, &debian];
    let out = &ctx.out;
    let changes = hlb_fetch::update_lock(&mut lock, &requests, &resolvers, &fetcher, &|e| {
        out.status(&e.to_string());
    })
    .map_err(|e| anyhow!("{e}"))?;
    let text = lock.to_string_canonical();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if text != old {
        write_atomic(&path, text.as_bytes())?;
    }
    ctx.out.status(&format!("{}: {changes}", path.display()));
    ctx.out.record(
        "lock-finished",
        json!({"path": path, "changed": text != old}),
    );
    Ok(())
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    hlb_cache::fsx::write_atomic(path, bytes).map_err(|e| Failure::Other(anyhow!("{e}")))
}

pub fn prefetch(ctx: &Ctx, url: &str) -> Result<()> {
    let fetcher = ctx.fetcher()?;
    let (hash, size) = fetcher.prefetch(url).map_err(|e| anyhow!("{e}"))?;
    ctx.out.data(&format!("hash=\"{hash}\""));
    ctx.out.status(&format!(
        "{size} bytes; paste the line above into the fetch declaration"
    ));
    ctx.out.record(
        "prefetch",
        json!({"url": url, "hash": hash.to_string(), "size": size}),
    );
    Ok(())
}
