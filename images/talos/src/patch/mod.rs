//! Talos config patches: strategic merge and RFC 6902 JSON patches.
//!
//! Why: per-node settings (addresses, VIP, labels, the installer image) and
//! user overrides are Talos patches on a generated config, and a patch must
//! give the bytes `talosctl` gives — Talos's own vectors
//! (`configpatcher/testdata`) hold this module to that.
//!
//! What Talos does, and this module with it:
//! - A patch is a JSON patch when it is a list of operations (`[{op, path,
//!   value}]`, in YAML or JSON); otherwise it is a strategic merge patch,
//!   a partial config of one or more documents ([`Patch::parse`]).
//! - Patches apply in order ([`apply_patches`]). A strategic patch merges
//!   each of its documents into the config document with the same
//!   `apiVersion`/`kind`/`name` (the legacy document is `v1alpha1`),
//!   appends documents the config lacks, and applies `$patch: delete`
//!   ([`delete`]). The merge follows the Go types ([`merge`], [`types`]),
//!   and the result is written as go-yaml writes the decoded documents.
//! - A JSON patch needs a single-document config and leaves the text as
//!   `ghodss/yaml` writes it (go-yaml v2, sorted keys, 2-space indent).
//! - With no patch, the config text is returned unchanged.
//!
//! Invariants: applying patches is a pure function of the texts; errors
//! that Talos reports carry Talos's message.

pub mod delete;
pub mod json6902;
mod merge;
mod types;

use hlb_images::yaml::{self, Flavor, Node, Style, Yaml, YamlError};

pub use delete::Selector;
pub use json6902::Operation;
use types::{Registry, Shape, Ty, registry};

/// A patch that cannot be read or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The text is not YAML.
    #[error("reading {what}: {source}")]
    Yaml {
        what: &'static str,
        source: YamlError,
    },
    /// The YAML is not a Talos config or patch.
    #[error("{what}: {message}")]
    Load { what: &'static str, message: String },
    /// A JSON patch on a config of several documents (Talos's message).
    #[error("JSON6902 patches are not supported for multi-document machine configuration")]
    JsonMultiDocument,
    /// A JSON patch operation that does not apply (Talos's prefix).
    #[error("failure applying rfc6902 patches to talos machine config: {0}")]
    Json6902(String),
    /// A `$patch: delete` that does not apply, with Talos's message.
    #[error("{0}")]
    Delete(String),
    /// A strategic patch value that does not fit the config's type.
    #[error("merge {path} in document '{document}': {message}")]
    Merge {
        document: String,
        path: String,
        message: String,
    },
}

/// Which document a config or patch document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentId {
    /// Empty for the legacy `v1alpha1` document.
    pub api_version: String,
    /// `v1alpha1` for the legacy document.
    pub kind: String,
    /// For named documents (those with a `name` field).
    pub name: Option<String>,
}

impl std::fmt::Display for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)?;
        if let Some(name) = &self.name {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct Document {
    id: DocumentId,
    ty: Ty,
    root: Node,
}

/// One step of a strategic merge patch.
#[derive(Clone, Debug)]
pub enum StrategicItem {
    /// A `$patch: delete`.
    Delete(Selector),
    /// A document to merge (or append), deletes taken out.
    Merge { id: DocumentId, document: Yaml },
}

/// A loaded patch.
#[derive(Clone, Debug)]
pub enum Patch {
    /// Strategic merge: its deletes and documents in the order Talos applies them.
    Strategic(Vec<StrategicItem>),
    /// RFC 6902 operations.
    Json6902(Vec<Operation>),
}

fn load_err(what: &'static str, message: impl Into<String>) -> PatchError {
    PatchError::Load {
        what,
        message: message.into(),
    }
}

fn parse_yaml(what: &'static str, text: &str) -> Result<Vec<yaml::Document>, PatchError> {
    yaml::parse_documents(text).map_err(|source| PatchError::Yaml { what, source })
}

fn str_of(v: &Yaml, key: &str) -> String {
    v.get(key)
        .and_then(|n| n.value.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The id and type of a document, as Talos's config decoder finds them.
fn identify(reg: &Registry, root: &Node) -> Result<(DocumentId, Ty), String> {
    let v = &root.value;
    let legacy = ["machine", "cluster", "debug", "persist"]
        .iter()
        .any(|k| v.get(k).is_some());
    let kind = str_of(v, "kind");
    let api_version = str_of(v, "apiVersion");
    let (id_api, id_kind) =
        if legacy || (kind.is_empty() && api_version.is_empty() && v.get("version").is_some()) {
            (String::new(), "v1alpha1".to_string())
        } else if kind.is_empty() {
            return Err(format!("{}: missing kind", root.pos()));
        } else if api_version.is_empty() {
            return Err(format!("{}: missing apiVersion", root.pos()));
        } else {
            (api_version, kind)
        };
    let ty = reg
        .kind(&id_kind)
        .cloned()
        .ok_or_else(|| format!("{}: unknown document kind {id_kind:?}", root.pos()))?;
    let named =
        matches!(reg.shape(&ty), Shape::Struct(fields) if fields.iter().any(|f| f.name == "name"));
    let name = named.then(|| str_of(v, "name"));
    Ok((
        DocumentId {
            api_version: id_api,
            kind: id_kind,
            name,
        },
        ty,
    ))
}

/// What Talos's decoder changes while reading: inline manifest contents
/// lose their leading blank characters (`ClusterInlineManifests`).
fn decode_fixups(id: &DocumentId, root: &mut Yaml) {
    if id.kind != "v1alpha1" {
        return;
    }
    let Some(Yaml::Seq(items)) = root
        .get_mut("cluster")
        .and_then(|c| c.value.get_mut("inlineManifests"))
        .map(|m| &mut m.value)
    else {
        return;
    };
    for item in items {
        if let Some(Yaml::Str(s)) = item.value.get_mut("contents").map(|c| &mut c.value) {
            *s = s
                .trim_start_matches(['\t', '\n', '\x0b', '\x0c', '\r'])
                .to_string();
        }
    }
}

fn check_doc(what: &'static str, root: &Node) -> Result<(), PatchError> {
    if !matches!(root.value, Yaml::Map(_)) {
        return Err(load_err(
            what,
            format!(
                "{}: expected a YAML document (a mapping), found {}",
                root.pos(),
                root.value.type_name()
            ),
        ));
    }
    Ok(())
}

impl Patch {
    /// Load a patch, detecting its format as `talosctl` does.
    pub fn parse(text: &str) -> Result<Patch, PatchError> {
        let docs = parse_yaml("patch", text)?;
        if let [doc] = docs.as_slice()
            && let Yaml::Seq(items) = &doc.root.value
        {
            return items
                .iter()
                .map(operation)
                .collect::<Result<_, _>>()
                .map(Patch::Json6902);
        }
        let reg = registry();
        let mut out = Vec::new();
        for doc in docs {
            let mut root = doc.root;
            if matches!(root.value, Yaml::Null) {
                continue;
            }
            check_doc("patch", &root)?;
            let (selectors, emptied) = delete::extract(&mut root).map_err(|m| {
                load_err(
                    "patch",
                    format!(
                        "error processing patch delete statements at line {}: {m}",
                        doc.start.line
                    ),
                )
            })?;
            out.extend(selectors.into_iter().map(StrategicItem::Delete));
            if emptied {
                continue;
            }
            let (id, ty) = identify(reg, &root).map_err(|m| load_err("patch", m))?;
            merge::check(reg, &root, &ty, "").map_err(|e| PatchError::Merge {
                document: id.to_string(),
                path: e.path,
                message: e.message,
            })?;
            decode_fixups(&id, &mut root.value);
            out.push(StrategicItem::Merge {
                id,
                document: root.value,
            });
        }
        Ok(Patch::Strategic(out))
    }

    pub fn is_json6902(&self) -> bool {
        matches!(self, Patch::Json6902(_))
    }
}

fn operation(item: &Node) -> Result<Operation, PatchError> {
    let Yaml::Map(_) = &item.value else {
        return Err(load_err(
            "patch",
            format!("{}: a JSON patch operation must be a mapping", item.pos()),
        ));
    };
    let field = |k: &str| {
        item.value
            .get(k)
            .and_then(|v| v.value.as_str())
            .map(str::to_string)
    };
    let op = field("op")
        .ok_or_else(|| load_err("patch", format!("{}: operation without `op`", item.pos())))?;
    let path = field("path")
        .ok_or_else(|| load_err("patch", format!("{}: operation without `path`", item.pos())))?;
    Ok(Operation {
        op,
        path,
        from: field("from"),
        value: item.value.get("value").map(|v| v.value.clone()),
    })
}

/// Load patches in order, joining consecutive JSON patches into one (as
/// `talosctl` does with repeated `--config-patch`).
pub fn load_patches<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Patch>, PatchError> {
    let mut out: Vec<Patch> = Vec::new();
    for text in texts {
        let p = Patch::parse(text.as_ref())?;
        match (out.last_mut(), p) {
            (Some(Patch::Json6902(prev)), Patch::Json6902(ops)) => prev.extend(ops),
            (_, p) => out.push(p),
        }
    }
    Ok(out)
}

enum State {
    Text(String),
    Docs(Vec<Document>),
}

fn load_config(text: &str) -> Result<Vec<Document>, PatchError> {
    let reg = registry();
    let mut out = Vec::new();
    for doc in parse_yaml("config", text)? {
        if matches!(doc.root.value, Yaml::Null) {
            continue;
        }
        check_doc("config", &doc.root)?;
        let (id, ty) = identify(reg, &doc.root).map_err(|m| load_err("config", m))?;
        let mut root = doc.root;
        decode_fixups(&id, &mut root.value);
        merge::encode(reg, &mut root.value, &ty);
        out.push(Document { id, ty, root });
    }
    Ok(out)
}

fn write_config(docs: &[Document]) -> String {
    let reg = registry();
    let encoded: Vec<Yaml> = docs
        .iter()
        .map(|d| {
            let mut v = d.root.value.clone();
            merge::encode(reg, &mut v, &d.ty);
            v
        })
        .collect();
    yaml::emit_documents(encoded.iter(), &Style::TALOS)
}

impl State {
    fn text(self) -> String {
        match self {
            State::Text(t) => t,
            State::Docs(d) => write_config(&d),
        }
    }

    fn docs(self) -> Result<Vec<Document>, PatchError> {
        match self {
            State::Text(t) => load_config(&t),
            State::Docs(d) => Ok(d),
        }
    }
}

fn apply_json(text: &str, ops: &[Operation]) -> Result<String, PatchError> {
    let docs = parse_yaml("config", text)?;
    let [doc] = docs.as_slice() else {
        return Err(PatchError::JsonMultiDocument);
    };
    let mut tree = doc.root.value.clone();
    json6902::apply(&mut tree, ops).map_err(PatchError::Json6902)?;
    yaml::sort_keys(&mut tree, Flavor::V2);
    Ok(yaml::emit(&tree, &Style::K8S))
}

fn apply_delete(
    reg: &Registry,
    docs: &mut Vec<Document>,
    sel: &Selector,
) -> Result<(), PatchError> {
    let Some(at) = docs.iter().rposition(|d| {
        d.id.api_version == sel.api_version && d.id.kind == sel.kind && d.id.name == sel.name
    }) else {
        return Ok(());
    };
    let path = sel.path.join(".");
    let doc = &mut docs[at];
    let doc_name = format!("{}/{}", doc.id.api_version, doc.id.kind);
    if sel.path.is_empty() {
        if doc.id.kind == "v1alpha1" && doc.id.api_version.is_empty() {
            return Err(PatchError::Delete(format!(
                "patch delete: path '' in document '{doc_name}': can't delete the root of the legacy document"
            )));
        }
        docs.remove(at);
        return Ok(());
    }
    delete::delete_path(
        reg,
        &mut doc.root.value,
        &doc.ty,
        &sel.path,
        &sel.key,
        &sel.value,
    )
    .map_err(|e| {
        let inner = format!("failed to delete path '{path}': {e}");
        PatchError::Delete(match &sel.name {
            Some(_) => format!("named patch delete: document {doc_name}: {inner}"),
            None => format!("patch delete: path '{path}' in document '{doc_name}': {inner}"),
        })
    })
}

fn apply_strategic(docs: &mut Vec<Document>, items: &[StrategicItem]) -> Result<(), PatchError> {
    let reg = registry();
    for item in items {
        match item {
            StrategicItem::Delete(sel) => apply_delete(reg, docs, sel)?,
            StrategicItem::Merge { id, document } => {
                let right = Node::new(document.clone());
                match docs.iter().rposition(|d| &d.id == id) {
                    Some(at) => {
                        let doc = &mut docs[at];
                        merge::merge(reg, &mut doc.root, &right, &doc.ty, false, false, "")
                            .map_err(|e| PatchError::Merge {
                                document: id.to_string(),
                                path: e.path,
                                message: e.message,
                            })?;
                    }
                    None => {
                        let ty = reg.kind(&id.kind).cloned().unwrap_or(Ty::Any);
                        docs.push(Document {
                            id: id.clone(),
                            ty,
                            root: right,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Apply `patches` in order to a machine config (one or more YAML
/// documents) and return the patched config's text.
pub fn apply_patches(config_text: &str, patches: &[Patch]) -> Result<String, PatchError> {
    let mut state = State::Text(config_text.to_string());
    for patch in patches {
        state = match patch {
            Patch::Json6902(ops) => State::Text(apply_json(&state.text(), ops)?),
            Patch::Strategic(items) => {
                let mut docs = state.docs()?;
                apply_strategic(&mut docs, items)?;
                State::Docs(docs)
            }
        };
    }
    Ok(state.text())
}

/// [`apply_patches`] on patch texts (each loaded with [`Patch::parse`]).
pub fn apply_patch_texts<S: AsRef<str>>(
    config_text: &str,
    patches: &[S],
) -> Result<String, PatchError> {
    apply_patches(config_text, &load_patches(patches)?)
}

/// The config as Talos writes it after decoding it (struct field order,
/// `omitempty`, Go map order) — what any strategic patch also produces.
pub fn reencode(config_text: &str) -> Result<String, PatchError> {
    Ok(write_config(&load_config(config_text)?))
}
