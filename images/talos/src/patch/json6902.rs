//! RFC 6902 JSON patches on a YAML tree.
//!
//! Talos applies JSON patches to the config's text: it checks the config is
//! exactly one YAML document, converts it to JSON, applies the operations
//! (evanphx/json-patch) and converts back with `ghodss/yaml`, which writes
//! go-yaml v2 output with sorted keys. [`apply`] does the operations on the
//! tree; the caller writes it back in that style.

use hlb_images::yaml::{Node, Yaml};

/// One operation of a JSON patch.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: String,
    /// JSON pointer (`/machine/network/hostname`).
    pub path: String,
    /// `from` of `move` and `copy`.
    pub from: Option<String>,
    /// `value` of `add`, `replace` and `test`.
    pub value: Option<Yaml>,
}

fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer {pointer:?}"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn missing(op: &str, path: &str) -> String {
    format!("{op} operation does not apply: doc is missing path: \"{path}\": missing value")
}

fn index(token: &str, len: usize, allow_end: bool) -> Option<usize> {
    if token == "-" && allow_end {
        return Some(len);
    }
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    let i: usize = token.parse().ok()?;
    (i < len || (allow_end && i == len)).then_some(i)
}

/// The container holding the last token of `toks`.
fn parent<'a>(doc: &'a mut Yaml, toks: &[String]) -> Option<&'a mut Yaml> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Yaml::Map(entries) => {
                &mut entries
                    .iter_mut()
                    .find(|(k, _)| k.value.as_str() == Some(t))?
                    .1
                    .value
            }
            Yaml::Seq(items) => {
                let i = index(t, items.len(), false)?;
                &mut items[i].value
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn get<'a>(doc: &'a Yaml, toks: &[String]) -> Option<&'a Yaml> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Yaml::Map(_) => &cur.get(t)?.value,
            Yaml::Seq(items) => &items[index(t, items.len(), false)?].value,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Yaml, path: &str, value: Yaml) -> Result<(), String> {
    let toks = tokens(path)?;
    let Some((last, up)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    let container = parent(doc, up).ok_or_else(|| missing("add", path))?;
    match container {
        Yaml::Map(entries) => {
            match entries
                .iter_mut()
                .find(|(k, _)| k.value.as_str() == Some(last))
            {
                Some((_, v)) => v.value = value,
                None => entries.push((Node::new(Yaml::str(last)), Node::new(value))),
            }
            Ok(())
        }
        Yaml::Seq(items) => {
            let i = index(last, items.len(), true).ok_or_else(|| {
                format!("add operation does not apply: index out of range: \"{path}\"")
            })?;
            items.insert(i, Node::new(value));
            Ok(())
        }
        _ => Err(missing("add", path)),
    }
}

fn remove(doc: &mut Yaml, path: &str, op: &str) -> Result<Yaml, String> {
    let toks = tokens(path)?;
    let Some((last, up)) = toks.split_last() else {
        return Err(format!(
            "{op} operation does not apply: cannot remove the whole document"
        ));
    };
    let container = parent(doc, up).ok_or_else(|| missing(op, path))?;
    match container {
        Yaml::Map(entries) => {
            let at = entries
                .iter()
                .position(|(k, _)| k.value.as_str() == Some(last))
                .ok_or_else(|| missing(op, path))?;
            Ok(entries.remove(at).1.value)
        }
        Yaml::Seq(items) => {
            let i = index(last, items.len(), false).ok_or_else(|| missing(op, path))?;
            Ok(items.remove(i).value)
        }
        _ => Err(missing(op, path)),
    }
}

/// Apply the operations in order; an error names the operation and path.
pub(crate) fn apply(doc: &mut Yaml, ops: &[Operation]) -> Result<(), String> {
    for o in ops {
        let value = || o.value.clone().unwrap_or(Yaml::Null);
        let from = || o.from.clone().unwrap_or_default();
        match o.op.as_str() {
            "add" => add(doc, &o.path, value())?,
            "remove" => {
                remove(doc, &o.path, "remove")?;
            }
            "replace" => {
                let toks = tokens(&o.path)?;
                if get(doc, &toks).is_none() {
                    return Err(missing("replace", &o.path));
                }
                let target = parent(doc, &toks).ok_or_else(|| missing("replace", &o.path))?;
                *target = value();
            }
            "move" => {
                let moved = remove(doc, &from(), "move")?;
                add(doc, &o.path, moved)?;
            }
            "copy" => {
                let copied = get(doc, &tokens(&from())?)
                    .cloned()
                    .ok_or_else(|| missing("copy", &from()))?;
                add(doc, &o.path, copied)?;
            }
            "test" => {
                if get(doc, &tokens(&o.path)?) != Some(&value()) {
                    return Err(format!("testing value {} failed: test failed", o.path));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}
