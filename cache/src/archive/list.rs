//! Reading what a `tar.zst` archive holds without extracting it: what
//! `hlb diff` compares between two container templates.
//!
//! Every entry is read (and hashed, for regular files) in archive order;
//! nothing is written. Contents are returned only for the paths asked for,
//! so comparing two root filesystems holds two listings in memory, not two
//! trees.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use super::{ArchiveError, lossy};
use crate::Digest;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListedKind {
    File {
        size: u64,
        digest: Digest,
    },
    Dir,
    Symlink {
        target: String,
    },
    Hardlink {
        target: String,
    },
    /// Devices, FIFOs and the like, by their tar type byte.
    Other(u8),
}

/// One entry of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// As stored, without a leading `./` (`etc/hostname`; `` for `./`).
    pub path: String,
    pub kind: ListedKind,
    /// Permission bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

fn clean(raw: &str) -> String {
    raw.trim_start_matches("./")
        .trim_end_matches('/')
        .to_string()
}

/// Every entry of a `tar.zst` stream, by path.
pub fn list(src: impl Read) -> Result<BTreeMap<String, Listed>, ArchiveError> {
    let dec = zstd::stream::read::Decoder::new(src).map_err(ArchiveError::Read)?;
    let mut ar = tar::Archive::new(dec);
    let mut out = BTreeMap::new();
    for entry in ar.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        let header = entry.header();
        let et = header.entry_type();
        if et == tar::EntryType::XGlobalHeader || et == tar::EntryType::XHeader {
            continue;
        }
        let path = clean(&lossy(&entry.path().map_err(ArchiveError::Read)?));
        let mode = header.mode().map_err(ArchiveError::Read)? & 0o7777;
        let uid = header.uid().map_err(ArchiveError::Read)?;
        let gid = header.gid().map_err(ArchiveError::Read)?;
        let link = |entry: &tar::Entry<'_, _>| -> Result<String, ArchiveError> {
            Ok(entry
                .link_name()
                .map_err(ArchiveError::Read)?
                .map(|p| lossy(&p))
                .unwrap_or_default())
        };
        let kind = match et {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut hasher = blake3::Hasher::new();
                let size = std::io::copy(&mut entry, &mut hasher).map_err(ArchiveError::Read)?;
                ListedKind::File {
                    size,
                    digest: Digest(*hasher.finalize().as_bytes()),
                }
            }
            tar::EntryType::Directory => ListedKind::Dir,
            tar::EntryType::Symlink => ListedKind::Symlink {
                target: link(&entry)?,
            },
            tar::EntryType::Link => ListedKind::Hardlink {
                target: clean(&link(&entry)?),
            },
            other => ListedKind::Other(other.as_byte()),
        };
        out.insert(
            path.clone(),
            Listed {
                path,
                kind,
                mode,
                uid,
                gid,
            },
        );
    }
    Ok(out)
}

/// The contents of the regular files at `paths` (as [`list`] names them),
/// each at most `max` bytes (longer ones are left out).
pub fn read_files(
    src: impl Read,
    paths: &BTreeSet<String>,
    max: u64,
) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let dec = zstd::stream::read::Decoder::new(src).map_err(ArchiveError::Read)?;
    let mut ar = tar::Archive::new(dec);
    let mut out = BTreeMap::new();
    for entry in ar.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) || entry.size() > max
        {
            continue;
        }
        let path = clean(&lossy(&entry.path().map_err(ArchiveError::Read)?));
        if paths.contains(&path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(ArchiveError::Read)?;
            out.insert(path, bytes);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ArchiveOptions, ArchiveWriter, EntryMeta};

    #[test]
    fn lists_and_reads_what_was_written() {
        let mut w = ArchiveWriter::new(Vec::new(), ArchiveOptions::default()).unwrap();
        let meta = |mode| EntryMeta {
            mode,
            ..EntryMeta::default()
        };
        w.add_dir("etc", &meta(0o755)).unwrap();
        w.add_file("etc/hostname", &meta(0o644), b"dns\n").unwrap();
        w.add_symlink("etc/localtime", &meta(0o777), "/usr/share/zoneinfo/UTC")
            .unwrap();
        let bytes = w.finish().unwrap();
        let listed = list(&bytes[..]).unwrap();
        let keys: Vec<&str> = listed.keys().map(String::as_str).collect();
        assert_eq!(keys, ["etc", "etc/hostname", "etc/localtime"]);
        assert_eq!(
            listed["etc/hostname"].kind,
            ListedKind::File {
                size: 4,
                digest: Digest::of(b"dns\n")
            }
        );
        assert_eq!(listed["etc/hostname"].mode, 0o644);
        assert_eq!(
            listed["etc/localtime"].kind,
            ListedKind::Symlink {
                target: "/usr/share/zoneinfo/UTC".into()
            }
        );
        let want = BTreeSet::from(["etc/hostname".to_string()]);
        let read = read_files(&bytes[..], &want, 1024).unwrap();
        assert_eq!(read["etc/hostname"], b"dns\n");
        assert!(read_files(&bytes[..], &want, 3).unwrap().is_empty());
    }
}
