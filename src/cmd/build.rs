//! `hlb build`.

use hlb::ops::build::{BuildError, BuildOptions, Built};
use serde_json::json;

use crate::Result;
use crate::cli::BuildArgs;
use crate::ctx::Ctx;

pub fn run(ctx: &Ctx, args: BuildArgs) -> Result<()> {
    let opts = BuildOptions {
        names: args.names,
        jobs: args.jobs,
        keep_going: args.keep_going,
    };
    let built = hlb::ops::build(&ctx.env, &opts, &ctx.reporter());
    ctx.renderer.finish();
    match built {
        Ok(Built::Outputs(outputs)) => {
            for o in outputs {
                ctx.out.data(&o.out.display().to_string());
                ctx.out.record(
                    "built",
                    json!({"id": o.id, "name": o.name, "out": o.out, "content": o.content}),
                );
            }
            Ok(())
        }
        Ok(Built::Generation(g)) => {
            ctx.out.status(&format!(
                "lab {}: generation {} ({} artifacts in {} targets; {} built, {} already in the store)",
                g.lab, g.number, g.artifacts, g.targets, g.built, g.cached
            ));
            ctx.out.data(&g.hash.hex());
            ctx.out.record(
                "build-finished",
                json!({
                    "success": true,
                    "lab": g.lab,
                    "generation": g.hash,
                    "number": g.number,
                    "built": g.built,
                    "cached": g.cached,
                    "artifacts": g.artifacts,
                }),
            );
            Ok(())
        }
        Err(BuildError::Failed(f)) => {
            ctx.out.record(
                "build-finished",
                json!({
                    "success": false,
                    "built": f.built,
                    "cached": f.cached,
                    "failed": f.failed.iter().map(|d| json!({"name": d.name, "id": d.id, "error": d.error.to_string()})).collect::<Vec<_>>(),
                    "skipped": f.skipped,
                }),
            );
            Err(BuildError::Failed(f).into())
        }
        Err(BuildError::PlaintextSecrets(hlb::secrets::PlaintextSecrets::Found {
            root,
            findings,
        })) => {
            for f in &findings {
                ctx.out.record(
                    "plaintext-secret",
                    json!({"file": f.path, "line": f.line, "kind": f.kind.to_string()}),
                );
                ctx.out.status(&format!("error: {}: {f}", root.display()));
            }
            Err(
                BuildError::PlaintextSecrets(hlb::secrets::PlaintextSecrets::Found {
                    root,
                    findings,
                })
                .into(),
            )
        }
        Err(e) => Err(e.into()),
    }
}
