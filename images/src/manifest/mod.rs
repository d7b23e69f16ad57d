//! The `manifest` compiler: Kubernetes YAML, checked and normalized.
//!
//! Parameters: `interpolate` (bool), `params` (lab parameters the text
//! refers to), `namespace` (string or null: the namespace for namespaced
//! objects that name none), `source_name` (the recipe path, for messages).
//! Content as for `file`: recipe source `src` or the single file of input
//! `src`.
//!
//! Every document is checked: a mapping with string `apiVersion` and
//! `kind`, a `metadata` mapping and a `metadata.name` that follows the
//! kind's naming rule. A `List` (or any `…List` kind with `items`) is
//! replaced by its items. Two objects with the same group, kind, namespace
//! and name are an error.
//!
//! Namespaces: a cluster-scoped kind must not carry `metadata.namespace`.
//! A namespaced kind without one gets the declared `namespace`; with no
//! namespace declared that is an error (the object's place would depend on
//! whoever applies it). A kind hlb does not know (see [`kinds`]) is taken
//! as namespaced when it names a namespace or one is declared (it gets the
//! declared one), and as cluster-scoped otherwise.
//!
//! Output, a directory:
//! - `manifest.yaml`: the objects in the author's order, each with its keys
//!   in Go map order and written as `sigs.k8s.io/yaml` writes it, separated
//!   by `---` lines;
//! - `objects.json`: `[{"apiVersion","kind","name","namespace"}, …]` in
//!   the same order (keys sorted, `namespace` null for cluster-scoped
//!   objects), for the deployer's apply and prune.
//!
//! Every error names the source and the `line:column` of the document or
//! key at fault. With `interpolate`, positions are those of the
//! interpolated text (the same lines unless a value spans several).

pub mod kinds;

use hlb_builder::{BuildCx, BuildError, Compiler};
use serde::Serialize;

use crate::common::{
    as_text, bool_param, content, interp_params, interpolate_text, str_param, write_dir,
};
use crate::yaml::{Flavor, Mark, Node, Style, Yaml, emit_documents, parse_documents, sort_keys};
use kinds::{NameRule, Scope, check_name, group_of, name_rule, scope};

/// One applied object, as the deployer needs to find it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// A checked and normalized manifest.
#[derive(Clone, Debug)]
pub struct Normalized {
    /// Multi-document YAML, `---`-separated.
    pub yaml: String,
    pub objects: Vec<ObjectRef>,
}

impl Normalized {
    /// The output for objects already checked (each with its reference):
    /// keys in Go map order, written as `sigs.k8s.io/yaml` writes them.
    /// Every manifest output is made here, so all share one format.
    pub fn from_checked(objects: impl IntoIterator<Item = (Yaml, ObjectRef)>) -> Normalized {
        let (mut values, objects): (Vec<Yaml>, Vec<ObjectRef>) = objects.into_iter().unzip();
        for value in &mut values {
            sort_keys(value, Flavor::V2);
        }
        Normalized {
            yaml: emit_documents(values.iter(), &Style::K8S),
            objects,
        }
    }

    /// `objects.json`: canonical JSON (sorted keys, no spaces), one line.
    pub fn objects_json(&self) -> String {
        let mut s = serde_json::to_string(&self.objects).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s
    }
}

/// A manifest that is not acceptable, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{mark}: {message}")]
pub struct ManifestError {
    pub source_name: String,
    pub mark: Mark,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ManifestCompiler;

impl Compiler for ManifestCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::MANIFEST
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let source_name = str_param(cx, "source_name")?
            .unwrap_or(&cx.drv.name)
            .to_string();
        let bytes = content(cx)?;
        let text = as_text(&bytes, &source_name, "a manifest must be YAML text")?;
        let text = if bool_param(cx, "interpolate")? {
            interpolate_text(text, &interp_params(cx)?, &source_name)?
        } else {
            text.to_string()
        };
        let namespace = str_param(cx, "namespace")?;
        let n = normalize(&text, &source_name, namespace)
            .map_err(|e| BuildError::Invalid(e.to_string()))?;
        write_dir(
            cx.out,
            &[
                ("manifest.yaml", n.yaml.as_bytes()),
                ("objects.json", n.objects_json().as_bytes()),
            ],
        )
    }
}

/// Check and normalize the manifest `text` (named `source_name` in errors),
/// giving namespaced objects without a namespace `namespace`.
pub fn normalize(
    text: &str,
    source_name: &str,
    namespace: Option<&str>,
) -> Result<Normalized, ManifestError> {
    check_declared_namespace(source_name, namespace)?;
    let docs = parse_documents(text).map_err(|e| ManifestError {
        source_name: source_name.to_string(),
        mark: e.mark,
        message: e.message,
    })?;
    normalize_documents(
        docs.into_iter().map(|d| (d.root, d.start)),
        source_name,
        namespace,
    )
}

/// Check and normalize documents built in code (a compiler's own objects,
/// such as a SealedSecret), exactly as [`normalize`] treats parsed ones, so
/// the deployer sees every manifest output the same way. Each document
/// comes with the position to blame when it is wrong.
pub fn normalize_documents(
    docs: impl IntoIterator<Item = (Node, Mark)>,
    source_name: &str,
    namespace: Option<&str>,
) -> Result<Normalized, ManifestError> {
    check_declared_namespace(source_name, namespace)?;
    let err = |mark: Mark, message: String| ManifestError {
        source_name: source_name.to_string(),
        mark,
        message,
    };
    let mut cx = Objects {
        err: &err,
        namespace,
        out: Vec::new(),
        refs: Vec::new(),
        seen: Vec::new(),
    };
    for (root, start) in docs {
        let mark = root.mark.unwrap_or(start);
        match &root.value {
            Yaml::Null => continue,
            Yaml::Map(_) => {}
            other => {
                return Err(err(
                    mark,
                    format!(
                        "a manifest document must be a mapping, found {}",
                        other.type_name()
                    ),
                ));
            }
        }
        match list_items(&root) {
            Some(items) => {
                for item in items {
                    let item_mark = item.mark.unwrap_or(mark);
                    if !matches!(item.value, Yaml::Map(_)) {
                        return Err(err(
                            item_mark,
                            format!(
                                "a List item must be a mapping, found {}",
                                item.value.type_name()
                            ),
                        ));
                    }
                    if list_items(item).is_some() {
                        return Err(err(item_mark, "a List may not contain another List".into()));
                    }
                    cx.object(item.clone())?;
                }
            }
            None => cx.object(root)?,
        }
    }
    if cx.out.is_empty() {
        return Err(err(
            Mark { line: 1, column: 1 },
            "holds no Kubernetes objects".into(),
        ));
    }
    Ok(Normalized::from_checked(cx.out.into_iter().zip(cx.refs)))
}

fn check_declared_namespace(
    source_name: &str,
    namespace: Option<&str>,
) -> Result<(), ManifestError> {
    match namespace.and_then(|ns| Some((ns, check_name(ns, NameRule::Label)?))) {
        Some((ns, why)) => Err(ManifestError {
            source_name: source_name.to_string(),
            mark: Mark { line: 1, column: 1 },
            message: format!("the declared namespace `{ns}` is not valid: {why}"),
        }),
        None => Ok(()),
    }
}

/// The items of a `List` document (`kind: List`, or `kind: …List` with an
/// `items` sequence).
fn list_items(node: &Node) -> Option<&[Node]> {
    let kind = node.value.get("kind")?.value.as_str()?;
    let items = node.value.get("items").and_then(|n| n.value.as_seq());
    match items {
        Some(items) if kind.ends_with("List") => Some(items),
        None if kind == "List" => Some(&[]),
        _ => None,
    }
}

type ErrFn<'a> = &'a dyn Fn(Mark, String) -> ManifestError;

/// What makes two objects the same object: group, kind, namespace, name.
type Identity = (String, String, Option<String>, String);

struct Objects<'a> {
    err: ErrFn<'a>,
    namespace: Option<&'a str>,
    out: Vec<Yaml>,
    refs: Vec<ObjectRef>,
    /// Identity (group, kind, namespace, name) and position of each object.
    seen: Vec<(Identity, Mark)>,
}

impl Objects<'_> {
    fn object(&mut self, node: Node) -> Result<(), ManifestError> {
        let err = self.err;
        let at = node.mark.unwrap_or(Mark { line: 1, column: 1 });
        let mut value = node.value;
        let api_version = required_str(&value, "apiVersion", at, err)?;
        let kind = required_str(&value, "kind", at, err)?;
        let (meta_mark, meta) = match value.get_entry("metadata") {
            None => return Err(err(at, format!("{kind} has no `metadata`"))),
            Some((k, v)) => (v.mark.or(k.mark).unwrap_or(at), &v.value),
        };
        if !matches!(meta, Yaml::Map(_)) {
            return Err(err(
                meta_mark,
                format!("`metadata` must be a mapping, found {}", meta.type_name()),
            ));
        }
        let name = required_str(meta, "name", meta_mark, err)
            .map_err(|e| err(e.mark, format!("{kind}: {}", e.message)))?;
        let name_mark = meta.get("name").and_then(|n| n.mark).unwrap_or(meta_mark);
        let group = group_of(&api_version).to_string();
        if let Some(why) = check_name(&name, name_rule(&group, &kind)) {
            return Err(err(
                name_mark,
                format!("{kind} name `{name}` is not valid: {why}"),
            ));
        }
        let given_ns = match meta.get_entry("namespace") {
            None => None,
            Some((k, v)) => {
                let ns_mark = v.mark.or(k.mark).unwrap_or(meta_mark);
                let ns = v.value.as_str().ok_or_else(|| {
                    err(
                        ns_mark,
                        format!(
                            "`metadata.namespace` must be a string, found {}",
                            v.value.type_name()
                        ),
                    )
                })?;
                if let Some(why) = check_name(ns, NameRule::Label) {
                    return Err(err(
                        ns_mark,
                        format!("namespace `{ns}` of {kind} `{name}` is not valid: {why}"),
                    ));
                }
                Some((ns.to_string(), ns_mark))
            }
        };
        let namespace = match (scope(&group, &kind), given_ns) {
            (Some(Scope::Cluster), Some((ns, ns_mark))) => {
                return Err(err(
                    ns_mark,
                    format!(
                        "{kind} `{name}` is cluster-scoped and must not set `metadata.namespace` (it says `{ns}`)"
                    ),
                ));
            }
            (Some(Scope::Cluster), None) => None,
            (_, Some((ns, _))) => Some(ns),
            (known, None) => match self.namespace {
                Some(default) => {
                    set_namespace(&mut value, default);
                    Some(default.to_string())
                }
                None if known == Some(Scope::Namespaced) => {
                    return Err(err(
                        name_mark,
                        format!(
                            "{kind} `{name}` is namespaced but names no namespace: set `metadata.namespace` or declare the manifest's namespace"
                        ),
                    ));
                }
                None => None,
            },
        };
        let identity = (group, kind.clone(), namespace.clone(), name.clone());
        if let Some((_, first)) = self.seen.iter().find(|(id, _)| *id == identity) {
            let shown = namespace
                .as_ref()
                .map_or(name.clone(), |ns| format!("{ns}/{name}"));
            return Err(err(
                at,
                format!("duplicate object {kind} `{shown}` (first at {first})"),
            ));
        }
        self.seen.push((identity, at));
        self.out.push(value);
        self.refs.push(ObjectRef {
            api_version,
            kind,
            name,
            namespace,
        });
        Ok(())
    }
}

fn required_str(map: &Yaml, key: &str, at: Mark, err: ErrFn<'_>) -> Result<String, ManifestError> {
    match map.get_entry(key) {
        None => Err(err(at, format!("missing `{key}`"))),
        Some((k, v)) => match &v.value {
            Yaml::Str(s) if !s.is_empty() => Ok(s.clone()),
            other => Err(err(
                v.mark.or(k.mark).unwrap_or(at),
                format!(
                    "`{key}` must be a non-empty string, found {}",
                    match other {
                        Yaml::Str(_) => "an empty string",
                        o => o.type_name(),
                    }
                ),
            )),
        },
    }
}

fn set_namespace(object: &mut Yaml, namespace: &str) {
    if let Some(Node {
        value: Yaml::Map(entries),
        ..
    }) = object.get_mut("metadata")
    {
        entries.push((
            Node::new(Yaml::str("namespace")),
            Node::new(Yaml::str(namespace)),
        ));
    }
}
