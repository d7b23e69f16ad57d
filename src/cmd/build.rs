//! `hlb build`: plan, build what the store lacks, record the generation.

use anyhow::anyhow;
use hlb_builder::sched::{self, Options};
use serde_json::json;

use crate::cli::BuildArgs;
use crate::ctx::Ctx;
use crate::report::BuildReporter;
use crate::{Failure, Result};

pub fn run(ctx: &Ctx, args: BuildArgs) -> Result<()> {
    ctx.refuse_plaintext_secrets()?;
    let registry = ctx.registry()?;
    let (lab, plan) = ctx.plan(&registry)?;
    let roots = if args.names.is_empty() {
        plan.roots()
    } else {
        args.names
            .iter()
            .map(|n| ctx.resolve(&plan, n))
            .collect::<Result<Vec<_>>>()?
    };
    let store = ctx.store()?;
    let mut opts = Options {
        keep_going: args.keep_going,
        ..Options::default()
    };
    if plan
        .graph
        .iter()
        .any(|(_, d)| d.secret || d.kind == "sealed-secret")
    {
        opts.secrets = ctx.secret_source(&lab)?;
    }
    if let Some(j) = args.jobs {
        if j == 0 {
            return Err(anyhow!("--jobs must be at least 1").into());
        }
        opts.jobs = j;
    }
    // Held until the generation is recorded: a concurrent gc must not sweep
    // outputs that no profile roots yet.
    let _shared = store.lock_shared().map_err(|e| anyhow!("store: {e}"))?;
    let reporter = BuildReporter::new(&ctx.out).with_recipes(&plan, &lab.sources);
    let outcome = sched::build(
        &store,
        &plan.graph,
        &roots,
        &plan.sources,
        &registry,
        &reporter,
        &opts,
    )
    .map_err(|e| anyhow!("store: {e}"))?;
    reporter.finish();
    if !outcome.ok() {
        let msg = format!(
            "{} failed, {} not built ({} built, {} already in the store)",
            outcome.failed.len(),
            outcome.skipped.len(),
            outcome.built.len(),
            outcome.cached
        );
        ctx.out.record(
            "build-finished",
            json!({
                "success": false,
                "built": outcome.built.len(),
                "cached": outcome.cached,
                "failed": outcome.failed.iter().map(|f| json!({"name": f.name, "id": f.id, "error": f.error.to_string()})).collect::<Vec<_>>(),
                "skipped": outcome.skipped,
            }),
        );
        return Err(Failure::Reported(msg));
    }

    if !args.names.is_empty() {
        for id in &roots {
            let entry = &outcome.outputs[id];
            ctx.out.data(&entry.out.display().to_string());
            ctx.out.record(
                "built",
                json!({"id": id, "name": entry.name, "out": entry.out, "content": entry.content_hash}),
            );
        }
        return Ok(());
    }

    let generation = plan
        .generation(&outcome)
        .ok_or_else(|| anyhow!("internal error: an artifact of the plan was not built"))?;
    let hash = generation.hash();
    store
        .add_generation(&generation)
        .map_err(|e| anyhow!("recording the generation: {e}"))?;
    let record = ctx
        .profiles()?
        .record(&plan.lab, &hash)
        .map_err(|e| anyhow!("recording generation {hash} in the profile: {e}"))?;
    let artifacts: usize = generation.targets.values().map(|t| t.artifacts.len()).sum();
    ctx.out.status(&format!(
        "lab {}: generation {} ({} artifacts in {} targets; {} built, {} already in the store)",
        plan.lab,
        record.number,
        artifacts,
        generation.targets.len(),
        outcome.built.len(),
        outcome.cached
    ));
    ctx.out.data(&hash.hex());
    ctx.out.record(
        "build-finished",
        json!({
            "success": true,
            "lab": plan.lab,
            "generation": hash,
            "number": record.number,
            "built": outcome.built.len(),
            "cached": outcome.cached,
            "artifacts": artifacts,
        }),
    );
    Ok(())
}
