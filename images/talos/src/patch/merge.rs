//! Strategic merge and encoding on YAML trees, with Talos's per-type rules.
//!
//! Talos merges two decoded Go documents field by field (`merge.Merge`) and
//! writes the result with go-yaml. Here both happen on YAML trees guided by
//! the document's [`Ty`]:
//! - [`merge`]: pointers and unset fields take the patch value; lists are
//!   appended unless `merge:"replace"` or a custom merger says otherwise;
//!   maps merge key by key; scalars are replaced, except that a zero value
//!   (`""`, `0`) in the patch leaves a non-pointer field alone (`false`
//!   does overwrite a bool).
//! - [`encode`]: what go-yaml writes for the decoded struct: fields in struct
//!   order, `omitempty` fields dropped when empty, other fields written even
//!   when unset (`type: ""`, `certSANs: []`, `cluster: null`), Go maps in
//!   go-yaml's key order.
//!
//! Invariants: [`encode`] is idempotent, and is the identity on a document
//! Talos itself wrote.

use hlb_images::yaml::{Flavor, Node, Yaml, sort_keys};

use super::types::{Merger, Registry, Shape, Ty};

/// A merge that Talos would refuse (the patch does not fit the type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeError {
    pub path: String,
    pub message: String,
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn mismatch(path: &str, want: &str, got: &Yaml) -> MergeError {
    MergeError {
        path: path.to_string(),
        message: format!("expected {want}, found {}", got.type_name()),
    }
}

/// Go's zero value test for a scalar (`""`, `0`, `false`, nil).
fn is_zero_scalar(v: &Yaml) -> bool {
    match v {
        Yaml::Null => true,
        Yaml::Str(s) => s.is_empty(),
        Yaml::Int(i) => *i == 0,
        Yaml::Float(f) => f.parse::<f64>().is_ok_and(|f| f == 0.0),
        Yaml::Bool(b) => !b,
        Yaml::Seq(_) | Yaml::Map(_) => false,
    }
}

fn set_entry(map: &mut Vec<(Node, Node)>, key: &Node, value: Node) {
    match map.iter_mut().find(|(k, _)| k.value == key.value) {
        Some((_, v)) => *v = value,
        None => map.push((key.clone(), value)),
    }
}

/// Merge `right` into `left` (which is `Yaml::Null` when unset).
pub(crate) fn merge(
    reg: &Registry,
    left: &mut Node,
    right: &Node,
    ty: &Ty,
    replace: bool,
    overwrite: bool,
    path: &str,
) -> Result<(), MergeError> {
    if let Some(m) = reg.merger(ty) {
        return merge_custom(reg, left, right, ty, m, path);
    }
    match reg.shape(ty) {
        Shape::Ptr(inner) => {
            if matches!(right.value, Yaml::Null) {
                return Ok(());
            }
            if matches!(left.value, Yaml::Null) {
                left.value = right.value.clone();
                return check(reg, right, inner, path);
            }
            merge(reg, left, right, inner, replace, true, path)
        }
        Shape::Slice(_) => {
            let Yaml::Seq(items) = &right.value else {
                return match right.value {
                    Yaml::Null => Ok(()),
                    _ => Err(mismatch(path, "a list", &right.value)),
                };
            };
            check(reg, right, ty, path)?;
            match &mut left.value {
                Yaml::Seq(existing) if !replace => existing.extend(items.iter().cloned()),
                _ => left.value = right.value.clone(),
            }
            Ok(())
        }
        Shape::Map(value_ty) => {
            let Yaml::Map(entries) = &right.value else {
                return match right.value {
                    Yaml::Null => Ok(()),
                    _ => Err(mismatch(path, "a mapping", &right.value)),
                };
            };
            if replace || !matches!(left.value, Yaml::Map(_)) {
                check(reg, right, ty, path)?;
                left.value = right.value.clone();
                return Ok(());
            }
            for (k, rv) in entries {
                let key = k.value.as_str().unwrap_or_default().to_string();
                let Yaml::Map(existing) = &mut left.value else {
                    break;
                };
                match existing.iter_mut().find(|(lk, _)| lk.value == k.value) {
                    Some((_, lv)) if !matches!(lv.value, Yaml::Null) => {
                        merge(reg, lv, rv, value_ty, false, false, &child(path, &key))?;
                    }
                    _ => {
                        check(reg, rv, value_ty, &child(path, &key))?;
                        set_entry(existing, k, rv.clone());
                    }
                }
            }
            Ok(())
        }
        Shape::Struct(fields) => {
            let Yaml::Map(entries) = &right.value else {
                return match right.value {
                    Yaml::Null => Ok(()),
                    _ => Err(mismatch(path, "a mapping", &right.value)),
                };
            };
            if replace {
                if !is_empty(reg, &right.value, ty) {
                    left.value = right.value.clone();
                }
                return Ok(());
            }
            if !matches!(left.value, Yaml::Map(_)) {
                left.value = Yaml::Map(Vec::new());
            }
            for (k, rv) in entries {
                let Some(name) = k.value.as_str() else {
                    return Err(mismatch(path, "string keys", &k.value));
                };
                let Some(field) = fields.iter().find(|f| f.name == name) else {
                    return Err(MergeError {
                        path: child(path, name),
                        message: "unknown field".to_string(),
                    });
                };
                let Yaml::Map(existing) = &mut left.value else {
                    break;
                };
                let at = existing
                    .iter()
                    .position(|(lk, _)| lk.value.as_str() == Some(name));
                let fpath = child(path, name);
                match at {
                    Some(i) => merge(
                        reg,
                        &mut existing[i].1,
                        rv,
                        &field.ty,
                        field.replace,
                        false,
                        &fpath,
                    )?,
                    None => {
                        let mut slot = Node::new(Yaml::Null);
                        merge(reg, &mut slot, rv, &field.ty, field.replace, false, &fpath)?;
                        if !matches!(slot.value, Yaml::Null) {
                            existing.push((k.clone(), slot));
                        }
                    }
                }
            }
            Ok(())
        }
        Shape::Any if replace => {
            // `merge:"replace"` on an Unstructured: the whole value, when set.
            if !matches!(&right.value, Yaml::Null)
                && !matches!(&right.value, Yaml::Map(m) if m.is_empty())
            {
                left.value = right.value.clone();
            }
            Ok(())
        }
        Shape::Any => merge_any(left, right, overwrite, path),
        Shape::Str | Shape::Bool | Shape::Int | Shape::Float | Shape::Opaque => {
            if matches!(right.value, Yaml::Seq(_) | Yaml::Map(_))
                && !matches!(reg.shape(ty), Shape::Opaque)
            {
                return Err(mismatch(path, "a scalar", &right.value));
            }
            let is_bool = matches!(reg.shape(ty), Shape::Bool);
            if matches!(right.value, Yaml::Null) {
                return Ok(());
            }
            if !is_bool && is_zero_scalar(&right.value) && !overwrite {
                return Ok(());
            }
            left.value = right.value.clone();
            Ok(())
        }
    }
}

/// Type-check a value the patch sets wholesale (Talos decodes it first).
pub(crate) fn check(reg: &Registry, node: &Node, ty: &Ty, path: &str) -> Result<(), MergeError> {
    match (reg.shape(ty), &node.value) {
        (_, Yaml::Null) | (Shape::Any | Shape::Opaque, _) => Ok(()),
        (Shape::Ptr(inner), _) => check(reg, node, inner, path),
        (Shape::Slice(elem), Yaml::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(reg, item, elem, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Shape::Map(value_ty), Yaml::Map(entries)) => {
            for (k, v) in entries {
                check(
                    reg,
                    v,
                    value_ty,
                    &child(path, k.value.as_str().unwrap_or("?")),
                )?;
            }
            Ok(())
        }
        (Shape::Struct(fields), Yaml::Map(entries)) => {
            for (k, v) in entries {
                let name = k.value.as_str().unwrap_or_default();
                let Some(field) = fields.iter().find(|f| f.name == name) else {
                    return Err(MergeError {
                        path: child(path, name),
                        message: "unknown field".to_string(),
                    });
                };
                check(reg, v, &field.ty, &child(path, name))?;
            }
            Ok(())
        }
        (Shape::Slice(_), other) => Err(mismatch(path, "a list", other)),
        (Shape::Map(_) | Shape::Struct(_), other) => Err(mismatch(path, "a mapping", other)),
        (_, other @ (Yaml::Seq(_) | Yaml::Map(_))) => Err(mismatch(path, "a scalar", other)),
        _ => Ok(()),
    }
}

fn same_kind(a: &Yaml, b: &Yaml) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// `map[string]any` merging: nested maps merge, lists append, scalars replace.
fn merge_any(left: &mut Node, right: &Node, overwrite: bool, path: &str) -> Result<(), MergeError> {
    match (&mut left.value, &right.value) {
        (_, Yaml::Null) => Ok(()),
        (Yaml::Null, _) => {
            left.value = right.value.clone();
            Ok(())
        }
        (Yaml::Map(existing), Yaml::Map(entries)) => {
            for (k, rv) in entries {
                let key = k.value.as_str().unwrap_or_default().to_string();
                match existing.iter_mut().find(|(lk, _)| lk.value == k.value) {
                    Some((_, lv)) if !matches!(lv.value, Yaml::Null) => {
                        if !same_kind(&lv.value, &rv.value) {
                            return Err(MergeError {
                                path: child(path, &key),
                                message: format!(
                                    "merge type mismatch: {} and {}",
                                    lv.value.type_name(),
                                    rv.value.type_name()
                                ),
                            });
                        }
                        merge_any(lv, rv, false, &child(path, &key))?;
                    }
                    _ => set_entry(existing, k, rv.clone()),
                }
            }
            Ok(())
        }
        (Yaml::Seq(existing), Yaml::Seq(items)) => {
            existing.extend(items.iter().cloned());
            Ok(())
        }
        (l, r)
            if !matches!(l, Yaml::Seq(_) | Yaml::Map(_))
                && !matches!(r, Yaml::Seq(_) | Yaml::Map(_)) =>
        {
            if !matches!(r, Yaml::Bool(_)) && is_zero_scalar(r) && !overwrite {
                return Ok(());
            }
            *l = r.clone();
            Ok(())
        }
        (l, r) => Err(MergeError {
            path: path.to_string(),
            message: format!(
                "merge type mismatch: {} and {}",
                l.type_name(),
                r.type_name()
            ),
        }),
    }
}

/// The element type of a list type (pointers looked through).
fn list_elem<'a>(reg: &'a Registry, ty: &'a Ty) -> Option<&'a Ty> {
    match reg.shape(ty) {
        Shape::Slice(elem) => Some(elem),
        _ => None,
    }
}

fn key_of<'a>(item: &'a Node, key: &str) -> &'a Yaml {
    item.value.get(key).map_or(&Yaml::Null, |v| &v.value)
}

/// Equal as Go compares the key fields (an unset field is the zero value).
fn key_eq(a: &Yaml, b: &Yaml) -> bool {
    match (a, b) {
        (Yaml::Null, other) | (other, Yaml::Null) => is_zero_scalar(other),
        _ => a == b,
    }
}

fn merge_custom(
    reg: &Registry,
    left: &mut Node,
    right: &Node,
    ty: &Ty,
    merger: Merger,
    path: &str,
) -> Result<(), MergeError> {
    match merger {
        Merger::Atomic => {
            if !is_zero_scalar(&right.value) {
                left.value = right.value.clone();
            }
            Ok(())
        }
        Merger::Args => {
            let Yaml::Map(entries) = &right.value else {
                return match right.value {
                    Yaml::Null => Ok(()),
                    _ => Err(mismatch(path, "a mapping", &right.value)),
                };
            };
            if entries.is_empty() {
                return Ok(());
            }
            if !matches!(left.value, Yaml::Map(_)) {
                left.value = Yaml::Map(Vec::new());
            }
            if let Yaml::Map(existing) = &mut left.value {
                for (k, v) in entries {
                    set_entry(existing, k, v.clone());
                }
            }
            Ok(())
        }
        Merger::KeyedList(_) | Merger::Devices | Merger::ReplaceByKey(_) => {
            let Yaml::Seq(items) = &right.value else {
                return match right.value {
                    Yaml::Null => Ok(()),
                    _ => Err(mismatch(path, "a list", &right.value)),
                };
            };
            let elem = list_elem(reg, ty).cloned().unwrap_or(Ty::Any);
            if !matches!(left.value, Yaml::Seq(_)) {
                if items.is_empty() {
                    return Ok(());
                }
                left.value = Yaml::Seq(Vec::new());
            }
            for (i, item) in items.iter().enumerate() {
                check(reg, item, &elem, &format!("{path}[{i}]"))?;
                let Yaml::Seq(existing) = &mut left.value else {
                    break;
                };
                let found = match merger {
                    Merger::Devices => {
                        let iface = key_of(item, "interface");
                        let selector = key_of(item, "deviceSelector");
                        if !is_zero_scalar(iface) {
                            existing
                                .iter()
                                .position(|l| key_of(l, "interface") == iface)
                        } else if !matches!(selector, Yaml::Null) {
                            existing
                                .iter()
                                .position(|l| key_of(l, "deviceSelector") == selector)
                        } else {
                            None
                        }
                    }
                    Merger::KeyedList(key) | Merger::ReplaceByKey(key) => {
                        let want = key_of(item, key);
                        existing.iter().position(|l| key_eq(key_of(l, key), want))
                    }
                    _ => None,
                };
                match (found, merger) {
                    (Some(at), Merger::ReplaceByKey(_)) => existing[at] = item.clone(),
                    (Some(at), _) => {
                        merge(
                            reg,
                            &mut existing[at],
                            item,
                            &elem,
                            false,
                            true,
                            &format!("{path}[{at}]"),
                        )?;
                    }
                    (None, _) => existing.push(item.clone()),
                }
            }
            Ok(())
        }
    }
}

/// go-yaml's `omitempty` test for a value of type `ty`.
pub(crate) fn is_empty(reg: &Registry, v: &Yaml, ty: &Ty) -> bool {
    match (reg.shape(ty), v) {
        (_, Yaml::Null) => true,
        (Shape::Ptr(_), _) => false,
        (_, Yaml::Seq(items)) => items.is_empty(),
        (Shape::Struct(fields), Yaml::Map(entries)) => entries.iter().all(|(k, val)| {
            let name = k.value.as_str().unwrap_or_default();
            fields
                .iter()
                .find(|f| f.name == name)
                .is_some_and(|f| is_empty(reg, &val.value, &f.ty))
        }),
        (_, Yaml::Map(entries)) => entries.is_empty(),
        (_, scalar) => is_zero_scalar(scalar),
    }
}

/// The value go-yaml writes for an unset field of type `ty`.
fn zero(reg: &Registry, ty: &Ty) -> Yaml {
    match reg.shape(ty) {
        Shape::Str => Yaml::str(""),
        Shape::Bool => Yaml::Bool(false),
        Shape::Int => Yaml::Int(0),
        Shape::Float => Yaml::Float("0".to_string()),
        Shape::Slice(_) => Yaml::Seq(Vec::new()),
        Shape::Map(_) | Shape::Any => Yaml::Map(Vec::new()),
        Shape::Struct(_) => {
            let mut v = Yaml::Map(Vec::new());
            encode(reg, &mut v, ty);
            v
        }
        Shape::Ptr(_) | Shape::Opaque => Yaml::Null,
    }
}

/// Rewrite `v` as go-yaml writes the decoded value of type `ty`.
pub(crate) fn encode(reg: &Registry, v: &mut Yaml, ty: &Ty) {
    match reg.shape(ty) {
        Shape::Ptr(inner) => {
            if !matches!(v, Yaml::Null) {
                encode(reg, v, inner);
            }
        }
        Shape::Slice(elem) => match v {
            Yaml::Null => *v = Yaml::Seq(Vec::new()),
            Yaml::Seq(items) => items
                .iter_mut()
                .for_each(|i| encode(reg, &mut i.value, elem)),
            _ => {}
        },
        Shape::Map(value_ty) => match v {
            Yaml::Null => *v = Yaml::Map(Vec::new()),
            Yaml::Map(entries) => {
                for (_, val) in entries.iter_mut() {
                    encode(reg, &mut val.value, value_ty);
                }
                let mut keys_only = Yaml::Map(std::mem::take(entries));
                sort_top(&mut keys_only);
                *v = keys_only;
            }
            _ => {}
        },
        Shape::Any => sort_keys(v, Flavor::V3),
        Shape::Struct(fields) => {
            if matches!(v, Yaml::Null) {
                *v = Yaml::Map(Vec::new());
            }
            let Yaml::Map(entries) = v else { return };
            let mut rest = std::mem::take(entries);
            let mut out = Vec::with_capacity(rest.len());
            for f in &fields {
                let at = rest
                    .iter()
                    .position(|(k, _)| k.value.as_str() == Some(&f.name));
                match at {
                    Some(at) => {
                        let (k, mut val) = rest.remove(at);
                        if matches!(val.value, Yaml::Null)
                            && !matches!(reg.shape(&f.ty), Shape::Ptr(_) | Shape::Opaque)
                        {
                            val.value = zero(reg, &f.ty);
                        }
                        encode(reg, &mut val.value, &f.ty);
                        if f.omitempty && is_empty(reg, &val.value, &f.ty) {
                            continue;
                        }
                        out.push((k, val));
                    }
                    None if !f.omitempty => {
                        out.push((Node::new(Yaml::str(&f.name)), Node::new(zero(reg, &f.ty))));
                    }
                    None => {}
                }
            }
            out.extend(rest);
            *entries = out;
        }
        Shape::Str | Shape::Bool | Shape::Int | Shape::Float | Shape::Opaque => {}
    }
}

/// Sort the keys of one map (not its values) in go-yaml v3's order.
fn sort_top(v: &mut Yaml) {
    let Yaml::Map(entries) = v else { return };
    // Sort a copy whose values are blanked, then reorder the real entries to
    // match: sort_keys would also sort nested maps, which may be structs.
    let mut probe = Yaml::Map(
        entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), Node::new(Yaml::Int(i as i128))))
            .collect(),
    );
    sort_keys(&mut probe, Flavor::V3);
    let Yaml::Map(order) = probe else { return };
    let mut taken: Vec<Option<(Node, Node)>> =
        std::mem::take(entries).into_iter().map(Some).collect();
    for (_, idx) in order {
        if let Some(i) = idx.value.as_i64().and_then(|i| usize::try_from(i).ok())
            && let Some(e) = taken.get_mut(i).and_then(Option::take)
        {
            entries.push(e);
        }
    }
}
