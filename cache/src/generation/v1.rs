//! Reading `hlb-generation-v1` records.
//!
//! Version 1 listed, per target, artifacts with an untyped `meta` map of
//! delivery hints, and did not record how a target is reached. A v1
//! generation read today keeps its artifacts (so it still lists, diffs and
//! roots its store entries for gc) and its hash, and gets the
//! [`TargetSpec::Lab`] spec for every target: it cannot be deployed. The
//! migration is a rebuild: the same recipes give a v2 generation.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Artifact, Generation, GenerationError, Target, TargetSpec, write_canonical};
use crate::Digest;

/// The format string of version 1.
pub const FORMAT: &str = "hlb-generation-v1";
/// The hash context of version 1.
pub const HASH_CONTEXT: &str = "hlb 2026 generation v1";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireV1 {
    #[allow(dead_code)]
    format: String,
    lab: String,
    targets: BTreeMap<String, BTreeMap<String, ArtifactV1>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactV1 {
    id: Digest,
    name: String,
    kind: String,
    content: Digest,
    secret: bool,
    #[serde(default)]
    #[allow(dead_code)]
    meta: BTreeMap<String, Value>,
}

/// A parsed v1 document (its `format` already checked) as a generation.
pub(super) fn read(v: Value) -> Result<Generation, GenerationError> {
    let hash = hash_value(&v);
    let w: WireV1 = serde_json::from_value(v).map_err(GenerationError::Json)?;
    let mut targets = BTreeMap::new();
    for (t, arts) in w.targets {
        let mut artifacts = BTreeMap::new();
        for (k, a) in arts {
            if k != a.name {
                return Err(GenerationError::KeyMismatch {
                    target: t,
                    key: k,
                    name: a.name,
                });
            }
            artifacts.insert(
                k,
                Artifact {
                    id: a.id,
                    name: a.name,
                    kind: a.kind,
                    content: a.content,
                    secret: a.secret,
                },
            );
        }
        targets.insert(
            t,
            Target {
                artifacts,
                after: Vec::new(),
                spec: TargetSpec::Lab,
            },
        );
    }
    Ok(Generation {
        lab: w.lab,
        targets,
        v1_hash: Some(hash),
    })
}

/// The v1 hash of a v1 document: its canonical bytes under the v1 context.
fn hash_value(v: &Value) -> Digest {
    let mut bytes = Vec::new();
    write_canonical(v, &mut bytes);
    bytes.push(b'\n');
    let mut h = blake3::Hasher::new_derive_key(HASH_CONTEXT);
    h.update(&bytes);
    h.finalize().into()
}
