//! Re-hashing every entry to find corruption.

use std::path::PathBuf;

use super::entry;
use super::{Store, StoreError};
use crate::Digest;
use crate::fsx;
use crate::tree;

/// One entry directory that is not what its `entry.json` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    pub dir: PathBuf,
    /// The id and name from the directory name, when it parses.
    pub id: Option<Digest>,
    pub name: Option<String>,
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entry directories examined.
    pub checked: usize,
    /// Those found damaged, in directory order.
    pub corrupted: Vec<Corruption>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.corrupted.is_empty()
    }
}

impl Store {
    /// Re-hash every entry and compare with its `entry.json`. Holds the
    /// shared store lock so gc cannot remove entries under it.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock_shared()?;
        let root = self.entries_root();
        let mut report = VerifyReport::default();
        for n in fsx::read_dir_sorted(&root)? {
            let dir = root.join(&n);
            report.checked += 1;
            let parsed =
                entry::parse_dir_name(&n.to_string_lossy()).map(|(i, s)| (i, s.to_string()));
            let corrupt = |problem: String| Corruption {
                dir: dir.clone(),
                id: parsed.as_ref().map(|p| p.0),
                name: parsed.as_ref().map(|p| p.1.clone()),
                problem,
            };
            let e = match entry::load(&dir)? {
                Ok(e) => e,
                Err(problem) => {
                    report.corrupted.push(corrupt(problem));
                    continue;
                }
            };
            match tree::hash_path_sized(&e.out) {
                Ok((h, stats)) => {
                    if h != e.content_hash {
                        report.corrupted.push(corrupt(format!(
                            "content hash is {h}, entry.json says {}",
                            e.content_hash
                        )));
                    } else if stats.bytes != e.size {
                        report.corrupted.push(corrupt(format!(
                            "size is {} bytes, entry.json says {}",
                            stats.bytes, e.size
                        )));
                    }
                }
                // Unreadable or changed: either way not what was committed.
                Err(err) => report.corrupted.push(corrupt(err.to_string())),
            }
        }
        Ok(report)
    }
}
