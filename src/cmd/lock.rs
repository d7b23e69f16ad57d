//! `hlb lock [--check]` and `hlb prefetch URL`.
//!
//! The resolvers registered here are the lock sections the CLI can fill:
//! `fetch` (URL pins) and `debian` (package closures of `lxc` containers).

use anyhow::anyhow;
use hlb_fetch::{DebianResolver, FetchResolver, Resolver};
use serde_json::json;

use hlb_builder::diag::{Diagnostic, Diagnostics, Span};

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
    let changes = match hlb_fetch::update_lock(&mut lock, &requests, &resolvers, &fetcher, &|e| {
        out.status(&e.to_string());
    }) {
        Ok(c) => c,
        Err(hlb_fetch::resolve::LockUpdateError::Resolve(failures)) => {
            return Err(report_failures(ctx, &lab, failures));
        }
        Err(e) => return Err(anyhow!("{e}").into()),
    };
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

/// A container whose packages cannot be resolved (unknown package,
/// unsatisfiable dependency, conflicting packages) is a recipe problem:
/// reported at the package the recipe asked for (or its `debian` line),
/// the lock left as it was. Other failures are reported as they are.
fn report_failures(
    ctx: &Ctx,
    lab: &hlb_builder::decl::Lab,
    failures: Vec<hlb_fetch::resolve::ResolveFailure>,
) -> Failure {
    let mut diags = Vec::new();
    let mut other = Vec::new();
    for f in failures {
        let container = match lab.get(&f.key).map(|d| &d.body) {
            Some(hlb_builder::decl::Body::Lxc(l)) if f.section == hlb_fetch::DEBIAN_SECTION => l,
            _ => {
                other.push(format!("{} `{}`: {}", f.section, f.key, f.error));
                continue;
            }
        };
        let message = f.error.to_string();
        let span = package_span(container, &f.error).unwrap_or(container.debian.span);
        diags.push(
            Diagnostic::new(
                LOCK_RESOLVE_FAILED,
                format!("container `{}`: {message}", f.key),
            )
            .at(span)
            .label("cannot be installed")
            .help("check the package names (`apt-cache policy NAME` on a machine with the same sources), or drop the package that conflicts"),
        );
    }
    let n = diags.len() + other.len();
    if !diags.is_empty() {
        ctx.report_diagnostics(&Diagnostics(diags), &lab.sources);
    }
    for o in &other {
        ctx.out.status(&format!("error: {o}"));
    }
    Failure::Reported(format!(
        "cannot resolve {n} lock entr{}; {} is unchanged",
        if n == 1 { "y" } else { "ies" },
        ctx.lock_path().display()
    ))
}

/// A container's package could not be resolved.
pub const LOCK_RESOLVE_FAILED: &str = "E0514";

/// The first package the recipe wrote that the resolver names at the root
/// of a failed chain of dependencies.
fn package_span(l: &hlb_builder::decl::LxcDecl, error: &hlb_fetch::FetchError) -> Option<Span> {
    let failed = hlb_fetch::DebianError::from_fetch_error(error)?.failed_requests();
    let failed: Vec<&str> = failed
        .into_iter()
        .map(hlb_builder::decl::package_name)
        .collect();
    l.packages
        .iter()
        .find(|p| failed.contains(&hlb_builder::decl::package_name(&p.value)))
        .map(|p| p.span)
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
