//! What the scheduler needs of the world: a store to look outputs up in and
//! commit them to, and a clock to time builds. Both are traits, as
//! evaluation reaches files only through [`crate::io::EvalIo`], so the
//! scheduler can run against [`MemoryStore`] and [`FixedClock`] in tests
//! while `hlb` gives it the real [`Store`] and [`SystemClock`].
//!
//! Invariants a [`BuildStore`] keeps (the scheduler relies on them):
//! `lookup` returns only committed, valid entries; `build_lock(id)`
//! excludes every other builder of `id`, across processes for the real
//! store; a [`Staged`] output becomes visible only by `commit`, all at
//! once; dropping it uncommitted leaves nothing behind.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hlb_cache::store::{Entry, EntryMeta, Staging, Store, StoreError};
use hlb_cache::{Digest, fsx, tree};

/// A lock or guard the scheduler holds and drops; what it is, is the
/// store's business.
pub type Guard = Box<dyn Any + Send>;

/// Where the scheduler finds and puts outputs.
pub trait BuildStore: Sync {
    /// Held for a whole run, so a concurrent gc cannot sweep what the run
    /// relies on.
    fn lock_shared(&self) -> Result<Guard, StoreError>;
    /// The committed entry of `(id, name)`, if any.
    fn lookup(&self, id: &Digest, name: &str) -> Result<Option<Entry>, StoreError>;
    /// Excludes every other builder of `id` while held.
    fn build_lock(&self, id: &Digest) -> Result<Guard, StoreError>;
    /// A fresh place to build `(id, name)` into.
    fn begin(&self, id: &Digest, name: &str) -> Result<Box<dyn Staged + '_>, StoreError>;
}

/// An output being built.
pub trait Staged {
    /// Where the compiler writes the output (does not exist yet).
    fn out_path(&self) -> &Path;
    /// An empty scratch directory, gone after commit or drop.
    fn tmp_dir(&self) -> &Path;
    /// Make the output an entry.
    fn commit(self: Box<Self>, meta: EntryMeta) -> Result<Entry, StoreError>;
}

impl BuildStore for Store {
    fn lock_shared(&self) -> Result<Guard, StoreError> {
        Ok(Box::new(Store::lock_shared(self)?))
    }
    fn lookup(&self, id: &Digest, name: &str) -> Result<Option<Entry>, StoreError> {
        Store::lookup(self, id, name)
    }
    fn build_lock(&self, id: &Digest) -> Result<Guard, StoreError> {
        Ok(Box::new(Store::build_lock(self, id)?))
    }
    fn begin(&self, id: &Digest, name: &str) -> Result<Box<dyn Staged + '_>, StoreError> {
        Ok(Box::new(Store::begin(self, id, name)?))
    }
}

impl Staged for Staging {
    fn out_path(&self) -> &Path {
        Staging::out_path(self)
    }
    fn tmp_dir(&self) -> &Path {
        Staging::tmp_dir(self)
    }
    fn commit(self: Box<Self>, meta: EntryMeta) -> Result<Entry, StoreError> {
        Staging::commit(*self, meta)
    }
}

/// Time for build durations: monotonic, from an origin of the clock's
/// choosing.
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

/// The machine's monotonic clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that never moves: every build takes no time (tests, so events
/// compare exactly).
#[derive(Debug, Default)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A store whose index lives in memory: outputs are built into a directory
/// (compilers write real files), but entries exist only in this value. For
/// tests of the scheduler against a naive model; not for labs.
#[derive(Debug)]
pub struct MemoryStore {
    root: PathBuf,
    entries: Mutex<BTreeMap<(Digest, String), Entry>>,
    /// Build locks held now, by id.
    locked: Arc<Mutex<BTreeMap<Digest, usize>>>,
    /// The most build locks of one id ever held at once.
    most_per_id: Arc<Mutex<usize>>,
    serial: Mutex<u64>,
}

impl MemoryStore {
    /// Outputs go under `root` (an empty directory the caller owns).
    pub fn new(root: &Path) -> MemoryStore {
        MemoryStore {
            root: root.to_path_buf(),
            entries: Mutex::new(BTreeMap::new()),
            locked: Arc::default(),
            most_per_id: Arc::default(),
            serial: Mutex::new(0),
        }
    }

    /// Every committed entry, in id order.
    pub fn entries(&self) -> Vec<Entry> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.values().cloned().collect()
    }

    /// How many build locks are held now.
    pub fn locks_held(&self) -> usize {
        let l = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        l.values().sum()
    }

    /// The most build locks of one id that were ever held at once (1 when
    /// the scheduler never builds an id twice concurrently).
    pub fn most_locks_per_id(&self) -> usize {
        *self.most_per_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Releases one build lock of `id` when dropped.
struct MemLock {
    locked: Arc<Mutex<BTreeMap<Digest, usize>>>,
    id: Digest,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        let mut l = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = l.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                l.remove(&self.id);
            }
        }
    }
}

struct MemStaging<'a> {
    store: &'a MemoryStore,
    id: Digest,
    name: String,
    out: PathBuf,
    tmp: PathBuf,
}

impl BuildStore for MemoryStore {
    fn lock_shared(&self) -> Result<Guard, StoreError> {
        Ok(Box::new(()))
    }
    fn lookup(&self, id: &Digest, name: &str) -> Result<Option<Entry>, StoreError> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(e.get(&(*id, name.to_string())).cloned())
    }
    fn build_lock(&self, id: &Digest) -> Result<Guard, StoreError> {
        let mut l = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        let n = l.entry(*id).or_default();
        *n += 1;
        let mut most = self.most_per_id.lock().unwrap_or_else(|p| p.into_inner());
        *most = (*most).max(*n);
        Ok(Box::new(MemLock {
            locked: Arc::clone(&self.locked),
            id: *id,
        }))
    }
    fn begin(&self, id: &Digest, name: &str) -> Result<Box<dyn Staged + '_>, StoreError> {
        let n = {
            let mut s = self.serial.lock().unwrap_or_else(|p| p.into_inner());
            *s += 1;
            *s
        };
        let dir = self.root.join(format!("{}-{name}.{n}", id.hex()));
        let tmp = dir.join("tmp");
        fsx::create_dir_all(&tmp)?;
        Ok(Box::new(MemStaging {
            store: self,
            id: *id,
            name: name.to_string(),
            out: dir.join("out"),
            tmp,
        }))
    }
}

impl Staged for MemStaging<'_> {
    fn out_path(&self) -> &Path {
        &self.out
    }
    fn tmp_dir(&self) -> &Path {
        &self.tmp
    }
    fn commit(self: Box<Self>, meta: EntryMeta) -> Result<Entry, StoreError> {
        if fsx::symlink_metadata_opt(&self.out)?.is_none() {
            return Err(StoreError::MissingOutput {
                path: self.out.clone(),
            });
        }
        fsx::remove_dir_all(&self.tmp)?;
        let mut meta = meta;
        meta.references.sort();
        meta.references.dedup();
        let (content_hash, stats) = tree::hash_path_sized(&self.out)?;
        let dir = self.out.parent().map(Path::to_path_buf).unwrap_or_default();
        let entry = Entry {
            id: self.id,
            name: self.name.clone(),
            dir,
            out: self.out.clone(),
            content_hash,
            size: stats.bytes,
            meta,
        };
        let mut e = self.store.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(e.entry((self.id, self.name.clone()))
            .or_insert(entry)
            .clone())
    }
}
