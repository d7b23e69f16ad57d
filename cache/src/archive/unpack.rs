//! Extracting an archive without trusting it.
//!
//! An archive can try to write outside the destination in three ways: an
//! absolute path, a `..` component, or a symlink it planted earlier that a
//! later entry is written through. All three are refused with an error
//! naming the entry; nothing is skipped silently. Symlinks themselves must
//! stay inside the destination too (relative targets that do not climb out),
//! and a path is never created through an existing symlink.

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::{ArchiveError, lossy};
use crate::fsx::{self, IoError};

/// Extract a `tar.zst` stream into `dest` (created if missing). Ownership
/// is not restored; permission bits are, directories' last so that a
/// read-only directory does not block its own contents.
pub fn unpack(src: impl Read, dest: &Path) -> Result<(), ArchiveError> {
    fsx::create_dir_all(dest)?;
    let dec = zstd::stream::read::Decoder::new(src).map_err(ArchiveError::Read)?;
    let mut ar = tar::Archive::new(dec);
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    for entry in ar.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        let raw = entry.path().map_err(ArchiveError::Read)?.into_owned();
        let et = entry.header().entry_type();
        if et == tar::EntryType::XGlobalHeader {
            continue;
        }
        let mode = entry.header().mode().map_err(ArchiveError::Read)? & 0o7777;
        let comps = relative_components(&raw)?;
        if comps.is_empty() {
            if et.is_dir() {
                continue;
            }
            return unsafe_entry(&raw, "a non-directory entry for the destination itself");
        }
        let target = prepare_parents(dest, &comps, &raw)?;
        match et {
            tar::EntryType::Directory => {
                match fsx::symlink_metadata_opt(&target)? {
                    Some(m) if m.is_dir() => {}
                    Some(_) => {
                        return unsafe_entry(&raw, "a directory over an existing non-directory");
                    }
                    None => fsx::create_dir(&target)?,
                }
                dir_modes.push((target, mode));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                clear_non_dir(&target, &raw)?;
                let mut f = fsx::create_new(&target)?;
                io::copy(&mut entry, &mut f).map_err(|e| IoError::new("write", &target, e))?;
                drop(f);
                fsx::set_mode(&target, mode)?;
            }
            tar::EntryType::Symlink => {
                let link = link_name(&mut entry, &raw)?;
                check_symlink_target(&comps, &link, &raw)?;
                clear_non_dir(&target, &raw)?;
                fsx::symlink(&link, &target)?;
            }
            tar::EntryType::Link => {
                let link = link_name(&mut entry, &raw)?;
                let lcomps = relative_components(&link)?;
                if lcomps.is_empty() {
                    return unsafe_entry(&raw, "a hard link to the destination itself");
                }
                let ltarget = existing_path(dest, &lcomps, &raw)?;
                clear_non_dir(&target, &raw)?;
                fsx::hard_link(&ltarget, &target)?;
            }
            other => {
                return unsafe_entry(&raw, &format!("unsupported entry type {other:?}"));
            }
        }
    }
    for (dir, mode) in dir_modes.iter().rev() {
        fsx::set_mode(dir, *mode)?;
    }
    Ok(())
}

fn unsafe_entry<T>(path: &Path, reason: &str) -> Result<T, ArchiveError> {
    Err(ArchiveError::Unsafe {
        path: lossy(path),
        reason: reason.to_string(),
    })
}

fn link_name<R: Read>(entry: &mut tar::Entry<'_, R>, raw: &Path) -> Result<PathBuf, ArchiveError> {
    match entry.link_name().map_err(ArchiveError::Read)? {
        Some(l) if !l.as_os_str().is_empty() => Ok(l.into_owned()),
        _ => unsafe_entry(raw, "link without a target"),
    }
}

/// The normal components of an archive path; absolute paths and `..` are
/// errors, `.` is dropped.
fn relative_components(p: &Path) -> Result<Vec<OsString>, ArchiveError> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir => return unsafe_entry(p, "path contains `..`"),
            Component::RootDir | Component::Prefix(_) => return unsafe_entry(p, "absolute path"),
        }
    }
    Ok(out)
}

/// Create the missing parents of `comps` under `dest`, refusing to pass
/// through a symlink or a non-directory. Returns the full entry path.
fn prepare_parents(dest: &Path, comps: &[OsString], raw: &Path) -> Result<PathBuf, ArchiveError> {
    let mut p = dest.to_path_buf();
    for c in &comps[..comps.len() - 1] {
        p.push(c);
        match fsx::symlink_metadata_opt(&p)? {
            Some(m) if m.file_type().is_symlink() => {
                return unsafe_entry(raw, &format!("its parent `{}` is a symlink", p.display()));
            }
            Some(m) if m.is_dir() => {}
            Some(_) => {
                return unsafe_entry(
                    raw,
                    &format!("its parent `{}` is not a directory", p.display()),
                );
            }
            None => fsx::create_dir(&p)?,
        }
    }
    p.push(&comps[comps.len() - 1]);
    Ok(p)
}

/// An existing regular file under `dest`, reached without symlinks.
fn existing_path(dest: &Path, comps: &[OsString], raw: &Path) -> Result<PathBuf, ArchiveError> {
    let mut p = dest.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        p.push(c);
        let m = fsx::symlink_metadata_opt(&p)?;
        let last = i + 1 == comps.len();
        match m {
            Some(m) if m.file_type().is_symlink() => {
                return unsafe_entry(
                    raw,
                    &format!("hard link target passes through symlink `{}`", p.display()),
                );
            }
            Some(m) if last && m.is_file() => {}
            Some(m) if !last && m.is_dir() => {}
            _ => return unsafe_entry(raw, "hard link target is not an earlier regular file"),
        }
    }
    Ok(p)
}

/// Remove whatever non-directory is at `target` (a file or symlink from an
/// earlier entry), so the new entry never writes through it.
fn clear_non_dir(target: &Path, raw: &Path) -> Result<(), ArchiveError> {
    match fsx::symlink_metadata_opt(target)? {
        Some(m) if m.is_dir() => unsafe_entry(raw, "would replace a directory"),
        Some(_) => Ok(fsx::remove_file(target)?),
        None => Ok(()),
    }
}

/// A symlink at `comps` pointing at `link` must resolve, lexically, inside
/// the destination.
fn check_symlink_target(comps: &[OsString], link: &Path, raw: &Path) -> Result<(), ArchiveError> {
    let mut depth: i64 = comps.len() as i64 - 1;
    for c in link.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return unsafe_entry(
                        raw,
                        &format!(
                            "symlink target `{}` escapes the destination",
                            link.display()
                        ),
                    );
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return unsafe_entry(
                    raw,
                    &format!("symlink target `{}` is absolute", link.display()),
                );
            }
        }
    }
    Ok(())
}
