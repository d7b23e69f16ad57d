//! YAML as the Go tools hlb imitates read and write it.
//!
//! Why this exists: hlb's artifacts must be byte-identical to what the
//! upstream Go tools produce — Kubernetes manifests as `kubectl` and Helm's
//! `toYaml` print them (`sigs.k8s.io/yaml`, a go-yaml v2 fork), and Talos
//! machine configs as Talos encodes them (go-yaml v3 with 4-space indent).
//! No Rust YAML crate reproduces go-yaml's quoting, indentation and key
//! order, so the emitter is ours; parsing is delegated to `saphyr-parser`.
//!
//! Modules:
//! - [`parse`]: text → [`Document`]s (events from `saphyr-parser`, YAML 1.2
//!   core schema as go-yaml v3 resolves it, anchors, aliases, merge keys,
//!   duplicate-key errors with positions).
//! - [`resolve`]: what a plain scalar means (go-yaml's resolution table, in
//!   its v2 and v3 variants), and Go's float formatting.
//! - [`scalar`]: how a string is written: which quoting style go-yaml picks
//!   and the writers for each style.
//! - [`emit`]: block-style documents in the two go-yaml flavours ([`Style`]).
//! - [`sort`]: go-yaml's "natural" order of map keys (how Go maps marshal).
//!
//! Invariants: a [`Yaml`] map keeps insertion order (the emitter never
//! reorders; call [`sort_keys`] to get Go-map order); a tree read by
//! [`parse_documents`] carries no aliases (they are expanded) and no merge
//! keys (they are applied).

pub mod emit;
pub mod parse;
pub mod resolve;
pub mod scalar;
pub mod sort;

pub use emit::{Flavor, Style, emit, emit_documents};
pub use parse::{parse_documents, parse_documents_as};
pub use sort::{go_key_less, sort_keys};

use std::fmt;

/// A position in the source text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value and, when it was read from text, where it started.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Yaml,
    pub mark: Option<Mark>,
}

/// Nodes compare by value only: where they came from does not change what
/// they mean.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.value == other.value
    }
}

impl Node {
    pub fn new(value: Yaml) -> Node {
        Node { value, mark: None }
    }

    pub fn at(value: Yaml, mark: Mark) -> Node {
        Node {
            value,
            mark: Some(mark),
        }
    }

    /// `line:column` of this node, or `?` when it was built in code.
    pub fn pos(&self) -> String {
        self.mark.map_or_else(|| "?".to_string(), |m| m.to_string())
    }
}

impl From<Yaml> for Node {
    fn from(value: Yaml) -> Node {
        Node::new(value)
    }
}

/// A YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    /// Integers as go-yaml decodes them: anything from `i64::MIN` to
    /// `u64::MAX`, written back in decimal.
    Int(i128),
    /// A float, as the text to write (`1.5`, `.inf`, `-.inf`, `.nan`, `1e+06`).
    /// Build one from an `f64` with [`Yaml::float`] to get Go's formatting.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in insertion order; keys are unique.
    Map(Vec<(Node, Node)>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    /// A float formatted as Go's `strconv.FormatFloat(f, 'g', -1, 64)`,
    /// with go-yaml's spellings of infinities and NaN.
    pub fn float(f: f64) -> Yaml {
        Yaml::Float(resolve::format_go_float(f))
    }

    /// A map from `(key, value)` pairs, in the order given.
    pub fn map<K: Into<Yaml>, V: Into<Yaml>>(entries: impl IntoIterator<Item = (K, V)>) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Node::new(k.into()), Node::new(v.into())))
                .collect(),
        )
    }

    pub fn seq<V: Into<Yaml>>(items: impl IntoIterator<Item = V>) -> Yaml {
        Yaml::Seq(items.into_iter().map(|v| Node::new(v.into())).collect())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Yaml::Int(i) => i64::try_from(*i).ok(),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match self {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match self {
            Yaml::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The entry of a map whose key is the string `key`.
    pub fn get_entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.value.as_str() == Some(key))
    }

    /// The value of a map under the string `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// Mutable value under the string `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Yaml::Map(m) => m
                .iter_mut()
                .find(|(k, _)| k.value.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A JSON value as YAML: objects keep their key order, numbers keep
    /// their type (integers as `Int`, others as Go-formatted floats).
    pub fn from_json(value: &serde_json::Value) -> Yaml {
        use serde_json::Value as J;
        match value {
            J::Null => Yaml::Null,
            J::Bool(b) => Yaml::Bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Yaml::Int(i128::from(i)),
                (None, Some(u), _) => Yaml::Int(i128::from(u)),
                (None, None, f) => Yaml::float(f.unwrap_or(f64::NAN)),
            },
            J::String(s) => Yaml::Str(s.clone()),
            J::Array(items) => Yaml::Seq(
                items
                    .iter()
                    .map(|v| Node::new(Yaml::from_json(v)))
                    .collect(),
            ),
            J::Object(map) => Yaml::Map(
                map.iter()
                    .map(|(k, v)| (Node::new(Yaml::str(k)), Node::new(Yaml::from_json(v))))
                    .collect(),
            ),
        }
    }

    /// A short name for the kind of value, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a float",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a sequence",
            Yaml::Map(_) => "a mapping",
        }
    }
}

impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_string())
    }
}
impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}
impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}
impl From<i64> for Yaml {
    fn from(i: i64) -> Yaml {
        Yaml::Int(i128::from(i))
    }
}

/// One document of a YAML stream.
#[derive(Clone, Debug)]
pub struct Document {
    /// The document's content (`Yaml::Null` for an empty document).
    pub root: Node,
    /// Where the document starts (its `---`, or its first node).
    pub start: Mark,
}

/// A YAML text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{mark}: {message}")]
pub struct YamlError {
    pub mark: Mark,
    pub message: String,
}
