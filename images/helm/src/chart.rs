//! Loading a chart: a directory (with `.helmignore`) or a packaged `.tgz`,
//! its `charts/` dependencies (directories and archives), recursively.
//!
//! Facts followed (Helm's v2 loader): `Chart.yaml` is the metadata
//! (`apiVersion` defaults to `v1`), `requirements.yaml` adds dependencies
//! for v1 charts, `values.yaml` the defaults, `values.schema.json` the
//! schema, `templates/**` the templates, `charts/<name>/` and
//! `charts/<name>.tgz` the subcharts (names starting with `_` or `.` are
//! skipped), everything else is `.Files`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::rc::Rc;

use crate::convert::from_yaml;
use crate::value::Value;

/// A dependency as `Chart.yaml` declares it.
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// A loaded chart.
#[derive(Clone)]
pub struct Chart {
    /// `Chart.yaml` as read (untyped, for the fields we do not model).
    pub meta: Value,
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub chart_type: String,
    pub dependencies: Vec<Dependency>,
    /// `values.yaml` (an empty map when absent).
    pub values: Value,
    pub schema: Option<Vec<u8>>,
    /// `templates/...` files, by path relative to the chart.
    pub templates: Vec<(String, Rc<[u8]>)>,
    /// Every other file, by path relative to the chart.
    pub files: BTreeMap<String, Rc<[u8]>>,
    pub subcharts: Vec<Chart>,
    /// Full path for `# Source:` and template names (`parent/charts/sub`).
    pub full_path: String,
    pub is_root: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

type R<T> = Result<T, LoadError>;

fn err(s: impl Into<String>) -> LoadError {
    LoadError(s.into())
}

/// Load a chart from a directory or a `.tgz`.
pub fn load(path: &Path) -> R<Chart> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            err(format!("path {:?} not found", path.display().to_string()))
        }
        _ => err(format!("{}: {e}", path.display())),
    })?;
    let files = if meta.is_dir() {
        read_dir_files(path)?
    } else {
        let data = std::fs::read(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        read_archive(&data)?
    };
    let mut c = load_files(files)?;
    c.is_root = true;
    set_paths(&mut c, "");
    Ok(c)
}

fn set_paths(c: &mut Chart, parent: &str) {
    c.full_path = if parent.is_empty() {
        c.name.clone()
    } else {
        format!("{parent}/charts/{}", c.name)
    };
    let p = c.full_path.clone();
    for s in &mut c.subcharts {
        s.is_root = false;
        set_paths(s, &p);
    }
}

/// Re-derive full paths after dependencies were renamed (aliases).
pub fn reset_paths(c: &mut Chart) {
    set_paths(c, "");
}

/// Files of a chart directory, honouring `.helmignore`.
fn read_dir_files(root: &Path) -> R<Vec<(String, Vec<u8>)>> {
    let rules = match std::fs::read_to_string(root.join(".helmignore")) {
        Ok(t) => crate::helmignore::Rules::parse(&t).map_err(err)?,
        Err(_) => crate::helmignore::Rules::parse("").map_err(err)?,
    };
    let mut out = Vec::new();
    walk(root, "", &rules, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    rules: &crate::helmignore::Rules,
    out: &mut Vec<(String, Vec<u8>)>,
) -> R<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ft =
            std::fs::metadata(e.path()).map_err(|x| err(format!("{}: {x}", e.path().display())))?;
        if rules.ignore(&path, ft.is_dir()) {
            continue;
        }
        if ft.is_dir() {
            walk(&e.path(), &path, rules, out)?;
        } else {
            let data =
                std::fs::read(e.path()).map_err(|x| err(format!("{}: {x}", e.path().display())))?;
            out.push((path, data));
        }
    }
    Ok(())
}

/// Files of a packaged chart, without the top directory.
fn read_archive(data: &[u8]) -> R<Vec<(String, Vec<u8>)>> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut ar = tar::Archive::new(gz);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in ar.entries().map_err(|e| err(e.to_string()))? {
        let mut entry = entry.map_err(|e| err(e.to_string()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| err(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| err(e.to_string()))?;
        // A later entry with the same name replaces an earlier one.
        out.retain(|(n, _)| n != rest);
        out.push((rest.to_string(), buf));
    }
    if out.is_empty() {
        return Err(err("no files in chart archive"));
    }
    Ok(out)
}

fn yaml_map(text: &[u8], what: &str) -> R<Value> {
    let t = String::from_utf8_lossy(text);
    match from_yaml(&t) {
        Ok(v @ Value::Map(_)) => Ok(v),
        Ok(Value::Nil) => Ok(Value::empty_map()),
        Ok(_) => Err(err(format!(
            "cannot load {what}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {{}}"
        ))),
        Err(e) => Err(err(format!("cannot load {what}: {e}"))),
    }
}

fn str_field(m: &Value, k: &str) -> String {
    match m {
        Value::Map(m) => match m.borrow().get(k) {
            Some(Value::Str(s)) => s.to_string(),
            Some(Value::Float(f)) => crate::value::format_float_g(*f),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn parse_deps(m: &Value) -> Vec<Dependency> {
    let Value::Map(m) = m else { return Vec::new() };
    let Some(Value::List(l)) = m.borrow().get("dependencies").cloned() else {
        return Vec::new();
    };
    l.iter()
        .map(|d| Dependency {
            name: str_field(d, "name"),
            version: str_field(d, "version"),
            repository: str_field(d, "repository"),
            condition: str_field(d, "condition"),
            tags: match d {
                Value::Map(dm) => match dm.borrow().get("tags") {
                    Some(Value::List(t)) => t.iter().map(crate::funcs::strval).collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            },
            enabled: false,
            import_values: match d {
                Value::Map(dm) => match dm.borrow().get("import-values") {
                    Some(Value::List(t)) => t.as_ref().clone(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            },
            alias: str_field(d, "alias"),
        })
        .collect()
}

/// Build a chart from its files (paths relative to its root).
pub fn load_files(files: Vec<(String, Vec<u8>)>) -> R<Chart> {
    let chart_yaml = files
        .iter()
        .find(|(n, _)| n == "Chart.yaml")
        .ok_or_else(|| err("Chart.yaml file is missing"))?;
    let meta = yaml_map(&chart_yaml.1, "Chart.yaml")?;
    let mut api_version = str_field(&meta, "apiVersion");
    if api_version.is_empty() {
        api_version = "v1".into();
    }
    let mut c = Chart {
        name: str_field(&meta, "name"),
        version: str_field(&meta, "version"),
        chart_type: str_field(&meta, "type"),
        dependencies: parse_deps(&meta),
        api_version,
        meta,
        values: Value::empty_map(),
        schema: None,
        templates: Vec::new(),
        files: BTreeMap::new(),
        subcharts: Vec::new(),
        full_path: String::new(),
        is_root: false,
    };
    let mut sub: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (name, data) in files {
        match name.as_str() {
            "Chart.yaml" | "Chart.lock" | "requirements.lock" => {}
            "values.yaml" => c.values = yaml_map(&data, "values.yaml")?,
            "values.schema.json" => c.schema = Some(data),
            "requirements.yaml" => {
                let req = yaml_map(&data, "requirements.yaml")?;
                if c.api_version == "v1" {
                    c.dependencies = parse_deps(&req);
                    c.files.insert(name, Rc::from(data));
                }
            }
            n if n.starts_with("templates/") => c.templates.push((name, Rc::from(data))),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    c.files.insert(name, Rc::from(data));
                    continue;
                }
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or(rest).to_string();
                sub.entry(cname).or_default().push((rest.to_string(), data));
            }
            _ => {
                c.files.insert(name, Rc::from(data));
            }
        }
    }
    if c.name.is_empty() {
        return Err(err("validation: chart.metadata.name is required"));
    }
    if c.version.is_empty() {
        return Err(err("validation: chart.metadata.version is required"));
    }
    for (n, fs) in sub {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if n.ends_with(".tgz") {
            let Some((_, data)) = fs.into_iter().find(|(f, _)| *f == n) else {
                continue;
            };
            read_archive(&data).and_then(load_files)
        } else {
            let inner: Vec<(String, Vec<u8>)> = fs
                .into_iter()
                .filter_map(|(f, d)| f.split_once('/').map(|(_, r)| (r.to_string(), d)))
                .collect();
            load_files(inner)
        };
        match sc {
            Ok(sc) => c.subcharts.push(sc),
            Err(e) => {
                return Err(err(format!(
                    "error unpacking subchart {n} in {}: {e}",
                    c.name
                )));
            }
        }
    }
    Ok(c)
}

impl Chart {
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }

    /// `.Chart` as Helm 4 exposes it (the metadata struct as a map).
    pub fn metadata_map(&self) -> Value {
        let mut m = BTreeMap::new();
        let s = |k: &str| Value::str(str_field(&self.meta, k));
        let list = |k: &str| -> Value {
            match &self.meta {
                Value::Map(mm) => match mm.borrow().get(k) {
                    Some(Value::List(l)) => Value::list(
                        l.iter()
                            .map(|x| Value::str(crate::funcs::strval(x)))
                            .collect(),
                    ),
                    _ => Value::list(Vec::new()),
                },
                _ => Value::list(Vec::new()),
            }
        };
        m.insert("APIVersion".into(), Value::str(&self.api_version));
        let ann = match &self.meta {
            Value::Map(mm) => match mm.borrow().get("annotations") {
                Some(Value::Map(a)) => Value::map(
                    a.borrow()
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::str(crate::funcs::strval(v))))
                        .collect(),
                ),
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        };
        m.insert("Annotations".into(), ann);
        m.insert("AppVersion".into(), s("appVersion"));
        m.insert("Condition".into(), s("condition"));
        m.insert(
            "Dependencies".into(),
            Value::list(
                self.dependencies
                    .iter()
                    .map(|d| {
                        let mut dm = BTreeMap::new();
                        dm.insert("Name".to_string(), Value::str(&d.name));
                        dm.insert("Version".to_string(), Value::str(&d.version));
                        dm.insert("Repository".to_string(), Value::str(&d.repository));
                        dm.insert("Condition".to_string(), Value::str(&d.condition));
                        dm.insert(
                            "Tags".to_string(),
                            Value::list(d.tags.iter().map(Value::str).collect()),
                        );
                        dm.insert("Enabled".to_string(), Value::Bool(d.enabled));
                        dm.insert(
                            "ImportValues".to_string(),
                            Value::list(d.import_values.clone()),
                        );
                        dm.insert("Alias".to_string(), Value::str(&d.alias));
                        Value::map(dm)
                    })
                    .collect(),
            ),
        );
        let deprecated = matches!(&self.meta, Value::Map(mm) if matches!(mm.borrow().get("deprecated"), Some(Value::Bool(true))));
        m.insert("Deprecated".into(), Value::Bool(deprecated));
        m.insert("Description".into(), s("description"));
        m.insert("Home".into(), s("home"));
        m.insert("Icon".into(), s("icon"));
        m.insert("IsRoot".into(), Value::Bool(self.is_root));
        m.insert("Keywords".into(), list("keywords"));
        m.insert("KubeVersion".into(), s("kubeVersion"));
        let maint = match &self.meta {
            Value::Map(mm) => match mm.borrow().get("maintainers") {
                Some(Value::List(l)) => Value::list(
                    l.iter()
                        .map(|x| {
                            let mut mm = BTreeMap::new();
                            mm.insert("Name".to_string(), Value::str(str_field(x, "name")));
                            mm.insert("Email".to_string(), Value::str(str_field(x, "email")));
                            mm.insert("URL".to_string(), Value::str(str_field(x, "url")));
                            Value::map(mm)
                        })
                        .collect(),
                ),
                _ => Value::list(Vec::new()),
            },
            _ => Value::list(Vec::new()),
        };
        m.insert("Maintainers".into(), maint);
        m.insert("Name".into(), Value::str(&self.name));
        m.insert("Sources".into(), list("sources"));
        m.insert("Tags".into(), s("tags"));
        m.insert("Type".into(), Value::str(&self.chart_type));
        m.insert("Version".into(), Value::str(&self.version));
        Value::map(m)
    }
}
