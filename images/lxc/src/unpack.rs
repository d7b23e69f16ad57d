//! Unpacking `.deb` data tarballs into the staged tree, in a fixed order,
//! with dpkg's rules for files that two packages ship.
//!
//! The root starts merged-`/usr` (`bin`, `sbin`, `lib`, `lib64` are
//! symlinks into `usr/`), as debootstrap and mmdebstrap make bookworm
//! systems; package paths are resolved through symlinks in the tree, so
//! `/bin/ls` lands in `/usr/bin/ls` while the dpkg file list keeps
//! `/bin/ls`, as on a merged system installed by dpkg.
//!
//! Rules when a path is already present:
//! - directory over directory: kept, first package's metadata wins (dpkg
//!   keeps the existing directory too);
//! - directory over a symlink that resolves to a directory: the symlink
//!   stays (dpkg's rule, and what makes merged `/usr` work);
//! - identical file or symlink (same content, mode and owner): shared;
//! - a later package that `Replaces` the earlier owner: overwritten;
//! - anything else: [`UnpackError::Conflict`] naming both packages.
//!
//! Diversions: none of the package sets this compiler builds ships
//! `dpkg-divert` calls in a way that matters for unpacking, and dpkg
//! diversions are only created by maintainer scripts, which are not run;
//! so a second package's file at a diverted path is reported as a conflict
//! rather than silently renamed.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;

use hlb_debian::deb::{ControlInfo, DebError, DebReader, EntryKind};
use hlb_debian::relation::parse_relations;

use crate::tree::{Node, NodeKind, Tree, TreePath, show};

/// One package as installed: its control member and the paths it shipped.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Package name.
    pub name: String,
    /// Version as written in the control file.
    pub version: String,
    /// Architecture field.
    pub architecture: String,
    /// The control member (paragraph, scripts, conffiles, md5sums...).
    pub control: ControlInfo,
    /// Paths as the package wrote them (`/`, `/bin`, `/bin/ls`), in
    /// archive order; dpkg's `info/PKG.list`.
    pub paths: Vec<String>,
    /// SHA-256 of the `.deb`, hex.
    pub sha256: String,
}

/// Why unpacking failed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The `.deb` could not be read.
    #[error(transparent)]
    Deb(#[from] DebError),
    /// Reading an entry's content failed.
    #[error("{origin}: reading {path}: {source}")]
    Io {
        /// The .deb.
        origin: String,
        /// Path in the package.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Two packages ship different content at one path.
    #[error("file conflict at {path}: {first} and {second} both ship it, with different content")]
    Conflict {
        /// Path in the root filesystem.
        path: String,
        /// Package unpacked first.
        first: String,
        /// Package unpacked second.
        second: String,
    },
    /// An entry cannot be placed (parent is a file, symlink loop, device).
    #[error("{origin}: cannot place {path}: {reason}")]
    Unplaceable {
        /// The .deb.
        origin: String,
        /// Path in the package.
        path: String,
        /// Why.
        reason: String,
    },
    /// The control paragraph lacks a required field.
    #[error("{origin}: control file has no {field} field")]
    MissingField {
        /// The .deb.
        origin: String,
        /// Field name.
        field: &'static str,
    },
}

/// The merged-`/usr` links the root starts with.
pub const USR_MERGE: [(&str, &str); 4] = [
    ("bin", "usr/bin"),
    ("lib", "usr/lib"),
    ("lib64", "usr/lib64"),
    ("sbin", "usr/sbin"),
];

/// A tree with the merged-`/usr` skeleton.
pub fn merged_usr_root() -> Tree {
    let mut tree = Tree::default();
    for (link, target) in USR_MERGE {
        tree.insert(vec!["usr".to_owned()], Node::dir(0o755));
        tree.insert(
            target.split('/').map(str::to_owned).collect(),
            Node::dir(0o755),
        );
        tree.insert(vec![link.to_owned()], Node::symlink(target));
    }
    tree
}

/// A `.deb` read and decompressed but not yet placed: the part of
/// unpacking that does not depend on the tree, so that every package of a
/// template can be read at once, on every core, and then placed in the
/// lock's order (which alone decides the tree).
#[derive(Debug)]
pub struct ReadDeb {
    name: String,
    version: String,
    architecture: String,
    replaces: BTreeSet<String>,
    control: ControlInfo,
    entries: Vec<ReadEntry>,
    sha256: String,
}

#[derive(Debug)]
struct ReadEntry {
    raw: TreePath,
    kind: ReadKind,
    mode: u32,
    uid: u64,
    gid: u64,
}

#[derive(Debug)]
enum ReadKind {
    Dir,
    File(Arc<[u8]>),
    Symlink(String),
    HardLink(TreePath),
    Special,
}

fn tree_path(p: &std::path::Path) -> TreePath {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// Reads and decompresses one `.deb` (already hash-checked).
pub fn read_deb(bytes: &[u8], origin: &str, sha256: &str) -> Result<ReadDeb, UnpackError> {
    let reader = DebReader::new(bytes, origin)?;
    let control = reader.control().clone();
    let field = |field: &'static str| {
        control
            .control
            .get(field)
            .map(str::to_owned)
            .ok_or_else(|| UnpackError::MissingField {
                origin: origin.to_owned(),
                field,
            })
    };
    let name = field("Package")?;
    let version = field("Version")?;
    let architecture = field("Architecture")?;
    let replaces: BTreeSet<String> = control
        .control
        .get("Replaces")
        .and_then(|r| parse_relations(r).ok())
        .map(|rs| rs.into_iter().map(|r| r.name).collect())
        .unwrap_or_default();
    let mut data = reader.into_data()?;
    let mut entries = Vec::new();
    for entry in data.entries()? {
        let mut entry = entry?;
        let raw = tree_path(&entry.path);
        let kind = match entry.kind {
            EntryKind::Directory => ReadKind::Dir,
            EntryKind::File => {
                let mut content = Vec::with_capacity(entry.size as usize);
                entry
                    .read_to_end(&mut content)
                    .map_err(|source| UnpackError::Io {
                        origin: origin.to_owned(),
                        path: show(&raw),
                        source,
                    })?;
                ReadKind::File(Arc::from(content))
            }
            EntryKind::Symlink => ReadKind::Symlink(
                entry
                    .link_target
                    .as_ref()
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            EntryKind::HardLink => ReadKind::HardLink(
                entry
                    .link_target
                    .as_deref()
                    .map(tree_path)
                    .unwrap_or_default(),
            ),
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => ReadKind::Special,
        };
        entries.push(ReadEntry {
            raw,
            kind,
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
        });
    }
    Ok(ReadDeb {
        name,
        version,
        architecture,
        replaces,
        control,
        entries,
        sha256: sha256.to_owned(),
    })
}

/// Places a read `.deb` into `tree`, with dpkg's rules for paths already
/// there (see the module docs).
pub fn place_deb(tree: &mut Tree, deb: ReadDeb, origin: &str) -> Result<Installed, UnpackError> {
    let ReadDeb {
        name,
        version,
        architecture,
        replaces,
        control,
        entries,
        sha256,
    } = deb;
    let mut paths = Vec::with_capacity(entries.len());
    for entry in entries {
        let raw = entry.raw;
        paths.push(show(&raw));
        if raw.is_empty() {
            continue;
        }
        let unplaceable = |reason: &str| UnpackError::Unplaceable {
            origin: origin.to_owned(),
            path: show(&raw),
            reason: reason.to_owned(),
        };
        let kind = match entry.kind {
            ReadKind::Dir => NodeKind::Dir,
            ReadKind::File(content) => NodeKind::File(content),
            ReadKind::Symlink(target) => NodeKind::Symlink(target),
            ReadKind::HardLink(target) => {
                let resolved = tree
                    .resolve_parent(&target)
                    .ok_or_else(|| unplaceable("hard-link target cannot be resolved"))?;
                match tree.get(&resolved).map(|n| &n.kind) {
                    Some(NodeKind::File(content)) => NodeKind::File(content.clone()),
                    _ => return Err(unplaceable("hard-link target is not an earlier file")),
                }
            }
            ReadKind::Special => {
                return Err(unplaceable(
                    "device and fifo entries are not supported in templates",
                ));
            }
        };
        let node = Node {
            kind,
            mode: entry.mode,
            uid: u32::try_from(entry.uid).map_err(|_| unplaceable("uid out of range"))?,
            gid: u32::try_from(entry.gid).map_err(|_| unplaceable("gid out of range"))?,
            owners: BTreeSet::from([name.clone()]),
        };
        let path = tree
            .resolve_parent(&raw)
            .ok_or_else(|| unplaceable("a parent is not a directory, or a symlink loops"))?;
        place(tree, path, node, &name, &replaces)?;
    }
    Ok(Installed {
        name,
        version,
        architecture,
        control,
        paths,
        sha256,
    })
}

/// Unpacks one `.deb` (already hash-checked) into `tree`.
pub fn unpack_deb(
    tree: &mut Tree,
    bytes: &[u8],
    origin: &str,
    sha256: &str,
) -> Result<Installed, UnpackError> {
    place_deb(tree, read_deb(bytes, origin, sha256)?, origin)
}

fn place(
    tree: &mut Tree,
    path: TreePath,
    node: Node,
    package: &str,
    replaces: &BTreeSet<String>,
) -> Result<(), UnpackError> {
    let Some(existing) = tree.get(&path).cloned() else {
        tree.insert(path, node);
        return Ok(());
    };
    let conflict = || UnpackError::Conflict {
        path: show(&path),
        first: existing
            .owners
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| "(generated)".to_owned()),
        second: package.to_owned(),
    };
    match (&existing.kind, &node.kind) {
        (NodeKind::Dir, NodeKind::Dir) => {}
        (NodeKind::Symlink(_), NodeKind::Dir) => {
            let target = tree.resolve_all(&path);
            let is_dir = target
                .as_ref()
                .and_then(|t| tree.get(t))
                .is_some_and(|n| n.kind == NodeKind::Dir);
            if !is_dir {
                return Err(conflict());
            }
        }
        _ if existing.same_content(&node) => {}
        (NodeKind::Dir, _) => return Err(conflict()),
        (_, NodeKind::Dir) => return Err(conflict()),
        _ if existing.owners.iter().all(|o| replaces.contains(o)) => {
            let mut node = node;
            node.owners.insert(package.to_owned());
            tree.insert(path, node);
            return Ok(());
        }
        _ => return Err(conflict()),
    }
    if let Some(n) = tree.get_mut(&path) {
        n.owners.insert(package.to_owned());
    }
    Ok(())
}
