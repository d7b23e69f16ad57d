//! The `hlb.lock` file: what `hlb lock` resolved so that `hlb build` never has to.
//!
//! Design D2: anything that needs the network or a moving index (a release
//! URL's hash, a Debian package closure, a chart version) is resolved once by
//! `hlb lock` and written here, beside the recipes. `hlb build` only reads it.
//! This module is the file format and the staleness check; it is pure (no
//! network, no filesystem): the resolvers live in `hlb-fetch`.
//!
//! # Format, version 1
//!
//! ```json
//! {
//!   "version": 1,
//!   "fetch": {
//!     "https://example.org/tool-1.0.tar.gz": {
//!       "hash": "sha256:…",
//!       "size": 12345
//!     }
//!   }
//! }
//! ```
//!
//! One top-level object: `"version"` first, then one object per resolver
//! section, in sorted order. A section maps a key (what was asked for: a URL,
//! a package set name, …) to an entry, which is always a JSON object.
//!
//! Invariants of the canonical form ([`Lock::to_string_canonical`]):
//! - every object's keys are sorted (except that `"version"` comes first at
//!   the top), at every depth, so the bytes do not depend on insertion order;
//! - two-space indentation and a trailing newline, so it diffs well in git;
//! - empty sections are omitted, so a lock that pins nothing is `{"version": 1}`;
//! - `parse(to_string_canonical(l)) == l` and rendering is byte-stable.
//!
//! Parsing refuses unknown versions, duplicate keys (a botched merge must
//! not silently drop a pin) and entries that are not objects; errors carry
//! the line and column. Entries of the `fetch` section are checked further
//! (a valid `hash` and a `size`), so [`Lock::fetch_hash`] can be infallible.
//!
//! # Staleness
//!
//! The planner computes [`LockRequests`]: per section, each key the recipes
//! need and a request value describing it. [`Lock::stale`] compares: a key
//! requested but absent is [`Staleness::Missing`], a key present but no
//! longer requested is [`Staleness::Unneeded`], and — for sections whose
//! entries record the request they were resolved from under
//! [`REQUEST_FIELD`] — an entry whose recorded request differs is
//! [`Staleness::Changed`]. Sections whose entries record no request (`fetch`:
//! the URL is the whole request) are compared by key only.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::digest::FixedHash;

/// The lock format version this build reads and writes.
pub const LOCK_VERSION: u64 = 1;

/// Section of fixed-output downloads: key = URL, entry = `{"hash", "size"}`.
pub const FETCH_SECTION: &str = "fetch";

/// Entry field under which a resolver records the request it resolved, so
/// that a changed request (another package list, another chart version
/// constraint) makes the entry stale although its key is still requested.
pub const REQUEST_FIELD: &str = "request";

/// The parsed lock file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    /// Section → key → entry. Entries MUST be JSON objects.
    pub sections: BTreeMap<String, BTreeMap<String, Value>>,
}

/// What the recipes need resolved: section → key → request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockRequests(pub BTreeMap<String, BTreeMap<String, Value>>);

impl LockRequests {
    /// Adds one request (builder style for planners and tests).
    pub fn insert(&mut self, section: &str, key: &str, request: Value) {
        self.0
            .entry(section.to_string())
            .or_default()
            .insert(key.to_string(), request);
    }
}

/// One way the lock disagrees with what the recipes need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// Requested but not locked.
    Missing { section: String, key: String },
    /// Locked but no longer requested.
    Unneeded { section: String, key: String },
    /// Locked from a different request than the one the recipes make now.
    Changed {
        section: String,
        key: String,
        locked: Value,
        requested: Value,
    },
}

impl fmt::Display for Staleness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Staleness::Missing { section, key } => {
                write!(f, "{section}: `{}` is not locked", redact(key))
            }
            Staleness::Unneeded { section, key } => {
                write!(
                    f,
                    "{section}: `{}` is locked but no longer used",
                    redact(key)
                )
            }
            Staleness::Changed {
                section,
                key,
                locked,
                requested,
            } => write!(
                f,
                "{section}: `{}` was locked for {locked} but the recipes now ask for {requested}",
                redact(key)
            ),
        }
    }
}

/// Why a lock file could not be read. Messages do not name the file (the
/// caller knows its path): print them as `<path>: <error>`.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not valid JSON, or not the shape of a lock file.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A lock written by a newer (or unknown) hlb.
    #[error(
        "lock file version {found} is not supported (this hlb reads version {LOCK_VERSION}); \
         upgrade hlb, or delete the file and run `hlb lock`"
    )]
    UnsupportedVersion { found: String },
}

impl Lock {
    /// An empty lock.
    pub fn new() -> Lock {
        Lock::default()
    }

    /// Parses `hlb.lock` text.
    pub fn parse(text: &str) -> Result<Lock, LockError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let bad_version = Cell::new(None);
        let seed = LockFileSeed {
            bad_version: &bad_version,
        };
        let file = de::DeserializeSeed::deserialize(seed, &mut de)
            .and_then(|f| de.end().map(|()| f))
            .map_err(|e| {
                if let Some(found) = bad_version.take() {
                    return LockError::UnsupportedVersion { found };
                }
                // serde_json appends " at line L column C"; we report it up front.
                let message = e.to_string();
                let message = match message.rfind(" at line ") {
                    Some(i) => message[..i].to_string(),
                    None => message,
                };
                // serde_json reports column 0 for an error at a line's first byte.
                LockError::Syntax {
                    line: e.line(),
                    column: e.column().max(1),
                    message,
                }
            })?;
        Ok(Lock {
            sections: file.sections,
        })
    }

    /// The canonical text (see the module docs): sorted, 2-space, trailing newline.
    pub fn to_string_canonical(&self) -> String {
        let mut top = serde_json::Map::new();
        top.insert("version".into(), Value::from(LOCK_VERSION));
        for (name, entries) in &self.sections {
            if entries.is_empty() {
                continue;
            }
            let mut section = serde_json::Map::new();
            for (key, entry) in entries {
                section.insert(key.clone(), sorted(entry));
            }
            top.insert(name.clone(), Value::Object(section));
        }
        let mut out = serde_json::to_string_pretty(&Value::Object(top))
            .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
        out.push('\n');
        out
    }

    /// The entry for `key` in `section`.
    pub fn get(&self, section: &str, key: &str) -> Option<&Value> {
        self.sections.get(section)?.get(key)
    }

    /// Sets an entry (MUST be a JSON object); returns the previous one.
    pub fn set(&mut self, section: &str, key: &str, entry: Value) -> Option<Value> {
        debug_assert!(entry.is_object(), "lock entries are JSON objects");
        self.sections
            .entry(section.to_string())
            .or_default()
            .insert(key.to_string(), entry)
    }

    /// Removes an entry; returns it.
    pub fn remove(&mut self, section: &str, key: &str) -> Option<Value> {
        let entries = self.sections.get_mut(section)?;
        let old = entries.remove(key);
        if entries.is_empty() {
            self.sections.remove(section);
        }
        old
    }

    /// How the lock disagrees with `req`, in section then key order.
    pub fn stale(&self, req: &LockRequests) -> Vec<Staleness> {
        let empty = BTreeMap::new();
        let mut names: Vec<&String> = self.sections.keys().chain(req.0.keys()).collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            let locked = self.sections.get(name).unwrap_or(&empty);
            let wanted = req.0.get(name).unwrap_or(&empty);
            let mut keys: Vec<&String> = locked.keys().chain(wanted.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let (section, key_s) = (name.clone(), key.clone());
                match (locked.get(key), wanted.get(key)) {
                    (None, Some(_)) => out.push(Staleness::Missing {
                        section,
                        key: key_s,
                    }),
                    (Some(_), None) => out.push(Staleness::Unneeded {
                        section,
                        key: key_s,
                    }),
                    (Some(entry), Some(requested)) => {
                        if let Some(was) = entry.get(REQUEST_FIELD)
                            && was != requested
                        {
                            out.push(Staleness::Changed {
                                section,
                                key: key_s,
                                locked: was.clone(),
                                requested: requested.clone(),
                            });
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        out
    }

    /// The pinned hash of `url` in the `fetch` section.
    pub fn fetch_hash(&self, url: &str) -> Option<FixedHash> {
        self.fetch_pin(url).map(|(h, _)| h)
    }

    /// The pinned hash and size of `url` in the `fetch` section.
    pub fn fetch_pin(&self, url: &str) -> Option<(FixedHash, u64)> {
        let entry = self.get(FETCH_SECTION, url)?;
        // `parse` validated fetch entries; a hand-built bad entry reads as absent.
        let hash = FixedHash::parse(entry.get("hash")?.as_str()?).ok()?;
        Some((hash, entry.get("size")?.as_u64()?))
    }

    /// Pins `url` in the `fetch` section.
    pub fn set_fetch(&mut self, url: &str, hash: &FixedHash, size: u64) -> Option<Value> {
        self.set(FETCH_SECTION, url, fetch_entry(hash, size))
    }
}

/// The `fetch` section entry for a download.
pub fn fetch_entry(hash: &FixedHash, size: u64) -> Value {
    serde_json::json!({ "hash": hash.to_string(), "size": size })
}

/// A copy of `v` whose objects have sorted keys at every depth (serde_json's
/// `preserve_order` would otherwise keep insertion order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let ordered: BTreeMap<&String, &Value> = m.iter().collect();
            Value::Object(
                ordered
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Hides a password in a URL-like key (`user:pass@` → `user:****@`): lock
/// keys are URLs, and messages about them end up in terminals and CI logs.
fn redact(key: &str) -> String {
    let Some(scheme_end) = key.find("://") else {
        return key.to_string();
    };
    let rest = &key[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return key.to_string();
    };
    let userinfo = &rest[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None => "****".to_string(),
    };
    format!("{}{shown}{}", &key[..scheme_end + 3], &rest[at..])
}

/// The file as read: validated while deserializing, so that every error
/// carries serde_json's line and column.
struct LockFile {
    sections: BTreeMap<String, BTreeMap<String, Value>>,
}

/// Deserializes a [`LockFile`]; an unsupported version is also recorded in
/// `bad_version`, so that [`Lock::parse`] can report it as such.
struct LockFileSeed<'a> {
    bad_version: &'a Cell<Option<String>>,
}

impl<'de> de::DeserializeSeed<'de> for LockFileSeed<'_> {
    type Value = LockFile;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<LockFile, D::Error> {
        d.deserialize_map(LockFileVisitor {
            bad_version: self.bad_version,
        })
    }
}

struct LockFileVisitor<'a> {
    bad_version: &'a Cell<Option<String>>,
}

impl<'de> Visitor<'de> for LockFileVisitor<'_> {
    type Value = LockFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lock file object with a \"version\" field")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LockFile, A::Error> {
        let mut version_seen = false;
        let mut sections = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "version" {
                if version_seen {
                    return Err(de::Error::custom("duplicate field `version`"));
                }
                version_seen = true;
                let v: Value = map.next_value()?;
                if v.as_u64() != Some(LOCK_VERSION) {
                    self.bad_version.set(Some(v.to_string()));
                    return Err(de::Error::custom("unsupported version"));
                }
                continue;
            }
            if sections.contains_key(&name) {
                return Err(de::Error::custom(format!("duplicate section `{name}`")));
            }
            let entries = map.next_value_seed(SectionSeed { name: &name })?;
            sections.insert(name, entries);
        }
        if !version_seen {
            return Err(de::Error::custom(format!(
                "missing field `version` (expected {LOCK_VERSION})"
            )));
        }
        Ok(LockFile { sections })
    }
}

/// Deserializes one section, refusing duplicate keys and non-object entries.
struct SectionSeed<'a> {
    name: &'a str,
}

impl<'de> de::DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = BTreeMap<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_> {
    type Value = BTreeMap<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "section `{}` to be an object of entries", self.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let entry: Value = map.next_value()?;
            let section = self.name;
            let shown = redact(&key);
            if entries.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{shown}` in section `{section}`"
                )));
            }
            if !entry.is_object() {
                return Err(de::Error::custom(format!(
                    "entry `{shown}` in section `{section}` is not an object"
                )));
            }
            if section == FETCH_SECTION {
                check_fetch_entry(&entry)
                    .map_err(|why| de::Error::custom(format!("fetch entry `{shown}`: {why}")))?;
            }
            entries.insert(key, entry);
        }
        Ok(entries)
    }
}

fn check_fetch_entry(entry: &Value) -> Result<(), String> {
    let hash = entry
        .get("hash")
        .and_then(Value::as_str)
        .ok_or("missing string field `hash`")?;
    FixedHash::parse(hash)?;
    entry
        .get("size")
        .and_then(Value::as_u64)
        .ok_or("missing non-negative integer field `size`")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_keys() {
        assert_eq!(redact("https://u:p@h/x"), "https://u:****@h/x");
        assert_eq!(redact("https://tok@h/x@y"), "https://****@h/x@y");
        assert_eq!(redact("https://h/x"), "https://h/x");
        assert_eq!(redact("pkgs"), "pkgs");
    }
}
