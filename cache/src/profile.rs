//! Profiles: the numbered history of each lab's generations, and gc roots.
//!
//! This is state, not build output, so it lives in the state directory
//! (`$XDG_STATE_HOME/hlb`, design D3) and may use the clock:
//!
//! ```text
//! profiles/<lab>/<n>.json   {"number": n, "generation": "<hex>", "created": <unix s>}
//! profiles/<lab>/current    symlink to "<n>.json", replaced atomically
//! roots/<name>              a pinned digest (hex and a newline)
//! locks/state.lock          serializes writers
//! ```
//!
//! Numbers start at 1 and only grow; recording the generation that is
//! already current changes nothing. Every recorded generation (not only the
//! current one) is a gc root, so any number can be rolled back to until its
//! record is deleted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Digest;
use crate::fsx::{self, IoError};
use crate::store::{LockGuard, Mode, wait_lock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationRecord {
    pub number: u64,
    pub generation: Digest,
    /// Unix seconds when recorded.
    pub created: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("`{name}` cannot be a lab or root name: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("lab `{lab}` has no generation number {number}")]
    NoSuchNumber { lab: String, number: u64 },
}

fn check_name(name: &str) -> Result<(), ProfileError> {
    match crate::names::invalid_reason(name) {
        None => Ok(()),
        Some(reason) => Err(ProfileError::BadName {
            name: name.to_string(),
            reason,
        }),
    }
}

/// Handle on the profiles and roots under a state directory.
#[derive(Debug, Clone)]
pub struct Profiles {
    root: PathBuf,
}

impl Profiles {
    /// Open (creating if needed) the profile layout under `state_root`.
    pub fn open(state_root: &Path) -> Result<Profiles, ProfileError> {
        for d in ["profiles", "roots", "locks"] {
            fsx::create_dir_all(&state_root.join(d))?;
        }
        Ok(Profiles {
            root: state_root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lab_dir(&self, lab: &str) -> PathBuf {
        self.root.join("profiles").join(lab)
    }

    fn lock(&self) -> Result<LockGuard, ProfileError> {
        Ok(wait_lock(
            &self.root.join("locks/state.lock"),
            Mode::Exclusive,
        )?)
    }

    fn read_record(path: &Path) -> Result<GenerationRecord, ProfileError> {
        let bytes = fsx::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| ProfileError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Make `gen_hash` the current generation of `lab`: a new record with
    /// the next number, unless it already is current (then the current
    /// record is returned unchanged).
    pub fn record(&self, lab: &str, gen_hash: &Digest) -> Result<GenerationRecord, ProfileError> {
        check_name(lab)?;
        let _lock = self.lock()?;
        if let Some(cur) = self.current(lab)?
            && cur.generation == *gen_hash
        {
            return Ok(cur);
        }
        let dir = self.lab_dir(lab);
        fsx::create_dir_all(&dir)?;
        let number = self.list(lab)?.last().map_or(1, |r| r.number + 1);
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let rec = GenerationRecord {
            number,
            generation: *gen_hash,
            created,
        };
        let mut bytes = serde_json::to_vec(&rec).unwrap_or_default();
        bytes.push(b'\n');
        fsx::write_atomic(&dir.join(format!("{number}.json")), &bytes)?;
        fsx::symlink_atomic(Path::new(&format!("{number}.json")), &dir.join("current"))?;
        Ok(rec)
    }

    /// All records of `lab`, by number.
    pub fn list(&self, lab: &str) -> Result<Vec<GenerationRecord>, ProfileError> {
        check_name(lab)?;
        let dir = self.lab_dir(lab);
        if fsx::symlink_metadata_opt(&dir)?.is_none() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for n in fsx::read_dir_sorted(&dir)? {
            let n = n.to_string_lossy();
            let Some(num) = n.strip_suffix(".json").and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            let path = dir.join(n.as_ref());
            let rec = Self::read_record(&path)?;
            if rec.number != num {
                return Err(ProfileError::Corrupt {
                    path,
                    reason: format!("records number {}", rec.number),
                });
            }
            out.push(rec);
        }
        out.sort_by_key(|r| r.number);
        Ok(out)
    }

    /// The record `current` points at, if any.
    pub fn current(&self, lab: &str) -> Result<Option<GenerationRecord>, ProfileError> {
        check_name(lab)?;
        let link = self.lab_dir(lab).join("current");
        if fsx::symlink_metadata_opt(&link)?.is_none() {
            return Ok(None);
        }
        let target = fsx::read_link(&link)?;
        let Some(num) = target
            .to_str()
            .and_then(|s| s.strip_suffix(".json"))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Err(ProfileError::Corrupt {
                path: link,
                reason: format!("points at `{}`, not `<n>.json`", target.display()),
            });
        };
        self.get(lab, num)
    }

    pub fn get(&self, lab: &str, number: u64) -> Result<Option<GenerationRecord>, ProfileError> {
        check_name(lab)?;
        let path = self.lab_dir(lab).join(format!("{number}.json"));
        if fsx::symlink_metadata_opt(&path)?.is_none() {
            return Ok(None);
        }
        Self::read_record(&path).map(Some)
    }

    /// Point `current` at an existing record (rollback).
    pub fn set_current(&self, lab: &str, number: u64) -> Result<GenerationRecord, ProfileError> {
        check_name(lab)?;
        let _lock = self.lock()?;
        let Some(rec) = self.get(lab, number)? else {
            return Err(ProfileError::NoSuchNumber {
                lab: lab.to_string(),
                number,
            });
        };
        fsx::symlink_atomic(
            Path::new(&format!("{number}.json")),
            &self.lab_dir(lab).join("current"),
        )?;
        Ok(rec)
    }

    /// Labs with a profile directory, sorted.
    pub fn labs(&self) -> Result<Vec<String>, ProfileError> {
        Ok(fsx::read_dir_sorted(&self.root.join("profiles"))?
            .into_iter()
            .filter_map(|n| n.into_string().ok())
            .filter(|n| crate::names::invalid_reason(n).is_none())
            .collect())
    }

    /// Every recorded generation of every lab plus every pin; sorted, no
    /// duplicates.
    pub fn roots(&self) -> Result<Vec<Digest>, ProfileError> {
        let mut out = Vec::new();
        for lab in self.labs()? {
            out.extend(self.list(&lab)?.into_iter().map(|r| r.generation));
        }
        out.extend(self.pins()?.into_iter().map(|(_, d)| d));
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Pinned roots, by name.
    pub fn pins(&self) -> Result<Vec<(String, Digest)>, ProfileError> {
        let dir = self.root.join("roots");
        let mut out = Vec::new();
        for n in fsx::read_dir_sorted(&dir)? {
            let Ok(name) = n.into_string() else { continue };
            if crate::names::invalid_reason(&name).is_some() {
                continue; // temp files of write_atomic start with a dot
            }
            let path = dir.join(&name);
            let text = fsx::read_to_string(&path)?;
            let d = text
                .trim()
                .parse::<Digest>()
                .map_err(|e| ProfileError::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            out.push((name, d));
        }
        Ok(out)
    }

    /// Keep `digest` (and its closure) alive under `name`.
    pub fn pin(&self, name: &str, digest: &Digest) -> Result<(), ProfileError> {
        check_name(name)?;
        let _lock = self.lock()?;
        fsx::write_atomic(
            &self.root.join("roots").join(name),
            format!("{digest}\n").as_bytes(),
        )?;
        Ok(())
    }

    /// Remove a pin; `false` if there was none.
    pub fn unpin(&self, name: &str) -> Result<bool, ProfileError> {
        check_name(name)?;
        let _lock = self.lock()?;
        let path = self.root.join("roots").join(name);
        if fsx::symlink_metadata_opt(&path)?.is_none() {
            return Ok(false);
        }
        fsx::remove_file(&path)?;
        fsx::fsync_dir(&self.root.join("roots"))?;
        Ok(true)
    }
}
