//! What maintainer scripts and `systemctl enable` would have left behind,
//! derived from data in the tree: enabled units from `[Install]` sections,
//! alternatives from the literal `update-alternatives --install` calls in
//! postinst scripts.

use std::collections::{BTreeMap, BTreeSet};

use crate::tree::{Node, NodeKind, Tree, TreePath, split};
use crate::unpack::Installed;

/// Why a unit could not be enabled.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// No unit file of that name in the unit directories.
    #[error("cannot enable {unit}: no such unit in /etc/systemd/system or /usr/lib/systemd/system")]
    NotFound {
        /// The unit.
        unit: String,
    },
    /// The unit has nothing to enable.
    #[error("cannot enable {unit}: its [Install] section has no WantedBy, RequiredBy or Alias")]
    NotInstallable {
        /// The unit.
        unit: String,
    },
}

/// The unit every template carries that makes `/sys` read-only when the
/// container manager left it writable, and its file.
///
/// systemd's container interface asks for a read-only `/sys`; LXC mounts
/// it writable in unprivileged containers, and then systemd-networkd takes
/// udev to be running and leaves every link `pending` (no address from
/// the template's own network file) waiting for it. A bind remount only
/// changes this mount's flags, which root in the container's user
/// namespace may do. Skipped where `/sys` is already read-only (privileged
/// LXC, Proxmox) or outside a container, and where there is no `mount`.
pub const SYS_READONLY_UNIT: (&str, &str) = (
    "hlb-sys-readonly.service",
    "[Unit]\n\
     Description=Read-only /sys, as systemd expects in a container (hlb)\n\
     DefaultDependencies=no\n\
     ConditionVirtualization=container\n\
     ConditionPathIsReadWrite=/sys\n\
     ConditionFileIsExecutable=/usr/bin/mount\n\
     Before=sysinit.target systemd-udevd.service systemd-networkd.service\n\
     \n\
     [Service]\n\
     Type=oneshot\n\
     RemainAfterExit=yes\n\
     ExecStart=/usr/bin/mount -o remount,bind,ro /sys\n\
     \n\
     [Install]\n\
     WantedBy=sysinit.target\n",
);

const UNIT_DIRS: [&str; 3] = [
    "etc/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
];

/// Finds a unit file; returns its absolute path (as the enable symlink's
/// target) and content.
fn find_unit(tree: &Tree, file: &str) -> Option<(String, String)> {
    for dir in UNIT_DIRS {
        let path = split(&format!("{dir}/{file}"))?;
        let Some(resolved) = tree.resolve_all(&path) else {
            continue;
        };
        if let Some(Node {
            kind: NodeKind::File(bytes),
            ..
        }) = tree.get(&resolved)
        {
            return Some((
                format!("/{}", resolved.join("/")),
                String::from_utf8_lossy(bytes).into_owned(),
            ));
        }
    }
    None
}

/// `[Install]` keys of a unit file, in order.
fn install_section(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_install = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_install = line == "[Install]";
            continue;
        }
        if !in_install || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(k.trim().to_owned())
                .or_default()
                .extend(v.split_whitespace().map(str::to_owned));
        }
    }
    out
}

/// Enables `units` as `systemctl enable` would: `T.wants/U` (or
/// `.requires`) symlinks for `WantedBy`/`RequiredBy`, alias symlinks,
/// and the units named by `Also`. Template units take the instance from
/// the name (`getty@tty1.service`) or `DefaultInstance`.
pub fn enable_units(tree: &mut Tree, units: &[String]) -> Result<(), UnitError> {
    let mut queue: Vec<String> = units.to_vec();
    let mut done = BTreeSet::new();
    while let Some(unit) = queue.pop() {
        if !done.insert(unit.clone()) {
            continue;
        }
        let (template, instance) = match unit.split_once('@') {
            Some((prefix, rest)) => match rest.rsplit_once('.') {
                Some((inst, suffix)) => (
                    format!("{prefix}@.{suffix}"),
                    (!inst.is_empty()).then(|| inst.to_owned()),
                ),
                None => (unit.clone(), None),
            },
            None => (unit.clone(), None),
        };
        let (target, text) = find_unit(tree, &unit)
            .or_else(|| find_unit(tree, &template))
            .ok_or_else(|| UnitError::NotFound { unit: unit.clone() })?;
        let install = install_section(&text);
        let instance = instance.or_else(|| {
            install
                .get("DefaultInstance")
                .and_then(|v| v.first().cloned())
        });
        let name = match (&instance, unit.split_once('@')) {
            (Some(inst), Some((prefix, rest))) if rest.starts_with('.') => {
                format!("{prefix}@{inst}{rest}")
            }
            _ => unit.clone(),
        };
        let mut any = false;
        for (key, suffix) in [("WantedBy", "wants"), ("RequiredBy", "requires")] {
            for t in install.get(key).into_iter().flatten() {
                if let Some(path) = split(&format!("etc/systemd/system/{t}.{suffix}/{name}")) {
                    tree.insert(path, Node::symlink(&target));
                    any = true;
                }
            }
        }
        for alias in install.get("Alias").into_iter().flatten() {
            if let Some(path) = split(&format!("etc/systemd/system/{alias}")) {
                tree.insert(path, Node::symlink(&target));
                any = true;
            }
        }
        let also = install.get("Also").cloned().unwrap_or_default();
        if !any && also.is_empty() {
            return Err(UnitError::NotInstallable { unit });
        }
        queue.extend(also);
    }
    Ok(())
}

/// systemd-networkd's wait-online unit, which enabling
/// `systemd-networkd.service` enables too (its `Also=`).
pub const WAIT_ONLINE_UNIT: &str = "systemd-networkd-wait-online.service";

/// Undoes enabling `unit` through a target: removes its `T.wants/` and
/// `T.requires/` links under `/etc/systemd/system`, and such a directory
/// when that leaves it empty and no package ships it.
pub fn disable_unit(tree: &mut Tree, unit: &str) {
    let links: Vec<TreePath> = tree
        .iter()
        .filter(|(k, n)| {
            k.len() == 5
                && k[..3] == ["etc", "systemd", "system"]
                && (k[3].ends_with(".wants") || k[3].ends_with(".requires"))
                && k[4] == unit
                && matches!(n.kind, NodeKind::Symlink(_))
        })
        .map(|(k, _)| k.clone())
        .collect();
    for link in links {
        tree.remove(&link);
        let dir = &link[..4];
        if tree.children(dir).is_empty() && tree.get(dir).is_some_and(|d| d.owners.is_empty()) {
            tree.remove(dir);
        }
    }
}

/// One `update-alternatives --install` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// Link (`/usr/bin/awk`).
    pub link: String,
    /// Name (`awk`).
    pub name: String,
    /// Target (`/usr/bin/mawk`).
    pub path: String,
    /// Priority.
    pub priority: i64,
    /// Slaves: (link, name, path).
    pub slaves: Vec<(String, String, String)>,
}

/// The literal `update-alternatives --install` calls of a postinst
/// (continuation lines joined). Calls with shell variables are skipped:
/// they cannot be evaluated without running the script.
pub fn alternatives_in(script: &str) -> Vec<Alternative> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(pos) = words
            .windows(2)
            .position(|w| w == ["update-alternatives", "--install"])
        else {
            continue;
        };
        let args = &words[pos + 2..];
        if args.len() < 4 || args.iter().any(|a| a.contains('$') || a.contains('`')) {
            continue;
        }
        let Ok(priority) = args[3].parse() else {
            continue;
        };
        let mut slaves = Vec::new();
        let mut rest = &args[4..];
        while rest.len() >= 4 && rest[0] == "--slave" {
            slaves.push((rest[1].to_owned(), rest[2].to_owned(), rest[3].to_owned()));
            rest = &rest[4..];
        }
        out.push(Alternative {
            link: args[0].to_owned(),
            name: args[1].to_owned(),
            path: args[2].to_owned(),
            priority,
            slaves,
        });
    }
    out
}

fn exists(tree: &Tree, path: &str) -> bool {
    split(path)
        .and_then(|p| tree.resolve_all(&p))
        .is_some_and(|p| tree.get(&p).is_some())
}

fn put_link(tree: &mut Tree, path: &str, target: &str) {
    if let Some(p) = split(path) {
        let p: TreePath = tree.resolve_parent(&p).unwrap_or(p);
        tree.insert(p, Node::symlink(target));
    }
}

/// Sets up every alternative the packages' postinst scripts install, in
/// auto mode: the highest priority wins (ties: the path sorting first).
/// Writes `/etc/alternatives/NAME`, the links, and dpkg's admin files.
pub fn install_alternatives(tree: &mut Tree, packages: &[Installed]) {
    let mut by_name: BTreeMap<String, Vec<Alternative>> = BTreeMap::new();
    for p in packages {
        if let Some(script) = p.control.scripts.get("postinst") {
            for alt in alternatives_in(&String::from_utf8_lossy(script)) {
                if exists(tree, &alt.path) {
                    by_name.entry(alt.name.clone()).or_default().push(alt);
                }
            }
        }
    }
    for (name, mut alts) in by_name {
        alts.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.path.cmp(&b.path)));
        alts.dedup_by(|a, b| a.path == b.path);
        let best = alts[0].clone();
        put_link(tree, &format!("/etc/alternatives/{name}"), &best.path);
        put_link(tree, &best.link, &format!("/etc/alternatives/{name}"));
        let mut slave_names: Vec<(String, String)> = Vec::new();
        for alt in &alts {
            for (link, sname, _) in &alt.slaves {
                if !slave_names.iter().any(|(n, _)| n == sname) {
                    slave_names.push((sname.clone(), link.clone()));
                }
            }
        }
        for (link, sname, spath) in &best.slaves {
            if exists(tree, spath) {
                put_link(tree, &format!("/etc/alternatives/{sname}"), spath);
                put_link(tree, link, &format!("/etc/alternatives/{sname}"));
            }
        }
        let mut admin = format!("auto\n{}\n", best.link);
        for (sname, link) in &slave_names {
            admin.push_str(&format!("{sname}\n{link}\n"));
        }
        admin.push('\n');
        for alt in &alts {
            admin.push_str(&format!("{}\n{}\n", alt.path, alt.priority));
            for (sname, _) in &slave_names {
                let path = alt
                    .slaves
                    .iter()
                    .find(|(_, n, _)| n == sname)
                    .map(|(_, _, p)| p.as_str())
                    .unwrap_or("");
                admin.push_str(path);
                admin.push('\n');
            }
        }
        admin.push('\n');
        if let Some(p) = split(&format!("var/lib/dpkg/alternatives/{name}")) {
            tree.insert(p, Node::file(0o644, admin.into_bytes()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literal_alternatives_only() {
        let script = "#!/bin/sh\nset -e\nupdate-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 \\\n  --slave /usr/bin/nawk nawk /usr/bin/mawk\nupdate-alternatives --install /usr/bin/x x \"$DIR/x\" 10\n";
        let alts = alternatives_in(script);
        assert_eq!(
            alts,
            [Alternative {
                link: "/usr/bin/awk".into(),
                name: "awk".into(),
                path: "/usr/bin/mawk".into(),
                priority: 5,
                slaves: vec![(
                    "/usr/bin/nawk".into(),
                    "nawk".into(),
                    "/usr/bin/mawk".into()
                )],
            }]
        );
    }

    #[test]
    fn enables_wanted_by_alias_and_template_units() {
        let mut tree = Tree::default();
        let unit = |t: &mut Tree, name: &str, text: &str| {
            t.insert(
                split(&format!("usr/lib/systemd/system/{name}")).unwrap(),
                Node::file(0o644, text.as_bytes().to_vec()),
            );
        };
        unit(
            &mut tree,
            "a.service",
            "[Service]\nExecStart=/x\n[Install]\nWantedBy=multi-user.target\nAlias=b.service\nAlso=c.socket\n",
        );
        unit(
            &mut tree,
            "c.socket",
            "[Install]\nWantedBy=sockets.target\n",
        );
        unit(
            &mut tree,
            "g@.service",
            "[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n",
        );
        unit(&mut tree, "static.service", "[Service]\nExecStart=/x\n");
        enable_units(&mut tree, &["a.service".into(), "g@.service".into()]).unwrap();
        let links: Vec<(String, String)> = tree
            .iter()
            .filter_map(|(k, n)| match &n.kind {
                NodeKind::Symlink(t) => Some((k.join("/"), t.clone())),
                _ => None,
            })
            .collect();
        let s = "/usr/lib/systemd/system";
        assert_eq!(
            links,
            [
                (
                    "etc/systemd/system/b.service".into(),
                    format!("{s}/a.service")
                ),
                (
                    "etc/systemd/system/getty.target.wants/g@tty1.service".into(),
                    format!("{s}/g@.service")
                ),
                (
                    "etc/systemd/system/multi-user.target.wants/a.service".into(),
                    format!("{s}/a.service")
                ),
                (
                    "etc/systemd/system/sockets.target.wants/c.socket".into(),
                    format!("{s}/c.socket")
                ),
            ]
        );
        let e = enable_units(&mut tree, &["static.service".into()]).unwrap_err();
        assert!(e.to_string().contains("has no WantedBy"), "{e}");
        let e = enable_units(&mut tree, &["nope.service".into()]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot enable nope.service: no such unit"),
            "{e}"
        );
    }
}
