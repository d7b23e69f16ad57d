//! Generations: the canonical manifest of a lab's outputs.
//!
//! A generation says, for each target, which artifacts (by derivation id
//! and content hash) it receives and what its deployer does with them
//! ([`contract`]: one typed spec per kind of target). It is what a switch
//! activates and what a rollback returns to, so it must be hashable the
//! same way everywhere: [`Generation::canonical_json`] is the one byte
//! form, and [`Generation::hash`] is BLAKE3 in derive-key mode with the
//! context [`GENERATION_HASH_CONTEXT`] over those bytes, so a generation
//! hash can never equal any other kind of hash of the same bytes.
//!
//! Canonical JSON: objects with keys sorted by bytes, no whitespace, strings
//! escaped as `serde_json` does (only `"`, `\` and control characters),
//! integers as written, one final newline. The top level carries
//! `"format": "hlb-generation-v2"`; a change of shape is a new version.
//!
//! Version 1 (`hlb-generation-v1`, artifacts with an untyped `meta` map)
//! is still read, so generations recorded before v2 stay listable,
//! diffable and collectable: [`v1`] turns one into a v2 generation whose
//! targets carry their artifacts and the [`TargetSpec::Lab`] spec (v1 did
//! not record how targets are reached, so it cannot be deployed), and
//! which keeps its v1 hash. Rebuilding the same recipes records a v2
//! generation.

pub mod contract;
pub mod v1;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Digest;
use crate::fsx;
use crate::store::{EntryMeta, Store, StoreError};

pub use contract::{Artifact, Target, TargetSpec};

pub const GENERATION_FORMAT: &str = "hlb-generation-v2";
pub const GENERATION_HASH_CONTEXT: &str = "hlb 2026 generation v2";

/// The outputs of one lab: target name → target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    pub lab: String,
    pub targets: BTreeMap<String, Target>,
    /// Set when this generation was read from a version 1 record: its hash
    /// (which [`Generation::hash`] returns; v2 bytes would hash
    /// differently). Such a generation has no delivery data.
    pub v1_hash: Option<Digest>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error("generation JSON does not parse: {0}")]
    Json(#[source] serde_json::Error),
    #[error("generation format is `{found}`, expected `{GENERATION_FORMAT}` (or v1)")]
    Format { found: String },
    #[error("target `{target}`: artifact under key `{key}` is named `{name}`")]
    KeyMismatch {
        target: String,
        key: String,
        name: String,
    },
    #[error(
        "target `{target}` ({kind}) refers to artifact `{artifact}`, which it does not receive"
    )]
    UnknownArtifact {
        target: String,
        kind: &'static str,
        artifact: String,
    },
    #[error("target `{target}`: mode `{mode}` is not four octal digits")]
    Mode { target: String, mode: String },
    #[error("target `{target}` is after `{after}`, which the generation does not have")]
    UnknownAfter { target: String, after: String },
    #[error("generation {expected} read from the store hashes to {actual}")]
    HashMismatch { expected: Digest, actual: Digest },
    #[error("generation JSON contains a non-integer number `{0}`; use a string")]
    Float(String),
    #[error("a generation read from version 1 has no delivery data and cannot be stored again")]
    V1,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    lab: String,
    targets: BTreeMap<String, Target>,
}

impl Generation {
    /// Artifact names equal their keys; every artifact a spec names is the
    /// target's; modes are octal; `after` names existing targets.
    pub fn validate(&self) -> Result<(), GenerationError> {
        for (t, target) in &self.targets {
            for (k, a) in &target.artifacts {
                if *k != a.name {
                    return Err(GenerationError::KeyMismatch {
                        target: t.clone(),
                        key: k.clone(),
                        name: a.name.clone(),
                    });
                }
            }
            for r in target.spec.artifact_refs() {
                if !target.artifacts.contains_key(r) {
                    return Err(GenerationError::UnknownArtifact {
                        target: t.clone(),
                        kind: target.spec.kind(),
                        artifact: r.to_string(),
                    });
                }
            }
            for mode in modes(&target.spec) {
                if mode.len() != 4 || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                    return Err(GenerationError::Mode {
                        target: t.clone(),
                        mode: mode.to_string(),
                    });
                }
            }
            for a in &target.after {
                if !self.targets.contains_key(a) {
                    return Err(GenerationError::UnknownAfter {
                        target: t.clone(),
                        after: a.clone(),
                    });
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
        if let Some(h) = self.v1_hash {
            return h;
        }
        let mut h = blake3::Hasher::new_derive_key(GENERATION_HASH_CONTEXT);
        h.update(&self.canonical_json());
        h.finalize().into()
    }

    /// Every artifact of every target, with its target's name.
    pub fn artifacts(&self) -> impl Iterator<Item = (&str, &Artifact)> {
        self.targets
            .iter()
            .flat_map(|(t, target)| target.artifacts.values().map(move |a| (t.as_str(), a)))
    }

    /// Parse a generation (canonical or not) of either format version.
    pub fn from_json(bytes: &[u8]) -> Result<Generation, GenerationError> {
        let v: Value = serde_json::from_slice(bytes).map_err(GenerationError::Json)?;
        check_integers(&v)?;
        match v.get("format") {
            Some(Value::String(f)) if f == GENERATION_FORMAT => {}
            Some(Value::String(f)) if f == v1::FORMAT => return v1::read(v),
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
            v1_hash: None,
        };
        g.validate()?;
        Ok(g)
    }
}

fn modes(spec: &TargetSpec) -> Vec<&str> {
    match spec {
        TargetSpec::Host(h) => h.files.iter().map(|f| f.mode.as_str()).collect(),
        TargetSpec::Lxc(l) => l.secrets.iter().map(|s| s.mode.as_str()).collect(),
        TargetSpec::Cluster(c) => c.files.iter().map(|f| f.mode.as_str()).collect(),
        TargetSpec::TalosNode(_) | TargetSpec::Lab => Vec::new(),
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
        if g.v1_hash.is_some() {
            return Err(GenerationError::V1.into());
        }
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
        let references = g.artifacts().map(|(_, a)| a.id).collect();
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
        let bytes = fsx::read(&e.out)?;
        let g = Generation::from_json(&bytes)?;
        // A v1 record's hash is over its canonical v1 bytes, recomputed
        // by the reader, so damage is found in both versions.
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
