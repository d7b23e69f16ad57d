//! `hlb show`, `hlb why-depends`, `hlb graph`: looking at the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, anyhow};
use hlb_builder::DrvId;
use hlb_builder::drv::Value;
use hlb_builder::plan::Plan;
use serde_json::json;

use crate::Result;
use crate::cli::GraphFormat;
use crate::ctx::Ctx;

fn name_of(plan: &Plan, id: &DrvId) -> String {
    plan.graph
        .get(id)
        .map_or_else(|| id.short(), |d| d.name.clone())
}

/// Parameters as shown to people: secret derivations never show theirs.
fn shown_params(secret: bool, params: &Value) -> serde_json::Value {
    if secret {
        json!("<redacted: secret artifact>")
    } else {
        serde_json::to_value(params).unwrap_or(serde_json::Value::Null)
    }
}

pub fn show(ctx: &Ctx, what: &str) -> Result<()> {
    let registry = ctx.registry()?;
    let (_lab, plan) = ctx.plan(&registry)?;
    let id = ctx.resolve(&plan, what)?;
    let d = plan
        .graph
        .get(&id)
        .ok_or_else(|| anyhow!("internal error: {id} not in the graph"))?;
    let store = ctx.store()?;
    let entry = store
        .lookup(&id, &d.name)
        .map_err(|e| anyhow!("store: {e}"))?;
    let target = plan.target_of(&d.name).map(str::to_string);
    let inputs: BTreeMap<&String, serde_json::Value> = d
        .inputs
        .iter()
        .map(|(role, i)| (role, json!({"id": i, "name": name_of(&plan, i)})))
        .collect();
    let value = json!({
        "name": d.name,
        "id": id,
        "kind": d.kind,
        "builder_version": d.builder_version,
        "target": target,
        "secret": d.secret,
        "fixed_output": d.fixed_output.as_ref().map(|f| f.to_string()),
        "params": shown_params(d.secret, &d.params),
        "inputs": inputs,
        "sources": d.sources,
        "built": entry.is_some(),
        "out": entry.as_ref().map(|e| e.out.clone()),
        "content": entry.as_ref().map(|e| e.content_hash),
        "dependents": plan.graph.dependents(&id).iter().map(|i| name_of(&plan, i)).collect::<Vec<_>>(),
    });
    if ctx.out.json {
        ctx.out.record("derivation", value);
        return Ok(());
    }
    let mut s = String::new();
    s.push_str(&format!("{} ({})\n", d.name, d.kind));
    s.push_str(&format!("  id:       {id}\n"));
    if let Some(t) = &target {
        s.push_str(&format!("  target:   {t}\n"));
    }
    if let Some(f) = &d.fixed_output {
        s.push_str(&format!("  pinned:   {f}\n"));
    }
    match &entry {
        Some(e) => {
            s.push_str(&format!("  output:   {}\n", e.out.display()));
            s.push_str(&format!("  content:  {}\n", e.content_hash));
        }
        None => s.push_str("  output:   not built (run `hlb build`)\n"),
    }
    for (role, i) in &d.inputs {
        s.push_str(&format!(
            "  input:    {role} = {} ({})\n",
            name_of(&plan, i),
            i.short()
        ));
    }
    for (role, h) in &d.sources {
        s.push_str(&format!("  source:   {role} = blake3:{}\n", h.short()));
    }
    let params = shown_params(d.secret, &d.params);
    s.push_str(&format!(
        "  params:   {}\n",
        serde_json::to_string_pretty(&params)
            .unwrap_or_default()
            .replace('\n', "\n            ")
    ));
    print!("{s}");
    Ok(())
}

pub fn why_depends(ctx: &Ctx, from: &str, to: &str) -> Result<()> {
    let registry = ctx.registry()?;
    let (_lab, plan) = ctx.plan(&registry)?;
    let a = ctx.resolve(&plan, from)?;
    let b = ctx.resolve(&plan, to)?;
    match plan.graph.why_depends(&a, &b) {
        Some(path) => {
            if ctx.out.json {
                let chain: Vec<_> = path
                    .iter()
                    .map(|i| json!({"id": i, "name": name_of(&plan, i)}))
                    .collect();
                ctx.out
                    .record("why-depends", json!({"depends": true, "chain": chain}));
            } else {
                for (i, id) in path.iter().enumerate() {
                    let role = if i == 0 {
                        String::new()
                    } else {
                        let parent = plan.graph.get(&path[i - 1]).expect("in graph");
                        let role = parent
                            .inputs
                            .iter()
                            .find(|(_, x)| *x == id)
                            .map(|(r, _)| r.as_str())
                            .unwrap_or("?");
                        format!("└─[{role}]─ ")
                    };
                    ctx.out.data(&format!(
                        "{}{role}{} ({})",
                        "   ".repeat(i.saturating_sub(1)),
                        name_of(&plan, id),
                        id.short()
                    ));
                }
            }
            Ok(())
        }
        None => {
            ctx.out.record("why-depends", json!({"depends": false}));
            Err(anyhow!("`{from}` does not depend on `{to}`").into())
        }
    }
}

pub fn graph(ctx: &Ctx, format: GraphFormat, output: Option<&Path>) -> Result<()> {
    let registry = ctx.registry()?;
    let (_lab, plan) = ctx.plan(&registry)?;
    let clusters: BTreeMap<String, BTreeSet<DrvId>> = plan
        .targets
        .iter()
        .map(|(t, arts)| (t.clone(), arts.artifacts.values().copied().collect()))
        .collect();
    let dot = plan.graph.to_dot(&clusters);
    let bytes = match format {
        GraphFormat::Dot => dot.into_bytes(),
        GraphFormat::Svg => render_svg(&dot)?,
    };
    match output {
        Some(p) => std::fs::write(p, &bytes).with_context(|| format!("writing {}", p.display()))?,
        None => std::io::stdout()
            .write_all(&bytes)
            .context("writing to stdout")?,
    }
    Ok(())
}

fn render_svg(dot: &str) -> Result<Vec<u8>> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            anyhow!("cannot run Graphviz's `dot` ({e}): install graphviz, or use --format dot")
        })?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(dot.as_bytes())
        .context("writing to dot")?;
    let out = child.wait_with_output().context("waiting for dot")?;
    if !out.status.success() {
        return Err(anyhow!("dot failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(out.stdout)
}
