//! Helm's structured template objects that are not plain maps: Go structs
//! and named types with methods (`.Capabilities.KubeVersion`,
//! `.Capabilities.APIVersions.Has`, `.Files.Get`, ...).
//!
//! Why a trait: each has its own fields, methods and `%v` text, and the
//! executor must treat a field miss on a struct as an error (unlike a map).

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::value::{Value, write_v};

/// A Go struct or named type a template can use.
pub trait Object {
    /// `%T` (`chartutil.KubeVersion`, ...).
    fn type_name(&self) -> &str;
    fn kind_name(&self) -> &'static str {
        "struct"
    }
    /// A field, or `None` when the type has no such field.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// Call a method; `None` when there is no such method.
    fn method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    fn write_v(&self, out: &mut String, plus: bool);
    fn truthy(&self) -> bool {
        true
    }
    /// Items when the object is a slice type.
    fn items(&self) -> Option<Vec<Value>> {
        None
    }
    /// Entries when the object is a map type.
    fn entries(&self) -> Option<BTreeMap<String, Value>> {
        None
    }
}

/// `chartutil.KubeVersion`: prints as its `Version`.
#[derive(Clone)]
pub struct KubeVersion {
    pub version: String,
    pub major: String,
    pub minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "*common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Version" | "GitVersion" => Value::str(&self.version),
            "Major" => Value::str(&self.major),
            "Minor" => Value::str(&self.minor),
            _ => return None,
        })
    }
    fn method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        (name == "String").then(|| Ok(Value::str(&self.version)))
    }
    fn has_method(&self, name: &str) -> bool {
        name == "String"
    }
    fn write_v(&self, out: &mut String, _plus: bool) {
        out.push_str(&self.version);
    }
}

/// `chartutil.VersionSet`: a `[]string` with `Has`.
pub struct VersionSet(pub Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn kind_name(&self) -> &'static str {
        "slice"
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| {
            let want = args.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::Bool(self.0.iter().any(|v| v == want)))
        })
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn write_v(&self, out: &mut String, _plus: bool) {
        out.push('[');
        out.push_str(&self.0.join(" "));
        out.push(']');
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn items(&self) -> Option<Vec<Value>> {
        Some(self.0.iter().map(Value::str).collect())
    }
}

/// Helm's `version.BuildInfo`.
pub struct HelmVersion;

pub const HELM_VERSION: &str = "v4.1.4";
const HELM_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const GO_VERSION: &str = "go1.25.9";

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::str(match name {
            "Version" => HELM_VERSION,
            "GitCommit" => HELM_COMMIT,
            "GitTreeState" => "clean",
            "GoVersion" => GO_VERSION,
            "KubeClientVersion" => "v1.35",
            _ => return None,
        }))
    }
    fn write_v(&self, out: &mut String, plus: bool) {
        if plus {
            out.push_str(&format!(
                "{{Version:{HELM_VERSION} GitCommit:{HELM_COMMIT} GitTreeState:clean GoVersion:{GO_VERSION} KubeClientVersion:v1.35}}"
            ));
        } else {
            out.push_str(&format!(
                "{{{HELM_VERSION} {HELM_COMMIT} clean {GO_VERSION} v1.35}}"
            ));
        }
    }
}

/// A struct whose fields are a fixed map (`.Capabilities`).
pub struct Struct {
    pub type_name: &'static str,
    pub fields: Vec<(&'static str, Value)>,
}

impl Object for Struct {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
    fn write_v(&self, out: &mut String, plus: bool) {
        out.push('{');
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if plus {
                out.push_str(k);
                out.push(':');
            }
            write_v(out, v, plus);
        }
        out.push('}');
    }
}

/// Helm's `Files` (`map[string][]byte` with methods).
pub struct Files {
    /// Every non-template file of the chart, by path relative to its root.
    pub files: BTreeMap<String, Rc<[u8]>>,
}

impl Files {
    fn get(&self, name: &str) -> Vec<u8> {
        self.files.get(name).map(|b| b.to_vec()).unwrap_or_default()
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind_name(&self) -> &'static str {
        "map"
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Some(Ok(match name {
            "Get" => Value::str(String::from_utf8_lossy(&self.get(&arg(0)))),
            "GetBytes" => Value::Bytes(Rc::from(self.get(&arg(0)))),
            "Lines" => {
                let text = String::from_utf8_lossy(&self.get(&arg(0))).into_owned();
                if text.is_empty() {
                    Value::Strs(Rc::new(Vec::new()))
                } else {
                    Value::Strs(Rc::new(text.split('\n').map(str::to_string).collect()))
                }
            }
            "Glob" => {
                let pattern = arg(0);
                let files = self
                    .files
                    .iter()
                    .filter(|(k, _)| crate::glob::matches(&pattern, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(Rc::new(Files { files }))
            }
            "AsConfig" => {
                let m: BTreeMap<String, Value> = self
                    .files
                    .iter()
                    .map(|(k, v)| {
                        let base = k.rsplit('/').next().unwrap_or(k).to_string();
                        (base, Value::str(String::from_utf8_lossy(v)))
                    })
                    .collect();
                Value::str(crate::convert::to_yaml_string(&Value::map(m)))
            }
            "AsSecrets" => {
                use base64::Engine as _;
                let m: BTreeMap<String, Value> = self
                    .files
                    .iter()
                    .map(|(k, v)| {
                        let base = k.rsplit('/').next().unwrap_or(k).to_string();
                        (
                            base,
                            Value::str(base64::engine::general_purpose::STANDARD.encode(v)),
                        )
                    })
                    .collect();
                Value::str(crate::convert::to_yaml_string(&Value::map(m)))
            }
            _ => return None,
        }))
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Lines" | "Glob" | "AsConfig" | "AsSecrets"
        )
    }
    fn write_v(&self, out: &mut String, plus: bool) {
        out.push_str("map[");
        for (i, (k, v)) in self.files.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(k);
            out.push(':');
            write_v(out, &Value::Bytes(v.clone()), plus);
        }
        out.push(']');
    }
    fn truthy(&self) -> bool {
        !self.files.is_empty()
    }
    fn entries(&self) -> Option<BTreeMap<String, Value>> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(v.clone())))
                .collect(),
        )
    }
}

/// Go's `uint8` (a byte of a string, from `index`).
pub struct Uint8(pub u8);

impl Object for Uint8 {
    fn type_name(&self) -> &str {
        "uint8"
    }
    fn kind_name(&self) -> &'static str {
        "uint8"
    }
    fn write_v(&self, out: &mut String, _plus: bool) {
        out.push_str(&self.0.to_string());
    }
    fn truthy(&self) -> bool {
        self.0 != 0
    }
}
