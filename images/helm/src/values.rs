//! Values: merging the user's files and `--set`s, coalescing them with a
//! chart's defaults and its subcharts' (globals flow down, `null` deletes
//! a default), enabling dependencies by `condition`/`tags`, aliases, and
//! `import-values` — the behaviour of Helm v4.1.4's `coalesce.go` and
//! `dependencies.go`.
//!
//! Warnings Helm logs (`cannot overwrite table with non table ...`) are
//! collected in a [`Log`] for the caller to print.

use std::collections::BTreeMap;

use crate::chart::Chart;
use crate::value::{MapRef, Value, format_v};

/// Warnings in the order Helm logs them.
#[derive(Default, Debug)]
pub struct Log(pub Vec<String>);

fn concat(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn as_map(v: &Value) -> Option<MapRef> {
    match v {
        Value::Map(m) => Some(m.clone()),
        _ => None,
    }
}

/// Helm's `mergeMaps` (user values: later files win, maps merge).
pub fn merge_maps(a: &MapRef, b: &MapRef) {
    let entries: Vec<(String, Value)> = b
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in entries {
        if let Value::Map(bm) = &v {
            let existing = a.borrow().get(&k).cloned();
            if let Some(Value::Map(am)) = existing {
                merge_maps(&am, bm);
                continue;
            }
        }
        a.borrow_mut().insert(k, v);
    }
}

/// `CoalesceValues(chart, vals)`: a deep copy of `vals` with the chart's
/// defaults filled in.
pub fn coalesce_values(chart: &Chart, vals: &Value, log: &mut Log) -> Result<Value, String> {
    let v = vals.deep_copy();
    let m = as_map(&v).unwrap_or_else(|| as_map(&Value::empty_map()).unwrap_or_default());
    coalesce(chart, &m, "", false, log)?;
    Ok(Value::Map(m))
}

/// `MergeValues` (merge = keep nulls).
pub fn merge_values(chart: &Chart, vals: &Value, log: &mut Log) -> Result<Value, String> {
    let v = vals.deep_copy();
    let m = as_map(&v).unwrap_or_default();
    coalesce(chart, &m, "", true, log)?;
    Ok(Value::Map(m))
}

fn coalesce(
    c: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    log: &mut Log,
) -> Result<(), String> {
    coalesce_chart_values(c, dest, prefix, merge, log);
    coalesce_deps(c, dest, prefix, merge, log)
}

fn coalesce_chart_values(c: &Chart, v: &MapRef, prefix: &str, merge: bool, log: &mut Log) {
    let sub_prefix = concat(prefix, &c.name);
    let defaults = c.values.deep_copy();
    let Some(defaults) = as_map(&defaults) else {
        return;
    };
    let entries: Vec<(String, Value)> = defaults
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let existing = v.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(Value::Map(dest)) => match &val {
                Value::Map(src) => {
                    let merge = merge || c.subcharts.iter().any(|s| s.name == key);
                    coalesce_tables(&dest, src, &concat(&sub_prefix, &key), merge, log);
                }
                Value::Nil => {}
                _ => log.0.push(format!(
                    "warning: skipped value for {sub_prefix}.{key}: Not a table."
                )),
            },
            Some(_) => {}
            None => {
                v.borrow_mut().insert(key, val);
            }
        }
    }
}

/// `coalesceTablesFullKey`: fill `dst` from `src` (dst wins).
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, prefix: &str, merge: bool, log: &mut Log) {
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    let src_non_nil: Vec<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Nil))
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nils: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| matches!(v, Value::Nil))
        .map(|(k, _)| k.clone())
        .collect();
    for k in dst_nils {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full = concat(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(d) => {
                if let Value::Map(vm) = &val {
                    if let Value::Map(dm) = &d {
                        coalesce_tables(dm, vm, &full, merge, log);
                    } else {
                        log.0.push(format!(
                            "warning: cannot overwrite table with non table for {full} ({})",
                            format_v(&val)
                        ));
                    }
                } else if matches!(d, Value::Map(_)) && !matches!(val, Value::Nil) {
                    log.0.push(format!(
                        "warning: destination for {full} is a table. Ignoring non-table value ({})",
                        format_v(&val)
                    ));
                }
            }
        }
    }
}

fn coalesce_deps(
    c: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    log: &mut Log,
) -> Result<(), String> {
    for sub in &c.subcharts {
        let existing = dest.borrow().get(&sub.name).cloned();
        let dv = match existing {
            None => {
                let m = Value::empty_map();
                dest.borrow_mut().insert(sub.name.clone(), m.clone());
                m
            }
            Some(v @ Value::Map(_)) => v,
            Some(other) => {
                return Err(format!(
                    "type mismatch on {}: %!t({}={})",
                    sub.name,
                    other.type_name(),
                    format_v(&other)
                ));
            }
        };
        let Some(dvmap) = as_map(&dv) else { continue };
        let sub_prefix = concat(prefix, &c.name);
        coalesce_globals(&dvmap, dest, &sub_prefix, log);
        coalesce(sub, &dvmap, &sub_prefix, merge, log)?;
    }
    Ok(())
}

fn coalesce_globals(dest: &MapRef, src: &MapRef, prefix: &str, log: &mut Log) {
    let dg = match dest.borrow().get("global").cloned() {
        None => as_map(&Value::empty_map()).unwrap_or_default(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            log.0.push(
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match src.borrow().get("global").cloned() {
        None => as_map(&Value::empty_map()).unwrap_or_default(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            log.0
                .push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    let entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if let Value::Map(vm) = &val {
            let vv = as_map(&Value::Map(vm.clone()).deep_copy()).unwrap_or_default();
            let destv = dg.borrow().get(&key).cloned();
            match destv {
                None => {
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(Value::Map(dm)) => {
                    coalesce_tables(&vv, &dm, &concat(prefix, &key), true, log);
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(_) => log.0.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if matches!(dg.borrow().get(&key), Some(Value::Map(_))) {
            log.0.push(format!("key {key} is table. Skipping"));
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut().insert("global".into(), Value::Map(dg));
}

/// `Values.PathValue`: the value at a dotted path.
fn path_value(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for k in path.split('.') {
        let next = match &cur {
            Value::Map(m) => m.borrow().get(k).cloned(),
            _ => None,
        };
        cur = next?;
    }
    Some(cur)
}

/// `Values.Table`: the map at a dotted path.
fn table(v: &Value, path: &str) -> Option<MapRef> {
    match path_value(v, path)? {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// Helm's `ProcessDependencies` (without merge): enable/disable and alias
/// dependencies, then import values.
pub fn process_dependencies(c: &mut Chart, vals: &Value, log: &mut Log) -> Result<(), String> {
    process_enabled(c, vals, "", log)?;
    process_import_values(c, log)
}

fn process_enabled(c: &mut Chart, v: &Value, path: &str, log: &mut Log) -> Result<(), String> {
    if c.dependencies.is_empty() {
        return Ok(());
    }
    let mut deps: Vec<Chart> = Vec::new();
    // Subcharts not declared in Chart.yaml stay.
    for existing in &c.subcharts {
        let declared = c
            .dependencies
            .iter()
            .any(|r| r.name == existing.name && version_ok(&r.version, &existing.version));
        if !declared {
            deps.push(existing.clone());
        }
    }
    for r in &mut c.dependencies {
        if let Some(found) = c
            .subcharts
            .iter()
            .find(|s| s.name == r.name && version_ok(&r.version, &s.version))
        {
            let mut sc = found.clone();
            if !r.alias.is_empty() {
                sc.name = r.alias.clone();
                if let Value::Map(m) = &sc.meta {
                    let m2 = m.borrow().clone();
                    let nm = Value::map(m2);
                    if let Value::Map(nmm) = &nm {
                        nmm.borrow_mut().insert("name".into(), Value::str(&r.alias));
                    }
                    sc.meta = nm;
                }
            }
            deps.push(sc);
        }
        if !r.alias.is_empty() {
            r.name = r.alias.clone();
        }
    }
    c.subcharts = deps;
    for r in &mut c.dependencies {
        r.enabled = true;
    }
    let cvals = coalesce_values(c, v, log)?;
    // Tags.
    if let Some(tags) = table(&cvals, "tags") {
        for r in &mut c.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for t in &r.tags {
                if let Some(Value::Bool(b)) = tags.borrow().get(t) {
                    if *b {
                        has_true = true;
                    } else {
                        has_false = true;
                    }
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    // Conditions.
    for r in &mut c.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(v) = path_value(&cvals, &format!("{path}{cond}")) {
                if let Value::Bool(b) = v {
                    r.enabled = b;
                    break;
                }
                log.0.push(format!(
                    "returned non-bool value path={cond} chart={}",
                    r.name
                ));
            }
        }
    }
    let disabled: Vec<String> = c
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.subcharts.retain(|s| !disabled.contains(&s.name));
    c.dependencies.retain(|r| !disabled.contains(&r.name));
    for t in &mut c.subcharts {
        let sub = format!("{path}{}.", t.name);
        process_enabled(t, &cvals, &sub, log)?;
    }
    Ok(())
}

/// `IsCompatibleRange`: does the version satisfy the dependency's range?
fn version_ok(range: &str, version: &str) -> bool {
    if range.is_empty() {
        return true;
    }
    crate::semver::compare(range, version).unwrap_or(false)
}

fn process_import_values(c: &mut Chart, log: &mut Log) -> Result<(), String> {
    for d in &mut c.subcharts {
        process_import_values(d, log)?;
    }
    if c.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesce_values(c, &Value::empty_map(), log)?;
    let b = as_map(&Value::empty_map()).unwrap_or_default();
    for r in &mut c.dependencies {
        let mut out = Vec::new();
        for iv in &r.import_values {
            match iv {
                Value::Map(m) => {
                    let child = m
                        .borrow()
                        .get("child")
                        .map(crate::funcs::strval)
                        .unwrap_or_else(|| "<nil>".into());
                    let parent = m
                        .borrow()
                        .get("parent")
                        .map(crate::funcs::strval)
                        .unwrap_or_else(|| "<nil>".into());
                    let mut o = BTreeMap::new();
                    o.insert("child".to_string(), Value::str(&child));
                    o.insert("parent".to_string(), Value::str(&parent));
                    out.push(Value::map(o));
                    let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        log.0.push(format!(
                            "ImportValues missing table from chart {}: {child}",
                            r.name
                        ));
                        continue;
                    };
                    let pm = path_to_map(&parent, &Value::Map(vv).deep_copy());
                    coalesce_tables(&b, &pm, "", false, log);
                }
                Value::Str(s) => {
                    let child = format!("exports.{s}");
                    let mut o = BTreeMap::new();
                    o.insert("child".to_string(), Value::str(&child));
                    o.insert("parent".to_string(), Value::str("."));
                    out.push(Value::map(o));
                    let Some(vm) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        log.0.push(format!("ImportValues missing table: {child}"));
                        continue;
                    };
                    let vm = as_map(&Value::Map(vm).deep_copy()).unwrap_or_default();
                    coalesce_tables(&b, &vm, "", false, log);
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    let trimmed = trim_nils(&cvals);
    let tm = as_map(&trimmed).unwrap_or_default();
    coalesce_tables(&tm, &b, "", false, log);
    c.values = Value::Map(tm);
    Ok(())
}

fn trim_nils(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .filter(|(_, x)| !matches!(x, Value::Nil))
                .map(|(k, x)| (k.clone(), trim_nils(x)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// `pathToMap`: `a.b` and a table become `{a: {b: table}}` (`.` is the
/// table itself).
fn path_to_map(path: &str, data: &Value) -> MapRef {
    let data = as_map(data).unwrap_or_default();
    if path == "." {
        return data;
    }
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut cur = data;
    for p in parts.iter().rev() {
        let mut m = BTreeMap::new();
        m.insert(p.to_string(), Value::Map(cur));
        cur = as_map(&Value::map(m)).unwrap_or_default();
    }
    cur
}
