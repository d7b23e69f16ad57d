//! Lock resolvers: what `hlb lock` runs to fill `hlb.lock`.
//!
//! Each section of the lock has one [`Resolver`]. [`update_lock`] is the
//! whole of `hlb lock`'s logic: it resolves exactly the keys the lock is
//! missing (or whose recorded request changed), drops keys no longer
//! requested, and leaves every other pin untouched (byte-identical in the
//! canonical file), so re-running it is a no-op and a pin moves only when
//! someone removes it on purpose. The Debian and Helm resolvers plug in here.

use std::collections::BTreeMap;

use hlb_cache::lock::{FETCH_SECTION, Lock, LockRequests, Staleness, fetch_entry};
use serde_json::Value;

use crate::error::FetchError;
use crate::fetcher::Fetcher;
use crate::redact::redact;

/// Resolves requests of one lock section into entries.
pub trait Resolver {
    /// The lock section it fills.
    fn section(&self) -> &'static str;
    /// The entry (a JSON object) for `key`. Sections that care whether the
    /// request changed record it in the entry under
    /// [`hlb_cache::lock::REQUEST_FIELD`].
    fn resolve(&self, key: &str, request: &Value, fetcher: &Fetcher) -> Result<Value, FetchError>;
}

/// The `fetch` section: key = URL, entry = `{"hash": "sha256:…", "size": N}`.
/// It downloads the URL (a mirror holding the file by name will do) and pins
/// what it got.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchResolver;

impl Resolver for FetchResolver {
    fn section(&self) -> &'static str {
        FETCH_SECTION
    }

    fn resolve(&self, key: &str, _request: &Value, fetcher: &Fetcher) -> Result<Value, FetchError> {
        let (hash, size) = fetcher.prefetch(key)?;
        Ok(fetch_entry(&hash, size))
    }
}

/// Progress of [`update_lock`], for the CLI to render. Keys are redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockEvent {
    Resolving { section: String, key: String },
    Resolved { section: String, key: String },
    Removed { section: String, key: String },
}

impl std::fmt::Display for LockEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockEvent::Resolving { section, key } => write!(f, "resolving {section} {key}"),
            LockEvent::Resolved { section, key } => write!(f, "locked {section} {key}"),
            LockEvent::Removed { section, key } => write!(f, "removed {section} {key}"),
        }
    }
}

/// What [`update_lock`] changed, each list sorted by section then key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockChanges {
    pub added: Vec<(String, String)>,
    /// Re-resolved because the recorded request changed.
    pub updated: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
}

impl LockChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// `1 added, 0 updated, 2 removed`, or `up to date`.
impl std::fmt::Display for LockChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("up to date");
        }
        write!(
            f,
            "{} added, {} updated, {} removed",
            self.added.len(),
            self.updated.len(),
            self.removed.len()
        )
    }
}

/// Why [`update_lock`] failed. The lock is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum LockUpdateError {
    #[error("no resolver for lock section `{section}` (needed for `{key}`)")]
    NoResolver { section: String, key: String },
    #[error("{}", failures_message(.0))]
    Resolve(Vec<ResolveFailure>),
}

/// One key that could not be resolved.
#[derive(Debug)]
pub struct ResolveFailure {
    pub section: String,
    pub key: String,
    pub error: FetchError,
}

fn failures_message(fs: &[ResolveFailure]) -> String {
    let mut s = format!(
        "cannot resolve {} lock entr{}",
        fs.len(),
        if fs.len() == 1 { "y" } else { "ies" }
    );
    for f in fs {
        let error = f.error.to_string().replace('\n', "\n    ");
        s.push_str(&format!("\n  {} `{}`: {error}", f.section, redact(&f.key)));
    }
    s
}

/// Brings `lock` in line with `requests` (see the module docs). On error,
/// every key that failed is reported and `lock` is unchanged.
pub fn update_lock(
    lock: &mut Lock,
    requests: &LockRequests,
    resolvers: &[&dyn Resolver],
    fetcher: &Fetcher,
    events: &dyn Fn(LockEvent),
) -> Result<LockChanges, LockUpdateError> {
    let by_section: BTreeMap<&str, &dyn Resolver> =
        resolvers.iter().map(|r| (r.section(), *r)).collect();
    let mut next = lock.clone();
    let mut changes = LockChanges::default();
    let mut failures = Vec::new();
    for stale in lock.stale(requests) {
        let (section, key, changed) = match stale {
            Staleness::Unneeded { section, key } => {
                next.remove(&section, &key);
                events(LockEvent::Removed {
                    section: section.clone(),
                    key: redact(&key),
                });
                changes.removed.push((section, key));
                continue;
            }
            Staleness::Missing { section, key } => (section, key, false),
            Staleness::Changed { section, key, .. } => (section, key, true),
        };
        let resolver =
            by_section
                .get(section.as_str())
                .ok_or_else(|| LockUpdateError::NoResolver {
                    section: section.clone(),
                    key: redact(&key),
                })?;
        let request = requests
            .0
            .get(&section)
            .and_then(|s| s.get(&key))
            .unwrap_or(&Value::Null);
        events(LockEvent::Resolving {
            section: section.clone(),
            key: redact(&key),
        });
        match resolver.resolve(&key, request, fetcher) {
            Ok(entry) => {
                next.set(&section, &key, entry);
                events(LockEvent::Resolved {
                    section: section.clone(),
                    key: redact(&key),
                });
                if changed {
                    changes.updated.push((section, key));
                } else {
                    changes.added.push((section, key));
                }
            }
            Err(error) => failures.push(ResolveFailure {
                section,
                key,
                error,
            }),
        }
    }
    if !failures.is_empty() {
        return Err(LockUpdateError::Resolve(failures));
    }
    *lock = next;
    Ok(changes)
}
