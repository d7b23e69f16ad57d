//! The one deterministic `tar.zst` writer (and a careful reader).
//!
//! LXC rootfs templates, Helm chart archives and generation exports are all
//! hashed by their bytes, so the same input must give the same archive on
//! every machine and every run. This module owns every choice that could
//! make two archives of one tree differ:
//!
//! - entry order: callers add entries in order and out-of-order input is an
//!   error, never silently re-sorted. The order is component-wise by bytes
//!   (`a`, `a/b`, `a-c`): the order of a depth-first walk with each
//!   directory's names sorted by bytes, so parents come before children and
//!   a subtree is contiguous;
//! - headers: ustar, numeric uid/gid, empty uname/gname, the fixed mtime
//!   from [`ArchiveOptions`], and a pax header only when ustar cannot hold a
//!   path, link target, size or id (see `header.rs`; it never carries times);
//! - compression: one zstd frame at a fixed level, single-threaded (the
//!   `zstdmt` feature is off), checksum on, no content size, no dictionary
//!   id, whatever the library defaults might become.
//!
//! [`write_tree`] archives a directory with normalized metadata; [`unpack`]
//! extracts one while refusing absolute paths, `..` and symlink escapes.

mod header;
mod list;
mod unpack;
mod walk;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

pub use list::{Listed, ListedKind, list, read_files};
pub use unpack::unpack;
pub use walk::{write_tree, write_tree_under};

use crate::fsx::IoError;
use crate::tree::TreeError;
use header::{BLOCK, HeaderSpec, Kind};

/// Fixed knobs of an archive. Two archives of the same entries with the same
/// options are byte-identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// mtime written into every header (from `SOURCE_DATE_EPOCH`, else 0).
    pub mtime: u64,
    /// zstd compression level (default 19).
    pub zstd_level: i32,
}

pub const DEFAULT_ZSTD_LEVEL: i32 = 19;

impl Default for ArchiveOptions {
    fn default() -> ArchiveOptions {
        ArchiveOptions {
            mtime: 0,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl ArchiveOptions {
    /// Defaults, with `mtime` from `SOURCE_DATE_EPOCH` when it is set. A
    /// value that is not a non-negative integer is an error rather than a
    /// silent 0, since it would change every archive's bytes.
    pub fn from_env() -> Result<ArchiveOptions, ArchiveError> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if v.trim().is_empty() => Ok(ArchiveOptions::default()),
            Ok(v) => {
                let mtime = v
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| ArchiveError::SourceDateEpoch(v.clone()))?;
                Ok(ArchiveOptions {
                    mtime,
                    ..ArchiveOptions::default()
                })
            }
            Err(std::env::VarError::NotPresent) => Ok(ArchiveOptions::default()),
            Err(std::env::VarError::NotUnicode(v)) => Err(ArchiveError::SourceDateEpoch(
                v.to_string_lossy().into_owned(),
            )),
        }
    }
}

/// Ownership and permission bits of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits (`& 0o7777` is stored; setuid/setgid/sticky kept).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Default for EntryMeta {
    fn default() -> EntryMeta {
        EntryMeta {
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("writing archive entry `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("reading archive: {0}")]
    Read(#[source] io::Error),
    #[error(
        "archive entry `{path}` is out of order: it must come after `{prev}` (entries are sorted by path components, parents first)"
    )]
    OutOfOrder { prev: String, path: String },
    #[error("archive entry `{path}` is below `{parent}`, which is not a directory")]
    ParentNotDir { parent: String, path: String },
    #[error("archive path `{path}` is not allowed: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error(
        "hard link `{path}` points at `{target}`, which is not a regular file earlier in the archive"
    )]
    HardLinkTarget { path: String, target: String },
    #[error("archive entry `{path}`: declared {expected} bytes, reader gave {actual}")]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("refusing archive entry `{path}`: {reason}")]
    Unsafe { path: String, reason: String },
    #[error("{}: cannot archive as a tree, it is not a directory", path.display())]
    NotADirectory { path: std::path::PathBuf },
    #[error("SOURCE_DATE_EPOCH=`{0}` is not a number of seconds")]
    SourceDateEpoch(String),
}

/// A validated archive path, split into components.
struct ArchivePath {
    comps: Vec<Vec<u8>>,
}

impl ArchivePath {
    fn parse(path: &str) -> Result<ArchivePath, ArchiveError> {
        let bad = |reason| ArchiveError::BadPath {
            path: path.to_string(),
            reason,
        };
        if path.is_empty() {
            return Err(bad("empty"));
        }
        if path.starts_with('/') {
            return Err(bad("absolute"));
        }
        if path.contains('\0') {
            return Err(bad("contains NUL"));
        }
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let mut comps = Vec::new();
        for (i, c) in trimmed.split('/').enumerate() {
            match c {
                "" => return Err(bad("empty component")),
                ".." => return Err(bad("`..` component")),
                "." if i > 0 => return Err(bad("`.` after the first component")),
                _ => comps.push(c.as_bytes().to_vec()),
            }
        }
        Ok(ArchivePath { comps })
    }

    fn joined(&self, dir: bool) -> Vec<u8> {
        let mut out = self.comps.join(&b'/');
        if dir {
            out.push(b'/');
        }
        out
    }
}

fn show(comps: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&comps.join(&b'/')).into_owned()
}

/// Writes a deterministic `tar.zst` stream. See the module docs for the
/// rules; entries must be added in order.
pub struct ArchiveWriter<W: Write> {
    enc: zstd::stream::write::Encoder<'static, W>,
    opts: ArchiveOptions,
    last: Option<(Vec<Vec<u8>>, bool)>,
    files: BTreeSet<Vec<Vec<u8>>>,
}

impl<W: Write> std::fmt::Debug for ArchiveWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ArchiveWriter<W> {
    pub fn new(w: W, opts: ArchiveOptions) -> Result<ArchiveWriter<W>, ArchiveError> {
        let werr = |source| ArchiveError::Write {
            path: "(zstd setup)".into(),
            source,
        };
        let mut enc = zstd::stream::write::Encoder::new(w, opts.zstd_level).map_err(werr)?;
        enc.include_checksum(true).map_err(werr)?;
        enc.include_contentsize(false).map_err(werr)?;
        enc.include_dictid(false).map_err(werr)?;
        enc.long_distance_matching(false).map_err(werr)?;
        Ok(ArchiveWriter {
            enc,
            opts,
            last: None,
            files: BTreeSet::new(),
        })
    }

    /// Check order and parentage, then remember `p` as the last entry.
    fn admit(&mut self, p: &ArchivePath, is_dir: bool) -> Result<(), ArchiveError> {
        if let Some((prev, prev_dir)) = &self.last {
            if p.comps <= *prev {
                return Err(ArchiveError::OutOfOrder {
                    prev: show(prev),
                    path: show(&p.comps),
                });
            }
            if !prev_dir && p.comps.starts_with(prev) {
                return Err(ArchiveError::ParentNotDir {
                    parent: show(prev),
                    path: show(&p.comps),
                });
            }
        }
        self.last = Some((p.comps.clone(), is_dir));
        Ok(())
    }

    fn put(&mut self, path: &ArchivePath, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.enc
            .write_all(bytes)
            .map_err(|source| ArchiveError::Write {
                path: show(&path.comps),
                source,
            })
    }

    fn header(
        &mut self,
        path: &ArchivePath,
        kind: Kind,
        meta: &EntryMeta,
        link: &[u8],
        size: u64,
    ) -> Result<(), ArchiveError> {
        let name = path.joined(kind == Kind::Dir);
        let h = header::encode(&HeaderSpec {
            path: &name,
            link,
            kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            size,
            mtime: self.opts.mtime,
        });
        self.put(path, &h)
    }

    pub fn add_dir(&mut self, path: &str, meta: &EntryMeta) -> Result<(), ArchiveError> {
        let p = ArchivePath::parse(path)?;
        self.admit(&p, true)?;
        self.header(&p, Kind::Dir, meta, b"", 0)
    }

    pub fn add_file(
        &mut self,
        path: &str,
        meta: &EntryMeta,
        bytes: &[u8],
    ) -> Result<(), ArchiveError> {
        self.add_file_from(path, meta, bytes.len() as u64, bytes)
    }

    /// Add a regular file of exactly `size` bytes read from `reader`; a
    /// reader that is shorter or longer is an error.
    pub fn add_file_from(
        &mut self,
        path: &str,
        meta: &EntryMeta,
        size: u64,
        mut reader: impl Read,
    ) -> Result<(), ArchiveError> {
        let p = ArchivePath::parse(path)?;
        self.admit(&p, false)?;
        self.header(&p, Kind::File, meta, b"", size)?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut done: u64 = 0;
        loop {
            let want = (size - done).min(buf.len() as u64) as usize;
            let n = if want == 0 {
                // Probe one byte past the end: a longer reader is an error.
                reader.read(&mut buf[..1])
            } else {
                reader.read(&mut buf[..want])
            }
            .map_err(|source| ArchiveError::Write {
                path: path.to_string(),
                source,
            })?;
            if n == 0 {
                break;
            }
            if want == 0 {
                return Err(ArchiveError::SizeMismatch {
                    path: path.to_string(),
                    expected: size,
                    actual: size + 1,
                });
            }
            self.put(&p, &buf[..n])?;
            done += n as u64;
        }
        if done != size {
            return Err(ArchiveError::SizeMismatch {
                path: path.to_string(),
                expected: size,
                actual: done,
            });
        }
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        self.put(&p, &[0u8; BLOCK][..pad])?;
        self.files.insert(p.comps);
        Ok(())
    }

    pub fn add_symlink(
        &mut self,
        path: &str,
        meta: &EntryMeta,
        target: &str,
    ) -> Result<(), ArchiveError> {
        let p = ArchivePath::parse(path)?;
        if target.is_empty() || target.contains('\0') {
            return Err(ArchiveError::BadPath {
                path: path.to_string(),
                reason: "symlink target is empty or contains NUL",
            });
        }
        self.admit(&p, false)?;
        self.header(&p, Kind::Symlink, meta, target.as_bytes(), 0)
    }

    /// Add a hard link to `target`, a regular file added earlier.
    pub fn add_hardlink(
        &mut self,
        path: &str,
        meta: &EntryMeta,
        target: &str,
    ) -> Result<(), ArchiveError> {
        let p = ArchivePath::parse(path)?;
        let t = ArchivePath::parse(target)?;
        if !self.files.contains(&t.comps) {
            return Err(ArchiveError::HardLinkTarget {
                path: path.to_string(),
                target: target.to_string(),
            });
        }
        self.admit(&p, false)?;
        let link = t.joined(false);
        self.header(&p, Kind::HardLink, meta, &link, 0)
    }

    /// Write the end-of-archive marker, close the zstd frame, return `W`.
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        let end = ArchivePath {
            comps: vec![b"(end of archive)".to_vec()],
        };
        self.put(&end, &[0u8; BLOCK * 2])?;
        self.enc.finish().map_err(|source| ArchiveError::Write {
            path: "(end of archive)".into(),
            source,
        })
    }
}

/// Where a path was found in an archive, for error messages.
pub(crate) fn lossy(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> ArchiveWriter<Vec<u8>> {
        ArchiveWriter::new(Vec::new(), ArchiveOptions::default()).unwrap()
    }

    #[test]
    fn order_is_component_wise() {
        let m = EntryMeta::default();
        let mut a = w();
        a.add_dir("a", &m).unwrap();
        a.add_file("a/b", &m, b"x").unwrap();
        a.add_file("a-c", &m, b"y").unwrap();
        let err = a.add_file("a/z", &m, b"").unwrap_err();
        assert!(matches!(err, ArchiveError::OutOfOrder { .. }), "{err}");
    }

    #[test]
    fn duplicates_and_children_of_files_are_refused() {
        let m = EntryMeta::default();
        let mut a = w();
        a.add_file("f", &m, b"x").unwrap();
        assert!(matches!(
            a.add_file("f", &m, b"x"),
            Err(ArchiveError::OutOfOrder { .. })
        ));
        assert!(matches!(
            a.add_file("f/g", &m, b"x"),
            Err(ArchiveError::ParentNotDir { .. })
        ));
    }

    #[test]
    fn bad_paths_are_refused() {
        let m = EntryMeta::default();
        for p in ["", "/etc", "a/../b", "a//b", "a/./b", ".."] {
            assert!(
                matches!(w().add_dir(p, &m), Err(ArchiveError::BadPath { .. })),
                "{p}"
            );
        }
        w().add_dir(".", &m).unwrap();
        w().add_dir("./x/", &m).unwrap();
    }

    #[test]
    fn reader_size_must_match() {
        let m = EntryMeta::default();
        let e = w().add_file_from("f", &m, 3, &b"ab"[..]).unwrap_err();
        assert!(
            matches!(e, ArchiveError::SizeMismatch { actual: 2, .. }),
            "{e}"
        );
        let e = w().add_file_from("f", &m, 1, &b"ab"[..]).unwrap_err();
        assert!(matches!(e, ArchiveError::SizeMismatch { .. }), "{e}");
    }

    #[test]
    fn hardlink_needs_earlier_file() {
        let m = EntryMeta::default();
        let mut a = w();
        assert!(a.add_hardlink("b", &m, "a").is_err());
        a.add_file("a", &m, b"x").unwrap();
        a.add_hardlink("b", &m, "a").unwrap();
    }
}
