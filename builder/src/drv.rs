//! Derivations and their ids.
//!
//! A derivation is everything that can influence one build output: its kind
//! (which compiler builds it), the compiler's version, a tree of parameters,
//! the derivations it consumes, and the recipe files it reads (by content
//! hash). Its id is BLAKE3 over the canonical encoding defined here.
//!
//! # Canonical encoding, version 1
//!
//! The encoding is a byte string; the id is `blake3(encoding)`.
//!
//! ```text
//! derivation := "hlb-derivation-v1\0"
//!               str(kind) u32(builder_version) str(name)
//!               value(params)
//!               u64(#inputs)  { str(role) digest(id) }*      roles sorted, unique
//!               u64(#sources) { str(role) digest(hash) }*    roles sorted, unique
//!               fixed(fixed_output)
//! str(s)      := u64(len) bytes                              (UTF-8)
//! digest(d)   := 32 raw bytes
//! fixed(None) := 0x00 ; fixed(Some(h)) := 0x01 str(algorithm) u64(len) bytes
//! value       := 'n'                                         null
//!              | 'b' 0x00|0x01                               bool
//!              | 'i' i64 (big endian)                        integer
//!              | 's' str                                     string
//!              | 'l' u64(len) value*                         list (order kept)
//!              | 'm' u64(len) { str(key) value }*            map, keys sorted
//! u64, u32    := big endian
//! ```
//!
//! Maps are `BTreeMap`s, so keys are always sorted; nothing here depends on
//! `Debug` output, on `HashMap` order or on the order declarations were written.
//!
//! A fixed-output derivation (a download pinned by hash) is identified by its
//! kind, name and expected hash only: where it comes from (URL, mirror) cannot
//! change its bytes, so it is deliberately left out of the id (`params` of a
//! fixed-output derivation are not hashed).

use std::collections::BTreeMap;

use hlb_cache::Digest;
pub use hlb_cache::FixedHash;
use serde::{Deserialize, Serialize};

/// Domain tag of the canonical encoding; bump the version on any change.
pub const ENCODING_TAG: &[u8] = b"hlb-derivation-v1\0";

/// A derivation id: BLAKE3 of the canonical encoding.
pub type DrvId = Digest;

/// A parameter tree. Maps are ordered; there are no floats (nothing hlb
/// hashes needs them, and their textual forms are a source of drift).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

impl Value {
    pub fn map() -> Value {
        Value::Map(BTreeMap::new())
    }

    /// Builder-style insert into a map value. Panics on a non-map: that is a
    /// programming error in a planner, never a user error.
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Value {
        match &mut self {
            Value::Map(m) => {
                m.insert(key.to_string(), v.into());
            }
            _ => panic!("Value::with on a non-map"),
        }
        self
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(b'n'),
            Value::Bool(b) => {
                out.push(b'b');
                out.push(u8::from(*b));
            }
            Value::Int(i) => {
                out.push(b'i');
                out.extend_from_slice(&i.to_be_bytes());
            }
            Value::Str(s) => {
                out.push(b's');
                put_str(out, s);
            }
            Value::List(items) => {
                out.push(b'l');
                put_len(out, items.len());
                for v in items {
                    v.encode(out);
                }
            }
            Value::Map(m) => {
                out.push(b'm');
                put_len(out, m.len());
                for (k, v) in m {
                    put_str(out, k);
                    v.encode(out);
                }
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// One derivation: a node of the build graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derivation {
    /// Which compiler builds it (`file`, `manifest`, `fetch`, `generation`, …).
    pub kind: String,
    /// Store name: `[A-Za-z0-9+._?=-]`, not starting with `.`, at most 200 bytes.
    pub name: String,
    /// The compiler's version; bumping it changes every id of that kind.
    pub builder_version: u32,
    /// What the compiler needs besides inputs and sources.
    pub params: Value,
    /// Input derivations by role. The builder sees their outputs, nothing else.
    pub inputs: BTreeMap<String, DrvId>,
    /// Recipe files the builder reads, by role: their content hash.
    pub sources: BTreeMap<String, Digest>,
    /// Set for fixed-output derivations (downloads pinned by hash).
    pub fixed_output: Option<FixedHash>,
    /// Whether the output carries secret material (stored encrypted).
    #[serde(default)]
    pub secret: bool,
}

impl Derivation {
    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(ENCODING_TAG);
        put_str(&mut out, &self.kind);
        out.extend_from_slice(&self.builder_version.to_be_bytes());
        put_str(&mut out, &self.name);
        match &self.fixed_output {
            // Where a pinned download comes from cannot change its bytes.
            Some(_) => Value::Null.encode(&mut out),
            None => self.params.encode(&mut out),
        }
        put_len(&mut out, self.inputs.len());
        for (role, id) in &self.inputs {
            put_str(&mut out, role);
            out.extend_from_slice(&id.0);
        }
        put_len(&mut out, self.sources.len());
        for (role, h) in &self.sources {
            put_str(&mut out, role);
            out.extend_from_slice(&h.0);
        }
        match &self.fixed_output {
            None => out.push(0),
            Some(f) => {
                out.push(1);
                put_str(&mut out, &f.algorithm);
                put_len(&mut out, f.bytes.len());
                out.extend_from_slice(&f.bytes);
            }
        }
        out.push(u8::from(self.secret));
        out
    }

    /// The derivation id.
    pub fn id(&self) -> DrvId {
        Digest::of(&self.encode())
    }
}

/// Whether `name` is usable as a store name (the store's own rule,
/// [`hlb_cache::names::invalid_reason`]).
pub fn valid_store_name(name: &str) -> bool {
    hlb_cache::names::invalid_reason(name).is_none()
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Derivation {
        Derivation {
            kind: "file".into(),
            name: "motd".into(),
            builder_version: 1,
            params: Value::map().with("mode", 0o644i64).with("text", "hello"),
            inputs: BTreeMap::new(),
            sources: BTreeMap::new(),
            fixed_output: None,
            secret: false,
        }
    }

    #[test]
    fn every_field_changes_the_id() {
        let base = sample().id();
        let mut d = sample();
        d.kind = "manifest".into();
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.builder_version = 2;
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.name = "motd2".into();
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.params = d.params.with("text", "hello!");
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.inputs.insert("src".into(), Digest::of(b"x"));
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.sources.insert("src".into(), Digest::of(b"x"));
        assert_ne!(d.id(), base);
        let mut d = sample();
        d.secret = true;
        assert_ne!(d.id(), base);
    }

    #[test]
    fn length_prefixes_prevent_ambiguity() {
        // ("ab","c") and ("a","bc") must not collide.
        let a = Value::map().with("ab", "c");
        let b = Value::map().with("a", "bc");
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        a.encode(&mut ea);
        b.encode(&mut eb);
        assert_ne!(ea, eb);
    }

    #[test]
    fn fixed_output_id_ignores_where_it_comes_from() {
        let mk = |url: &str| Derivation {
            kind: "fetch".into(),
            name: "x.tar.gz".into(),
            builder_version: 1,
            params: Value::map().with("url", url),
            inputs: BTreeMap::new(),
            sources: BTreeMap::new(),
            fixed_output: Some(FixedHash::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap()),
            secret: false,
        };
        assert_eq!(mk("https://a/x").id(), mk("https://b/x").id());
    }

    #[test]
    fn fixed_hash_parse() {
        assert!(FixedHash::parse("sha256:00").is_err());
        assert!(FixedHash::parse("md5:00").is_err());
        let h = FixedHash::parse(&format!("blake3:{}", "0f".repeat(32))).unwrap();
        assert_eq!(h.to_string(), format!("blake3:{}", "0f".repeat(32)));
    }

    #[test]
    fn store_names() {
        assert!(valid_store_name("traefik.yaml"));
        assert!(!valid_store_name(".hidden"));
        assert!(!valid_store_name("a/b"));
        assert!(!valid_store_name(""));
    }
}
