//! Streaming access to a tar member of a `.deb`, with path checks.

use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::DebError;

/// The kind of a tar entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    HardLink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
}

/// A tar member being streamed.
pub struct DataArchive<'r> {
    archive: tar::Archive<Box<dyn Read + 'r>>,
    origin: String,
    member: String,
}

impl std::fmt::Debug for DataArchive<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataArchive")
            .field("origin", &self.origin)
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

impl<'r> DataArchive<'r> {
    pub(super) fn new(reader: Box<dyn Read + 'r>, origin: String, member: String) -> Self {
        DataArchive {
            archive: tar::Archive::new(reader),
            origin,
            member,
        }
    }

    /// The entries in archive order. Each must be read (or dropped) before
    /// the next is taken.
    pub fn entries(&mut self) -> Result<DataEntries<'_, 'r>, DebError> {
        let entries = self.archive.entries().map_err(|source| DebError::Io {
            origin: self.origin.clone(),
            member: self.member.clone(),
            source,
        })?;
        Ok(DataEntries {
            entries,
            origin: &self.origin,
            member: &self.member,
        })
    }
}

/// Iterator over a tar member's entries.
pub struct DataEntries<'a, 'r> {
    entries: tar::Entries<'a, Box<dyn Read + 'r>>,
    origin: &'a str,
    member: &'a str,
}

impl std::fmt::Debug for DataEntries<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataEntries")
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

/// One entry: metadata, and its content through `Read` (regular files).
pub struct DataEntry<'a, 'r> {
    /// Normalized relative path (see the module invariants); empty for the
    /// archive root.
    pub path: PathBuf,
    /// What the entry is.
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// Owner name, when the archive records one.
    pub user: Option<String>,
    /// Group name, when the archive records one.
    pub group: Option<String>,
    /// Content size in bytes (0 for non-files).
    pub size: u64,
    /// Modification time, Unix seconds.
    pub mtime: u64,
    /// Symlink target as written, or normalized hard-link target.
    pub link_target: Option<PathBuf>,
    /// (major, minor) for devices.
    pub device: Option<(u32, u32)>,
    inner: tar::Entry<'a, Box<dyn Read + 'r>>,
}

impl std::fmt::Debug for DataEntry<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataEntry")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("size", &self.size)
            .field("link_target", &self.link_target)
            .finish_non_exhaustive()
    }
}

impl Read for DataEntry<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Normalizes an archive path; `Err(reason)` when it is unsafe.
pub(crate) fn normalize(path: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir => return Err("contains a `..` component"),
            Component::RootDir | Component::Prefix(_) => return Err("is absolute"),
        }
    }
    Ok(out)
}

impl<'a, 'r> Iterator for DataEntries<'a, 'r> {
    type Item = Result<DataEntry<'a, 'r>, DebError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.next()?;
        Some(self.convert(entry))
    }
}

impl<'a, 'r> DataEntries<'a, 'r> {
    fn convert(
        &self,
        entry: io::Result<tar::Entry<'a, Box<dyn Read + 'r>>>,
    ) -> Result<DataEntry<'a, 'r>, DebError> {
        let io_err = |source| DebError::Io {
            origin: self.origin.to_owned(),
            member: self.member.to_owned(),
            source,
        };
        let unsafe_path = |path: &Path, reason| DebError::UnsafePath {
            origin: self.origin.to_owned(),
            member: self.member.to_owned(),
            path: path.to_owned(),
            reason,
        };
        let entry = entry.map_err(io_err)?;
        let raw = PathBuf::from(std::ffi::OsStr::from_bytes(&entry.path_bytes()));
        let path = normalize(&raw).map_err(|r| unsafe_path(&raw, r))?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::HardLink,
            tar::EntryType::Char => EntryKind::CharDevice,
            tar::EntryType::Block => EntryKind::BlockDevice,
            tar::EntryType::Fifo => EntryKind::Fifo,
            other => {
                return Err(DebError::Layout {
                    origin: self.origin.to_owned(),
                    message: format!(
                        "{}: {raw:?} has unsupported tar entry type {other:?}",
                        self.member
                    ),
                });
            }
        };
        let link_target = match kind {
            EntryKind::Symlink | EntryKind::HardLink => {
                let bytes = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_path(&raw, "link without a target"))?;
                let target = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
                if target.as_os_str().is_empty() {
                    return Err(unsafe_path(&raw, "link with an empty target"));
                }
                if kind == EntryKind::HardLink {
                    Some(normalize(&target).map_err(|r| unsafe_path(&target, r))?)
                } else {
                    Some(target)
                }
            }
            _ => None,
        };
        let device = match kind {
            EntryKind::CharDevice | EntryKind::BlockDevice => Some((
                header.device_major().map_err(io_err)?.unwrap_or(0),
                header.device_minor().map_err(io_err)?.unwrap_or(0),
            )),
            _ => None,
        };
        let name = |v: Result<Option<&str>, std::str::Utf8Error>| {
            v.ok()
                .flatten()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(DataEntry {
            kind,
            mode: header.mode().map_err(io_err)? & 0o7777,
            uid: header.uid().map_err(io_err)?,
            gid: header.gid().map_err(io_err)?,
            user: name(header.username()),
            group: name(header.groupname()),
            size: if kind == EntryKind::File {
                entry.size()
            } else {
                0
            },
            mtime: header.mtime().map_err(io_err)?,
            link_target,
            device,
            path,
            inner: entry,
        })
    }
}
