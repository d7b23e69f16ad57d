//! How evaluation reaches files: through [`EvalIo`] and nothing else.
//!
//! Evaluation is pure: the same recipes give the same lab on every machine.
//! To keep it so, the loader never calls `std::fs` itself. It names files by
//! [`RelPath`] — a normalized path relative to the root of an [`EvalIo`] — and
//! asks the `EvalIo` for their bytes. [`FsIo`] serves a directory of the real
//! filesystem and refuses symlinks that lead out of it; [`MemIo`] serves an
//! in-memory map, for tests.
//!
//! Invariants of a `RelPath`: not empty; components separated by a single
//! `/`; no `.`, `..` or empty components; no leading or trailing `/`; no NUL
//! and no `\`. So two `RelPath`s name the same file exactly when they are
//! equal, and a `RelPath` can never name anything outside the root.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Why a path is not acceptable as a [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("`{0}` is an absolute path")]
    Absolute(String),
    #[error("`{0}` leads out of the recipe root")]
    EscapesRoot(String),
    #[error("`{0}` contains a backslash; separate path components with `/`")]
    Backslash(String),
    #[error("the path contains a NUL character")]
    Nul,
}

/// A normalized path relative to an [`EvalIo`] root (see the module docs for
/// its invariants).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Normalize `path`: `.` and empty components are dropped, `..` removes
    /// the previous component; a `..` with nothing left to remove is an error.
    pub fn new(path: &str) -> Result<RelPath, PathError> {
        Self::normalize(&[], path)
    }

    /// Resolve `rel` against the directory that contains `self` (which names
    /// a file): `lab.kdl`.join_relative("apps/dns.kdl") is `apps/dns.kdl`,
    /// `apps/dns.kdl`.join_relative("../files/x") is `files/x`.
    pub fn join_relative(&self, rel: &str) -> Result<RelPath, PathError> {
        let mut base: Vec<&str> = self.0.split('/').collect();
        base.pop();
        Self::normalize(&base, rel)
    }

    /// The directory that contains this file, as components (empty at the root).
    pub fn parent_components(&self) -> impl Iterator<Item = &str> {
        let mut parts = self.0.rsplitn(2, '/');
        parts.next();
        parts.next().into_iter().flat_map(|dir| dir.split('/'))
    }

    /// Whether this path lies inside directory `dir` (given as components;
    /// an empty `dir` is the root, which contains everything).
    pub fn is_inside<'a>(&self, dir: impl IntoIterator<Item = &'a str>) -> bool {
        let mut mine = self.0.split('/');
        dir.into_iter().all(|d| mine.next() == Some(d))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name's extension, if any (`yaml` for `files/a.yaml`).
    pub fn extension(&self) -> Option<&str> {
        let name = self.0.rsplit('/').next().unwrap_or(&self.0);
        name.rsplit_once('.')
            .filter(|(stem, _)| !stem.is_empty())
            .map(|(_, ext)| ext)
    }

    fn normalize(base: &[&str], rel: &str) -> Result<RelPath, PathError> {
        if rel.is_empty() {
            return Err(PathError::Empty);
        }
        if rel.contains('\0') {
            return Err(PathError::Nul);
        }
        if rel.starts_with('/') {
            return Err(PathError::Absolute(rel.to_string()));
        }
        if rel.contains('\\') {
            return Err(PathError::Backslash(rel.to_string()));
        }
        let mut parts: Vec<&str> = base.to_vec();
        for comp in rel.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(PathError::EscapesRoot(rel.to_string()));
                    }
                }
                c => parts.push(c),
            }
        }
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(RelPath(parts.join("/")))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RelPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<RelPath, PathError> {
        RelPath::new(s)
    }
}

impl serde::Serialize for RelPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RelPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RelPath, D::Error> {
        let s = String::deserialize(d)?;
        RelPath::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The only way evaluation reads files.
pub trait EvalIo: Send + Sync {
    /// The bytes of the file at `path`. A symlink that leads out of the root
    /// is an error whose inner error is a [`PathError::EscapesRoot`].
    fn read(&self, path: &RelPath) -> io::Result<Vec<u8>>;
}

/// Serves the files under a directory of the real filesystem.
pub struct FsIo {
    root: PathBuf,
    canonical_root: OnceLock<Result<PathBuf, (io::ErrorKind, String)>>,
}

impl fmt::Debug for FsIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsIo").field("root", &self.root).finish()
    }
}

impl FsIo {
    pub fn new(root: impl Into<PathBuf>) -> FsIo {
        FsIo {
            root: root.into(),
            canonical_root: OnceLock::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn canonical_root(&self) -> io::Result<&Path> {
        let root = self.canonical_root.get_or_init(|| {
            std::fs::canonicalize(&self.root).map_err(|e| (e.kind(), e.to_string()))
        });
        match root {
            Ok(p) => Ok(p),
            Err((kind, msg)) => Err(io::Error::new(
                *kind,
                format!("cannot resolve recipe root {}: {msg}", self.root.display()),
            )),
        }
    }
}

impl EvalIo for FsIo {
    fn read(&self, path: &RelPath) -> io::Result<Vec<u8>> {
        let root = self.canonical_root()?;
        // Canonicalizing resolves every symlink on the way, so the prefix
        // check below sees where the path really leads.
        let real = std::fs::canonicalize(root.join(path.as_str()))?;
        if !real.starts_with(root) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                PathError::EscapesRoot(path.to_string()),
            ));
        }
        std::fs::read(real)
    }
}

/// Serves files from memory; for tests and for embedding recipes.
#[derive(Debug, Default, Clone)]
pub struct MemIo {
    files: BTreeMap<String, Arc<[u8]>>,
}

impl MemIo {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a file. `path` is normalized like a [`RelPath`]
    /// (`./a//b` is `a/b`); a path that is not a valid `RelPath` is kept as
    /// written and can never be read.
    pub fn with(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        let key = RelPath::new(path).map_or_else(|_| path.to_string(), |p| p.0);
        self.files.insert(key, bytes.into().into());
        self
    }
}

impl EvalIo for MemIo {
    fn read(&self, path: &RelPath) -> io::Result<Vec<u8>> {
        self.files
            .get(path.as_str())
            .map(|b| b.to_vec())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file in memory"))
    }
}

/// The [`PathError`] inside an I/O error, if [`EvalIo::read`] refused a path.
pub fn path_error(err: &io::Error) -> Option<&PathError> {
    err.get_ref().and_then(|e| e.downcast_ref::<PathError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(RelPath::new("a/./b//c").unwrap().as_str(), "a/b/c");
        assert_eq!(RelPath::new("a/b/../c").unwrap().as_str(), "a/c");
        assert_eq!(RelPath::new("a/").unwrap().as_str(), "a");
        assert_eq!(RelPath::new(""), Err(PathError::Empty));
        assert_eq!(RelPath::new("."), Err(PathError::Empty));
        assert_eq!(RelPath::new("a/.."), Err(PathError::Empty));
        assert!(matches!(RelPath::new("/etc"), Err(PathError::Absolute(_))));
        assert!(matches!(
            RelPath::new("../x"),
            Err(PathError::EscapesRoot(_))
        ));
        assert!(matches!(
            RelPath::new("a/../../x"),
            Err(PathError::EscapesRoot(_))
        ));
        assert!(matches!(RelPath::new("a\\b"), Err(PathError::Backslash(_))));
        assert_eq!(RelPath::new("a\0"), Err(PathError::Nul));
    }

    #[test]
    fn joins_relative_to_the_files_directory() {
        let lab = RelPath::new("lab.kdl").unwrap();
        assert_eq!(
            lab.join_relative("apps/dns.kdl").unwrap().as_str(),
            "apps/dns.kdl"
        );
        let dns = RelPath::new("apps/dns.kdl").unwrap();
        assert_eq!(
            dns.join_relative("files/x").unwrap().as_str(),
            "apps/files/x"
        );
        assert_eq!(dns.join_relative("../files/x").unwrap().as_str(), "files/x");
        assert!(matches!(
            dns.join_relative("../../x"),
            Err(PathError::EscapesRoot(_))
        ));
        assert!(matches!(
            dns.join_relative("/x"),
            Err(PathError::Absolute(_))
        ));
    }

    /// Over every path of up to four components drawn from a small alphabet:
    /// a normalized path is a fixed point, never contains `.`/`..`/empty
    /// components, and joining stays inside the base's directory unless the
    /// relative path climbs out of it.
    #[test]
    fn normalization_is_canonical() {
        let parts = ["a", "b", ".", "..", ""];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|p| {
                    parts.iter().map(move |c| {
                        if p.is_empty() {
                            c.to_string()
                        } else {
                            format!("{p}/{c}")
                        }
                    })
                })
                .collect();
            paths.extend(longer);
        }
        let base = RelPath::new("dir/file.kdl").unwrap();
        for p in &paths {
            if let Ok(r) = RelPath::new(p) {
                assert_eq!(RelPath::new(r.as_str()).as_ref(), Ok(&r), "{p}");
                assert!(
                    r.as_str().split('/').all(|c| !matches!(c, "" | "." | "..")),
                    "{p} → {r}"
                );
            }
            match base.join_relative(p) {
                Ok(j) => {
                    assert_eq!(RelPath::new(j.as_str()).as_ref(), Ok(&j));
                    let climbs =
                        RelPath::new(&format!("x/{p}")).map_or(true, |q| !q.is_inside(["x"]));
                    assert_eq!(j.is_inside(["dir"]), !climbs, "{p} → {j}");
                }
                Err(e) => assert!(
                    matches!(e, PathError::EscapesRoot(_) | PathError::Empty),
                    "{p}: {e}"
                ),
            }
        }
    }

    #[test]
    fn containment() {
        let p = RelPath::new("recipes/apps/x.kdl").unwrap();
        assert_eq!(
            p.parent_components().collect::<Vec<_>>(),
            ["recipes", "apps"]
        );
        assert!(p.is_inside(["recipes"]));
        assert!(p.is_inside([]));
        assert!(!p.is_inside(["other"]));
        assert!(!RelPath::new("recipesx/a").unwrap().is_inside(["recipes"]));
        assert_eq!(
            RelPath::new("x.kdl").unwrap().parent_components().count(),
            0
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(RelPath::new("a/b.yaml").unwrap().extension(), Some("yaml"));
        assert_eq!(RelPath::new("a.b/c").unwrap().extension(), None);
        assert_eq!(RelPath::new(".env").unwrap().extension(), None);
    }

    #[test]
    fn mem_io_reads_what_it_holds() {
        let io = MemIo::new().with("a.txt", "hi").with("./d//b.txt", "b");
        assert_eq!(io.read(&RelPath::new("a.txt").unwrap()).unwrap(), b"hi");
        assert_eq!(io.read(&RelPath::new("d/b.txt").unwrap()).unwrap(), b"b");
        let err = io.read(&RelPath::new("b.txt").unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn fs_io_refuses_symlinks_out_of_the_root() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("recipes");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(outer.path().join("secret.txt"), "outside").unwrap();
        std::fs::write(root.join("inside.txt"), "inside").unwrap();
        std::os::unix::fs::symlink("../secret.txt", root.join("out")).unwrap();
        std::os::unix::fs::symlink("inside.txt", root.join("in")).unwrap();
        let io = FsIo::new(&root);
        assert_eq!(io.read(&RelPath::new("in").unwrap()).unwrap(), b"inside");
        let err = io.read(&RelPath::new("out").unwrap()).unwrap_err();
        assert!(matches!(path_error(&err), Some(PathError::EscapesRoot(_))));
        let err = io.read(&RelPath::new("missing").unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
