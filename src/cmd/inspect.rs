//! `hlb show`, `hlb why-depends`, `hlb graph`.

use std::io::Write as _;
use std::path::Path;

use hlb::ops::inspect::{self, Shown};
use serde_json::{Value, json};

use crate::cli::GraphFormat;
use crate::ctx::Ctx;
use crate::{Failure, Result};

/// Lists longer than this are summarized in `show`'s text (`--json` has
/// them whole).
const LIST_SHOWN_MAX: usize = 8;
/// Texts longer than this (a file's contents) likewise.
const TEXT_SHOWN_MAX: usize = 200;

pub fn show(ctx: &Ctx, what: &str) -> Result<()> {
    let s = inspect::show(&ctx.env, what, &ctx.reporter())?;
    if ctx.out.json {
        ctx.out.record("derivation", show_json(&s));
        return Ok(());
    }
    let mut t = String::new();
    t.push_str(&format!("{} ({})\n", s.name, s.kind));
    t.push_str(&format!("  id:       {}\n", s.id));
    if let Some(target) = &s.target {
        t.push_str(&format!("  target:   {target}\n"));
    }
    if let Some(f) = &s.fixed_output {
        t.push_str(&format!("  pinned:   {f}\n"));
    }
    match &s.entry {
        Some(e) => {
            t.push_str(&format!("  output:   {}\n", e.out.display()));
            t.push_str(&format!("  content:  {}\n", e.content_hash));
        }
        None => t.push_str("  output:   not built (run `hlb build`)\n"),
    }
    for i in &s.inputs {
        t.push_str(&format!(
            "  input:    {} = {} ({})\n",
            i.role,
            i.name,
            i.id.short()
        ));
    }
    for (role, h) in &s.sources {
        t.push_str(&format!("  source:   {role} = blake3:{}\n", h.short()));
    }
    let params = match &s.params {
        Some(p) => summarize(p),
        None => redacted(),
    };
    t.push_str(&format!(
        "  params:   {}\n",
        serde_json::to_string_pretty(&params)
            .unwrap_or_default()
            .replace('\n', "\n            ")
    ));
    print!("{t}");
    Ok(())
}

fn redacted() -> Value {
    json!("<redacted: secret artifact>")
}

fn show_json(s: &Shown) -> Value {
    let inputs: serde_json::Map<String, Value> = s
        .inputs
        .iter()
        .map(|i| (i.role.clone(), json!({"id": i.id, "name": i.name})))
        .collect();
    json!({
        "name": s.name,
        "id": s.id,
        "kind": s.kind,
        "builder_version": s.builder_version,
        "target": s.target,
        "secret": s.secret,
        "fixed_output": s.fixed_output,
        "params": s.params.clone().unwrap_or_else(redacted),
        "inputs": inputs,
        "sources": s.sources,
        "built": s.entry.is_some(),
        "out": s.entry.as_ref().map(|e| e.out.clone()),
        "content": s.entry.as_ref().map(|e| e.content_hash),
        "dependents": s.dependents,
    })
}

/// Parameters for people: a long list (a container's packages, which its
/// inputs already name) becomes a count and its first few names; a long
/// text (a file the template holds) its size.
fn summarize(v: &Value) -> Value {
    match v {
        Value::String(text) if text.len() > TEXT_SHOWN_MAX => Value::String(format!(
            "<{} bytes, {} lines; `--json` shows it>",
            text.len(),
            text.lines().count()
        )),
        Value::Array(items) if items.len() > LIST_SHOWN_MAX => {
            let names: Vec<&str> = items
                .iter()
                .take(3)
                .filter_map(|i| i.get("name").and_then(Value::as_str).or(i.as_str()))
                .collect();
            let mut text = format!("<{} items", items.len());
            if !names.is_empty() {
                text.push_str(&format!(": {}, …", names.join(", ")));
            }
            text.push_str("; `--json` lists them>");
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.iter().map(summarize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), summarize(v))).collect())
        }
        other => other.clone(),
    }
}

pub fn why_depends(ctx: &Ctx, from: &str, to: &str) -> Result<()> {
    let opts = inspect::WhyDependsOptions {
        from: from.to_string(),
        to: to.to_string(),
    };
    let chain = match inspect::why_depends(&ctx.env, &opts, &ctx.reporter()) {
        Ok(chain) => chain,
        Err(e @ inspect::InspectError::NoPath { .. }) => {
            if let inspect::InspectError::NoPath { ordered_after, .. } = &e {
                ctx.out.record(
                    "why-depends",
                    json!({"depends": false, "ordered_after": ordered_after}),
                );
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    if ctx.out.json {
        let chain: Vec<_> = chain
            .iter()
            .map(|l| json!({"id": l.id, "name": l.name}))
            .collect();
        ctx.out
            .record("why-depends", json!({"depends": true, "chain": chain}));
        return Ok(());
    }
    for (i, link) in chain.iter().enumerate() {
        let role = match &link.role {
            Some(r) => format!("└─[{r}]─ "),
            None => String::new(),
        };
        ctx.out.data(&format!(
            "{}{role}{} ({})",
            "   ".repeat(i.saturating_sub(1)),
            link.name,
            link.id.short()
        ));
    }
    Ok(())
}

pub fn graph(ctx: &Ctx, format: GraphFormat, output: Option<&Path>) -> Result<()> {
    let format = match format {
        GraphFormat::Dot => inspect::GraphFormat::Dot,
        GraphFormat::Svg => inspect::GraphFormat::Svg,
    };
    let bytes = inspect::graph(&ctx.env, format, &ctx.reporter())?;
    match output {
        Some(p) => std::fs::write(p, &bytes)
            .map_err(Failure::output(format!("writing {}", p.display())))?,
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(Failure::output("writing to stdout"))?,
    }
    Ok(())
}
