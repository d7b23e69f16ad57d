//! The content-addressed store (design D1 and D3).
//!
//! Layout under the root:
//!
//! ```text
//! hlb-store                      "hlb-store-v1\n"; any other version is refused
//! entries/<id-hex>-<name>/       one valid entry each
//!     out                        the output (file, dir or symlink), read-only
//!     entry.json                 see `entry.rs`
//! tmp/<token>/ tmp/<token>.lock  staging areas and their owners' locks
//! locks/store.lock               shared by builds and commits, exclusive for gc
//! locks/<id-hex>.lock            per-id build locks
//! trash/                         entries being deleted by gc
//! ```
//!
//! Invariants:
//! - an entry directory appears in `entries/` only by one `rename` of a
//!   staging directory that already holds a normalized, fsynced `out` and
//!   `entry.json`, so anything in `entries/` was complete when it appeared;
//! - an entry leaves `entries/` only by one `rename` into `trash/`;
//! - whatever is in `trash/` or in `tmp/` without a live owner is garbage,
//!   removed by the next [`Store::open`] or gc.

mod entry;
mod lock;
mod staging;
mod verify;

use std::path::{Path, PathBuf};

pub use entry::{ENTRY_FORMAT, Entry, EntryMeta};
pub use lock::LockGuard;
pub use staging::Staging;
pub use verify::{Corruption, VerifyReport};

pub(crate) use lock::{Mode, lock_validated, try_lock_existing, wait_lock};

use crate::Digest;
use crate::fsx::{self, IoError};
use crate::tree::TreeError;

/// Contents of the version file.
pub const STORE_VERSION: &str = "hlb-store-v1";
const VERSION_FILE: &str = "hlb-store";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("{}: store version is `{found}`, this hlb understands `{STORE_VERSION}`", path.display())]
    Version { path: PathBuf, found: String },
    #[error("{} is not empty and has no `hlb-store` version file; refusing to use it as a store", path.display())]
    NotAStore { path: PathBuf },
    #[error("`{name}` cannot be a store name: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("{}: the builder did not create its output", path.display())]
    MissingOutput { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    BadEntry { path: PathBuf, reason: String },
    #[error(transparent)]
    Generation(#[from] crate::generation::GenerationError),
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
}

/// A handle on a store directory. Cheap to clone; holds no open files.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    match crate::names::invalid_reason(name) {
        None => Ok(()),
        Some(reason) => Err(StoreError::BadName {
            name: name.to_string(),
            reason,
        }),
    }
}

impl Store {
    /// Open the store at `root`, creating the layout if `root` is missing or
    /// empty. Empties `trash/` and removes staging areas whose owner is gone.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        fsx::create_dir_all(root)?;
        let version_path = root.join(VERSION_FILE);
        match fsx::read_to_string(&version_path) {
            Ok(v) => {
                if v.trim_end() != STORE_VERSION {
                    return Err(StoreError::Version {
                        path: version_path,
                        found: v.trim_end().to_string(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Tolerate another process initializing at the same moment:
                // its temp file for the version file, or the layout itself.
                let foreign = fsx::read_dir_sorted(root)?.into_iter().any(|n| {
                    let n = n.to_string_lossy();
                    !(n.starts_with(".hlb-store.")
                        || ["entries", "tmp", "locks", "trash"].contains(&n.as_ref()))
                });
                if foreign {
                    return Err(StoreError::NotAStore {
                        path: root.to_path_buf(),
                    });
                }
                fsx::write_atomic(&version_path, format!("{STORE_VERSION}\n").as_bytes())?;
            }
            Err(e) => return Err(e.into()),
        }
        let store = Store {
            root: root.to_path_buf(),
        };
        for d in [
            store.entries_root(),
            store.tmp_root(),
            store.locks_root(),
            store.trash_root(),
        ] {
            fsx::create_dir_all(&d)?;
        }
        // Trash is only emptied when no gc runs (a running gc is moving
        // entries into it); the next open or gc will do it otherwise.
        if let Some(_quiet) = lock_validated(&store.store_lock_path(), Mode::Exclusive, false)? {
            store.empty_trash()?;
        }
        store.clean_stale_staging()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn entries_root(&self) -> PathBuf {
        self.root.join("entries")
    }
    pub(crate) fn tmp_root(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub(crate) fn locks_root(&self) -> PathBuf {
        self.root.join("locks")
    }
    pub(crate) fn trash_root(&self) -> PathBuf {
        self.root.join("trash")
    }

    /// Where the entry `(id, name)` lives (whether or not it exists).
    pub fn entry_dir(&self, id: &Digest, name: &str) -> PathBuf {
        self.entries_root().join(format!("{}-{name}", id.hex()))
    }

    /// The valid entry `(id, name)`, or `None` if there is none (a directory
    /// that is not a valid entry counts as none; `verify` reports it).
    pub fn lookup(&self, id: &Digest, name: &str) -> Result<Option<Entry>, StoreError> {
        check_name(name)?;
        let dir = self.entry_dir(id, name);
        if fsx::symlink_metadata_opt(&dir)?.is_none() {
            return Ok(None);
        }
        Ok(entry::load(&dir)?.ok())
    }

    /// The first valid entry with this id, whatever its name.
    pub fn find(&self, id: &Digest) -> Result<Option<Entry>, StoreError> {
        let prefix = format!("{}-", id.hex());
        for n in fsx::read_dir_sorted(&self.entries_root())? {
            let n = n.to_string_lossy();
            if n.starts_with(&prefix)
                && let Ok(e) = entry::load(&self.entries_root().join(n.as_ref()))?
            {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// All valid entries, sorted by id (then name).
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        for n in fsx::read_dir_sorted(&self.entries_root())? {
            if let Ok(e) = entry::load(&self.entries_root().join(n))? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Exclusive per-id lock, so two processes do not build the same thing
    /// at once: the second waits, then should `lookup` and find the entry.
    pub fn build_lock(&self, id: &Digest) -> Result<BuildLock, StoreError> {
        let path = self.locks_root().join(format!("{}.lock", id.hex()));
        Ok(BuildLock {
            _guard: wait_lock(&path, Mode::Exclusive)?,
        })
    }

    pub(crate) fn store_lock_path(&self) -> PathBuf {
        self.locks_root().join("store.lock")
    }

    /// The global store lock, shared: held by every staging area from
    /// `begin` to commit or drop, and by `verify`.
    pub fn lock_shared(&self) -> Result<LockGuard, StoreError> {
        Ok(wait_lock(&self.store_lock_path(), Mode::Shared)?)
    }

    /// The global store lock, exclusive: held by gc. Do not call while this
    /// process holds a shared guard or a `Staging` (it would wait forever).
    pub fn lock_exclusive(&self) -> Result<LockGuard, StoreError> {
        Ok(wait_lock(&self.store_lock_path(), Mode::Exclusive)?)
    }

    /// Start building `(id, name)`: a fresh staging area.
    pub fn begin(&self, id: &Digest, name: &str) -> Result<Staging, StoreError> {
        check_name(name)?;
        Staging::new(self, *id, name)
    }

    /// Remove everything in `trash/` (left by an interrupted gc).
    pub(crate) fn empty_trash(&self) -> Result<(), StoreError> {
        let trash = self.trash_root();
        for n in fsx::read_dir_sorted(&trash)? {
            fsx::remove_any(&trash.join(n))?;
        }
        Ok(())
    }

    /// Move an entry directory into `trash/` with one rename. Returns false
    /// if it was already gone.
    pub(crate) fn move_to_trash(&self, dir: &Path) -> Result<bool, StoreError> {
        let base = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = fsx::temp_sibling(&self.trash_root().join(base), "trash");
        match fsx::rename(dir, &dest) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Remove staging areas whose owner no longer holds their lock, and
    /// lock files of staging areas that are gone.
    pub(crate) fn clean_stale_staging(&self) -> Result<usize, StoreError> {
        let tmp = self.tmp_root();
        let mut removed = 0;
        for n in fsx::read_dir_sorted(&tmp)? {
            let n = n.to_string_lossy().into_owned();
            if let Some(stem) = n.strip_suffix(".lock") {
                let lock_path = tmp.join(&n);
                if let Some(held) = try_lock_existing(&lock_path)? {
                    if fsx::symlink_metadata_opt(&tmp.join(stem))?.is_some() {
                        removed += 1;
                    }
                    fsx::remove_any(&tmp.join(stem))?;
                    fsx::remove_any(&lock_path)?;
                    drop(held);
                }
            } else if fsx::symlink_metadata_opt(&tmp.join(format!("{n}.lock")))?.is_none() {
                // Owners lock before creating the directory and unlock after
                // removing it, so a directory without a lock file is stale.
                fsx::remove_any(&tmp.join(&n))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Held while building one id; see [`Store::build_lock`].
#[derive(Debug)]
pub struct BuildLock {
    _guard: LockGuard,
}
