//! Assembling a root filesystem from `.deb`s and a [`ContainerSpec`],
//! without running maintainer scripts, and writing it deterministically.
//!
//! Steps, in this fixed order (each a pure function of the previous tree):
//! 1. unpack every `.deb` in the caller's order onto a merged-`/usr` root
//!    (see [`crate::unpack`] for conflicts);
//! 2. alternatives from postinst scripts' literal `update-alternatives`
//!    calls;
//! 3. the dpkg database (conffile sums are of the packaged content);
//! 4. users and groups (see [`crate::users`]);
//! 5. the activation files' `tmpfiles.d` drop-in (see
//!    [`crate::activation`]; their owners checked against the accounts),
//!    hostname, hosts, network files, empty machine id, the
//!    read-only-`/sys` unit's file;
//! 6. downloads (`archives`, see [`crate::tarball`]), which may not land
//!    on what the packages or the steps above put there;
//! 7. declared files (replacing packaged and unpacked ones), then
//!    hostname, hosts and network files again (they win over declared
//!    ones, as they always have): so a unit written as a declared file is
//!    there for the next step;
//! 8. enabled and masked units, and [`SYS_READONLY_UNIT`] (every
//!    template's: a read-only `/sys` in unprivileged containers too);
//! 9. template hygiene: empty `/etc/machine-id`, no SSH host keys, no
//!    files under `/var/log`, `/var/cache/apt`, `/var/lib/apt/lists`.
//!
//! Errors at one declaration are [`AssembleError::At`], naming it as the
//! `lxc-template` params do (`packages[3]`, `files[2].owner`,
//! `archives[0].include[1]`): the spec's lists and the `.deb` slice are
//! those params, index for index.
//!
//! Not generated: `/etc/ld.so.cache`. Debian's glibc searches the
//! multiarch library directories without it, and systemd's private
//! libraries are found through RUNPATH; the cache only speeds up lookups,
//! and `ldconfig` (run by the first package trigger inside the container)
//! would write a file whose bytes depend on directory order.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use hlb_cache::archive::{ArchiveError, ArchiveOptions, ArchiveWriter, EntryMeta};

use crate::activation::{ActivationPathError, TMPFILES_PATH};
use crate::spec::{ContainerSpec, NetworkSpec};
use crate::system::{
    SYS_READONLY_UNIT, UnitError, WAIT_ONLINE_UNIT, disable_unit, enable_units,
    install_alternatives,
};
use crate::tarball::{TarballError, Unpacker};
use crate::tree::{Node, NodeKind, Tree, TreePath, show, split};
use crate::unpack::{Installed, ReadDeb, UnpackError, merged_usr_root, place_deb, read_deb};
use crate::users::{ADDUSER_TABLE, Accounts, User, UsersError};
use crate::{activation, dpkg, sbom};

/// One `.deb` to install, with the SHA-256 the lock records for it. The
/// fetcher checks it already; [`assemble`] checks again, since a template
/// built from other bytes than its SBOM names would be a silent lie.
#[derive(Debug, Clone, Copy)]
pub struct DebInput<'a> {
    /// Names the file in errors (its pool path or URL).
    pub origin: &'a str,
    /// The whole `.deb`.
    pub bytes: &'a [u8],
    /// Its SHA-256, hex, as the lock records it (and the SBOM repeats).
    pub sha256: &'a str,
}

/// Why a root filesystem could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The problem is at one declaration: `at` names it as the
    /// `lxc-template` params do (`files[2].owner`, `packages[0]`); the
    /// message is `error`'s alone.
    #[error("{error}")]
    At {
        /// Path of the declaration in the params (no `params.` prefix).
        at: String,
        /// What is wrong there.
        error: Box<AssembleError>,
    },
    /// A download could not be unpacked.
    #[error(transparent)]
    Tarball(#[from] TarballError),
    /// An activation file's path is refused.
    #[error(transparent)]
    Activation(#[from] ActivationPathError),
    /// Unpacking a package failed.
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// Users or groups could not be created.
    #[error(transparent)]
    Users(#[from] UsersError),
    /// A unit could not be enabled.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// Two `.deb`s install the same package.
    #[error("package {name} is given twice ({first} and {second})")]
    DuplicatePackage {
        /// Package.
        name: String,
        /// First .deb.
        first: String,
        /// Second .deb.
        second: String,
    },
    /// A `.deb`'s bytes do not have the SHA-256 the lock records.
    #[error("{origin}: SHA-256 is {actual}, but the lock records {expected}")]
    HashMismatch {
        /// The .deb.
        origin: String,
        /// From the lock.
        expected: String,
        /// Of the bytes.
        actual: String,
    },
    /// base-passwd is not among the packages.
    #[error("no /usr/share/base-passwd/{0}: the package set must include base-passwd")]
    NoBasePasswd(&'static str),
    /// A declared path is not an absolute path inside the root.
    #[error("file {path}: {reason}")]
    BadPath {
        /// As declared.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// A declared owner or group does not exist.
    #[error("{what}: unknown {kind} {name}")]
    UnknownOwner {
        /// What names it: `file /etc/x`, `archive traefik-release`,
        /// `activation file /run/secrets/x`.
        what: String,
        /// `user` or `group`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Writing the archive failed.
    #[error("writing rootfs archive: {0}")]
    Archive(#[from] ArchiveError),
    /// Writing an output file failed.
    #[error("writing {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<hlb_cache::fsx::IoError> for AssembleError {
    fn from(e: hlb_cache::fsx::IoError) -> AssembleError {
        AssembleError::Output {
            path: e.path,
            source: e.source,
        }
    }
}

impl AssembleError {
    /// This error, at declaration `at`.
    pub fn at(self, at: impl Into<String>) -> AssembleError {
        AssembleError::At {
            at: at.into(),
            error: Box::new(self),
        }
    }

    /// The declaration the problem is at, when it is at one.
    pub fn location(&self) -> Option<&str> {
        match self {
            AssembleError::At { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// File name of the template archive in an output directory.
pub const ROOTFS_FILE: &str = "rootfs.tar.zst";
/// File name of the SBOM in an output directory.
pub const SBOM_FILE: &str = "sbom.cdx.json";

/// An assembled root filesystem.
#[derive(Debug, Clone)]
pub struct Rootfs {
    name: String,
    tree: Tree,
    packages: Vec<Installed>,
    downloads: Vec<sbom::Download>,
    accounts: Accounts,
}

/// Every `.deb` hash-checked, read and decompressed, on every core (half
/// of a template's build is decompressing the packages' data archives);
/// the results in the packages' order, so placing them, which alone shapes
/// the tree, stays sequential and the output the same.
fn read_debs(debs: &[DebInput<'_>]) -> Vec<Result<ReadDeb, AssembleError>> {
    let read_one = |deb: &DebInput<'_>| -> Result<ReadDeb, AssembleError> {
        let actual = hlb_debian::Sha256::of(deb.bytes);
        let expected = deb.sha256.parse::<hlb_debian::Sha256>().ok();
        if expected != Some(actual) {
            return Err(AssembleError::HashMismatch {
                origin: deb.origin.to_owned(),
                expected: deb.sha256.to_owned(),
                actual: actual.to_string(),
            });
        }
        Ok(read_deb(deb.bytes, deb.origin, deb.sha256)?)
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(debs.len());
    if workers <= 1 {
        return debs.iter().map(read_one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<ReadDeb, AssembleError>>>> =
        debs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(deb) = debs.get(i) else { break };
                    let result = read_one(deb);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every package was read")
        })
        .collect()
}

/// Assembles a root filesystem. The result depends only on the bytes of
/// `debs` (and their order, which should be the lock's), and on `spec`.
pub fn assemble(debs: &[DebInput<'_>], spec: &ContainerSpec) -> Result<Rootfs, AssembleError> {
    let mut tree = merged_usr_root();
    let mut packages: Vec<Installed> = Vec::new();
    for (i, (deb, read)) in debs.iter().zip(read_debs(debs)).enumerate() {
        let at = |e: AssembleError| e.at(format!("packages[{i}]"));
        // A conflict is reported at the package unpacked second.
        let installed =
            place_deb(&mut tree, read.map_err(at)?, deb.origin).map_err(|e| at(e.into()))?;
        if let Some(prev) = packages
            .iter()
            .zip(debs)
            .find(|(p, _)| p.name == installed.name && p.architecture == installed.architecture)
        {
            return Err(at(AssembleError::DuplicatePackage {
                name: installed.name,
                first: prev.1.origin.to_owned(),
                second: deb.origin.to_owned(),
            }));
        }
        packages.push(installed);
    }
    install_alternatives(&mut tree, &packages);
    dpkg::write_database(&packages, &mut tree);
    let accounts = make_accounts(&tree, &packages, spec)?;
    for (path, text) in accounts.render() {
        let shadow_gid = accounts.group("shadow").map(|g| g.gid);
        let node = match (path.ends_with("shadow"), shadow_gid) {
            (true, Some(gid)) => Node {
                gid,
                ..Node::file(0o640, text.into_bytes())
            },
            (true, None) => Node::file(0o600, text.into_bytes()),
            (false, _) => Node::file(0o644, text.into_bytes()),
        };
        put(&mut tree, &path, node);
    }
    add_activation_files(&mut tree, &accounts, spec)?;
    add_generated_files(&mut tree, spec);
    let downloads = add_archives(&mut tree, &accounts, spec)?;
    add_spec_files(&mut tree, &accounts, spec)?;
    // One service at a time, so a failure names the one at fault (units
    // its `Also=` pulls in included); enabling is idempotent, so the tree
    // is the same as enabling all at once.
    for (i, unit) in spec.services.iter().enumerate() {
        enable_units(&mut tree, std::slice::from_ref(unit))
            .map_err(|e| AssembleError::from(e).at(format!("services[{i}]")))?;
    }
    if spec.network.is_some() {
        enable_units(&mut tree, &["systemd-networkd.service".to_owned()])
            .map_err(|e| AssembleError::from(e).at("network"))?;
    } else if !spec.services.iter().any(|s| s == WAIT_ONLINE_UNIT) {
        // Without `network` the host configures the container's network
        // and networkd (if a declared service brought it) manages no link:
        // wait-online, which `Also=` enabled with it, would wait for one
        // until its timeout (2 minutes) and fail, leaving the container
        // `degraded`. Only a declared wait-online stays enabled.
        disable_unit(&mut tree, WAIT_ONLINE_UNIT);
    }
    enable_units(&mut tree, &[SYS_READONLY_UNIT.0.to_owned()])?;
    for (i, unit) in spec.masked.iter().enumerate() {
        if unit.contains('/') || unit.is_empty() {
            return Err(AssembleError::BadPath {
                path: unit.clone(),
                reason: "a unit name to mask cannot contain `/`",
            }
            .at(format!("masked[{i}]")));
        }
        put(
            &mut tree,
            &format!("etc/systemd/system/{unit}"),
            Node::symlink("/dev/null"),
        );
    }
    clean(&mut tree);
    Ok(Rootfs {
        name: spec.hostname.clone(),
        tree,
        packages,
        downloads,
        accounts,
    })
}

/// The uid and gid of `owner`:`group`, or an unknown-owner error at
/// `at.owner` / `at.group`.
fn ids(
    accounts: &Accounts,
    owner: &str,
    group: &str,
    what: impl Fn() -> String,
    at: &str,
) -> Result<(u32, u32), AssembleError> {
    let unknown = |kind, name: &str, field| {
        AssembleError::UnknownOwner {
            what: what(),
            kind,
            name: name.to_owned(),
        }
        .at(format!("{at}.{field}"))
    };
    let uid = accounts
        .user(owner)
        .ok_or_else(|| unknown("user", owner, "owner"))?
        .uid;
    let gid = accounts
        .group(group)
        .ok_or_else(|| unknown("group", group, "group"))?
        .gid;
    Ok((uid, gid))
}

/// Checks the activation files and writes their `tmpfiles.d` drop-in.
fn add_activation_files(
    tree: &mut Tree,
    accounts: &Accounts,
    spec: &ContainerSpec,
) -> Result<(), AssembleError> {
    let text = activation::tmpfiles(&spec.activation_files).map_err(|e| {
        let at = format!("activation_files[{}].path", e.index);
        AssembleError::from(e).at(at)
    })?;
    for (i, f) in spec.activation_files.iter().enumerate() {
        ids(
            accounts,
            &f.owner,
            &f.group,
            || format!("activation file {}", f.path),
            &format!("activation_files[{i}]"),
        )?;
    }
    if let Some(text) = text {
        put(tree, TMPFILES_PATH, Node::file(0o644, text.into_bytes()));
    }
    Ok(())
}

/// Unpacks the spec's downloads, in order; returns them for the SBOM.
fn add_archives(
    tree: &mut Tree,
    accounts: &Accounts,
    spec: &ContainerSpec,
) -> Result<Vec<sbom::Download>, AssembleError> {
    let mut unpacker = Unpacker::default();
    let mut out = Vec::with_capacity(spec.archives.len());
    for (i, a) in spec.archives.iter().enumerate() {
        let at = format!("archives[{i}]");
        let (uid, gid) = ids(
            accounts,
            &a.owner,
            &a.group,
            || format!("archive {}", a.name),
            &at,
        )?;
        unpacker.unpack(tree, i, a, uid, gid).map_err(|e| {
            let field = e.field();
            AssembleError::from(e).at(format!("{at}{field}"))
        })?;
        out.push(sbom::Download {
            name: a.name.clone(),
            sha256: hlb_debian::Sha256::of(&a.bytes).to_string(),
        });
    }
    Ok(out)
}

fn put(tree: &mut Tree, path: &str, node: Node) {
    if let Some(p) = split(path) {
        let p = tree.resolve_parent(&p).unwrap_or(p);
        tree.insert(p, node);
    }
}

fn read(tree: &Tree, path: &str) -> Option<String> {
    let p = tree.resolve_all(&split(path)?)?;
    match &tree.get(&p)?.kind {
        NodeKind::File(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

fn make_accounts(
    tree: &Tree,
    packages: &[Installed],
    spec: &ContainerSpec,
) -> Result<Accounts, AssembleError> {
    let mut accounts = Accounts::default();
    let passwd = read(tree, "usr/share/base-passwd/passwd.master")
        .ok_or(AssembleError::NoBasePasswd("passwd.master"))?;
    let group = read(tree, "usr/share/base-passwd/group.master")
        .ok_or(AssembleError::NoBasePasswd("group.master"))?;
    accounts.load_masters(&passwd, &group)?;
    for dir in ["usr/lib/sysusers.d"] {
        let Some(d) = split(dir).and_then(|d| tree.resolve_all(&d)) else {
            continue;
        };
        for name in tree.children(&d) {
            if !name.ends_with(".conf") {
                continue;
            }
            let file = format!("{dir}/{name}");
            if let Some(text) = read(tree, &file) {
                accounts.apply_sysusers(&format!("/{file}"), &text)?;
            }
        }
    }
    let names: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for entry in ADDUSER_TABLE.iter().filter(|e| names.contains(e.package)) {
        accounts.add_user(
            User {
                name: entry.user.to_owned(),
                uid: u32::MAX,
                gid: 0,
                gecos: entry.gecos.to_owned(),
                home: entry.home.to_owned(),
                shell: "/usr/sbin/nologin".to_owned(),
            },
            None,
        )?;
    }
    // One declaration at a time, so an error names the one at fault.
    for (i, g) in spec.groups.iter().enumerate() {
        accounts
            .apply_spec(std::slice::from_ref(g), &[])
            .map_err(|e| AssembleError::from(e).at(format!("groups[{i}]")))?;
    }
    for (i, u) in spec.users.iter().enumerate() {
        accounts
            .apply_spec(&[], std::slice::from_ref(u))
            .map_err(|e| AssembleError::from(e).at(format!("users[{i}]")))?;
    }
    Ok(accounts)
}

fn add_spec_files(
    tree: &mut Tree,
    accounts: &Accounts,
    spec: &ContainerSpec,
) -> Result<(), AssembleError> {
    for (i, f) in spec.files.iter().enumerate() {
        let at = format!("files[{i}]");
        let bad = |reason| {
            AssembleError::BadPath {
                path: f.path.clone(),
                reason,
            }
            .at(at.clone())
        };
        if !f.path.starts_with('/') {
            return Err(bad("not an absolute path"));
        }
        let path = split(&f.path).ok_or_else(|| bad("has a `..` component"))?;
        if path.is_empty() {
            return Err(bad("is the root directory"));
        }
        let (uid, gid) = ids(
            accounts,
            &f.owner,
            &f.group,
            || format!("file {}", f.path),
            &at,
        )?;
        let resolved = tree
            .resolve_parent(&path)
            .ok_or_else(|| bad("a parent is not a directory"))?;
        if tree.get(&resolved).is_some_and(|n| n.kind == NodeKind::Dir) {
            return Err(bad("is a directory in the packages or a download"));
        }
        tree.insert(
            resolved,
            Node {
                uid,
                gid,
                ..Node::file(f.mode & 0o7777, f.content.clone())
            },
        );
    }
    add_generated_files(tree, spec);
    Ok(())
}

/// `/etc/hostname`, `/etc/hosts`, the network files, an empty
/// `/etc/machine-id` and [`SYS_READONLY_UNIT`]'s file. Written once before the downloads, so one landing
/// on them is refused as a collision, and again after the declared files,
/// which they replace (as they always have).
fn add_generated_files(tree: &mut Tree, spec: &ContainerSpec) {
    put(
        tree,
        "etc/hostname",
        Node::file(0o644, format!("{}\n", spec.hostname).into_bytes()),
    );
    put(
        tree,
        "etc/hosts",
        Node::file(
            0o644,
            format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n",
                spec.hostname
            )
            .into_bytes(),
        ),
    );
    if let Some(net) = &spec.network {
        put(
            tree,
            &format!("etc/systemd/network/10-{}.network", net.interface),
            Node::file(0o644, network_file(net).into_bytes()),
        );
        let resolv: String = net
            .dns
            .iter()
            .map(|d| format!("nameserver {d}\n"))
            .collect();
        put(
            tree,
            "etc/resolv.conf",
            Node::file(0o644, resolv.into_bytes()),
        );
    }
    put(tree, "etc/machine-id", Node::file(0o444, Vec::new()));
    put(
        tree,
        &format!("usr/lib/systemd/system/{}", SYS_READONLY_UNIT.0),
        Node::file(0o644, SYS_READONLY_UNIT.1.as_bytes().to_vec()),
    );
}

/// The systemd-networkd file of a static IPv4 network.
///
/// The link is IPv4 only, and says so: no IPv6 link-local address and no
/// router advertisements (`LinkLocalAddressing=no`, `IPv6AcceptRA=no`),
/// and the link is online for `systemd-networkd-wait-online` once its IPv4
/// address is routable (`RequiredForOnline=routable`,
/// `RequiredFamilyForOnline=ipv4`). With networkd's defaults the link
/// would get an IPv6 link-local address and solicit routers, and stay
/// `configuring` until a router answered or networkd gave up (about 12 s
/// on a LAN without IPv6 routers), holding `network-online.target` and so
/// the container's `running` back; on a LAN with IPv6 routers it would
/// take addresses the recipe never declared.
fn network_file(net: &NetworkSpec) -> String {
    let mut text = format!(
        "[Match]\nName={}\n\n\
         [Link]\nRequiredForOnline=routable\nRequiredFamilyForOnline=ipv4\n\n\
         [Network]\nAddress={}\n",
        net.interface, net.address
    );
    if let Some(gw) = &net.gateway {
        text.push_str(&format!("Gateway={gw}\n"));
    }
    for dns in &net.dns {
        text.push_str(&format!("DNS={dns}\n"));
    }
    text.push_str("LinkLocalAddressing=no\nIPv6AcceptRA=no\n");
    text
}

/// Files a template must not carry, and the directories it must have.
fn clean(tree: &mut Tree) {
    let doomed: Vec<TreePath> = tree
        .iter()
        .filter(|(k, n)| {
            let s = k.join("/");
            let under = |dir: &str| s.starts_with(dir) && n.kind != NodeKind::Dir;
            (s.starts_with("etc/ssh/ssh_host_"))
                || under("var/log/")
                || under("var/cache/apt/")
                || under("var/lib/apt/lists/")
                || s == "var/lib/dbus/machine-id"
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        tree.remove(&k);
    }
    put(tree, "etc/machine-id", Node::file(0o444, Vec::new()));
    for (dir, mode) in [
        ("dev", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("run", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("var/tmp", 0o1777),
    ] {
        if let Some(p) = split(dir)
            && tree.get(&p).is_none()
        {
            tree.insert(p, Node::dir(mode));
        }
    }
}

impl Rootfs {
    /// The installed packages, in installation order.
    pub fn packages(&self) -> &[Installed] {
        &self.packages
    }

    /// The accounts created.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The node at an absolute path, following symlinks in parents.
    pub fn node(&self, path: &str) -> Option<&Node> {
        let p = self.tree.resolve_parent(&split(path)?)?;
        self.tree.get(&p)
    }

    /// Every path in the tree, absolute, in archive order.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        self.tree.iter().map(|(k, _)| show(k))
    }

    /// Writes `rootfs.tar.zst` content: `./`, then every node as
    /// `./path`, with the tree's modes and numeric owners and the options'
    /// fixed mtime.
    pub fn write_tar_zst<W: Write>(&self, w: W, opts: ArchiveOptions) -> Result<W, AssembleError> {
        let mut a = ArchiveWriter::new(w, opts)?;
        a.add_dir(
            ".",
            &EntryMeta {
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        )?;
        for (path, node) in self.tree.iter() {
            let name = format!("./{}", path.join("/"));
            let meta = EntryMeta {
                mode: node.mode,
                uid: node.uid,
                gid: node.gid,
            };
            match &node.kind {
                NodeKind::Dir => a.add_dir(&name, &meta)?,
                NodeKind::File(bytes) => a.add_file(&name, &meta, bytes)?,
                NodeKind::Symlink(target) => a.add_symlink(&name, &meta, target)?,
            }
        }
        Ok(a.finish()?)
    }

    /// Writes [`ROOTFS_FILE`] and [`SBOM_FILE`] into `dir`, each
    /// atomically (temporary file in `dir`, fsync, rename), and returns
    /// their paths. A failure leaves no partial file under either name.
    pub fn write_outputs(
        &self,
        dir: &Path,
        opts: ArchiveOptions,
    ) -> Result<[PathBuf; 2], AssembleError> {
        let rootfs = dir.join(ROOTFS_FILE);
        // One atomic-write rule for the whole workspace (temp file, fsync,
        // rename, directory fsync): hlb_cache::fsx.
        hlb_cache::fsx::write_atomic_with(&rootfs, |file| {
            self.write_tar_zst(file, opts).map(|_| ())
        })?;
        let sbom = dir.join(SBOM_FILE);
        let text = self.sbom_json();
        hlb_cache::fsx::write_atomic_with(&sbom, |file| {
            file.write_all(text.as_bytes())
                .map_err(|source| AssembleError::Output {
                    path: sbom.clone(),
                    source,
                })
        })?;
        Ok([rootfs, sbom])
    }

    /// The CycloneDX SBOM, pretty-printed with a trailing newline.
    pub fn sbom_json(&self) -> String {
        let doc = sbom::cyclonedx(&self.name, &self.packages, &self.downloads);
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }
}
