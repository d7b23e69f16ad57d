//! `entry.json`, the record that makes an entry directory a valid entry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::Digest;
use crate::fsx;

/// Format tag of `entry.json`; a store refuses entries of another version.
pub const ENTRY_FORMAT: &str = "hlb-entry-v1";

/// What the builder tells the store about an output.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryMeta {
    /// The compiler's artifact kind (`talos-config`, `lxc-template`, …).
    pub kind: String,
    /// Ids of the input derivations (the entries this one depends on);
    /// stored sorted and without duplicates.
    pub references: Vec<Digest>,
    /// Whether `out` holds secret material (ciphertext).
    pub secret: bool,
    /// The derivation, as JSON, for people and tools (not re-hashed).
    pub derivation: serde_json::Value,
}

/// A valid store entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: Digest,
    pub name: String,
    /// `entries/<id-hex>-<name>`.
    pub dir: PathBuf,
    /// `dir/out`: the output (file, directory or symlink), read-only.
    pub out: PathBuf,
    /// `hlb-tree-v1` hash of `out`.
    pub content_hash: Digest,
    /// Total bytes of the regular files in `out`.
    pub size: u64,
    pub meta: EntryMeta,
}

/// The on-disk form; field order is the order written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryFile {
    pub format: String,
    pub id: Digest,
    pub name: String,
    pub kind: String,
    pub content_hash: Digest,
    pub size: u64,
    pub secret: bool,
    pub references: Vec<Digest>,
    pub derivation: serde_json::Value,
}

impl EntryFile {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail.
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// Split `<64 hex>-<name>` into its parts.
pub(crate) fn parse_dir_name(s: &str) -> Option<(Digest, &str)> {
    if s.len() < 66 || s.as_bytes()[64] != b'-' {
        return None;
    }
    let id = Digest::from_hex(s.get(..64)?).ok()?;
    Some((id, &s[65..]))
}

/// Why the entry directory `dir` is not valid, or the entry it holds.
pub(crate) fn load(dir: &Path) -> Result<Result<Entry, String>, StoreError> {
    let dir_name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((id, name)) = parse_dir_name(&dir_name) else {
        return Ok(Err("directory name is not `<id>-<name>`".into()));
    };
    let json_path = dir.join("entry.json");
    let bytes = match fsx::read(&json_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Err("entry.json is missing".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let file: EntryFile = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => return Ok(Err(format!("entry.json does not parse: {e}"))),
    };
    if file.format != ENTRY_FORMAT {
        return Ok(Err(format!(
            "entry.json has format `{}`, expected `{ENTRY_FORMAT}`",
            file.format
        )));
    }
    if file.id != id || file.name != name {
        return Ok(Err(format!(
            "entry.json names `{}-{}`, not this directory",
            file.id, file.name
        )));
    }
    let out = dir.join("out");
    if fsx::symlink_metadata_opt(&out)?.is_none() {
        return Ok(Err("out is missing".into()));
    }
    Ok(Ok(Entry {
        id,
        name: file.name,
        dir: dir.to_path_buf(),
        out,
        content_hash: file.content_hash,
        size: file.size,
        meta: EntryMeta {
            kind: file.kind,
            references: file.references,
            secret: file.secret,
            derivation: file.derivation,
        },
    }))
}
