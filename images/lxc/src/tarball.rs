//! Unpacking downloads (release tarballs: Traefik's, a static binary's)
//! into the staged tree: a [`ContainerSpec`](crate::ContainerSpec)'s
//! `archives`.
//!
//! A download is not a package: nothing records its files (the dpkg
//! database is not touched) and the ids in it are those of whatever
//! machine made it. So the rules are GNU tar's, made safe and
//! reproducible:
//! - the format is told by the first bytes (gzip, xz, zstd, bzip2, or a
//!   plain ustar/GNU tar), never by a file name;
//! - member names are normalized as GNU tar does (`./` dropped, a leading
//!   `/` removed); a member with a `..` component is refused, and so is a
//!   name that is not UTF-8;
//! - `strip_components` drops leading components (members with no more
//!   are skipped), then `include` keeps only the named paths and what is
//!   under them; an include that matches nothing is an error (a release
//!   that moved its binary must not give a template without it);
//! - every entry is owned by the declared owner and group; files keep
//!   their permission bits without setuid, setgid and sticky (`& 0o777`),
//!   directories too; symlinks are kept as written; hard links become
//!   copies of their target (which must be an earlier regular file of the
//!   archive, unpacked or not); device nodes and FIFOs are refused;
//! - a member may not leave the destination through a symlink (an archive
//!   cannot write `/etc/shadow` by shipping `x -> /etc` and `x/shadow`);
//!   missing parents below the destination are made 0755 with the
//!   declared owner, the destination itself 0755 root;
//! - a member landing on a path that a package ships, that hlb generated
//!   (accounts, the dpkg database) or that another archive unpacked is an
//!   error naming both sides, unless both are directories or the content
//!   is identical (then the existing entry stays as it was). Within one
//!   archive, a later member replaces an earlier one, as tar does.
//!
//! The result is a function of the archive's bytes and the declaration:
//! entries go into the ordered tree, whatever their order in the archive.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use crate::spec::ArchiveSpec;
use crate::tree::{Node, NodeKind, Tree, TreePath, show, split};

/// What the first bytes say an archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An uncompressed tar (ustar or GNU).
    Tar,
    /// gzip (`.tar.gz`, `.tgz`).
    Gzip,
    /// xz (`.tar.xz`).
    Xz,
    /// zstd (`.tar.zst`).
    Zstd,
    /// bzip2 (`.tar.bz2`).
    Bzip2,
}

impl Format {
    /// The format of `bytes`, from their magic numbers; `None` when they
    /// are none of the formats taken.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Format::Xz)
        } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Zstd)
        } else if bytes.starts_with(b"BZh") {
            Some(Format::Bzip2)
        } else if bytes.get(..BLOCK).is_some_and(is_tar_block) {
            Some(Format::Tar)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Bzip2 => "bzip2",
        }
    }

    fn decoder<'a>(self, bytes: &'a [u8]) -> std::io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Format::Tar => Box::new(bytes),
            Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
            Format::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(bytes)),
            Format::Zstd => Box::new(zstd::stream::read::Decoder::new(bytes)?),
            Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(bytes)),
        })
    }
}

const BLOCK: usize = 512;

/// A tar header block (ustar or GNU magic at offset 257), or the zero
/// block that ends an empty archive.
fn is_tar_block(block: &[u8]) -> bool {
    block.len() == BLOCK
        && (block[257..263] == *b"ustar\0"
            || block[257..265] == *b"ustar  \0"
            || block.iter().all(|b| *b == 0))
}

/// Why an archive could not be unpacked. Every message names the archive
/// (its fetch declaration's name).
#[derive(Debug, thiserror::Error)]
pub enum TarballError {
    /// The bytes are not a tar in one of the formats taken.
    #[error("archive {name}: {reason}")]
    Format {
        /// The archive.
        name: String,
        /// What the bytes are not.
        reason: String,
    },
    /// Decompressing or reading the tar stream failed (a truncated or
    /// corrupt download).
    #[error("archive {name}: reading: {source}")]
    Read {
        /// The archive.
        name: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The destination directory cannot be used.
    #[error("archive {name}: to {to}: {reason}")]
    BadTo {
        /// The archive.
        name: String,
        /// As declared.
        to: String,
        /// Why.
        reason: &'static str,
    },
    /// An `include` path is not a path inside the archive.
    #[error("archive {name}: include {include:?} {reason}")]
    BadInclude {
        /// The archive.
        name: String,
        /// Index in the include list.
        index: usize,
        /// As declared.
        include: String,
        /// Why.
        reason: &'static str,
    },
    /// An `include` path matches no member (after stripping).
    #[error(
        "archive {name}: include {include:?} matches no member{}",
        after_stripping(*strip)
    )]
    UnmatchedInclude {
        /// The archive.
        name: String,
        /// Index in the include list.
        index: usize,
        /// As declared.
        include: String,
        /// The declared `strip_components`.
        strip: u32,
    },
    /// A member is refused (`..`, a device, a FIFO, a link that cannot be
    /// followed, a path that leaves the destination).
    #[error("archive {name}: member {member}: {reason}")]
    Member {
        /// The archive.
        name: String,
        /// The member's name as the archive writes it.
        member: String,
        /// Why.
        reason: String,
    },
    /// A member lands on a path something else put there.
    #[error("archive {name}: member {member} lands on {path}, which {other}")]
    Collision {
        /// The archive.
        name: String,
        /// The member's name as the archive writes it.
        member: String,
        /// Path in the root filesystem.
        path: String,
        /// Who has it: `package P ships`, `archive A unpacks (member M)`,
        /// `hlb generates`.
        other: String,
    },
}

impl TarballError {
    /// The field of the archive's declaration the problem is at, as a
    /// suffix of its path: `""` (the archive), `.to`, `.include[J]`.
    pub fn field(&self) -> String {
        match self {
            TarballError::BadTo { .. } => ".to".to_owned(),
            TarballError::BadInclude { index, .. }
            | TarballError::UnmatchedInclude { index, .. } => format!(".include[{index}]"),
            _ => String::new(),
        }
    }
}

fn after_stripping(strip: u32) -> String {
    match strip {
        0 => String::new(),
        1 => " (after stripping 1 leading component)".to_owned(),
        n => format!(" (after stripping {n} leading components)"),
    }
}

/// Who put a path there, among the archives.
#[derive(Debug, Clone)]
struct Placed {
    /// Index of the archive in the spec.
    index: usize,
    /// Its name.
    name: String,
    /// The member, or the member whose parent this implicit directory is.
    member: String,
}

/// Unpacks a spec's archives in order, remembering which archive placed
/// which path so that two archives colliding are named.
#[derive(Debug, Default)]
pub struct Unpacker {
    placed: BTreeMap<TreePath, Placed>,
}

/// One archive's entry, before it is placed.
struct Member {
    /// As written in the archive.
    name: String,
    /// Below the destination (after stripping).
    rel: TreePath,
    node: Node,
}

/// A member name as GNU tar extracts it: `.` and empty components dropped,
/// a leading `/` removed; `Err` with a `..` component.
fn member_path(name: &str) -> Result<TreePath, String> {
    split(name).ok_or_else(|| "has a `..` component".to_owned())
}

/// The destination: absolute, inside the root, not the root.
fn check_to(to: &str) -> Result<TreePath, &'static str> {
    if !to.starts_with('/') {
        return Err("not an absolute path");
    }
    let path = split(to).ok_or("has a `..` component")?;
    if path.is_empty() {
        return Err("is the root directory");
    }
    Ok(path)
}

impl Unpacker {
    /// Unpacks archive number `index` of the spec into `tree`, every entry
    /// owned by `uid`:`gid` (the declared owner and group, looked up by
    /// the caller).
    pub fn unpack(
        &mut self,
        tree: &mut Tree,
        index: usize,
        spec: &ArchiveSpec,
        uid: u32,
        gid: u32,
    ) -> Result<(), TarballError> {
        let name = spec.name.as_str();
        let bad_to = |reason| TarballError::BadTo {
            name: name.to_owned(),
            to: spec.to.clone(),
            reason,
        };
        let to = check_to(&spec.to).map_err(bad_to)?;
        let to = tree
            .resolve_all(&to)
            .ok_or_else(|| bad_to("a parent is not a directory, or a symlink loops"))?;
        match tree.get(&to) {
            None => tree.insert(to.clone(), Node::dir(0o755)),
            Some(n) if n.kind != NodeKind::Dir => return Err(bad_to("is not a directory")),
            Some(_) => {}
        }
        let includes = includes(spec)?;
        let mut matched = vec![false; includes.len()];
        let members = read_members(spec, uid, gid, |rel| {
            if includes.is_empty() {
                return true;
            }
            let mut any = false;
            for (j, inc) in includes.iter().enumerate() {
                if rel.starts_with(inc) {
                    matched[j] = true;
                    any = true;
                }
            }
            any
        })?;
        if let Some(j) = matched.iter().position(|m| !m) {
            return Err(TarballError::UnmatchedInclude {
                name: name.to_owned(),
                index: j,
                include: spec.include.as_deref().unwrap_or_default()[j].clone(),
                strip: spec.strip_components,
            });
        }
        for m in members {
            self.place(tree, index, name, &to, m, uid, gid)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        tree: &mut Tree,
        index: usize,
        name: &str,
        to: &[String],
        m: Member,
        uid: u32,
        gid: u32,
    ) -> Result<(), TarballError> {
        let refuse = |reason: String| TarballError::Member {
            name: name.to_owned(),
            member: m.name.clone(),
            reason,
        };
        let mut full = to.to_vec();
        full.extend(m.rel.iter().cloned());
        let path = tree
            .resolve_parent(&full)
            .ok_or_else(|| refuse("a parent is not a directory, or a symlink loops".to_owned()))?;
        if !path.starts_with(to) || path.len() == to.len() {
            return Err(refuse(format!(
                "would land on {} through a symlink, outside {}",
                show(&path),
                show(to)
            )));
        }
        let placed = |member: &str| Placed {
            index,
            name: name.to_owned(),
            member: member.to_owned(),
        };
        for i in to.len() + 1..path.len() {
            if tree.get(&path[..i]).is_none() {
                tree.insert(
                    path[..i].to_vec(),
                    Node {
                        uid,
                        gid,
                        ..Node::dir(0o755)
                    },
                );
                self.placed.insert(path[..i].to_vec(), placed(&m.name));
            }
        }
        let Some(existing) = tree.get(&path) else {
            tree.insert(path.clone(), m.node);
            self.placed.insert(path, placed(&m.name));
            return Ok(());
        };
        let ours = self.placed.get(&path).filter(|p| p.index == index);
        let fine = match (&existing.kind, &m.node.kind) {
            (NodeKind::Dir, NodeKind::Dir) => true,
            (NodeKind::Symlink(_), NodeKind::Dir) => tree
                .resolve_all(&path)
                .and_then(|t| tree.get(&t))
                .is_some_and(|n| n.kind == NodeKind::Dir),
            (NodeKind::Dir, _) | (_, NodeKind::Dir) => false,
            (a, b) => a == b || ours.is_some(),
        };
        if !fine {
            let other = match self.placed.get(&path) {
                Some(p) if p.index == index => {
                    return Err(refuse(format!(
                        "lands on {}, where an earlier member ({}) put a directory",
                        show(&path),
                        p.member
                    )));
                }
                Some(p) => format!("archive {} unpacks (member {})", p.name, p.member),
                None => match existing.owners.iter().next() {
                    Some(pkg) => format!("package {pkg} ships"),
                    None => "hlb generates".to_owned(),
                },
            };
            return Err(TarballError::Collision {
                name: name.to_owned(),
                member: m.name,
                path: show(&path),
                other,
            });
        }
        // Within one archive the later member wins, as tar extracts it
        // (a directory met through a symlink stays a symlink); what others
        // put there stays as it was.
        let through_link =
            matches!(existing.kind, NodeKind::Symlink(_)) && m.node.kind == NodeKind::Dir;
        if ours.is_some() && !through_link {
            tree.insert(path.clone(), m.node);
            self.placed.insert(path, placed(&m.name));
        }
        Ok(())
    }
}

/// The include paths, normalized; empty when the declaration has none.
fn includes(spec: &ArchiveSpec) -> Result<Vec<TreePath>, TarballError> {
    let Some(list) = &spec.include else {
        return Ok(Vec::new());
    };
    let bad = |index, include: &str, reason| TarballError::BadInclude {
        name: spec.name.clone(),
        index,
        include: include.to_owned(),
        reason,
    };
    if list.is_empty() {
        return Err(TarballError::BadInclude {
            name: spec.name.clone(),
            index: 0,
            include: String::new(),
            reason: "list is empty: leave include out to unpack everything",
        });
    }
    list.iter()
        .enumerate()
        .map(|(j, inc)| match split(inc) {
            None => Err(bad(j, inc, "has a `..` component")),
            Some(p) if p.is_empty() => Err(bad(
                j,
                inc,
                "names the whole archive: leave include out to unpack everything",
            )),
            Some(p) => Ok(p),
        })
        .collect()
}

/// The members of an archive that `keep` (given the path after stripping)
/// wants, each as a node owned by `uid`:`gid`.
fn read_members(
    spec: &ArchiveSpec,
    uid: u32,
    gid: u32,
    mut keep: impl FnMut(&[String]) -> bool,
) -> Result<Vec<Member>, TarballError> {
    let name = spec.name.as_str();
    let read_err = |source| TarballError::Read {
        name: name.to_owned(),
        source,
    };
    let format = Format::detect(&spec.bytes).ok_or_else(|| TarballError::Format {
        name: name.to_owned(),
        reason: "not a tar archive, plain (ustar or GNU) or compressed with gzip, xz, zstd or \
                 bzip2 (told apart by their first bytes)"
            .to_owned(),
    })?;
    let mut stream = format.decoder(&spec.bytes).map_err(read_err)?;
    // The decompressed stream must be a tar too: say so, rather than let
    // the tar reader fail on a compressed something else.
    let mut first = Vec::with_capacity(BLOCK);
    (&mut stream)
        .take(BLOCK as u64)
        .read_to_end(&mut first)
        .map_err(read_err)?;
    if !is_tar_block(&first) {
        return Err(TarballError::Format {
            name: name.to_owned(),
            reason: format!(
                "its {} stream holds no tar archive (ustar or GNU)",
                format.name()
            ),
        });
    }
    let mut archive = tar::Archive::new(std::io::Cursor::new(first).chain(stream));
    let strip = spec.strip_components as usize;
    // Every regular file by its (unstripped) name, for hard links to
    // members that are not unpacked themselves.
    let mut files: BTreeMap<TreePath, (Arc<[u8]>, u32)> = BTreeMap::new();
    let mut out = Vec::new();
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            // pax global headers (`git archive` writes the commit id).
            continue;
        }
        let member = String::from_utf8(entry.path_bytes().into_owned()).map_err(|e| {
            TarballError::Member {
                name: name.to_owned(),
                member: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                reason: "name is not UTF-8".to_owned(),
            }
        })?;
        let refuse = |reason: &str| TarballError::Member {
            name: name.to_owned(),
            member: member.clone(),
            reason: reason.to_owned(),
        };
        let raw = member_path(&member).map_err(|r| refuse(&r))?;
        let mode = entry.header().mode().map_err(read_err)? & 0o777;
        let link = || -> Result<String, TarballError> {
            let bytes = entry
                .link_name_bytes()
                .ok_or_else(|| refuse("link without a target"))?;
            let target = String::from_utf8(bytes.into_owned())
                .map_err(|_| refuse("link target is not UTF-8"))?;
            if target.is_empty() {
                return Err(refuse("link with an empty target"));
            }
            Ok(target)
        };
        let wanted = raw.len() > strip && keep(&raw[strip..]);
        let node_kind = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut content = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut content).map_err(read_err)?;
                let content: Arc<[u8]> = Arc::from(content);
                files.insert(raw.clone(), (content.clone(), mode));
                NodeKind::File(content)
            }
            tar::EntryType::Directory => NodeKind::Dir,
            tar::EntryType::Symlink => NodeKind::Symlink(link()?),
            tar::EntryType::Link => {
                let target =
                    member_path(&link()?).map_err(|r| refuse(&format!("hard link {r}")))?;
                let (content, target_mode) = files
                    .get(&target)
                    .cloned()
                    .ok_or_else(|| refuse("hard link to no earlier regular file of the archive"))?;
                files.insert(raw.clone(), (content.clone(), target_mode));
                if !wanted {
                    continue;
                }
                out.push(Member {
                    name: member.clone(),
                    rel: raw[strip..].to_vec(),
                    node: Node {
                        uid,
                        gid,
                        ..Node::file(target_mode, content)
                    },
                });
                continue;
            }
            tar::EntryType::Char | tar::EntryType::Block if wanted => {
                return Err(refuse(
                    "is a device node: a template takes none from a download",
                ));
            }
            tar::EntryType::Fifo if wanted => {
                return Err(refuse("is a FIFO: a template takes none from a download"));
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => continue,
            other => {
                return Err(refuse(&format!("has unsupported tar entry type {other:?}")));
            }
        };
        if !wanted {
            continue;
        }
        let mode = match node_kind {
            NodeKind::Symlink(_) => 0o777,
            _ => mode,
        };
        out.push(Member {
            name: member.clone(),
            rel: raw[strip..].to_vec(),
            node: Node {
                kind: node_kind,
                mode,
                uid,
                gid,
                owners: Default::default(),
            },
        });
    }
    Ok(out)
}
