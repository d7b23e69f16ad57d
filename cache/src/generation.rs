//! Generations: the canonical manifest of a lab's outputs.
//!
//! A generation says, for each target, which artifact (by derivation id and
//! content hash) goes where. It is what a deploy activates and what a
//! rollback returns to, so it must be hashable the same way everywhere:
//! [`Generation::canonical_json`] is the one byte form, and
//! [`Generation::hash`] is BLAKE3 in derive-key mode with the context
//! [`GENERATION_HASH_CONTEXT`] over those bytes, so a generation hash can
//! never equal any other kind of hash of the same bytes.
//!
//! Canonical JSON: objects with keys sorted by bytes, no whitespace, strings
//! escaped as `serde_json` does (only `"`, `\` and control characters),
//! integers as written, one final newline. The top level carries
//! `"format": "hlb-generation-v1"`; a change of shape is a new version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Digest;
use crate::fsx;
use crate::store::{EntryMeta, Store, StoreError};

pub const GENERATION_FORMAT: &str = "hlb-generation-v1";
pub const GENERATION_HASH_CONTEXT: &str = "hlb 2026 generation v1";

/// One artifact delivered to a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Derivation id of the store entry holding it.
    pub id: Digest,
    /// Artifact name; equals its key in the target's map.
    pub name: String,
    pub kind: String,
    /// Content hash of the entry's output.
    pub content: Digest,
    pub secret: bool,
    /// Delivery information (destination path, mode, owner, …).
    #[serde(default)]
    pub meta: BTreeMap<String, Value>,
}

/// The outputs of one lab: target name → artifact name → artifact.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Generation {
    pub lab: String,
    pub targets: BTreeMap<String, BTreeMap<String, Artifact>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error("generation JSON does not parse: {0}")]
    Json(#[source] serde_json::Error),
    #[error("generation format is `{found}`, expected `{GENERATION_FORMAT}`")]
    Format { found: String },
    #[error("target `{target}`: artifact under key `{key}` is named `{name}`")]
    KeyMismatch {
        target: String,
        key: String,
        name: String,
    },
    #[error("generation {expected} read from the store hashes to {actual}")]
    HashMismatch { expected: Digest, actual: Digest },
    #[error("generation JSON contains a non-integer number `{0}`; use a string")]
    Float(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    lab: String,
    targets: BTreeMap<String, BTreeMap<String, Artifact>>,
}

impl Generation {
    /// Artifact names must equal their keys; metadata numbers must be
    /// integers (float formatting is not something to hash).
    pub fn validate(&self) -> Result<(), GenerationError> {
        for (t, arts) in &self.targets {
            for (k, a) in arts {
                if *k != a.name {
                    return Err(GenerationError::KeyMismatch {
                        target: t.clone(),
                        key: k.clone(),
                        name: a.name.clone(),
                    });
                }
                for v in a.meta.values() {
                    check_integers(v)?;
                }
            }
        }
        Ok(())
    }

    /// The canonical bytes (see the module docs).
    pub fn canonical_json(&self) -> Vec<u8> {
        let wire = Wire {
            format: GENERATION_FORMAT.to_string(),
            lab: self.lab.clone(),
            targets: self.targets.clone(),
        };
        // Plain data with string keys: serializing to a Value cannot fail.
        let v = serde_json::to_value(&wire).unwrap_or(Value::Null);
        let mut out = Vec::new();
        write_canonical(&v, &mut out);
        out.push(b'\n');
        out
    }

    pub fn hash(&self) -> Digest {
        let mut h = blake3::Hasher::new_derive_key(GENERATION_HASH_CONTEXT);
        h.update(&self.canonical_json());
        h.finalize().into()
    }

    /// Parse a generation (canonical or not) and check its format version.
    pub fn from_json(bytes: &[u8]) -> Result<Generation, GenerationError> {
        let v: Value = serde_json::from_slice(bytes).map_err(GenerationError::Json)?;
        match v.get("format") {
            Some(Value::String(f)) if f == GENERATION_FORMAT => {}
            other => {
                return Err(GenerationError::Format {
                    found: other
                        .map(|f| f.to_string())
                        .unwrap_or_else(|| "(missing)".into()),
                });
            }
        }
        let w: Wire = serde_json::from_value(v).map_err(GenerationError::Json)?;
        let g = Generation {
            lab: w.lab,
            targets: w.targets,
        };
        g.validate()?;
        Ok(g)
    }
}

fn check_integers(v: &Value) -> Result<(), GenerationError> {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            Err(GenerationError::Float(n.to_string()))
        }
        Value::Array(a) => a.iter().try_for_each(check_integers),
        Value::Object(o) => o.values().try_for_each(check_integers),
        _ => Ok(()),
    }
}

/// Compact JSON with object keys sorted by bytes, whatever order the map
/// holds them in (`serde_json` here preserves insertion order).
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String((*k).clone()), out);
                out.push(b':');
                write_canonical(&map[k.as_str()], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

impl Store {
    /// Store `g` as the entry `<hash>-generation-<lab>` whose `out` is the
    /// canonical JSON and whose references are all its artifacts' ids (so a
    /// generation root keeps its artifacts alive).
    pub fn add_generation(&self, g: &Generation) -> Result<crate::store::Entry, StoreError> {
        g.validate()?;
        let id = g.hash();
        let name = format!("generation-{}", g.lab);
        crate::store::check_name(&name)?;
        if let Some(e) = self.lookup(&id, &name)? {
            return Ok(e);
        }
        let _lock = self.build_lock(&id)?;
        if let Some(e) = self.lookup(&id, &name)? {
            return Ok(e);
        }
        let staging = self.begin(&id, &name)?;
        fsx::write_atomic(staging.out_path(), &g.canonical_json())?;
        let references = g
            .targets
            .values()
            .flat_map(|arts| arts.values().map(|a| a.id))
            .collect();
        staging.commit(EntryMeta {
            kind: "generation".into(),
            references,
            secret: false,
            derivation: serde_json::json!({ "generation": id.hex(), "lab": g.lab }),
        })
    }

    /// The generation with this hash, if the store has it. Its bytes are
    /// re-hashed, so a damaged entry is an error rather than a wrong answer.
    pub fn generation(&self, hash: &Digest) -> Result<Option<Generation>, StoreError> {
        let Some(e) = self.find(hash)? else {
            return Ok(None);
        };
        if !e.name.starts_with("generation-") {
            return Ok(None);
        }
        let g = Generation::from_json(&fsx::read(&e.out)?)?;
        let actual = g.hash();
        if actual != *hash {
            return Err(GenerationError::HashMismatch {
                expected: *hash,
                actual,
            }
            .into());
        }
        Ok(Some(g))
    }
}
