//! Assembly rules on synthetic `.deb`s built here: conflicts, sharing,
//! `Replaces`, declared files and owners, and the bad inputs the issue
//! lists.

use std::io::Write;

use hlb_cache::archive::ArchiveOptions;

use crate::spec::{ContainerSpec, FileSpec, UserSpec};
use crate::tree::NodeKind;
use crate::{AssembleError, DebInput, assemble};

pub(crate) enum Item<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
}

pub(crate) fn tarball(items: &[Item<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for item in items {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1);
        match item {
            Item::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, format!("./{p}"), &[][..]).unwrap();
            }
            Item::File(p, content) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(content.len() as u64);
                b.append_data(&mut h, format!("./{p}"), *content).unwrap();
            }
            Item::Link(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, format!("./{p}"), target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn ar_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    writeln!(
        out,
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`",
        name,
        0,
        0,
        0,
        "100644",
        data.len()
    )
    .unwrap();
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

/// A `.deb` with a control paragraph (`extra` fields appended) and data.
pub(crate) fn deb(name: &str, extra: &str, items: &[Item<'_>]) -> Vec<u8> {
    let control = format!(
        "Package: {name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.org>\n{extra}Description: test\n"
    );
    let control_tar = tarball(&[Item::File("control", control.as_bytes())]);
    let mut out = b"!<arch>\n".to_vec();
    ar_member(&mut out, "debian-binary", b"2.0\n");
    ar_member(&mut out, "control.tar", &control_tar);
    ar_member(&mut out, "data.tar", &tarball(items));
    out
}

const PASSWD: &[u8] = b"root:*:0:0:root:/root:/bin/bash\n";
const GROUP: &[u8] = b"root:*:0:\nshadow:*:42:\n";

pub(crate) fn base_passwd() -> Vec<u8> {
    deb(
        "base-passwd",
        "",
        &[
            Item::Dir(""),
            Item::Dir("usr"),
            Item::Dir("usr/share"),
            Item::Dir("usr/share/base-passwd"),
            Item::File("usr/share/base-passwd/passwd.master", PASSWD),
            Item::File("usr/share/base-passwd/group.master", GROUP),
            Item::Dir("bin"),
            Item::File("bin/true", b"ELF"),
        ],
    )
}

pub(crate) fn build(
    debs: &[(&str, Vec<u8>)],
    spec: &ContainerSpec,
) -> Result<crate::Rootfs, AssembleError> {
    let hashes: Vec<String> = debs
        .iter()
        .map(|(_, bytes)| hlb_debian::Sha256::of(bytes).to_string())
        .collect();
    let inputs: Vec<DebInput<'_>> = debs
        .iter()
        .zip(&hashes)
        .map(|((origin, bytes), sha256)| DebInput {
            origin,
            bytes,
            sha256,
        })
        .collect();
    assemble(&inputs, spec)
}

/// An assembly error's location (its params path, or empty) and message.
pub(crate) fn located(e: crate::AssembleError) -> (String, String) {
    let at = e.location().map(str::to_owned).unwrap_or_default();
    (at, e.to_string())
}

pub(crate) fn content(fs: &crate::Rootfs, path: &str) -> String {
    match &fs
        .node(path)
        .unwrap_or_else(|| panic!("{path} missing"))
        .kind
    {
        NodeKind::File(b) => String::from_utf8_lossy(b).into_owned(),
        k => panic!("{path} is {k:?}"),
    }
}

#[test]
fn merged_usr_shared_identical_files_and_replaces() {
    let a = deb(
        "alpha",
        "",
        &[
            Item::Dir("etc"),
            Item::File("etc/same", b"x"),
            Item::File("etc/moved", b"old"),
        ],
    );
    let b = deb(
        "beta",
        "Replaces: alpha (<< 2)\n",
        &[
            Item::Dir("etc"),
            Item::File("etc/same", b"x"),
            Item::File("etc/moved", b"new"),
        ],
    );
    let fs = build(
        &[
            ("base-passwd.deb", base_passwd()),
            ("a.deb", a),
            ("b.deb", b),
        ],
        &ContainerSpec::new("t"),
    )
    .unwrap();
    assert_eq!(content(&fs, "/usr/bin/true"), "ELF");
    assert_eq!(
        fs.node("/bin").map(|n| n.kind.clone()),
        Some(NodeKind::Symlink("usr/bin".into()))
    );
    assert_eq!(content(&fs, "/etc/moved"), "new");
    let same = fs.node("/etc/same").unwrap();
    assert_eq!(same.owners.iter().collect::<Vec<_>>(), ["alpha", "beta"]);
    // The dpkg list keeps the package's own paths.
    let list = content(&fs, "/var/lib/dpkg/info/base-passwd.list");
    assert!(list.starts_with("/.\n/usr\n"), "{list}");
    assert!(list.contains("\n/bin/true\n"), "{list}");
    let status = content(&fs, "/var/lib/dpkg/status");
    assert!(
        status.starts_with("Package: alpha\nStatus: install ok installed\nVersion: 1.0\n"),
        "{status}"
    );
    assert_eq!(content(&fs, "/etc/hostname"), "t\n");
    assert_eq!(content(&fs, "/etc/machine-id"), "");
    assert_eq!(
        fs.node("/etc/systemd/system/sys-kernel-debug.mount")
            .map(|n| n.kind.clone()),
        Some(NodeKind::Symlink("/dev/null".into()))
    );
}

#[test]
fn conflicting_files_name_both_packages_and_the_path() {
    let a = deb("alpha", "", &[Item::Dir("etc"), Item::File("etc/x", b"1")]);
    let b = deb("beta", "", &[Item::Dir("etc"), Item::File("etc/x", b"2")]);
    let e = build(
        &[
            ("base-passwd.deb", base_passwd()),
            ("a.deb", a),
            ("b.deb", b),
        ],
        &ContainerSpec::new("t"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "file conflict at /etc/x: alpha and beta both ship it, with different content"
    );
    // A file where another package has a directory is a conflict too.
    let c = deb("gamma", "", &[Item::Dir("etc"), Item::Link("etc/d", "x")]);
    let d = deb("delta", "", &[Item::Dir("etc"), Item::Dir("etc/d")]);
    let e = build(&[("c.deb", c), ("d.deb", d)], &ContainerSpec::new("t")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("file conflict at /etc/d: gamma and delta"),
        "{e}"
    );
}

#[test]
fn declared_files_users_and_bad_paths() {
    let mut spec = ContainerSpec::new("t");
    spec.users = vec![UserSpec::system("svc")];
    spec.files = vec![FileSpec {
        owner: "svc".into(),
        group: "svc".into(),
        ..FileSpec::root("/etc/svc/conf", 0o600, "k=v\n")
    }];
    let fs = build(&[("base-passwd.deb", base_passwd())], &spec).unwrap();
    let node = fs.node("/etc/svc/conf").unwrap();
    let svc = fs.accounts().user("svc").unwrap();
    assert_eq!((node.uid, node.gid, node.mode), (svc.uid, svc.gid, 0o600));
    assert_eq!(svc.uid, 999);
    let shadow = fs.node("/etc/shadow").unwrap();
    assert_eq!((shadow.mode, shadow.gid), (0o640, 42));

    for (path, owner, expected) in [
        (
            "etc/relative",
            "root",
            "file etc/relative: not an absolute path",
        ),
        (
            "/etc/../../x",
            "root",
            "file /etc/../../x: has a `..` component",
        ),
        (
            "/etc/x",
            "nobody-here",
            "file /etc/x: unknown user nobody-here",
        ),
        (
            "/usr/bin/true/x",
            "root",
            "file /usr/bin/true/x: a parent is not a directory",
        ),
    ] {
        let mut spec = ContainerSpec::new("t");
        spec.files = vec![FileSpec {
            owner: owner.into(),
            ..FileSpec::root(path, 0o644, "")
        }];
        let e = build(&[("base-passwd.deb", base_passwd())], &spec).unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
    let mut spec = ContainerSpec::new("t");
    spec.services = vec!["missing.service".into()];
    let e = build(&[("base-passwd.deb", base_passwd())], &spec).unwrap_err();
    assert!(
        e.to_string().contains("cannot enable missing.service"),
        "{e}"
    );
}

/// A `systemd` with networkd's two units as Debian ships them: enabling
/// networkd enables wait-online too (`Also=`).
fn networkd() -> Vec<u8> {
    deb(
        "systemd",
        "",
        &[
            Item::Dir(""),
            Item::Dir("lib"),
            Item::Dir("lib/systemd"),
            Item::Dir("lib/systemd/system"),
            Item::File(
                "lib/systemd/system/systemd-networkd.service",
                b"[Service]\nExecStart=/lib/systemd/systemd-networkd\n\n[Install]\n\
                  WantedBy=multi-user.target\nAlso=systemd-networkd-wait-online.service\n",
            ),
            Item::File(
                "lib/systemd/system/systemd-networkd-wait-online.service",
                b"[Service]\nType=oneshot\nExecStart=/lib/systemd/systemd-networkd-wait-online\n\n\
                  [Install]\nWantedBy=network-online.target\n",
            ),
        ],
    )
}

const WAIT_ONLINE_LINK: &str =
    "/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service";

/// A static IPv4 network is IPv4 only, and online as soon as its IPv4
/// address is: no IPv6 link-local address and no router solicitation,
/// which kept the link `configuring` (and wait-online waiting) until
/// router discovery timed out.
#[test]
fn a_static_ipv4_network_is_online_without_ipv6() {
    let mut spec = ContainerSpec::new("t");
    spec.network = Some(crate::NetworkSpec {
        interface: "eth0".to_owned(),
        address: "10.0.0.53/24".to_owned(),
        gateway: Some("10.0.0.1".to_owned()),
        dns: vec!["127.0.0.1".to_owned()],
    });
    let debs = [
        ("base-passwd.deb", base_passwd()),
        ("systemd.deb", networkd()),
    ];
    let fs = build(&debs, &spec).unwrap();
    let file = content(&fs, "/etc/systemd/network/10-eth0.network");
    assert_eq!(
        file,
        "[Match]\nName=eth0\n\n\
         [Link]\nRequiredForOnline=routable\nRequiredFamilyForOnline=ipv4\n\n\
         [Network]\nAddress=10.0.0.53/24\nGateway=10.0.0.1\nDNS=127.0.0.1\n\
         LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    );
    // docs/lxc.md shows this very file.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lxc.md"),
    )
    .unwrap();
    let documented = doc
        .split("```ini,network=10-eth0.network\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/lxc.md shows the network file");
    assert_eq!(file, documented);
    assert_eq!(content(&fs, "/etc/resolv.conf"), "nameserver 127.0.0.1\n");
    // With a network networkd manages, wait-online tells when it is up.
    assert!(fs.node(WAIT_ONLINE_LINK).is_some());

    // Without one, networkd (here a declared service) manages no link:
    // wait-online would wait for one until it times out, so it is not
    // enabled, unless declared.
    let mut spec = ContainerSpec::new("t");
    spec.services = vec!["systemd-networkd.service".to_owned()];
    let fs = build(&debs, &spec).unwrap();
    assert!(
        fs.node("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service")
            .is_some()
    );
    assert!(fs.node(WAIT_ONLINE_LINK).is_none());
    assert!(
        fs.node("/etc/systemd/system/network-online.target.wants")
            .is_none()
    );
    assert!(fs.node("/etc/systemd/network/10-eth0.network").is_none());
    spec.services
        .push("systemd-networkd-wait-online.service".to_owned());
    let fs = build(&debs, &spec).unwrap();
    assert!(fs.node(WAIT_ONLINE_LINK).is_some());
}

#[test]
fn duplicate_packages_and_missing_base_passwd_are_refused() {
    let e = build(
        &[("one.deb", base_passwd()), ("two.deb", base_passwd())],
        &ContainerSpec::new("t"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "package base-passwd is given twice (one.deb and two.deb)"
    );
    let e = build(
        &[("a.deb", deb("alpha", "", &[]))],
        &ContainerSpec::new("t"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("must include base-passwd"), "{e}");
    let e = build(
        &[("junk.deb", b"not a deb".to_vec())],
        &ContainerSpec::new("t"),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("junk.deb"), "{e}");
}

#[test]
fn archive_bytes_depend_only_on_inputs() {
    let debs = [("base-passwd.deb", base_passwd())];
    let spec = ContainerSpec::new("t");
    let opts = ArchiveOptions {
        mtime: 7,
        zstd_level: 3,
    };
    let a = build(&debs, &spec)
        .unwrap()
        .write_tar_zst(Vec::new(), opts)
        .unwrap();
    let b = build(&debs, &spec)
        .unwrap()
        .write_tar_zst(Vec::new(), opts)
        .unwrap();
    assert_eq!(a, b);
    let c = build(&debs, &ContainerSpec::new("u"))
        .unwrap()
        .write_tar_zst(Vec::new(), opts)
        .unwrap();
    assert_ne!(a, c, "the hostname is an input");
    let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(&a[..]).unwrap());
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[0], "./");
    assert!(names.iter().all(|n| n.starts_with("./")));
}

#[test]
fn outputs_are_written_whole_and_named() {
    let fs = build(
        &[("base-passwd.deb", base_passwd())],
        &ContainerSpec::new("t"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mtime: 0,
        zstd_level: 3,
    };
    let [rootfs, sbom] = fs.write_outputs(dir.path(), opts).unwrap();
    assert_eq!(rootfs, dir.path().join(crate::ROOTFS_FILE));
    assert_eq!(
        std::fs::read(&rootfs).unwrap(),
        fs.write_tar_zst(Vec::new(), opts).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&sbom).unwrap(), fs.sbom_json());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [crate::ROOTFS_FILE, crate::SBOM_FILE]);
    let e = fs
        .write_outputs(&dir.path().join("missing"), opts)
        .unwrap_err();
    assert!(e.to_string().contains("missing/rootfs.tar.zst"), "{e}");
}

#[test]
fn a_deb_whose_hash_is_not_the_locked_one_is_refused() {
    let bytes = base_passwd();
    let wrong = hlb_debian::Sha256::of(b"other").to_string();
    let e = assemble(
        &[DebInput {
            origin: "pool/b/base-passwd.deb",
            bytes: &bytes,
            sha256: &wrong,
        }],
        &ContainerSpec::new("t"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "pool/b/base-passwd.deb: SHA-256 is {}, but the lock records {wrong}",
            hlb_debian::Sha256::of(&bytes)
        )
    );
}

/// `ls -l`-like listing of an archive: kind, mode, uid:gid, size, path,
/// link target.
pub(crate) fn listing(archive: &[u8]) -> String {
    let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(archive).unwrap());
    let mut out = String::new();
    for entry in tar.entries().unwrap() {
        let e = entry.unwrap();
        let h = e.header();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Regular => '-',
            other => panic!("unexpected {other:?}"),
        };
        let link = e
            .link_name()
            .unwrap()
            .map(|l| format!(" -> {}", l.display()))
            .unwrap_or_default();
        out.push_str(&format!(
            "{kind} {:04o} {}:{} {:>5} {}{link}\n",
            h.mode().unwrap(),
            h.uid().unwrap(),
            h.gid().unwrap(),
            h.size().unwrap(),
            e.path().unwrap().display()
        ));
    }
    out
}

#[test]
fn snapshot_of_a_small_template() {
    let nginxish = deb(
        "websrv",
        "Multi-Arch: same\n",
        &[
            Item::Dir(""),
            Item::Dir("lib"),
            Item::Dir("lib/systemd"),
            Item::Dir("lib/systemd/system"),
            Item::File(
                "lib/systemd/system/websrv.service",
                b"[Service]\nExecStart=/usr/bin/websrv\n[Install]\nWantedBy=multi-user.target\n",
            ),
            Item::Dir("usr"),
            Item::Dir("usr/lib"),
            Item::Dir("usr/lib/sysusers.d"),
            Item::File(
                "usr/lib/sysusers.d/websrv.conf",
                b"u websrv - \"Web\" /srv\n",
            ),
        ],
    );
    let mut spec = ContainerSpec::new("snap");
    spec.services = vec!["websrv.service".into()];
    spec.files = vec![FileSpec {
        owner: "websrv".into(),
        group: "websrv".into(),
        ..FileSpec::root("/srv/index.html", 0o640, "hi\n")
    }];
    let fs = build(
        &[("base-passwd.deb", base_passwd()), ("websrv.deb", nginxish)],
        &spec,
    )
    .unwrap();
    let archive = fs
        .write_tar_zst(
            Vec::new(),
            ArchiveOptions {
                mtime: 0,
                zstd_level: 3,
            },
        )
        .unwrap();
    insta::assert_snapshot!("small_template_listing", listing(&archive));
    insta::assert_snapshot!(
        "small_template_status",
        content(&fs, "/var/lib/dpkg/status")
    );
    insta::assert_snapshot!("small_template_passwd", content(&fs, "/etc/passwd"));
    // The hashes are of .debs built by this test: filter them out.
    let sbom = fs.sbom_json();
    let sbom: String = sbom
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("\"content\"") {
                "          \"content\": \"[sha256]\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("small_template_sbom", sbom);
}
