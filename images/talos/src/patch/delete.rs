//! `$patch: delete` in strategic merge patches.
//!
//! Talos takes every `$patch: delete` out of a patch document before
//! merging it, turning each into a *selector*: a path in a document
//! (`machine.network.hostname`), optionally an item of a list picked by its
//! first other key (`interfaces: [{interface: eth0, $patch: delete}]`), or a
//! whole document (`{apiVersion, kind, name, $patch: delete}`). Selectors of
//! a patch document are applied before the rest of that document is merged.
//! Maps and lists left empty by taking a delete out are removed too, and a
//! patch document left with nothing but `version`/`kind`/`name` is dropped.
//!
//! Deleting something that is not there fails with Talos's message
//! (`… failed to delete path 'a.b': lookup failed`), except that clearing a
//! field of a struct that exists succeeds (Talos zeroes the field).

use hlb_images::yaml::{Node, Yaml};

use super::types::{Registry, Shape, Ty};

/// One `$patch: delete`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Path in the document, `[i]` for list items (empty: the whole document).
    pub path: Vec<String>,
    /// `apiVersion` of the target document (empty for the legacy v1alpha1 one).
    pub api_version: String,
    /// `kind` of the target document (`v1alpha1` for the legacy one).
    pub kind: String,
    /// `name` of the target document, for named documents.
    pub name: Option<String>,
    /// For a list item: the key and value that pick it.
    pub key: String,
    pub value: String,
}

fn scalar_text(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) => s.clone(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Float(f) => f.clone(),
        Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => String::new(),
    }
}

fn is_delete_marker(k: &Node, v: &Node) -> bool {
    k.value.as_str() == Some("$patch") && v.value.as_str() == Some("delete")
}

/// What happened in [`extract`] below one node.
enum Found {
    Keep,
    /// The node is to be removed from its parent.
    Remove,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Document,
    Map,
    Seq,
}

/// Take the deletes out of a patch document. Returns the selectors and
/// whether the document is left with nothing to merge.
pub(crate) fn extract(root: &mut Node) -> Result<(Vec<Selector>, bool), String> {
    let doc_view = root.value.clone();
    let mut out = Vec::new();
    let mut path = Vec::new();
    let found = walk(&doc_view, Parent::Document, root, &mut path, &mut out)?;
    let emptied = match found {
        Found::Remove => true,
        Found::Keep => is_empty_doc(&root.value),
    };
    Ok((out, emptied))
}

fn walk(
    doc: &Yaml,
    parent: Parent,
    node: &mut Node,
    path: &mut Vec<String>,
    out: &mut Vec<Selector>,
) -> Result<Found, String> {
    match &mut node.value {
        Yaml::Map(entries) => {
            if entries.iter().any(|(k, v)| is_delete_marker(k, v)) {
                if parent != Parent::Seq && path.iter().any(|p| p.starts_with('[')) {
                    return Err(format!(
                        "cannot delete an inner key in '{}'",
                        path.join(".")
                    ));
                }
                let mut sel = selector_for(doc, path)?;
                if parent == Parent::Seq {
                    let (k, v) = entries
                        .iter()
                        .find(|(k, v)| !is_delete_marker(k, v))
                        .ok_or_else(|| {
                            format!(
                                "no key:val found in sequence node for path {}",
                                path.join(".")
                            )
                        })?;
                    sel.key = k.value.as_str().unwrap_or_default().to_string();
                    sel.value = scalar_text(&v.value);
                }
                out.push(sel);
                return Ok(Found::Remove);
            }
            let mut i = 0;
            while i < entries.len() {
                let key = scalar_text(&entries[i].0.value);
                path.push(key);
                let found = walk(doc, Parent::Map, &mut entries[i].1, path, out)?;
                path.pop();
                match found {
                    Found::Remove => {
                        entries.remove(i);
                        if entries.is_empty() {
                            return Ok(Found::Remove);
                        }
                    }
                    Found::Keep => i += 1,
                }
            }
            Ok(Found::Keep)
        }
        Yaml::Seq(items) => {
            let mut i = 0;
            let mut index = 0;
            while i < items.len() {
                path.push(format!("[{index}]"));
                let found = walk(doc, Parent::Seq, &mut items[i], path, out)?;
                path.pop();
                index += 1;
                match found {
                    Found::Remove => {
                        items.remove(i);
                        if items.is_empty() {
                            return Ok(Found::Remove);
                        }
                    }
                    Found::Keep => i += 1,
                }
            }
            Ok(Found::Keep)
        }
        _ => Ok(Found::Keep),
    }
}

fn find_value(doc: &Yaml, key: &str) -> String {
    doc.get(key)
        .map(|v| scalar_text(&v.value))
        .unwrap_or_default()
}

fn selector_for(doc: &Yaml, path: &[String]) -> Result<Selector, String> {
    let mut api_version = find_value(doc, "apiVersion");
    let mut kind = find_value(doc, "kind");
    if path.is_empty() {
        for (key, v) in [("apiVersion", &api_version), ("kind", &kind)] {
            if v.is_empty() && doc.get(key).is_none() {
                return Err(format!(
                    "missing {key} in document for which $patch: delete is used"
                ));
            }
        }
    }
    match (api_version.is_empty(), kind.is_empty()) {
        (true, true) => kind = "v1alpha1".to_string(),
        (false, false) => {}
        _ => {
            return Err(format!(
                "kind and apiVersion must be both set for path {}",
                path.join(".")
            ));
        }
    }
    if kind == "v1alpha1" && api_version.is_empty() {
        api_version = String::new();
    }
    let name = Some(find_value(doc, "name")).filter(|n| !n.is_empty());
    Ok(Selector {
        path: path.to_vec(),
        api_version,
        kind,
        name,
        key: String::new(),
        value: String::new(),
    })
}

/// A document with nothing but `version`, `kind` and `name` scalars.
fn is_empty_doc(v: &Yaml) -> bool {
    let Yaml::Map(entries) = v else { return false };
    entries.iter().all(|(k, val)| {
        !matches!(val.value, Yaml::Seq(_) | Yaml::Map(_))
            && matches!(k.value.as_str(), Some("version" | "kind" | "name"))
    })
}

/// Why a path could not be deleted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DeleteError {
    LookupFailed,
    Other(String),
}

impl std::fmt::Display for DeleteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteError::LookupFailed => f.write_str("lookup failed"),
            DeleteError::Other(m) => f.write_str(m),
        }
    }
}

/// Delete `path` (with `key`/`value` picking a list item) from `node` of type `ty`.
pub(crate) fn delete_path(
    reg: &Registry,
    node: &mut Yaml,
    ty: &Ty,
    path: &[String],
    key: &str,
    value: &str,
) -> Result<(), DeleteError> {
    let Some((search, rest)) = path.split_first() else {
        return Err(DeleteError::Other("path is empty".into()));
    };
    match reg.shape(ty) {
        Shape::Ptr(inner) => {
            if matches!(node, Yaml::Null) {
                return Err(DeleteError::LookupFailed);
            }
            delete_path(reg, node, inner, path, key, value)
        }
        Shape::Struct(fields) => {
            let Some(field) = fields.iter().find(|f| &f.name == search) else {
                return Err(DeleteError::LookupFailed);
            };
            if matches!(node, Yaml::Null) {
                *node = Yaml::Map(Vec::new());
            }
            let Yaml::Map(entries) = node else {
                return Err(DeleteError::LookupFailed);
            };
            let at = entries
                .iter()
                .position(|(k, _)| k.value.as_str() == Some(search));
            if rest.is_empty() {
                if let Some(at) = at {
                    entries.remove(at);
                }
                return Ok(());
            }
            match at {
                Some(at) => delete_path(reg, &mut entries[at].1.value, &field.ty, rest, key, value),
                None => {
                    // Descend into the zero value: a nil pointer, map or
                    // list fails the lookup, an embedded struct is empty.
                    let mut zero = Yaml::Null;
                    delete_path(reg, &mut zero, &field.ty, rest, key, value)
                }
            }
        }
        Shape::Map(_) | Shape::Any => {
            let value_ty = match reg.shape(ty) {
                Shape::Map(v) => v.clone(),
                _ => Ty::Any,
            };
            let Yaml::Map(entries) = node else {
                return Err(DeleteError::LookupFailed);
            };
            let Some(at) = entries
                .iter()
                .position(|(k, _)| scalar_text(&k.value) == *search)
            else {
                return Err(DeleteError::LookupFailed);
            };
            if rest.is_empty() {
                entries.remove(at);
                return Ok(());
            }
            delete_path(reg, &mut entries[at].1.value, &value_ty, rest, key, value)
        }
        Shape::Slice(elem) => {
            if !rest.is_empty() {
                return Err(DeleteError::Other(
                    "searching for complex paths in slices is not supported".into(),
                ));
            }
            if !search.starts_with('[') {
                return Err(DeleteError::Other(
                    "searching for non-integer keys in slices is not supported".into(),
                ));
            }
            let Yaml::Seq(items) = node else {
                return Err(DeleteError::LookupFailed);
            };
            let elem_is_struct = match reg.shape(elem) {
                Shape::Ptr(inner) => matches!(reg.shape(inner), Shape::Struct(_)),
                Shape::Struct(_) => true,
                _ => false,
            };
            if !elem_is_struct {
                return Err(DeleteError::LookupFailed);
            }
            let at = items.iter().position(|item| {
                item.value
                    .get(key)
                    .is_some_and(|v| matches!(&v.value, Yaml::Str(s) if s == value))
            });
            match at {
                Some(at) => {
                    items.remove(at);
                    Ok(())
                }
                None => Err(DeleteError::LookupFailed),
            }
        }
        _ => Err(DeleteError::LookupFailed),
    }
}
