//! `helm template`, as a function: [`TemplateOptions`] mirrors helm
//! v4.1.4's flags, [`template`] returns the bytes helm prints on stdout,
//! or a [`HelmError`] with the message helm prints after `Error: `.
//!
//! The steps follow `pkg/cmd/template.go` and `pkg/action/install.go`:
//! load the chart, check it is installable and its dependencies present,
//! merge the user's values (`-f` files, then `--set-json`, `--set`,
//! `--set-string`, `--set-file`), process dependencies, coalesce, validate
//! against `values.schema.json`, render, split and sort the manifests,
//! then print CRDs (`--include-crds`), manifests and hooks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::Digest as _;

use crate::chart::{self, Chart};
use crate::engine::{Renderable, render};
use crate::manifest::{self, Sorted};
use crate::objects::{Files, HelmVersion, KubeVersion, Struct, VersionSet};
use crate::strvals::{self, Kind};
use crate::value::{MapRef, Value};
use crate::values::{self, Log};

/// `helm template` flags (helm v4.1.4).
#[derive(Clone, Debug, Default)]
pub struct TemplateOptions {
    /// `NAME` (default `release-name`).
    pub release_name: Option<String>,
    /// `CHART`: a chart directory or a packaged `.tgz`.
    pub chart: PathBuf,
    /// `--namespace` (default `default`).
    pub namespace: Option<String>,
    /// `-f/--values`, in order.
    pub values_files: Vec<PathBuf>,
    /// `--set`.
    pub set: Vec<String>,
    /// `--set-string`.
    pub set_string: Vec<String>,
    /// `--set-file` (`key=path`; the file's content is the value).
    pub set_file: Vec<String>,
    /// `--set-json`.
    pub set_json: Vec<String>,
    /// `--kube-version` (default v1.35.0, helm v4.1.4's).
    pub kube_version: Option<String>,
    /// `--api-versions`, added to helm's default set.
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    /// `--skip-crds` (no effect on `helm template`'s output).
    pub skip_crds: bool,
    pub skip_tests: bool,
    pub skip_schema_validation: bool,
    /// `--show-only` (globs over `templates/...` paths).
    pub show_only: Vec<String>,
    /// `--output-dir`: write files instead of printing them.
    pub output_dir: Option<PathBuf>,
    /// `--name-template`: the release name is this template rendered.
    pub name_template: Option<String>,
    pub is_upgrade: bool,
    pub no_hooks: bool,
    /// The fixed time `now` returns (seconds since the epoch).
    pub time: i64,
    /// What a relative `output_dir` is relative to (`None`: the process's
    /// working directory). `wrote PATH` lines show `output_dir` as given.
    pub cwd: Option<PathBuf>,
}

/// A successful render.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Exactly what `helm template` prints on stdout.
    pub stdout: Vec<u8>,
    /// What helm logs on stderr (`level=INFO msg="warning: ..."`), one
    /// message per line, without the log prefix.
    pub warnings: Vec<String>,
}

/// A failed render: helm prints `Error: {message}` and exits 1.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct HelmError {
    pub message: String,
    pub warnings: Vec<String>,
}

impl HelmError {
    /// What helm prints on stderr.
    pub fn stderr(&self) -> String {
        format!("Error: {}\n", self.message)
    }
}

fn fail(message: impl Into<String>, log: &Log) -> HelmError {
    HelmError {
        message: message.into(),
        warnings: log.0.clone(),
    }
}

/// helm v4.1.4's default `.Capabilities.APIVersions`.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The render seed: everything about the release that names it.
pub fn release_seed(release: &str, namespace: &str, chart: &str) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"hlb-helm release seed v1\0");
    for part in [release, namespace, chart] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

fn new_map() -> MapRef {
    match Value::empty_map() {
        Value::Map(m) => m,
        _ => unreachable!(),
    }
}

fn parse_kube_version(v: &str) -> Result<KubeVersion, String> {
    let t = v.strip_prefix('v').unwrap_or(v);
    let core = t.split(['-', '+']).next().unwrap_or(t);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() < 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("could not parse {v:?} as version"));
    }
    Ok(KubeVersion {
        version: if v.starts_with('v') {
            v.to_string()
        } else {
            format!("v{v}")
        },
        major: parts[0]
            .parse::<u64>()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        minor: parts[1]
            .parse::<u64>()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    })
}

/// User values: `-f` files merged in order, then the `--set` family.
fn user_values(o: &TemplateOptions, log: &Log) -> Result<Value, HelmError> {
    let base = new_map();
    for f in &o.values_files {
        let text = std::fs::read_to_string(f).map_err(|_| {
            fail(
                format!("open {}: no such file or directory", f.display()),
                log,
            )
        })?;
        let v = crate::convert::from_yaml(&text)
            .map_err(|e| fail(format!("failed to parse {}: {e}", f.display()), log))?;
        match v {
            Value::Map(m) => values::merge_maps(&base, &m),
            Value::Nil => {}
            _ => {
                return Err(fail(
                    format!(
                        "failed to parse {}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {{}}",
                        f.display()
                    ),
                    log,
                ));
            }
        }
    }
    for s in &o.set_json {
        strvals::parse_into(s, &base, Kind::Json)
            .map_err(|e| fail(format!("failed parsing --set-json data {s}: {e}"), log))?;
    }
    for s in &o.set {
        strvals::parse_into(s, &base, Kind::Typed)
            .map_err(|e| fail(format!("failed parsing --set data: {e}"), log))?;
    }
    for s in &o.set_string {
        strvals::parse_into(s, &base, Kind::Str)
            .map_err(|e| fail(format!("failed parsing --set-string data: {e}"), log))?;
    }
    for s in &o.set_file {
        let (k, path) = s.split_once('=').ok_or_else(|| {
            fail(
                format!("failed parsing --set-file data: key {s:?} has no value"),
                log,
            )
        })?;
        let content = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("failed parsing --set-file data: {e}"), log))?;
        let one = new_map();
        strvals::parse_into(&format!("{k}=x"), &one, Kind::Str).map_err(|e| fail(e, log))?;
        set_leaf(&one, &Value::str(content));
        values::merge_maps(&base, &one);
    }
    Ok(Value::Map(base))
}

/// Replace the single leaf of a one-path map with `v`.
fn set_leaf(m: &MapRef, v: &Value) {
    let keys: Vec<String> = m.borrow().keys().cloned().collect();
    for k in keys {
        let child = m.borrow().get(&k).cloned();
        match child {
            Some(Value::Map(c)) => set_leaf(&c, v),
            _ => {
                m.borrow_mut().insert(k, v.clone());
            }
        }
    }
}

/// Run `helm template`.
pub fn template(o: &TemplateOptions) -> Result<Rendered, HelmError> {
    let mut log = Log::default();
    let kube = match &o.kube_version {
        Some(v) => parse_kube_version(v)
            .map_err(|e| fail(format!("invalid kube version '{v}': {e}"), &log))?,
        None => KubeVersion {
            version: "v1.35.0".into(),
            major: "1".into(),
            minor: "35".into(),
        },
    };
    let mut ch = chart::load(&o.chart).map_err(|e| fail(e.0, &log))?;
    if ch.is_library() {
        return Err(fail("library charts are not installable", &log));
    }
    if matches!(&ch.meta, Value::Map(m) if matches!(m.borrow().get("deprecated"), Some(Value::Bool(true))))
    {
        log.0.push("this chart is deprecated".into());
    }
    let missing: Vec<String> = ch
        .dependencies
        .iter()
        .filter(|d| !ch.subcharts.iter().any(|s| s.name == d.name))
        .map(|d| d.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(fail(
            format!(
                "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
                missing.join(", ")
            ),
            &log,
        ));
    }
    let vals = user_values(o, &log)?;
    let namespace = o.namespace.clone().unwrap_or_else(|| "default".into());
    let release = match (&o.name_template, &o.release_name) {
        (Some(t), _) => render_name(t, o.time).map_err(|e| fail(e, &log))?,
        (None, Some(n)) => n.clone(),
        (None, None) => "release-name".into(),
    };
    if release.len() > 53 || !valid_release_name(&release) {
        return Err(fail(
            format!(
                "release name {release:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
            ),
            &log,
        ));
    }
    values::process_dependencies(&mut ch, &vals, &mut log).map_err(|e| fail(e, &log))?;
    chart::reset_paths(&mut ch);
    let coalesced = values::coalesce_values(&ch, &vals, &mut log).map_err(|e| fail(e, &log))?;
    if !o.skip_schema_validation {
        crate::schema::validate(&ch, &coalesced).map_err(|e| fail(e, &log))?;
    }
    // Capabilities.
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
    apis.extend(o.api_versions.iter().cloned());
    let caps = Value::Object(Rc::new(Struct {
        type_name: "*common.Capabilities",
        fields: vec![
            ("KubeVersion", Value::Object(Rc::new(kube.clone()))),
            ("APIVersions", Value::Object(Rc::new(VersionSet(apis)))),
            ("HelmVersion", Value::Object(Rc::new(HelmVersion))),
        ],
    }));
    if let Value::Map(m) = &ch.meta
        && let Some(Value::Str(kv)) = m.borrow().get("kubeVersion")
        && !kv.is_empty()
    {
        let norm = format!(
            "v{}",
            kube.version
                .trim_start_matches('v')
                .split(['-', '+'])
                .next()
                .unwrap_or("")
        );
        if !crate::semver::compare(kv, &norm).unwrap_or(false) {
            return Err(fail(
                format!(
                    "chart requires kubeVersion: {kv} which is incompatible with Kubernetes {}\n\nUse --debug flag to render out invalid YAML",
                    kube.version
                ),
                &log,
            ));
        }
    }
    let mut rel = BTreeMap::new();
    rel.insert("Name".to_string(), Value::str(&release));
    rel.insert("Namespace".to_string(), Value::str(&namespace));
    rel.insert("IsUpgrade".to_string(), Value::Bool(o.is_upgrade));
    rel.insert("IsInstall".to_string(), Value::Bool(!o.is_upgrade));
    rel.insert("Revision".to_string(), Value::Int(1));
    rel.insert("Service".to_string(), Value::str("Helm"));
    let release_v = Value::map(rel);
    let mut tpls = Vec::new();
    scope(&ch, &coalesced, &release_v, &caps, &mut tpls);
    let seed = release_seed(&release, &namespace, &ch.name);
    let rendered = render(tpls, seed, o.time).map_err(|e| {
        fail(
            format!("{e}\n\nUse --debug flag to render out invalid YAML"),
            &log,
        )
    })?;
    // NOTES.txt files are rendered but never printed.
    let files: BTreeMap<String, String> = rendered
        .into_iter()
        .filter(|(k, _)| !k.ends_with("NOTES.txt"))
        .collect();
    let sorted: Sorted = manifest::sort_manifests(&files).map_err(|e| {
        fail(
            format!("{e}\n\nUse --debug flag to render out invalid YAML"),
            &log,
        )
    })?;
    let stdout = manifest::assemble(&ch, &sorted, o).map_err(|e| fail(e, &log))?;
    Ok(Rendered {
        stdout: stdout.into_bytes(),
        warnings: log.0,
    })
}

fn valid_release_name(n: &str) -> bool {
    !n.is_empty()
        && n.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn render_name(t: &str, now: i64) -> Result<String, String> {
    let trees = crate::template::parse("name-template", t, &crate::engine::is_func)
        .map_err(|e| e.to_string())?;
    let mut set = crate::template::Set::default();
    set.add(trees);
    let tree = set
        .trees
        .get("name-template")
        .cloned()
        .ok_or("empty name template")?;
    let mut env = crate::engine::RenderEnv::new(release_seed("", "", t), now);
    let mut out = String::new();
    let mut ex = crate::template::Exec::new(&set, &mut env, &tree);
    ex.run(Value::Invalid, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Helm's `recAllTpls`: each chart's scope map and its templates.
fn scope(
    c: &Chart,
    vals: &Value,
    release: &Value,
    caps: &Value,
    out: &mut Vec<Renderable>,
) -> Value {
    let values = if c.is_root {
        vals.clone()
    } else {
        match vals {
            Value::Map(m) => match m.borrow().get(&c.name) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        }
    };
    if let Value::Map(vm) = &values {
        vm.values_type.set(true);
    }
    let subcharts = new_map();
    let next = new_map();
    next.values_type.set(true);
    {
        let mut n = next.borrow_mut();
        n.insert("Chart".into(), c.metadata_map());
        n.insert(
            "Files".into(),
            Value::Object(Rc::new(Files {
                files: c.files.clone(),
            })),
        );
        n.insert("Release".into(), release.clone());
        n.insert("Capabilities".into(), caps.clone());
        n.insert("Values".into(), values.clone());
        n.insert("Subcharts".into(), Value::Map(subcharts.clone()));
    }
    for sub in &c.subcharts {
        let s = scope(sub, &values, release, caps, out);
        subcharts.borrow_mut().insert(sub.name.clone(), s);
    }
    for (name, data) in &c.templates {
        if c.is_library() && !name.rsplit('/').next().unwrap_or(name).starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{}/{name}", c.full_path),
            text: String::from_utf8_lossy(data).into_owned(),
            vals: Value::Map(next.clone()),
            base_path: format!("{}/templates", c.full_path),
        });
    }
    Value::Map(next)
}

/// Helper for callers: `true` when `path` looks like a packaged chart.
pub fn is_archive(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tgz")
}

/// Parse `helm template`'s arguments (after `template`) into options,
/// relative paths resolved against `cwd`. Supports the flags of
/// [`TemplateOptions`] in their `--flag value` and `--flag=value` forms.
pub fn parse_args(args: &[String], cwd: &Path) -> Result<TemplateOptions, String> {
    let mut o = TemplateOptions {
        cwd: Some(cwd.to_path_buf()),
        ..TemplateOptions::default()
    };
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("flag needs an argument: {flag}"))
        };
        match flag.as_str() {
            "-n" | "--namespace" => o.namespace = Some(value()?),
            "-f" | "--values" => {
                for f in value()?.split(',') {
                    o.values_files.push(cwd.join(f));
                }
            }
            "--set" => o.set.push(value()?),
            "--set-string" => o.set_string.push(value()?),
            "--set-file" => {
                let v = value()?;
                o.set_file.push(match v.split_once('=') {
                    Some((k, p)) => format!("{k}={}", cwd.join(p).display()),
                    None => v,
                });
            }
            "--set-json" => o.set_json.push(value()?),
            "--kube-version" => o.kube_version = Some(value()?),
            "-a" | "--api-versions" => {
                for v in value()?.split(',') {
                    o.api_versions.push(v.to_string());
                }
            }
            "--include-crds" => o.include_crds = true,
            "--skip-crds" => o.skip_crds = true,
            "--skip-tests" => o.skip_tests = true,
            "--skip-schema-validation" => o.skip_schema_validation = true,
            "-s" | "--show-only" => o.show_only.push(value()?),
            "--output-dir" => o.output_dir = Some(PathBuf::from(value()?)),
            "--name-template" => o.name_template = Some(value()?),
            "--is-upgrade" => o.is_upgrade = true,
            "--no-hooks" => o.no_hooks = true,
            f if f.starts_with('-') => return Err(format!("unknown flag: {f}")),
            _ => positional.push(a.clone()),
        }
        i += 1;
    }
    match positional.as_slice() {
        [chart] => o.chart = cwd.join(chart),
        [name, chart] => {
            o.release_name = Some(name.clone());
            o.chart = cwd.join(chart);
        }
        _ => {
            return Err(format!(
                "expected at most 2 arguments, received {}",
                positional.len()
            ));
        }
    }
    Ok(o)
}
