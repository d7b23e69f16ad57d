//! From rendered files to `helm template`'s output (helm v4.1.4):
//! documents split on `(?:^|\s*\n)---\s*` after trimming (each document
//! trimmed too), hooks (`helm.sh/hook`) set apart, manifests and hooks
//! each stable-sorted by kind install order (unknown kinds last, by
//! name), CRDs from `crds/` first with `--include-crds`, then
//! `---\n# Source: PATH\nDOC\n` per document.

use std::collections::BTreeMap;
use std::io::Write as _;

use crate::api::TemplateOptions;
use crate::chart::Chart;
use crate::value::Value;

/// Helm's InstallOrder.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// One document of a rendered file.
#[derive(Debug, Clone)]
pub struct Doc {
    pub path: String,
    pub content: String,
    pub kind: String,
    pub api_version: String,
    /// Hook events when it is a hook.
    pub hook_events: Option<Vec<String>>,
}

/// Manifests and hooks in output order.
#[derive(Debug, Default)]
pub struct Sorted {
    pub manifests: Vec<Doc>,
    pub hooks: Vec<Doc>,
}

fn is_go_space(c: char) -> bool {
    crate::funcs::strings::is_go_space(c)
}

/// Helm v4.1.4's `SplitManifests`.
pub fn split_manifests(big: &str) -> Vec<String> {
    let t = big.trim_matches(is_go_space);
    let mut docs = Vec::new();
    let b = t.as_bytes();
    let mut start = 0;
    let mut i = 0;
    // Separator: (?:^|\s*\n)---\s*
    while i < b.len() {
        let at_sep = if i == 0 && t.starts_with("---") {
            Some((0, 3))
        } else if b[i] == b'\n' && t[i + 1..].starts_with("---") {
            // Extend back over whitespace before the newline.
            let mut s = i;
            while s > start && is_go_space(b[s - 1] as char) && b[s - 1].is_ascii() {
                s -= 1;
            }
            Some((s, i + 4))
        } else {
            None
        };
        if let Some((s, mut e)) = at_sep {
            docs.push(t[start..s].to_string());
            while e < b.len() && (b[e] as char).is_ascii_whitespace() {
                e += 1;
            }
            start = e;
            i = e;
            continue;
        }
        i += 1;
    }
    docs.push(t[start..].to_string());
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(is_go_space).to_string())
        .collect()
}

fn head_str(m: &Value, key: &str, path: &str, field: &str) -> Result<String, String> {
    match m {
        Value::Map(mm) => match mm.borrow().get(key) {
            None | Some(Value::Nil) => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            // sigs.k8s.io/yaml converts scalars to the string a string
            // field wants.
            Some(v @ (Value::Bool(_) | Value::Float(_) | Value::Int(_) | Value::I64(_))) => {
                Ok(crate::funcs::strval(v))
            }
            Some(other) => Err(format!(
                "YAML parse error on {path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type string",
                json_kind(other)
            )),
        },
        _ => Ok(String::new()),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "string",
    }
}

/// Helm's `SortManifests` for `helm template`.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<Sorted, String> {
    let mut out = Sorted::default();
    for (path, content) in files {
        if path.rsplit('/').next().unwrap_or(path).starts_with('_') {
            continue;
        }
        if content.trim_matches(is_go_space).is_empty() {
            continue;
        }
        for d in split_manifests(content) {
            let head = crate::convert::from_yaml_keys(&d, &["apiVersion", "kind", "metadata"])
                .map_err(|e| format!("YAML parse error on {path}: {e}"))?;
            let head = match head {
                v @ Value::Map(_) => v,
                Value::Nil => Value::empty_map(),
                other => {
                    return Err(format!(
                        "YAML parse error on {path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                        json_kind(&other)
                    ));
                }
            };
            let api_version = head_str(&head, "apiVersion", path, "SimpleHead.apiVersion")?;
            let kind = head_str(&head, "kind", path, "SimpleHead.kind")?;
            let meta = match &head {
                Value::Map(m) => m.borrow().get("metadata").cloned(),
                _ => None,
            };
            let mut annotations: BTreeMap<String, String> = BTreeMap::new();
            if let Some(meta @ Value::Map(_)) = &meta {
                head_str(meta, "name", path, "SimpleHead.metadata.name")?;
                if let Value::Map(mm) = meta
                    && let Some(Value::Map(a)) = mm.borrow().get("annotations")
                {
                    for (k, v) in a.borrow().iter() {
                        match v {
                            Value::Str(s) => {
                                annotations.insert(k.clone(), s.to_string());
                            }
                            Value::Nil => {}
                            Value::Bool(_) | Value::Float(_) => {
                                annotations.insert(k.clone(), crate::funcs::strval(v));
                            }
                            other => {
                                return Err(format!(
                                    "YAML parse error on {path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type string",
                                    json_kind(other)
                                ));
                            }
                        }
                    }
                }
            }
            let hook = annotations.get("helm.sh/hook");
            let doc = Doc {
                path: path.clone(),
                content: d,
                kind,
                api_version,
                hook_events: None,
            };
            match hook {
                None => out.manifests.push(doc),
                Some(h) => {
                    let mut events = Vec::new();
                    let mut unknown = false;
                    for e in h.split(',') {
                        let e = e.trim().to_lowercase();
                        const KNOWN: &[&str] = &[
                            "pre-install",
                            "post-install",
                            "pre-delete",
                            "post-delete",
                            "pre-upgrade",
                            "post-upgrade",
                            "pre-rollback",
                            "post-rollback",
                            "test",
                            "test-success",
                        ];
                        if !KNOWN.contains(&e.as_str()) {
                            unknown = true;
                            break;
                        }
                        events.push(if e == "test-success" {
                            "test".into()
                        } else {
                            e
                        });
                    }
                    if unknown {
                        continue;
                    }
                    out.hooks.push(Doc {
                        hook_events: Some(events),
                        ..doc
                    });
                }
            }
        }
    }
    sort_by_kind(&mut out.manifests);
    sort_by_kind(&mut out.hooks);
    Ok(out)
}

fn sort_by_kind(docs: &mut [Doc]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    docs.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// CRD files of the chart and its dependencies (`crds/*.{yaml,yml,json}`).
fn crd_objects(c: &Chart, out: &mut Vec<(String, String)>) {
    for (name, data) in &c.files {
        let lower = name.to_ascii_lowercase();
        if name.starts_with("crds/")
            && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
        {
            out.push((
                format!("{}/{name}", c.full_path),
                String::from_utf8_lossy(data).into_owned(),
            ));
        }
    }
    for d in &c.subcharts {
        crd_objects(d, out);
    }
}

fn write_file(
    base: Option<&std::path::Path>,
    dir: &std::path::Path,
    name: &str,
    data: &str,
    append: bool,
    stdout: &mut String,
) -> Result<(), String> {
    let shown = dir.join(name);
    let path = match base {
        Some(b) => b.join(&shown),
        None => shown.clone(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    write!(f, "---\n# Source: {name}\n{data}\n").map_err(|e| format!("{}: {e}", path.display()))?;
    stdout.push_str(&format!("wrote {}\n", shown.display()));
    Ok(())
}

/// The bytes `helm template` prints.
pub fn assemble(c: &Chart, sorted: &Sorted, o: &TemplateOptions) -> Result<String, String> {
    let mut stdout = String::new();
    let mut manifest = String::new();
    let mut written: BTreeMap<String, bool> = BTreeMap::new();
    if o.include_crds {
        let mut crds = Vec::new();
        crd_objects(c, &mut crds);
        for (name, data) in crds {
            match &o.output_dir {
                None => manifest.push_str(&format!("---\n# Source: {name}\n{data}\n")),
                Some(dir) => {
                    let append = written.contains_key(&name);
                    write_file(o.cwd.as_deref(), dir, &name, &data, append, &mut stdout)?;
                    written.insert(name, true);
                }
            }
        }
    }
    for m in &sorted.manifests {
        match &o.output_dir {
            None => manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content)),
            Some(dir) => {
                let append = written.contains_key(&m.path);
                write_file(
                    o.cwd.as_deref(),
                    dir,
                    &m.path,
                    &m.content,
                    append,
                    &mut stdout,
                )?;
                written.insert(m.path.clone(), true);
            }
        }
    }
    let mut out = format!("{}\n", manifest.trim_matches(is_go_space));
    if !o.no_hooks {
        let mut hook_written: BTreeMap<String, bool> = BTreeMap::new();
        for h in &sorted.hooks {
            let is_test = h
                .hook_events
                .as_ref()
                .is_some_and(|e| e.iter().any(|x| x == "test"));
            if o.skip_tests && is_test {
                continue;
            }
            match &o.output_dir {
                None => out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.content)),
                Some(dir) => {
                    let append = hook_written.contains_key(&h.path)
                        || o.cwd
                            .as_deref()
                            .map_or_else(|| dir.join(&h.path), |b| b.join(dir).join(&h.path))
                            .exists();
                    write_file(
                        o.cwd.as_deref(),
                        dir,
                        &h.path,
                        &h.content,
                        append,
                        &mut stdout,
                    )?;
                    hook_written.insert(h.path.clone(), true);
                }
            }
        }
    }
    if !o.show_only.is_empty() {
        let docs = split_manifests(&out);
        let mut picked = Vec::new();
        for f in &o.show_only {
            let f = f.replace('\\', "/");
            let mut missing = true;
            for d in &docs {
                let Some(idx) = d.find("# Source: ") else {
                    continue;
                };
                let line = &d[idx + "# Source: ".len()..];
                let line = line.split('\n').next().unwrap_or("");
                let Some((_, rest)) = line.split_once('/') else {
                    continue;
                };
                if rest.is_empty() || !crate::glob::matches_path(&f, rest) {
                    continue;
                }
                picked.push(d.clone());
                missing = false;
            }
            if missing {
                return Err(format!("could not find template {f} in chart"));
            }
        }
        let mut s = String::new();
        for p in picked {
            s.push_str(&format!("---\n{p}\n"));
        }
        return Ok(stdout + &s);
    }
    Ok(stdout + &out)
}
