//! The dpkg database a template carries, so `dpkg -l`, `apt` and
//! vulnerability scanners inside the container see exactly the installed
//! set: `/var/lib/dpkg/status` and `/var/lib/dpkg/info/PKG.*`.
//!
//! `status` holds each control paragraph with `Status: install ok
//! installed` after `Package` and a `Conffiles` field (path and MD5 of the
//! content as installed), sorted by package name as dpkg writes it. `info/`
//! holds each package's file list (`PKG.list`, `/.` first, as dpkg writes
//! it) and its control files (`md5sums`, `conffiles`, maintainer scripts,
//! `triggers`...). `Multi-Arch: same` packages are named `PKG:ARCH` there.

use md5::{Digest, Md5};

use crate::tree::{Node, NodeKind, Tree, split};
use crate::unpack::Installed;

fn info_name(p: &Installed) -> String {
    let same = p
        .control
        .control
        .get("Multi-Arch")
        .is_some_and(|m| m.trim() == "same");
    if same {
        format!("{}:{}", p.name, p.architecture)
    } else {
        p.name.clone()
    }
}

/// The `status` file for `packages`, reading conffile content from `tree`.
pub fn status(packages: &[Installed], tree: &Tree) -> String {
    let mut sorted: Vec<&Installed> = packages.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
    let mut out = String::new();
    for p in sorted {
        let text = p.control.control.to_string();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        out.push_str(first);
        out.push('\n');
        out.push_str("Status: install ok installed\n");
        out.push_str(rest);
        if !p.control.conffiles.is_empty() {
            out.push_str("Conffiles:\n");
            for c in &p.control.conffiles {
                let content = split(&c.path)
                    .and_then(|path| tree.resolve_all(&path))
                    .and_then(|path| tree.get(&path))
                    .and_then(|n| match &n.kind {
                        NodeKind::File(bytes) => Some(bytes.clone()),
                        _ => None,
                    });
                let sum = match content {
                    Some(bytes) => hex::encode(Md5::digest(&bytes)),
                    None => "newconffile".to_owned(),
                };
                let flags: String = c.flags.iter().map(|f| format!(" {f}")).collect();
                out.push_str(&format!(" {} {sum}{flags}\n", c.path));
            }
        }
        out.push('\n');
    }
    out
}

/// Adds `var/lib/dpkg` (status, info files, empty admin files) to `tree`.
pub fn write_database(packages: &[Installed], tree: &mut Tree) {
    let status = status(packages, tree);
    let base = |rest: &str| {
        let mut p: Vec<String> = ["var", "lib", "dpkg"].map(str::to_owned).to_vec();
        p.extend(rest.split('/').map(str::to_owned));
        p
    };
    for dir in ["info", "updates", "triggers", "alternatives"] {
        if tree.get(&base(dir)).is_none() {
            tree.insert(base(dir), Node::dir(0o755));
        }
    }
    tree.insert(base("status"), Node::file(0o644, status.into_bytes()));
    for empty in ["available", "diversions", "statoverride"] {
        tree.insert(base(empty), Node::file(0o644, Vec::new()));
    }
    for p in packages {
        let name = info_name(p);
        let mut list = String::new();
        for path in &p.paths {
            list.push_str(if path == "/" { "/." } else { path });
            list.push('\n');
        }
        tree.insert(
            base(&format!("info/{name}.list")),
            Node::file(0o644, list.into_bytes()),
        );
        for (file, bytes) in p.control.scripts.iter() {
            tree.insert(
                base(&format!("info/{name}.{file}")),
                Node::file(0o755, bytes.clone()),
            );
        }
        for (file, bytes) in p.control.other.iter() {
            tree.insert(
                base(&format!("info/{name}.{file}")),
                Node::file(0o644, bytes.clone()),
            );
        }
        if !p.control.conffiles.is_empty() {
            let text: String = p
                .control
                .conffiles
                .iter()
                .map(|c| {
                    let mut words = c.flags.clone();
                    words.push(c.path.clone());
                    words.join(" ") + "\n"
                })
                .collect();
            tree.insert(
                base(&format!("info/{name}.conffiles")),
                Node::file(0o644, text.into_bytes()),
            );
        }
    }
}
