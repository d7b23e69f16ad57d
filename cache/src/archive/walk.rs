//! Archiving a directory tree with normalized metadata.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{ArchiveError, ArchiveOptions, ArchiveWriter, EntryMeta};
use crate::fsx;
use crate::tree::TreeError;

/// Archive the contents of directory `src` (not `src` itself): entries in
/// component order, uid/gid 0, empty owner names, files 0644 or 0755 by
/// their execute bit, directories 0755, the options' fixed mtime. What the
/// files' own mtimes, owners, other mode bits and creation order were does
/// not show in the output.
pub fn write_tree<W: Write>(src: &Path, w: W, opts: ArchiveOptions) -> Result<W, ArchiveError> {
    write_tree_under(src, "", w, opts)
}

/// [`write_tree`] with every path below `prefix`: `"."` gives the `./`,
/// `./etc`, … layout rootfs tarballs use, `"mychart"` the
/// `mychart/Chart.yaml` layout Helm expects. A non-empty prefix also gets a
/// directory entry of its own.
pub fn write_tree_under<W: Write>(
    src: &Path,
    prefix: &str,
    w: W,
    opts: ArchiveOptions,
) -> Result<W, ArchiveError> {
    let meta = fsx::symlink_metadata(src)?;
    if !meta.is_dir() {
        return Err(ArchiveError::NotADirectory {
            path: src.to_path_buf(),
        });
    }
    let mut a = ArchiveWriter::new(w, opts)?;
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        a.add_dir(prefix, &dir_meta())?;
    }
    walk(&mut a, src, prefix)?;
    a.finish()
}

fn dir_meta() -> EntryMeta {
    EntryMeta {
        mode: 0o755,
        uid: 0,
        gid: 0,
    }
}

fn walk<W: Write>(a: &mut ArchiveWriter<W>, dir: &Path, prefix: &str) -> Result<(), ArchiveError> {
    for name in fsx::read_dir_sorted(dir)? {
        let path = dir.join(&name);
        let Some(name) = std::str::from_utf8(name.as_bytes()).ok() else {
            return Err(ArchiveError::BadPath {
                path: super::lossy(&path),
                reason: "file name is not UTF-8",
            });
        };
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fsx::symlink_metadata(&path)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            a.add_dir(&rel, &dir_meta())?;
            walk(a, &path, &rel)?;
        } else if ft.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let f = fsx::open(&path)?;
            let em = EntryMeta {
                mode,
                uid: 0,
                gid: 0,
            };
            a.add_file_from(&rel, &em, meta.len(), std::io::BufReader::new(f))?;
        } else if ft.is_symlink() {
            let target = fsx::read_link(&path)?;
            let Some(t) = target.to_str() else {
                return Err(ArchiveError::BadPath {
                    path: super::lossy(&path),
                    reason: "symlink target is not UTF-8",
                });
            };
            let em = EntryMeta {
                mode: 0o777,
                uid: 0,
                gid: 0,
            };
            a.add_symlink(&rel, &em, t)?;
        } else {
            return Err(TreeError::Special {
                path,
                kind: "a special file",
            }
            .into());
        }
    }
    Ok(())
}
