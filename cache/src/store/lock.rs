//! `flock`-based locks on files in the store and state directories.
//!
//! Lock files that may be deleted while someone waits on them (build locks,
//! staging locks) are taken with [`lock_validated`]: after the lock is
//! granted, the path must still name the inode that was locked, otherwise
//! the lock was taken on a file a cleaner had already unlinked, and we try
//! again. That is what makes it safe for gc and `Store::open` to remove
//! lock files they can lock themselves.

use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fsx::{self, IoError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Shared,
    Exclusive,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    path: PathBuf,
}

impl LockGuard {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn lock_err(path: &Path, e: std::io::Error) -> IoError {
    IoError::new("lock", path, e)
}

/// Take `mode` on `path` (created if missing), waiting when `wait`; `None`
/// when not waiting and someone else holds it.
pub(crate) fn lock_validated(
    path: &Path,
    mode: Mode,
    wait: bool,
) -> Result<Option<LockGuard>, IoError> {
    loop {
        let f = fsx::open_lock_file(path)?;
        let got = match (mode, wait) {
            (Mode::Shared, true) => f
                .lock_shared()
                .map(|_| true)
                .map_err(|e| lock_err(path, e))?,
            (Mode::Exclusive, true) => f.lock().map(|_| true).map_err(|e| lock_err(path, e))?,
            (Mode::Shared, false) => try_result(f.try_lock_shared(), path)?,
            (Mode::Exclusive, false) => try_result(f.try_lock(), path)?,
        };
        if !got {
            return Ok(None);
        }
        let held = f.metadata().map_err(|e| IoError::new("stat", path, e))?;
        match fsx::symlink_metadata_opt(path)? {
            Some(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                return Ok(Some(LockGuard {
                    _file: f,
                    path: path.to_path_buf(),
                }));
            }
            _ => continue,
        }
    }
}

fn try_result(r: Result<(), TryLockError>, path: &Path) -> Result<bool, IoError> {
    match r {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(lock_err(path, e)),
    }
}

/// Try to take an existing lock file exclusively without creating it, so a
/// cleaner never resurrects a lock file its owner just removed. `None` if
/// it is missing or held.
pub(crate) fn try_lock_existing(path: &Path) -> Result<Option<File>, IoError> {
    let f = match fsx::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if try_result(f.try_lock(), path)? {
        Ok(Some(f))
    } else {
        Ok(None)
    }
}

/// Take `mode` on `path`, waiting as long as it takes.
pub(crate) fn wait_lock(path: &Path, mode: Mode) -> Result<LockGuard, IoError> {
    lock_validated(path, mode, true)?
        .ok_or_else(|| IoError::new("lock", path, std::io::Error::other("lock not granted")))
}
