//! Garbage collection: mark from roots, then sweep by rename.
//!
//! Mark: every entry whose id is a root, and transitively every entry whose
//! id is in a marked entry's `references`. Sweep: each unmarked entry
//! directory leaves `entries/` by one rename into `trash/` (so it disappears
//! atomically, never half-deleted in place), and only then is the trash
//! emptied. Interrupted at any point, the store holds only valid entries,
//! trash, and stale staging areas; the next `Store::open` or gc removes the
//! latter two. The exclusive store lock keeps builds (which hold it shared
//! from `begin` to commit) out while gc runs, so nothing committed during a
//! gc can be swept by it.

use std::collections::{BTreeMap, BTreeSet};

use crate::Digest;
use crate::fsx;
use crate::profile::Profiles;
use crate::store::{Store, StoreError, try_lock_existing};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// `(id, name, size)` of each entry removed (or, on a dry run, that
    /// would be), in id order.
    pub removed: Vec<(Digest, String, u64)>,
    pub freed_bytes: u64,
}

/// Remove every entry not reachable from `roots`. With `dry_run`, only
/// report. Must not be called while this process holds a `Staging` or a
/// shared store lock.
pub fn collect(store: &Store, roots: &[Digest], dry_run: bool) -> Result<GcReport, StoreError> {
    let _lock = store.lock_exclusive()?;
    collect_locked(store, roots, dry_run)
}

/// [`collect`] with the roots read from `profiles` (every recorded
/// generation and every pin) *after* the exclusive lock is taken. Prefer
/// this: roots read before waiting for the lock can miss a generation that
/// a build recorded meanwhile, and gc would sweep its fresh artifacts.
pub fn collect_profiles(
    store: &Store,
    profiles: &Profiles,
    dry_run: bool,
) -> Result<GcReport, StoreError> {
    let _lock = store.lock_exclusive()?;
    let roots = profiles.roots()?;
    collect_locked(store, &roots, dry_run)
}

fn collect_locked(store: &Store, roots: &[Digest], dry_run: bool) -> Result<GcReport, StoreError> {
    if !dry_run {
        store.empty_trash()?;
        store.clean_stale_staging()?;
    }

    // Every directory in entries/, valid or not: an invalid one is never
    // reachable (nothing can be read from it) and is swept too.
    let entries_root = store.entries_root();
    let mut by_id: BTreeMap<
        Digest,
        Vec<(String, std::path::PathBuf, Option<crate::store::Entry>)>,
    > = BTreeMap::new();
    let mut unparsable = Vec::new();
    for n in fsx::read_dir_sorted(&entries_root)? {
        let dir = entries_root.join(&n);
        let s = n.to_string_lossy().into_owned();
        match s.get(..64).and_then(|h| h.parse::<Digest>().ok()) {
            Some(id) if s.as_bytes().get(64) == Some(&b'-') => {
                let name = s[65..].to_string();
                let valid = store.lookup(&id, &name).ok().flatten();
                by_id.entry(id).or_default().push((name, dir, valid));
            }
            _ => unparsable.push(dir),
        }
    }

    let mut marked: BTreeSet<Digest> = BTreeSet::new();
    let mut work: Vec<Digest> = roots.to_vec();
    while let Some(id) = work.pop() {
        if !marked.insert(id) {
            continue;
        }
        for (_, _, valid) in by_id.get(&id).into_iter().flatten() {
            if let Some(e) = valid {
                work.extend(e.meta.references.iter().copied());
            }
        }
    }

    let mut report = GcReport::default();
    let mut doomed = Vec::new();
    for (id, dirs) in &by_id {
        for (name, dir, valid) in dirs {
            // Invalid directories go even when their id is a root: they
            // cannot serve anything, and a rebuild needs the name free.
            if marked.contains(id) && valid.is_some() {
                continue;
            }
            let size = valid.as_ref().map_or(0, |e| e.size);
            report.removed.push((*id, name.clone(), size));
            report.freed_bytes += size;
            doomed.push(dir.clone());
        }
    }
    doomed.extend(unparsable);
    if dry_run {
        return Ok(report);
    }
    for dir in &doomed {
        store.move_to_trash(dir)?;
    }
    fsx::fsync_dir(&entries_root)?;
    store.empty_trash()?;
    remove_idle_build_locks(store)?;
    Ok(report)
}

/// Build lock files nobody holds; `Store::build_lock` re-validates after
/// locking, so removing them is safe.
fn remove_idle_build_locks(store: &Store) -> Result<(), StoreError> {
    let locks = store.locks_root();
    for n in fsx::read_dir_sorted(&locks)? {
        let n = n.to_string_lossy().into_owned();
        if n == "store.lock" || !n.ends_with(".lock") {
            continue;
        }
        let path = locks.join(&n);
        if let Some(held) = try_lock_existing(&path)? {
            fsx::remove_any(&path)?;
            drop(held);
        }
    }
    Ok(())
}
