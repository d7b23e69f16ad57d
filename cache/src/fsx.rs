//! Filesystem calls that name what failed.
//!
//! Every error from this module is an [`IoError`] carrying the operation and
//! the path, so a message reads `rename /store/tmp/x -> /store/entries/y: ...`
//! instead of a bare `No such file or directory`. The rest of the crate is
//! forbidden (by `cache/clippy.toml`) from calling `std::fs` directly; this is
//! the one place allowed to.
//!
//! Durability: [`write_atomic`] and [`symlink_atomic`] never leave a
//! half-written file at the destination: they build the new file beside it,
//! fsync it, rename it over the old one and fsync the directory.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A filesystem error naming the operation and the path it was applied to.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct IoError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl IoError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> IoError {
        IoError {
            op,
            path: path.into(),
            source,
        }
    }

    /// The underlying `io::ErrorKind`.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

fn ctx<T>(op: &'static str, path: &Path, r: io::Result<T>) -> Result<T, IoError> {
    r.map_err(|e| IoError::new(op, path, e))
}

pub fn read(path: &Path) -> Result<Vec<u8>, IoError> {
    ctx("read", path, fs::read(path))
}

pub fn read_to_string(path: &Path) -> Result<String, IoError> {
    ctx("read", path, fs::read_to_string(path))
}

pub fn open(path: &Path) -> Result<File, IoError> {
    ctx("open", path, File::open(path))
}

/// Create (or truncate) a file for writing; not atomic, for staging areas.
pub fn create(path: &Path) -> Result<File, IoError> {
    ctx("create", path, File::create(path))
}

/// Create a file that must not exist yet.
pub fn create_new(path: &Path) -> Result<File, IoError> {
    ctx(
        "create",
        path,
        OpenOptions::new().write(true).create_new(true).open(path),
    )
}

/// Open (creating if needed) a file used only for `flock`.
pub fn open_lock_file(path: &Path) -> Result<File, IoError> {
    ctx(
        "open lock file",
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path),
    )
}

pub fn symlink_metadata(path: &Path) -> Result<fs::Metadata, IoError> {
    ctx("stat", path, fs::symlink_metadata(path))
}

/// `lstat` that maps "not found" to `None`.
pub fn symlink_metadata_opt(path: &Path) -> Result<Option<fs::Metadata>, IoError> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoError::new("stat", path, e)),
    }
}

pub fn read_link(path: &Path) -> Result<PathBuf, IoError> {
    ctx("readlink", path, fs::read_link(path))
}

pub fn create_dir(path: &Path) -> Result<(), IoError> {
    ctx("mkdir", path, fs::create_dir(path))
}

pub fn create_dir_all(path: &Path) -> Result<(), IoError> {
    ctx("mkdir -p", path, fs::create_dir_all(path))
}

pub fn rename(from: &Path, to: &Path) -> Result<(), IoError> {
    fs::rename(from, to).map_err(|e| {
        IoError::new(
            "rename",
            format!("{} -> {}", from.display(), to.display()),
            e,
        )
    })
}

pub fn remove_file(path: &Path) -> Result<(), IoError> {
    ctx("remove", path, fs::remove_file(path))
}

pub fn remove_dir_all(path: &Path) -> Result<(), IoError> {
    ctx("remove tree", path, fs::remove_dir_all(path))
}

pub fn set_mode(path: &Path, mode: u32) -> Result<(), IoError> {
    ctx(
        "chmod",
        path,
        fs::set_permissions(path, fs::Permissions::from_mode(mode)),
    )
}

pub fn hard_link(target: &Path, link: &Path) -> Result<(), IoError> {
    fs::hard_link(target, link).map_err(|e| {
        IoError::new(
            "hard link",
            format!("{} -> {}", link.display(), target.display()),
            e,
        )
    })
}

pub fn symlink(target: &Path, link: &Path) -> Result<(), IoError> {
    ctx("symlink", link, std::os::unix::fs::symlink(target, link))
}

/// Remove a file, a symlink or a whole tree, whatever is there; missing is
/// fine. Read-only directories (store entries are 0555) are made writable
/// first, since unlinking inside them otherwise fails for non-root users.
pub fn remove_any(path: &Path) -> Result<(), IoError> {
    let Some(meta) = symlink_metadata_opt(path)? else {
        return Ok(());
    };
    if !meta.is_dir() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(IoError::new("remove", path, e)),
            _ => Ok(()),
        };
    }
    make_dirs_writable(path)?;
    match fs::remove_dir_all(path) {
        // Someone else removing the same tree at the same time is fine:
        // what matters is that it is gone.
        Err(_)
            if fs::symlink_metadata(path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) =>
        {
            Ok(())
        }
        Err(e) => Err(IoError::new("remove tree", path, e)),
        Ok(()) => Ok(()),
    }
}

fn make_dirs_writable(dir: &Path) -> Result<(), IoError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(IoError::new("stat", dir, e)),
    };
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        set_mode(dir, mode | 0o700)?;
    }
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(IoError::new("read dir", dir, e)),
    };
    for entry in rd {
        let entry = ctx("read dir", dir, entry)?;
        if ctx("stat", &entry.path(), entry.file_type())?.is_dir() {
            make_dirs_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// Names in `dir`, sorted by their bytes (not by locale, not by `OsStr`
/// comparison quirks), so every walk of the same tree has the same order.
pub fn read_dir_sorted(dir: &Path) -> Result<Vec<OsString>, IoError> {
    let rd = ctx("read dir", dir, fs::read_dir(dir))?;
    let mut names = Vec::new();
    for entry in rd {
        names.push(ctx("read dir", dir, entry)?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// fsync a directory, making renames and creations inside it durable.
pub fn fsync_dir(dir: &Path) -> Result<(), IoError> {
    let f = ctx("open dir", dir, File::open(dir))?;
    ctx("fsync", dir, f.sync_all())
}

/// fsync a file by path (opened read-only, which is enough on Linux).
pub fn fsync_file(path: &Path) -> Result<(), IoError> {
    let f = ctx("open", path, File::open(path))?;
    ctx("fsync", path, f.sync_all())
}

/// fsync every file and directory under `path` (children before parents);
/// symlinks are covered by their directory's fsync.
pub fn fsync_tree(path: &Path) -> Result<(), IoError> {
    let meta = symlink_metadata(path)?;
    if meta.is_dir() {
        for name in read_dir_sorted(path)? {
            fsync_tree(&path.join(name))?;
        }
        fsync_dir(path)
    } else if meta.is_file() {
        fsync_file(path)
    } else {
        Ok(())
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name for a temporary sibling of `path` that no other thread or process
/// will pick: pid, a per-process counter and the clock. Only used for
/// scratch names, never for anything hashed.
pub fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!(".{base}.{tag}.{}.{n}.{nanos:08x}", std::process::id());
    match path.parent() {
        Some(p) => p.join(name),
        None => PathBuf::from(name),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replace `path` with `bytes` atomically: temp file in the same directory,
/// fsync, rename over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomic_with(path, |f| ctx("write", path, f.write_all(bytes)))
}

/// [`write_atomic`] for content written by `fill` (a stream too large to
/// hold in memory, such as a template's archive): `fill` writes into the
/// temp file; then fsync, rename over `path`, fsync the directory. On any
/// error the temp file is removed and `path` is untouched.
pub fn write_atomic_with<E: From<IoError>>(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = temp_sibling(path, "tmp");
    let result = (|| {
        // Named by the destination: the temp file is an implementation
        // detail, and a missing directory is the destination's problem.
        let mut f = create_new(&tmp).map_err(|e| IoError::new("write", path, e.source))?;
        fill(&mut f)?;
        ctx("fsync", &tmp, f.sync_all())?;
        drop(f);
        rename(&tmp, path)?;
        fsync_dir(parent_dir(path))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Point the symlink `link` at `target`, replacing any existing link in one
/// rename, so readers see either the old target or the new one.
pub fn symlink_atomic(target: &Path, link: &Path) -> Result<(), IoError> {
    let tmp = temp_sibling(link, "link");
    let result = (|| {
        symlink(target, &tmp)?;
        rename(&tmp, link)?;
        fsync_dir(parent_dir(link))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_operation_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = read(&missing).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("read "), "{msg}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read(&p).unwrap(), b"two");
        assert_eq!(
            read_dir_sorted(dir.path()).unwrap(),
            vec![OsString::from("f")]
        );
    }

    #[test]
    fn symlink_atomic_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("current");
        symlink_atomic(Path::new("1.json"), &l).unwrap();
        symlink_atomic(Path::new("2.json"), &l).unwrap();
        assert_eq!(read_link(&l).unwrap(), PathBuf::from("2.json"));
        assert_eq!(read_dir_sorted(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn read_dir_sorted_orders_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b", "B", "a-c", "a", "ä"] {
            create(&dir.path().join(n)).unwrap();
        }
        let names: Vec<_> = read_dir_sorted(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(names, ["B", "a", "a-c", "b", "ä"]);
    }

    #[test]
    fn remove_any_handles_read_only_trees() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t");
        create_dir_all(&t.join("sub")).unwrap();
        create(&t.join("sub/f")).unwrap();
        set_mode(&t.join("sub"), 0o555).unwrap();
        set_mode(&t, 0o555).unwrap();
        remove_any(&t).unwrap();
        assert!(symlink_metadata_opt(&t).unwrap().is_none());
        remove_any(&t).unwrap();
    }
}
