//! A lab's deploy state: the switch journal, the per-target deployed
//! records and the lock, in a directory the caller names (the CLI uses
//! `$XDG_STATE_HOME/hlb/deploy/<lab>`).
//!
//! ```text
//! journal.json    the current or last switch (hlb-journal-v1)
//! deployed.json   per target, the generation it last ended healthy on (hlb-deployed-v1)
//! lock            flock held for a whole switch; its text names the holder
//! ```
//!
//! Both JSON files are replaced whole with [`fsx::write_atomic`] (temp
//! file, fsync, rename, fsync of the directory), so after a crash each is
//! either the old or the new version. The journal is written **ahead** of
//! every step: it names the step about to run, so after a crash the step
//! may or may not have happened, and every step is idempotent.
//!
//! **Recovery rule** (applied by [`crate::switch::switch`] before anything
//! else, and documented in docs/deploy.md): a journal whose phase is not
//! final was interrupted.
//! - Phase `committing`: every touched target had passed health and the
//!   switch had decided to keep the new generation; the switch is
//!   **resumed**: every target not yet `confirmed` is confirmed, and the
//!   deployed records move to the new generation.
//! - Phase `running` or `rolling-back`: the switch is **rolled back**:
//!   every target that got past `pending` returns to the generation it was
//!   on (`from`), in reverse start order, health-checked again.
//!
//! Either way every target ends on one whole generation and the journal's
//! final phase says which.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use hlb_cache::Digest;
use hlb_cache::fsx::{self, IoError};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{JournalError, SwitchError};

pub const JOURNAL_FORMAT: &str = "hlb-journal-v1";
pub const DEPLOYED_FORMAT: &str = "hlb-deployed-v1";

/// Where a switch as a whole is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Targets are being staged, activated and checked.
    Running,
    /// Every touched target is healthy: the new generation is kept.
    Committing,
    /// A step failed: touched targets are going back.
    RollingBack,
    /// Final: every target is on `to`.
    Done,
    /// Final: every touched target is back on its `from`.
    RolledBack,
    /// Final: some rollback failed; `deployed.json` names those targets.
    NeedsAttention,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Phase::Done | Phase::RolledBack | Phase::NeedsAttention
        )
    }
}

/// Where one target of a switch is: the step about to run or just done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetPhase {
    Pending,
    Staging,
    Activating,
    Checking,
    Healthy,
    Confirming,
    Confirmed,
    RollingBack,
    RolledBack,
    RollbackFailed,
}

impl TargetPhase {
    /// Whether the target may have been changed by this switch.
    pub fn touched(self) -> bool {
        !matches!(self, TargetPhase::Pending)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalTarget {
    /// The generation the target was deployed at when the switch began
    /// (`None`: never deployed); rollback returns it there.
    pub from: Option<Digest>,
    pub phase: TargetPhase,
}

/// One switch, as written ahead of each of its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub format: String,
    pub lab: String,
    /// The generation being switched to.
    pub to: Digest,
    pub phase: Phase,
    /// Every target the switch may touch.
    pub targets: BTreeMap<String, JournalTarget>,
    /// Targets in the order their first step started; rollback runs it
    /// backwards.
    pub started: Vec<String>,
}

impl Journal {
    pub fn new(lab: &str, to: Digest, targets: BTreeMap<String, Option<Digest>>) -> Journal {
        Journal {
            format: JOURNAL_FORMAT.to_string(),
            lab: lab.to_string(),
            to,
            phase: Phase::Running,
            targets: targets
                .into_iter()
                .map(|(n, from)| {
                    (
                        n,
                        JournalTarget {
                            from,
                            phase: TargetPhase::Pending,
                        },
                    )
                })
                .collect(),
            started: Vec::new(),
        }
    }

    /// Move `target` to `phase`, remembering when it first started.
    pub fn set(&mut self, target: &str, phase: TargetPhase) {
        if let Some(t) = self.targets.get_mut(target) {
            t.phase = phase;
        }
        if phase.touched() && !self.started.iter().any(|s| s == target) {
            self.started.push(target.to_string());
        }
    }
}

/// One target's deployed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRecord {
    /// The generation the target last ended healthy on; `None` when a
    /// rollback failed and nobody knows (see `attention`).
    pub generation: Option<Digest>,
    /// Set when a rollback failed: which switch and step; cleared by the
    /// next switch that ends healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
}

/// Per target, where it is deployed (design D14: distinct from the last
/// built generation, which the profile records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployed {
    pub format: String,
    pub targets: BTreeMap<String, TargetRecord>,
}

impl Deployed {
    /// The generation the target is deployed at.
    pub fn of(&self, target: &str) -> Option<Digest> {
        self.targets.get(target).and_then(|r| r.generation)
    }

    /// The lab is deployed at `generation` only when every one of `targets`
    /// (the generation's deployable targets) is on it.
    pub fn lab_is_at<'a>(
        &self,
        generation: &Digest,
        mut targets: impl Iterator<Item = &'a str>,
    ) -> bool {
        targets.all(|t| self.of(t).as_ref() == Some(generation))
    }
}

/// The deploy state directory of one lab.
#[derive(Debug, Clone)]
pub struct LabState {
    dir: PathBuf,
}

/// A held lab lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LabLock {
    _file: File,
}

impl LabState {
    pub fn open(dir: &Path) -> Result<LabState, JournalError> {
        fsx::create_dir_all(dir)?;
        Ok(LabState {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    fn deployed_path(&self) -> PathBuf {
        self.dir.join("deployed.json")
    }

    /// Take the lab's lock without waiting: a second switch is refused
    /// with the holder named (`holder` is what this one writes for others
    /// to read: pid, host, command).
    pub fn lock(&self, lab: &str, holder: &str) -> Result<LabLock, SwitchError> {
        let path = self.dir.join("lock");
        let io = |op, e| JournalError::Io(IoError::new(op, &path, e));
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open lock file", e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = f.read_to_string(&mut text);
                let holder = match text.trim() {
                    "" => "another process".to_string(),
                    t => t.to_string(),
                };
                return Err(SwitchError::Locked {
                    lab: lab.to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("lock", e).into()),
        }
        f.set_len(0).map_err(|e| io("truncate", e))?;
        f.rewind().map_err(|e| io("seek", e))?;
        f.write_all(holder.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| io("write", e))?;
        Ok(LabLock { _file: f })
    }

    pub fn journal(&self) -> Result<Option<Journal>, JournalError> {
        read_versioned(&self.journal_path(), "journal", JOURNAL_FORMAT)
    }

    pub fn write_journal(&self, j: &Journal) -> Result<(), JournalError> {
        write_json(&self.journal_path(), j)
    }

    pub fn deployed(&self) -> Result<Deployed, JournalError> {
        Ok(
            read_versioned(&self.deployed_path(), "deployed record", DEPLOYED_FORMAT)?
                .unwrap_or_else(|| Deployed {
                    format: DEPLOYED_FORMAT.to_string(),
                    targets: BTreeMap::new(),
                }),
        )
    }

    pub fn write_deployed(&self, d: &Deployed) -> Result<(), JournalError> {
        write_json(&self.deployed_path(), d)
    }
}

/// A description of this process for the lock file.
pub fn this_process(command: &str) -> String {
    let host = fsx::read_to_string(Path::new("/proc/sys/kernel/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".into());
    format!("`{command}` (pid {} on {host})", std::process::id())
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), JournalError> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| JournalError::Corrupt {
        path: path.to_path_buf(),
        what: "record",
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    fsx::write_atomic(path, &bytes)?;
    Ok(())
}

fn read_versioned<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
    expected: &'static str,
) -> Result<Option<T>, JournalError> {
    let bytes = match fsx::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = |reason: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        what,
        reason,
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let found = v.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
    if found != expected {
        return Err(JournalError::Format {
            path: path.to_path_buf(),
            found: found.to_string(),
            expected,
        });
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest([n; 32])
    }

    #[test]
    fn journal_round_trips_and_remembers_start_order() {
        let dir = tempfile::tempdir().unwrap();
        let st = LabState::open(dir.path()).unwrap();
        assert_eq!(st.journal().unwrap(), None);
        let mut j = Journal::new(
            "home",
            d(2),
            [
                ("host/a".to_string(), Some(d(1))),
                ("host/b".to_string(), None),
            ]
            .into(),
        );
        j.set("host/b", TargetPhase::Staging);
        j.set("host/a", TargetPhase::Staging);
        j.set("host/b", TargetPhase::Activating);
        st.write_journal(&j).unwrap();
        let back = st.journal().unwrap().unwrap();
        assert_eq!(back, j);
        assert_eq!(back.started, ["host/b", "host/a"]);
    }

    #[test]
    fn a_journal_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let st = LabState::open(dir.path()).unwrap();
        fsx::write_atomic(
            &dir.path().join("journal.json"),
            br#"{"format":"hlb-journal-v9"}"#,
        )
        .unwrap();
        let err = st.journal().unwrap_err();
        assert!(
            matches!(err, JournalError::Format { ref found, .. } if found == "hlb-journal-v9"),
            "{err:?}"
        );
    }

    #[test]
    fn the_lab_is_deployed_only_when_every_target_is() {
        let mut dep = Deployed::default();
        dep.targets.insert(
            "host/a".into(),
            TargetRecord {
                generation: Some(d(2)),
                attention: None,
            },
        );
        assert!(dep.lab_is_at(&d(2), ["host/a"].into_iter()));
        assert!(!dep.lab_is_at(&d(2), ["host/a", "host/b"].into_iter()));
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let st = LabState::open(dir.path()).unwrap();
        let held = st.lock("home", "`hlb switch` (pid 1 on here)").unwrap();
        let err = st.lock("home", "second").unwrap_err();
        assert_eq!(
            err.to_string(),
            "lab `home` is being switched by `hlb switch` (pid 1 on here); wait for it or check that process"
        );
        drop(held);
        st.lock("home", "third").unwrap();
    }
}
