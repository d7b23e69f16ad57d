//! Staging areas: where a builder writes an output before it becomes an
//! entry.
//!
//! `tmp/<token>.lock` is created and locked first, then `tmp/<token>/`
//! (holding `entry/out`, later `entry/entry.json`, and the builder's scratch
//! `build/`). The owner removes the directory before the lock file, so a
//! staging directory is abandoned exactly when its lock file is missing or
//! can be locked by someone else; `Store::open` and gc remove those.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::entry::{self, ENTRY_FORMAT, Entry, EntryFile, EntryMeta};
use super::lock::{LockGuard, Mode, wait_lock};
use super::{Store, StoreError};
use crate::Digest;
use crate::fsx;
use crate::tree;

static TOKENS: AtomicU64 = AtomicU64::new(0);

/// A build in progress. Dropping it without [`Staging::commit`] removes
/// everything it wrote.
#[derive(Debug)]
pub struct Staging {
    store: Store,
    id: Digest,
    name: String,
    base: PathBuf,
    entry_dir: PathBuf,
    out: PathBuf,
    scratch: PathBuf,
    lock_path: PathBuf,
    // Field order matters for Drop: the staging lock is released after the
    // directory and lock file are gone (see `Drop`), the store lock last.
    lock: Option<LockGuard>,
    _store_lock: LockGuard,
}

impl Staging {
    pub(super) fn new(store: &Store, id: Digest, name: &str) -> Result<Staging, StoreError> {
        let store_lock = store.lock_shared()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let token = format!(
            "{}-{}-{}-{nanos:08x}",
            id.short(),
            std::process::id(),
            TOKENS.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = store.tmp_root();
        let lock_path = tmp.join(format!("{token}.lock"));
        let lock = wait_lock(&lock_path, Mode::Exclusive)?;
        let base = tmp.join(&token);
        let entry_dir = base.join("entry");
        let scratch = base.join("build");
        let staging = Staging {
            store: store.clone(),
            id,
            name: name.to_string(),
            out: entry_dir.join("out"),
            base,
            entry_dir,
            scratch,
            lock_path,
            lock: Some(lock),
            _store_lock: store_lock,
        };
        fsx::create_dir(&staging.base)?;
        fsx::create_dir(&staging.entry_dir)?;
        fsx::create_dir(&staging.scratch)?;
        Ok(staging)
    }

    /// Where the builder must create the output (a file, directory or
    /// symlink). It does not exist yet.
    pub fn out_path(&self) -> &Path {
        &self.out
    }

    /// An empty scratch directory for the builder, removed with the staging
    /// area.
    pub fn tmp_dir(&self) -> &Path {
        &self.scratch
    }

    pub fn id(&self) -> &Digest {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Make the output an entry: normalize permissions, fsync, hash, write
    /// `entry.json`, and as the very last step rename the staging directory
    /// into `entries/`. If a valid entry for `(id, name)` already exists
    /// (another process won the race) ours is discarded and that one
    /// returned.
    pub fn commit(self, meta: EntryMeta) -> Result<Entry, StoreError> {
        if fsx::symlink_metadata_opt(&self.out)?.is_none() {
            return Err(StoreError::MissingOutput {
                path: self.out.clone(),
            });
        }
        let mut references = meta.references;
        references.sort();
        references.dedup();
        tree::normalize_permissions(&self.out)?;
        fsx::fsync_tree(&self.out)?;
        let (content_hash, stats) = tree::hash_path_sized(&self.out)?;
        let file = EntryFile {
            format: ENTRY_FORMAT.to_string(),
            id: self.id,
            name: self.name.clone(),
            kind: meta.kind,
            content_hash,
            size: stats.bytes,
            secret: meta.secret,
            references,
            derivation: meta.derivation,
        };
        fsx::write_atomic(&self.entry_dir.join("entry.json"), &file.to_bytes())?;
        fsx::fsync_dir(&self.entry_dir)?;

        let dest = self.store.entry_dir(&self.id, &self.name);
        for _attempt in 0..3 {
            if let Some(existing) = self.store.lookup(&self.id, &self.name)? {
                return Ok(existing);
            }
            match fsx::rename(&self.entry_dir, &dest) {
                Ok(()) => {
                    fsx::fsync_dir(&self.store.entries_root())?;
                    return match entry::load(&dest)? {
                        Ok(e) => Ok(e),
                        Err(reason) => Err(StoreError::BadEntry { path: dest, reason }),
                    };
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
                    ) =>
                {
                    // Someone else's directory is there. If it is valid the
                    // next lookup returns it; if it is not (damaged by hand),
                    // it goes to the trash and we try again.
                    if self.store.lookup(&self.id, &self.name)?.is_none() {
                        self.store.move_to_trash(&dest)?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::BadEntry {
            path: dest,
            reason: "could not replace an invalid entry directory".into(),
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Errors cannot be reported from Drop; anything left behind is
        // removed by the next `Store::open` or gc since our lock goes away.
        let _ = fsx::remove_any(&self.base);
        let _ = fsx::remove_any(&self.lock_path);
        self.lock.take();
    }
}
