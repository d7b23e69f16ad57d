//! The shape of Talos's config documents, as the patch engine needs it.
//!
//! Why: Talos merges patches on its Go structs, not on generic YAML, and
//! writes the result back with go-yaml. What a merge does therefore depends
//! on each field's Go type (pointer or value, list or map, `merge:"replace"`,
//! a custom `Merge` method), and the bytes written depend on the struct's
//! field order and `omitempty` tags. This module carries exactly those facts
//! for every document kind, read from `talos-types.txt` (data extracted from
//! Talos's type definitions; see the header of that file).
//!
//! Invariants: the table is parsed once; every named type a field refers to
//! resolves to a struct, an alias, a custom-marshalled (opaque) type or is
//! unknown (treated as opaque: replaced whole, written as is).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const TABLE: &str = include_str!("talos-types.txt");

/// A Go type, as far as merging and encoding care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Bool,
    Int,
    Float,
    /// `any` / `meta.Unstructured`: free-form YAML (maps merged, lists
    /// appended, written in Go map order).
    Any,
    Ptr(Box<Ty>),
    Slice(Box<Ty>),
    Map(Box<Ty>),
    Named(String),
}

/// One struct field.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub name: String,
    pub ty: Ty,
    pub omitempty: bool,
    pub inline: bool,
    pub replace: bool,
}

#[derive(Debug)]
enum Def {
    Struct(Vec<Field>),
    Alias(Ty),
}

/// What a type is, after aliases are followed.
#[derive(Clone, Debug)]
pub(crate) enum Shape<'a> {
    Str,
    Bool,
    Int,
    Float,
    Any,
    /// A custom-marshalled or unknown type: replaced whole when the patch
    /// sets it, written as is.
    Opaque,
    Ptr(&'a Ty),
    Slice(&'a Ty),
    Map(&'a Ty),
    /// Struct fields, inline (embedded) structs flattened in place.
    Struct(Vec<&'a Field>),
}

/// A type with a custom `Merge` method in Talos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Merger {
    /// A list merged item by item: an item whose key field equals an
    /// existing item's is merged into it, others are appended.
    KeyedList(&'static str),
    /// Network devices: keyed by `interface`, else by `deviceSelector`.
    Devices,
    /// Image verification rules: keyed by `image`, the whole rule replaced.
    ReplaceByKey(&'static str),
    /// `extraArgs` maps: keys overwritten, values never merged further.
    Args,
    /// Atomic values (prefixes, addresses, sizes): replaced when set.
    Atomic,
}

#[derive(Debug)]
pub(crate) struct Registry {
    kinds: BTreeMap<String, Ty>,
    defs: BTreeMap<String, Def>,
    mergers: BTreeSet<String>,
    marshalers: BTreeSet<String>,
}

/// The registry built from the embedded table.
pub(crate) fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| Registry::parse(TABLE))
}

fn parse_ty(s: &str) -> Ty {
    if let Some(rest) = s.strip_prefix('*') {
        return Ty::Ptr(Box::new(parse_ty(rest)));
    }
    if let Some(rest) = s.strip_prefix("[]") {
        return match rest {
            "byte" | "uint8" => Ty::Str,
            _ => Ty::Slice(Box::new(parse_ty(rest))),
        };
    }
    if let Some(rest) = s.strip_prefix("map[")
        && let Some(close) = rest.find(']')
    {
        return Ty::Map(Box::new(parse_ty(&rest[close + 1..])));
    }
    match s {
        "string" => Ty::Str,
        "bool" => Ty::Bool,
        "int" | "int8" | "int16" | "int32" | "int64" | "uint" | "uint8" | "uint16" | "uint32"
        | "uint64" | "byte" => Ty::Int,
        "float32" | "float64" => Ty::Float,
        "any" | "meta.Unstructured" => Ty::Any,
        other => Ty::Named(other.to_string()),
    }
}

impl Registry {
    fn parse(text: &str) -> Registry {
        let mut reg = Registry {
            kinds: BTreeMap::new(),
            defs: BTreeMap::new(),
            mergers: BTreeSet::new(),
            marshalers: BTreeSet::new(),
        };
        let mut current: Option<(String, Vec<Field>)> = None;
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(field) = line.strip_prefix("  ") {
                let mut parts = field.split_whitespace();
                let (Some(tag), Some(ty)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let replace = parts.next() == Some("replace");
                let mut tags = tag.split(',');
                let name = tags.next().unwrap_or_default();
                let opts: Vec<&str> = tags.collect();
                if name == "-" {
                    continue;
                }
                let inline = name == "~inline";
                if let Some((_, fields)) = current.as_mut() {
                    fields.push(Field {
                        name: if inline {
                            String::new()
                        } else {
                            name.to_string()
                        },
                        ty: parse_ty(ty),
                        omitempty: opts.contains(&"omitempty"),
                        inline,
                        replace,
                    });
                }
                continue;
            }
            if let Some((name, fields)) = current.take() {
                reg.defs.insert(name, Def::Struct(fields));
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["@kind", kind, ty] => {
                    reg.kinds
                        .insert(kind.to_string(), Ty::Named(ty.to_string()));
                }
                ["@struct", name] => current = Some((name.to_string(), Vec::new())),
                ["@alias", name, target] => {
                    reg.defs
                        .insert(name.to_string(), Def::Alias(parse_ty(target)));
                }
                ["@merger", name] => {
                    reg.mergers.insert(name.to_string());
                }
                ["@marshaler", name] => {
                    reg.marshalers.insert(name.to_string());
                }
                _ => {}
            }
        }
        if let Some((name, fields)) = current.take() {
            reg.defs.insert(name, Def::Struct(fields));
        }
        reg
    }

    /// The type of a document kind (`v1alpha1` for the legacy document).
    pub(crate) fn kind(&self, kind: &str) -> Option<&Ty> {
        self.kinds.get(kind)
    }

    /// The custom merge a type has in Talos, if any (looking through aliases).
    pub(crate) fn merger(&self, ty: &Ty) -> Option<Merger> {
        let mut ty = ty;
        loop {
            let Ty::Named(name) = ty else { return None };
            if self.mergers.contains(name) {
                return Some(match name.as_str() {
                    "v1alpha1.NetworkDeviceList" => Merger::Devices,
                    "v1alpha1.VlanList" => Merger::KeyedList("vlanId"),
                    "v1alpha1.AdmissionPluginConfigList" => Merger::KeyedList("name"),
                    "extensions.ConfigFileList" => Merger::KeyedList("mountPath"),
                    "security.ImageVerificationRules" => Merger::ReplaceByKey("image"),
                    "meta.Args" => Merger::Args,
                    _ => Merger::Atomic,
                });
            }
            match self.defs.get(name) {
                Some(Def::Alias(target)) => ty = target,
                _ => return None,
            }
        }
    }

    /// What `ty` is, aliases followed and inline structs flattened.
    pub(crate) fn shape<'a>(&'a self, ty: &'a Ty) -> Shape<'a> {
        match ty {
            Ty::Str => Shape::Str,
            Ty::Bool => Shape::Bool,
            Ty::Int => Shape::Int,
            Ty::Float => Shape::Float,
            Ty::Any => Shape::Any,
            Ty::Ptr(inner) => Shape::Ptr(inner),
            Ty::Slice(inner) => Shape::Slice(inner),
            Ty::Map(inner) => Shape::Map(inner),
            Ty::Named(name) => {
                if self.marshalers.contains(name) {
                    return Shape::Opaque;
                }
                match self.defs.get(name) {
                    Some(Def::Alias(target)) => self.shape(target),
                    Some(Def::Struct(fields)) => {
                        let mut out = Vec::new();
                        self.flatten(fields, &mut out);
                        Shape::Struct(out)
                    }
                    None => Shape::Opaque,
                }
            }
        }
    }

    fn flatten<'a>(&'a self, fields: &'a [Field], out: &mut Vec<&'a Field>) {
        for f in fields {
            if f.inline {
                if let Ty::Named(name) = &f.ty
                    && let Some(Def::Struct(inner)) = self.defs.get(name)
                {
                    self.flatten(inner, out);
                }
            } else {
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_the_legacy_document_and_its_rules() {
        let reg = registry();
        let config = reg.kind("v1alpha1").expect("v1alpha1 kind");
        let Shape::Struct(fields) = reg.shape(config) else {
            panic!("v1alpha1.Config is a struct")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["version", "debug", "persist", "machine", "cluster"]);
        assert!(!fields[4].omitempty && fields[1].omitempty);
        let link = reg.kind("LinkConfig").expect("LinkConfig kind");
        let Shape::Struct(fields) = reg.shape(link) else {
            panic!("LinkConfig is a struct")
        };
        assert_eq!(fields[0].name, "apiVersion", "meta.Meta is inlined first");
        assert_eq!(
            reg.merger(&Ty::Named("v1alpha1.NetworkDeviceList".into())),
            Some(Merger::Devices)
        );
    }
}
