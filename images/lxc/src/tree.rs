//! The staged root filesystem: an in-memory tree keyed by path components.
//!
//! Keys are `Vec<String>` of components, so the `BTreeMap` order is the
//! component-wise byte order the deterministic archive writer demands
//! (`a`, `a/b`, `a-c`): writing the tree is one in-order walk.
//!
//! Invariants: every node's parent exists and is a directory (or the path
//! was reached through a symlink that [`Tree::resolve`] followed); paths
//! never contain `.`, `..` or empty components; hard links are stored as
//! copies of their target (the archive records them as regular files, which
//! costs a little space and no behaviour).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A path in the tree, as components.
pub type TreePath = Vec<String>;

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// A regular file with its content.
    File(Arc<[u8]>),
    /// A symbolic link with its target as written.
    Symlink(String),
}

/// One node with its metadata and the packages that ship it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Kind and content.
    pub kind: NodeKind,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    /// Numeric owner.
    pub uid: u32,
    /// Numeric group.
    pub gid: u32,
    /// Packages (by name) that ship this path; empty for generated nodes.
    pub owners: BTreeSet<String>,
}

impl Node {
    /// A directory owned by root.
    pub fn dir(mode: u32) -> Node {
        Node {
            kind: NodeKind::Dir,
            mode,
            uid: 0,
            gid: 0,
            owners: BTreeSet::new(),
        }
    }

    /// A regular file owned by root.
    pub fn file(mode: u32, bytes: impl Into<Arc<[u8]>>) -> Node {
        Node {
            kind: NodeKind::File(bytes.into()),
            mode,
            uid: 0,
            gid: 0,
            owners: BTreeSet::new(),
        }
    }

    /// A symlink owned by root.
    pub fn symlink(target: &str) -> Node {
        Node {
            kind: NodeKind::Symlink(target.to_owned()),
            mode: 0o777,
            uid: 0,
            gid: 0,
            owners: BTreeSet::new(),
        }
    }

    /// Whether content and metadata agree (ownership by package aside).
    pub fn same_content(&self, other: &Node) -> bool {
        self.kind == other.kind
            && self.mode == other.mode
            && self.uid == other.uid
            && self.gid == other.gid
    }
}

/// Symlinks followed while resolving one path, before giving up (as the
/// kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The staged tree. The root directory itself is implicit (0755 root).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: BTreeMap<TreePath, Node>,
}

/// Splits a `/`-separated path into components, dropping empty and `.`
/// ones; `None` when it has a `..` component.
pub fn split(path: &str) -> Option<TreePath> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => out.push(c.to_owned()),
        }
    }
    Some(out)
}

/// Joins components into an absolute path (`/` for the root).
pub fn show(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

impl Tree {
    /// The node at exactly `path` (no symlinks followed).
    pub fn get(&self, path: &[String]) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Mutable access to the node at exactly `path`.
    pub fn get_mut(&mut self, path: &[String]) -> Option<&mut Node> {
        self.nodes.get_mut(path)
    }

    /// Inserts or replaces a node; missing parents become 0755 root
    /// directories.
    pub fn insert(&mut self, path: TreePath, node: Node) {
        for i in 1..path.len() {
            self.nodes
                .entry(path[..i].to_vec())
                .or_insert_with(|| Node::dir(0o755));
        }
        self.nodes.insert(path, node);
    }

    /// Removes a node and everything below it.
    pub fn remove(&mut self, path: &[String]) {
        let below: Vec<TreePath> = self
            .nodes
            .range(path.to_vec()..)
            .take_while(|(k, _)| k.starts_with(path))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.nodes.remove(&k);
        }
    }

    /// Every node, in archive order.
    pub fn iter(&self) -> impl Iterator<Item = (&TreePath, &Node)> {
        self.nodes.iter()
    }

    /// The direct children names of a directory, sorted.
    pub fn children(&self, dir: &[String]) -> Vec<String> {
        let start = {
            let mut s = dir.to_vec();
            s.push(String::new());
            s
        };
        self.nodes
            .range(start..)
            .take_while(|(k, _)| k.starts_with(dir))
            .filter(|(k, _)| k.len() == dir.len() + 1)
            .map(|(k, _)| k[dir.len()].clone())
            .collect()
    }

    /// Resolves every component but the last through symlinks in the tree,
    /// as dpkg does when it unpacks below a symlinked directory (merged
    /// `/usr`, `/var/run`). `None` when a link loops, escapes with `..`
    /// above the root, or a parent is not a directory.
    pub fn resolve_parent(&self, path: &[String]) -> Option<TreePath> {
        let (last, parents) = path.split_last()?;
        let mut out = self.resolve(parents, 0)?;
        if self
            .nodes
            .get(&out)
            .is_some_and(|n| n.kind != NodeKind::Dir)
        {
            return None;
        }
        out.push(last.clone());
        Some(out)
    }

    /// Resolves a whole path through symlinks (including the last
    /// component).
    pub fn resolve_all(&self, path: &[String]) -> Option<TreePath> {
        self.resolve(path, 0)
    }

    fn resolve(&self, path: &[String], depth: usize) -> Option<TreePath> {
        if depth > MAX_LINKS {
            return None;
        }
        let mut out: TreePath = Vec::new();
        for (i, c) in path.iter().enumerate() {
            out.push(c.clone());
            match self.nodes.get(&out).map(|n| &n.kind) {
                Some(NodeKind::Symlink(target)) => {
                    out.pop();
                    let mut joined = if target.starts_with('/') {
                        Vec::new()
                    } else {
                        out.clone()
                    };
                    for part in target.split('/') {
                        match part {
                            "" | "." => {}
                            ".." => {
                                joined.pop()?;
                            }
                            p => joined.push(p.to_owned()),
                        }
                    }
                    joined.extend(path[i + 1..].iter().cloned());
                    return self.resolve(&joined, depth + 1);
                }
                Some(NodeKind::File(_)) if i + 1 < path.len() => return None,
                _ => {}
            }
        }
        Some(out)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> TreePath {
        split(s).unwrap()
    }

    #[test]
    fn order_is_component_wise() {
        let mut t = Tree::default();
        for path in ["a-c", "a/b", "a", "a.b"] {
            t.insert(p(path), Node::dir(0o755));
        }
        let order: Vec<String> = t.iter().map(|(k, _)| k.join("/")).collect();
        assert_eq!(order, ["a", "a/b", "a-c", "a.b"]);
    }

    #[test]
    fn resolves_through_symlinks() {
        let mut t = Tree::default();
        t.insert(p("usr/bin"), Node::dir(0o755));
        t.insert(p("bin"), Node::symlink("usr/bin"));
        t.insert(p("run"), Node::dir(0o755));
        t.insert(p("var/run"), Node::symlink("/run"));
        t.insert(p("var/lock"), Node::symlink("../run/lock"));
        t.insert(p("loop"), Node::symlink("loop/x"));
        assert_eq!(t.resolve_parent(&p("bin/ls")), Some(p("usr/bin/ls")));
        assert_eq!(t.resolve_parent(&p("var/run/x")), Some(p("run/x")));
        assert_eq!(t.resolve_all(&p("var/lock")), Some(p("run/lock")));
        assert_eq!(t.resolve_parent(&p("bin")), Some(p("bin")));
        assert_eq!(t.resolve_parent(&p("loop/y")), None);
        t.insert(p("f"), Node::file(0o644, &b"x"[..]));
        assert_eq!(t.resolve_parent(&p("f/y")), None);
        assert_eq!(t.children(&p("var")), ["lock", "run"]);
        t.remove(&p("var"));
        assert!(t.get(&p("var/run")).is_none());
        assert!(t.get(&p("usr/bin")).is_some());
    }

    #[test]
    fn split_refuses_parent_components() {
        assert_eq!(split("/etc//./x/"), Some(p("etc/x")));
        assert_eq!(split("a/../b"), None);
    }
}
