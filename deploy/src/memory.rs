//! An in-memory world of hosts, speaking the same protocol as the real
//! host target: each generation's files staged apart, activated at once,
//! the previous generation kept, probes answered by a set of open ports.
//!
//! It exists so the orchestrator and the conformance suite run in
//! milliseconds, and so faults that are awkward on real machines (a host
//! whose disk is full, one that vanishes mid-switch) are one call. It runs
//! the conformance suite in addition to the real targets, never instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use hlb_cache::generation::contract::{self, HostSpec, Probe, TargetSpec};
use hlb_cache::{Digest, Store, fsx};

use crate::error::TargetError;
use crate::target::{
    Change, Connect, Desired, Drift, Target, TargetPlan, TargetStatus, probe_name,
};

/// One simulated machine.
#[derive(Debug, Clone)]
pub struct MemoryHost {
    pub reachable: bool,
    pub open_ports: BTreeSet<u16>,
    /// Active units, for `unit` probes.
    pub units: BTreeSet<String>,
    /// What a reader of the machine's filesystem sees.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Bytes the staging area may hold; `None`: unlimited.
    pub capacity: Option<usize>,
    staged: BTreeMap<Digest, BTreeMap<String, Vec<u8>>>,
    current: Option<Digest>,
    previous: Option<Digest>,
}

impl Default for MemoryHost {
    fn default() -> MemoryHost {
        MemoryHost {
            reachable: true,
            open_ports: [22].into(),
            units: BTreeSet::new(),
            files: BTreeMap::new(),
            capacity: None,
            staged: BTreeMap::new(),
            current: None,
            previous: None,
        }
    }
}

impl MemoryHost {
    /// Generations staged on the machine.
    pub fn staged(&self) -> BTreeSet<Digest> {
        self.staged.keys().copied().collect()
    }

    pub fn current(&self) -> Option<Digest> {
        self.current
    }
}

/// Machines by address, and the store their files come from.
#[derive(Debug, Clone)]
pub struct MemoryWorld {
    hosts: Arc<Mutex<BTreeMap<String, MemoryHost>>>,
    store: Store,
}

impl MemoryWorld {
    pub fn new(store: Store) -> MemoryWorld {
        MemoryWorld {
            hosts: Arc::default(),
            store,
        }
    }

    /// Add (or replace) the machine at `address`.
    pub fn add(&self, address: &str, host: MemoryHost) {
        self.lock().insert(address.to_string(), host);
    }

    /// Change the machine at `address` (which must exist).
    pub fn with<R>(&self, address: &str, f: impl FnOnce(&mut MemoryHost) -> R) -> R {
        let mut hosts = self.lock();
        let h = hosts.entry(address.to_string()).or_default();
        f(h)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, MemoryHost>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Connect for MemoryWorld {
    fn connect(
        &self,
        _name: &str,
        target: &contract::Target,
    ) -> Result<Box<dyn Target>, TargetError> {
        match &target.spec {
            TargetSpec::Host(h) => Ok(Box::new(MemoryTarget {
                world: self.clone(),
                address: h.access.address.clone(),
            })),
            other => Err(TargetError::Unsupported { kind: other.kind() }),
        }
    }
}

struct MemoryTarget {
    world: MemoryWorld,
    address: String,
}

fn host_spec<'a>(d: &Desired<'a>) -> Result<&'a HostSpec, TargetError> {
    match &d.target.spec {
        TargetSpec::Host(h) => Ok(h),
        other => Err(TargetError::Unsupported { kind: other.kind() }),
    }
}

impl MemoryTarget {
    /// The machine, if it answers.
    fn reach<R>(&self, f: impl FnOnce(&mut MemoryHost) -> R) -> Result<R, TargetError> {
        let mut hosts = self.world.lock();
        match hosts.get_mut(&self.address) {
            Some(h) if h.reachable => Ok(f(h)),
            _ => Err(TargetError::Unreachable {
                address: self.address.clone(),
                cause: "no route to host (in-memory world)".into(),
            }),
        }
    }

    /// Desired files, path → bytes, read from the store.
    fn contents(&self, d: &Desired<'_>) -> Result<BTreeMap<String, Vec<u8>>, TargetError> {
        let spec = host_spec(d)?;
        let mut out = BTreeMap::new();
        for f in &spec.files {
            out.insert(
                f.path.clone(),
                read_artifact(&self.world.store, d, &f.artifact)?,
            );
        }
        Ok(out)
    }

    fn activate_staged(&self, generation: Digest) -> Result<(), TargetError> {
        self.reach(|h| {
            let Some(files) = h.staged.get(&generation).cloned() else {
                return Err(TargetError::Other(format!(
                    "generation {} is not staged",
                    generation.short()
                )));
            };
            if let Some(cur) = h.current.and_then(|c| h.staged.get(&c)).cloned() {
                for p in cur.keys() {
                    h.files.remove(p);
                }
            }
            h.files.extend(files);
            if h.current != Some(generation) {
                h.previous = h.current;
                h.current = Some(generation);
            }
            Ok(())
        })?
    }
}

/// The bytes of a target's artifact (every host file is a single file).
pub(crate) fn read_artifact(
    store: &Store,
    d: &Desired<'_>,
    name: &str,
) -> Result<Vec<u8>, TargetError> {
    let a = d
        .target
        .artifacts
        .get(name)
        .ok_or_else(|| TargetError::Other(format!("artifact `{name}` is not the target's")))?;
    let entry = store
        .lookup(&a.id, &a.name)
        .map_err(TargetError::Store)?
        .ok_or_else(|| TargetError::MissingArtifact {
            artifact: a.name.clone(),
            id: a.id,
        })?;
    fsx::read(&entry.out).map_err(TargetError::Io)
}

fn drift(h: &MemoryHost) -> Vec<Drift> {
    let Some(files) = h.current.and_then(|c| h.staged.get(&c)) else {
        return vec![];
    };
    files
        .iter()
        .filter_map(|(p, want)| match h.files.get(p) {
            None => Some(Drift {
                what: p.clone(),
                how: "missing",
            }),
            Some(have) if have != want => Some(Drift {
                what: p.clone(),
                how: "changed",
            }),
            Some(_) => None,
        })
        .collect()
}

impl Target for MemoryTarget {
    fn plan(&self, d: Desired<'_>) -> Result<TargetPlan, TargetError> {
        self.reach(|_| ())?;
        let want = self.contents(&d)?;
        self.reach(|h| {
            let mut changes = Vec::new();
            for (p, bytes) in &want {
                match h.files.get(p) {
                    None => changes.push(Change::Add { what: p.clone() }),
                    Some(b) if b != bytes => changes.push(Change::Modify { what: p.clone() }),
                    Some(_) => {}
                }
            }
            if let Some(cur) = h.current.and_then(|c| h.staged.get(&c)) {
                for p in cur.keys().filter(|p| !want.contains_key(*p)) {
                    changes.push(Change::Remove { what: p.clone() });
                }
            }
            TargetPlan {
                running: h.current,
                changes,
                drift: drift(h),
            }
        })
    }

    fn stage(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let want = self.contents(&d)?;
        self.reach(|h| {
            let used: usize = h
                .staged
                .iter()
                .filter(|(g, _)| **g != d.generation)
                .flat_map(|(_, f)| f.values())
                .map(Vec::len)
                .sum();
            let mut staging = BTreeMap::new();
            let mut size = used;
            for (p, bytes) in want {
                size += bytes.len();
                if h.capacity.is_some_and(|c| size > c) {
                    return Err(TargetError::Other(format!(
                        "no space left on device while staging {p}"
                    )));
                }
                staging.insert(p, bytes);
            }
            h.staged.insert(d.generation, staging);
            Ok(())
        })?
    }

    fn activate(&self, d: Desired<'_>) -> Result<(), TargetError> {
        self.activate_staged(d.generation)
    }

    fn health(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let spec = host_spec(&d)?;
        self.reach(|h| {
            for p in &spec.probes {
                let ok = match p {
                    Probe::Tcp { port } | Probe::Http { port, .. } | Probe::Dns { port, .. } => {
                        h.open_ports.contains(port)
                    }
                    Probe::Unit { unit } => h.units.contains(unit),
                };
                if !ok {
                    return Err(TargetError::Probe {
                        probe: probe_name(p),
                        detail: "connection refused (in-memory world)".into(),
                    });
                }
            }
            Ok(())
        })?
    }

    fn confirm(&self, d: Desired<'_>) -> Result<(), TargetError> {
        self.reach(|h| {
            let keep = [Some(d.generation), h.previous];
            h.staged.retain(|g, _| keep.contains(&Some(*g)));
        })
    }

    fn rollback(&self, to: Option<Desired<'_>>) -> Result<(), TargetError> {
        match to {
            Some(d) => {
                if !self.reach(|h| h.staged.contains_key(&d.generation))? {
                    self.stage(d)?;
                }
                self.activate_staged(d.generation)
            }
            None => self.reach(|h| {
                if let Some(cur) = h.current.and_then(|c| h.staged.get(&c)).cloned() {
                    for p in cur.keys() {
                        h.files.remove(p);
                    }
                }
                h.previous = h.current.take();
            }),
        }
    }

    fn status(&self, _: Option<Desired<'_>>) -> Result<TargetStatus, TargetError> {
        self.reach(|h| TargetStatus {
            running: h.current,
            previous: h.previous,
            drift: drift(h),
        })
    }
}
