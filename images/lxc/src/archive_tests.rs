//! Downloads (`archives`) and activation files on synthetic tarballs and
//! `.deb`s built here: every format, strip and include, owners and modes,
//! links, refused members, collisions, the SBOM, the tmpfiles drop-in.

use std::io::Write;

use hlb_cache::archive::ArchiveOptions;

use crate::assemble_tests::{Item, base_passwd, build, content, deb, located};
use crate::spec::{ActivationFileSpec, ArchiveSpec, ContainerSpec, FileSpec, UserSpec};
use crate::tree::NodeKind;
use crate::{AssembleError, Rootfs};

/// A tar member, written with the ids of some release machine (1001).
enum M<'a> {
    Dir(&'a str, u32),
    File(&'a str, u32, &'a [u8]),
    Symlink(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Char(&'a str),
    Fifo(&'a str),
}

/// A GNU tar of `members`, names written byte for byte (so `..` and
/// absolute names can be made), each with mtime `mtime`.
fn tar_with(members: &[M<'_>], mtime: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_uid(1001);
        h.set_gid(1001);
        h.set_mtime(mtime);
        h.set_size(0);
        let (name, link, data): (&str, Option<&str>, &[u8]) = match m {
            M::Dir(n, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                (n, None, &[])
            }
            M::File(n, mode, body) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(body.len() as u64);
                (n, None, body)
            }
            M::Symlink(n, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                (n, Some(t), &[])
            }
            M::Hard(n, t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o644);
                (n, Some(t), &[])
            }
            M::Char(n) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o600);
                (n, None, &[])
            }
            M::Fifo(n) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o600);
                (n, None, &[])
            }
        };
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(t) = link {
            gnu.linkname[..t.len()].copy_from_slice(t.as_bytes());
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn tar_of(members: &[M<'_>]) -> Vec<u8> {
    tar_with(members, 1_600_000_000)
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn xz(b: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zst(b: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(b, 3).unwrap()
}

fn bz2(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A release as upstream projects ship them: a top directory, a binary,
/// a licence, docs, a symlink and a hard link.
fn release() -> Vec<u8> {
    tar_of(&[
        M::Dir("rel-1.0/", 0o755),
        M::Dir("rel-1.0/bin/", 0o2775),
        M::File("rel-1.0/bin/tool", 0o4755, b"#!/bin/sh\necho tool\n"),
        M::Symlink("rel-1.0/bin/t", "tool"),
        M::Hard("rel-1.0/bin/tool-copy", "rel-1.0/bin/tool"),
        M::File("rel-1.0/LICENSE", 0o644, b"MIT\n"),
        M::File("rel-1.0/share/doc/README", 0o600, b"read me\n"),
    ])
}

fn spec_with(archives: Vec<ArchiveSpec>) -> ContainerSpec {
    let mut spec = ContainerSpec::new("t");
    spec.users = vec![UserSpec::system("svc")];
    spec.archives = archives;
    spec
}

fn assemble(spec: &ContainerSpec) -> Result<Rootfs, AssembleError> {
    build(&[("base-passwd.deb", base_passwd())], spec)
}

/// `kind mode uid:gid path[ -> target]` of every path under `dir`.
fn under(fs: &Rootfs, dir: &str) -> Vec<String> {
    fs.paths()
        .filter(|p| p == dir || p.starts_with(&format!("{dir}/")))
        .map(|p| {
            let n = fs.node(&p).unwrap();
            let (kind, extra) = match &n.kind {
                NodeKind::Dir => ('d', String::new()),
                NodeKind::File(b) => ('-', format!(" ({} bytes)", b.len())),
                NodeKind::Symlink(t) => ('l', format!(" -> {t}")),
            };
            format!("{kind} {:04o} {}:{} {p}{extra}", n.mode, n.uid, n.gid)
        })
        .collect()
}

#[test]
fn every_format_unpacks_to_the_same_tree() {
    let tar = release();
    let mut trees = Vec::new();
    for (format, bytes) in [
        ("tar", tar.clone()),
        ("gzip", gz(&tar)),
        ("xz", xz(&tar)),
        ("zstd", zst(&tar)),
        ("bzip2", bz2(&tar)),
    ] {
        let fs = assemble(&spec_with(vec![ArchiveSpec::new("rel", bytes, "/opt/rel")]))
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        trees.push((format, under(&fs, "/opt/rel")));
    }
    for (format, tree) in &trees[1..] {
        assert_eq!(tree, &trees[0].1, "{format} differs from tar");
    }
    // Anything else is refused, saying what is taken.
    let (at, e) = located(
        assemble(&spec_with(vec![ArchiveSpec::new(
            "rel",
            b"PK\x03\x04 a zip".to_vec(),
            "/opt/rel",
        )]))
        .unwrap_err(),
    );
    assert_eq!(at, "archives[0]");
    assert_eq!(
        e,
        "archive rel: not a tar archive, plain (ustar or GNU) or compressed with gzip, xz, zstd \
         or bzip2 (told apart by their first bytes)"
    );
    let (at, e) = located(
        assemble(&spec_with(vec![ArchiveSpec::new(
            "rel",
            gz(b"just text, no tar"),
            "/opt/rel",
        )]))
        .unwrap_err(),
    );
    assert_eq!(at, "archives[0]");
    assert_eq!(
        e,
        "archive rel: its gzip stream holds no tar archive (ustar or GNU)"
    );
    let mut truncated = gz(&tar);
    truncated.truncate(truncated.len() / 2);
    let (at, e) = located(
        assemble(&spec_with(vec![ArchiveSpec::new(
            "rel", truncated, "/opt/rel",
        )]))
        .unwrap_err(),
    );
    assert_eq!(at, "archives[0]");
    assert!(e.starts_with("archive rel: reading: "), "{e}");
}

#[test]
fn owners_modes_and_links() {
    let fs = assemble(&spec_with(vec![ArchiveSpec {
        owner: "svc".into(),
        group: "svc".into(),
        ..ArchiveSpec::new("rel", gz(&release()), "/opt/rel")
    }]))
    .unwrap();
    let svc = fs.accounts().user("svc").unwrap();
    let ids = format!("{}:{}", svc.uid, svc.gid);
    // `to` is made 0755 root; everything unpacked is svc's, whatever the
    // tar says (1001); no setuid, setgid or sticky bit survives; the
    // symlink is kept as written; the hard link is a copy.
    assert_eq!(
        under(&fs, "/opt/rel"),
        [
            "d 0755 0:0 /opt/rel".to_owned(),
            format!("d 0755 {ids} /opt/rel/rel-1.0"),
            format!("- 0644 {ids} /opt/rel/rel-1.0/LICENSE (4 bytes)"),
            format!("d 0775 {ids} /opt/rel/rel-1.0/bin"),
            format!("l 0777 {ids} /opt/rel/rel-1.0/bin/t -> tool"),
            format!("- 0755 {ids} /opt/rel/rel-1.0/bin/tool (20 bytes)"),
            format!("- 0755 {ids} /opt/rel/rel-1.0/bin/tool-copy (20 bytes)"),
            format!("d 0755 {ids} /opt/rel/rel-1.0/share"),
            format!("d 0755 {ids} /opt/rel/rel-1.0/share/doc"),
            format!("- 0600 {ids} /opt/rel/rel-1.0/share/doc/README (8 bytes)"),
        ]
    );
    assert_eq!(
        content(&fs, "/opt/rel/rel-1.0/bin/tool-copy"),
        "#!/bin/sh\necho tool\n"
    );
    // Absolute member names are made relative, as GNU tar does; `to`
    // through the merged-/usr link lands in /usr.
    let abs = tar_of(&[M::File("/abs/file", 0o644, b"x")]);
    let fs = assemble(&spec_with(vec![ArchiveSpec::new("abs", abs, "/lib/abs")])).unwrap();
    assert_eq!(content(&fs, "/usr/lib/abs/abs/file"), "x");
    // The dpkg database knows nothing of downloads.
    let list = content(&fs, "/var/lib/dpkg/info/base-passwd.list");
    assert!(!list.contains("abs"), "{list}");
}

#[test]
fn strip_components_and_include() {
    let spec = |strip, include: &[&str]| {
        spec_with(vec![ArchiveSpec {
            strip_components: strip,
            include: Some(include.iter().map(|s| s.to_string()).collect()),
            ..ArchiveSpec::new("rel", release(), "/usr/local")
        }])
    };
    let fs = assemble(&spec(1, &["bin/tool", "share/doc/"])).unwrap();
    assert_eq!(
        under(&fs, "/usr/local"),
        [
            "d 0755 0:0 /usr/local",
            "d 0755 0:0 /usr/local/bin",
            "- 0755 0:0 /usr/local/bin/tool (20 bytes)",
            "d 0755 0:0 /usr/local/share",
            "d 0755 0:0 /usr/local/share/doc",
            "- 0600 0:0 /usr/local/share/doc/README (8 bytes)",
        ]
    );
    // A directory brings what is under it; a hard link whose target is
    // not included is still a copy of it.
    let fs = assemble(&spec(1, &["bin"])).unwrap();
    assert_eq!(
        under(&fs, "/usr/local/bin"),
        [
            "d 0775 0:0 /usr/local/bin",
            "l 0777 0:0 /usr/local/bin/t -> tool",
            "- 0755 0:0 /usr/local/bin/tool (20 bytes)",
            "- 0755 0:0 /usr/local/bin/tool-copy (20 bytes)",
        ]
    );
    let fs = assemble(&spec(2, &["tool-copy"])).unwrap();
    assert_eq!(
        under(&fs, "/usr/local"),
        [
            "d 0755 0:0 /usr/local",
            "- 0755 0:0 /usr/local/tool-copy (20 bytes)",
        ]
    );
    // Without include, members with too few components are skipped.
    let fs = assemble(&spec_with(vec![ArchiveSpec {
        strip_components: 2,
        ..ArchiveSpec::new("rel", release(), "/opt/rel")
    }]))
    .unwrap();
    assert_eq!(
        fs.paths()
            .filter(|p| p.starts_with("/opt/rel/"))
            .collect::<Vec<_>>(),
        [
            "/opt/rel/doc",
            "/opt/rel/doc/README",
            "/opt/rel/t",
            "/opt/rel/tool",
            "/opt/rel/tool-copy"
        ]
    );
    // An include that matches nothing (after stripping) is an error at
    // that include, and so is one that is not a path in the archive.
    for (include, at, wanted) in [
        (
            &["bin", "rel-1.0/LICENSE"][..],
            "archives[0].include[1]",
            "archive rel: include \"rel-1.0/LICENSE\" matches no member (after stripping 1 leading component)",
        ),
        (
            &["bin", "../etc"][..],
            "archives[0].include[1]",
            "archive rel: include \"../etc\" has a `..` component",
        ),
        (
            &["."][..],
            "archives[0].include[0]",
            "archive rel: include \".\" names the whole archive",
        ),
        (&[][..], "archives[0].include[0]", "list is empty"),
    ] {
        let (got, e) = located(assemble(&spec(1, include)).unwrap_err());
        assert_eq!(got, at, "{e}");
        assert!(e.starts_with(wanted) || e.contains(wanted), "{e}");
    }
}

#[test]
fn unsafe_members_are_refused() {
    for (members, wanted) in [
        (
            vec![M::File("rel/../../etc/passwd", 0o644, b"x")],
            "archive rel: member rel/../../etc/passwd: has a `..` component",
        ),
        (
            vec![M::Dir("rel/", 0o755), M::Char("rel/console")],
            "archive rel: member rel/console: is a device node",
        ),
        (
            vec![M::Fifo("rel/pipe")],
            "archive rel: member rel/pipe: is a FIFO",
        ),
        (
            vec![
                M::Symlink("rel/etc", "/etc"),
                M::File("rel/etc/shadow", 0o644, b"x"),
            ],
            "archive rel: member rel/etc/shadow: would land on /etc/shadow through a symlink, \
             outside /opt/rel",
        ),
        (
            vec![M::Hard("rel/a", "rel/missing")],
            "archive rel: member rel/a: hard link to no earlier regular file of the archive",
        ),
        (
            vec![
                M::File("rel/x", 0o644, b"x"),
                M::File("rel/x/y", 0o644, b"y"),
            ],
            "archive rel: member rel/x/y: a parent is not a directory",
        ),
    ] {
        let (at, e) = located(
            assemble(&spec_with(vec![ArchiveSpec::new(
                "rel",
                tar_of(&members),
                "/opt/rel",
            )]))
            .unwrap_err(),
        );
        assert_eq!(at, "archives[0]", "{e}");
        assert!(e.starts_with(wanted), "{e}\nwanted: {wanted}");
    }
    // A device or FIFO that is not unpacked does not matter.
    let fs = assemble(&spec_with(vec![ArchiveSpec {
        include: Some(vec!["rel/bin".into()]),
        ..ArchiveSpec::new(
            "rel",
            tar_of(&[M::Fifo("rel/pipe"), M::File("rel/bin", 0o755, b"b")]),
            "/opt/rel",
        )
    }]))
    .unwrap();
    assert_eq!(content(&fs, "/opt/rel/rel/bin"), "b");
    // Bad destinations are errors at `to`.
    for (to, wanted) in [
        ("opt/rel", "archive rel: to opt/rel: not an absolute path"),
        ("/", "archive rel: to /: is the root directory"),
        (
            "/opt/../..",
            "archive rel: to /opt/../..: has a `..` component",
        ),
        (
            "/etc/passwd",
            "archive rel: to /etc/passwd: is not a directory",
        ),
    ] {
        let (at, e) = located(
            assemble(&spec_with(vec![ArchiveSpec::new("rel", release(), to)])).unwrap_err(),
        );
        assert_eq!((at.as_str(), e.as_str()), ("archives[0].to", wanted));
    }
}

#[test]
fn collisions_with_packages_and_other_archives() {
    let pkg = deb(
        "toolpkg",
        "",
        &[
            Item::Dir("usr"),
            Item::Dir("usr/local"),
            Item::Dir("usr/local/bin"),
            Item::File("usr/local/bin/tool", b"packaged\n"),
            Item::File("usr/local/bin/same", b"same\n"),
        ],
    );
    let debs = |archives| {
        build(
            &[
                ("base-passwd.deb", base_passwd()),
                ("toolpkg.deb", pkg.clone()),
            ],
            &spec_with(archives),
        )
    };
    let (at, e) = located(
        debs(vec![ArchiveSpec::new(
            "rel",
            tar_of(&[M::Dir("bin", 0o755), M::File("bin/tool", 0o755, b"other\n")]),
            "/usr/local",
        )])
        .unwrap_err(),
    );
    assert_eq!(at, "archives[0]");
    assert_eq!(
        e,
        "archive rel: member bin/tool lands on /usr/local/bin/tool, which package toolpkg ships"
    );
    // Identical content and directory over directory are fine; the
    // package's entries stay as they were.
    let fs = debs(vec![ArchiveSpec {
        owner: "svc".into(),
        ..ArchiveSpec::new(
            "rel",
            tar_of(&[
                M::Dir("bin", 0o700),
                M::File("bin/same", 0o755, b"same\n"),
                M::File("bin/new", 0o755, b"new\n"),
            ]),
            "/usr/local",
        )
    }])
    .unwrap();
    let bin = fs.node("/usr/local/bin").unwrap();
    assert_eq!((bin.mode, bin.uid), (0o755, 0));
    let same = fs.node("/usr/local/bin/same").unwrap();
    assert_eq!((same.mode, same.uid), (0o644, 0));
    assert_eq!(content(&fs, "/usr/local/bin/new"), "new\n");
    // Two archives: the second is at fault, and names the first.
    let (at, e) = located(
        debs(vec![
            ArchiveSpec::new("one", tar_of(&[M::File("x", 0o644, b"1")]), "/opt/a"),
            ArchiveSpec::new("two", tar_of(&[M::File("a/x", 0o644, b"2")]), "/opt"),
        ])
        .unwrap_err(),
    );
    assert_eq!(at, "archives[1]");
    assert_eq!(
        e,
        "archive two: member a/x lands on /opt/a/x, which archive one unpacks (member x)"
    );
    // What hlb generated is not an archive's either.
    let (at, e) = located(
        debs(vec![ArchiveSpec::new(
            "rel",
            tar_of(&[M::File("passwd", 0o644, b"evil::0:0\n")]),
            "/etc",
        )])
        .unwrap_err(),
    );
    assert_eq!(
        (at.as_str(), e.as_str()),
        (
            "archives[0]",
            "archive rel: member passwd lands on /etc/passwd, which hlb generates"
        )
    );
    // Nor what hlb writes after the downloads (hostname, hosts, network).
    let (at, e) = located(
        debs(vec![ArchiveSpec::new(
            "rel",
            tar_of(&[M::File("hostname", 0o644, b"evil\n")]),
            "/etc",
        )])
        .unwrap_err(),
    );
    assert_eq!(
        (at.as_str(), e.as_str()),
        (
            "archives[0]",
            "archive rel: member hostname lands on /etc/hostname, which hlb generates"
        )
    );
    let (at, e) =
        located(debs(vec![ArchiveSpec::new("rel", release(), "/etc/hostname")]).unwrap_err());
    assert_eq!(
        (at.as_str(), e.as_str()),
        (
            "archives[0].to",
            "archive rel: to /etc/hostname: is not a directory"
        )
    );
    // Within one archive the later member wins, as tar extracts it.
    let fs = debs(vec![ArchiveSpec::new(
        "rel",
        tar_of(&[
            M::File("x", 0o644, b"first"),
            M::File("x", 0o600, b"second"),
        ]),
        "/opt/rel",
    )])
    .unwrap();
    assert_eq!(content(&fs, "/opt/rel/x"), "second");
}

#[test]
fn a_declared_file_replaces_an_unpacked_one() {
    let mut spec = spec_with(vec![ArchiveSpec {
        strip_components: 1,
        ..ArchiveSpec::new("rel", release(), "/opt/rel")
    }]);
    spec.files = vec![FileSpec::root("/opt/rel/LICENSE", 0o640, "ours\n")];
    let fs = assemble(&spec).unwrap();
    assert_eq!(content(&fs, "/opt/rel/LICENSE"), "ours\n");
    assert_eq!(fs.node("/opt/rel/LICENSE").unwrap().mode, 0o640);
    // A declared file cannot replace an unpacked directory.
    spec.files = vec![FileSpec::root("/opt/rel/bin", 0o644, "x")];
    let (at, e) = located(assemble(&spec).unwrap_err());
    assert_eq!(at, "files[0]");
    assert!(e.contains("is a directory"), "{e}");
}

#[test]
fn unknown_archive_owners_are_errors_at_the_field() {
    for (owner, group, at, wanted) in [
        (
            "nobody-here",
            "root",
            "archives[1].owner",
            "archive b: unknown user nobody-here",
        ),
        (
            "root",
            "nogroup-here",
            "archives[1].group",
            "archive b: unknown group nogroup-here",
        ),
    ] {
        let spec = spec_with(vec![
            ArchiveSpec::new("a", release(), "/opt/a"),
            ArchiveSpec {
                owner: owner.into(),
                group: group.into(),
                ..ArchiveSpec::new("b", release(), "/opt/b")
            },
        ]);
        let (got, e) = located(assemble(&spec).unwrap_err());
        assert_eq!((got.as_str(), e.as_str()), (at, wanted));
    }
}

#[test]
fn the_sbom_lists_each_download_once_with_its_hash() {
    let one = gz(&release());
    let two = tar_of(&[M::File("x", 0o644, b"x")]);
    let fs = assemble(&spec_with(vec![
        ArchiveSpec::new("zeta", two.clone(), "/opt/z"),
        ArchiveSpec {
            include: Some(vec!["rel-1.0/bin".into()]),
            ..ArchiveSpec::new("alpha", one.clone(), "/opt/a")
        },
        ArchiveSpec {
            include: Some(vec!["rel-1.0/LICENSE".into()]),
            ..ArchiveSpec::new("alpha", one.clone(), "/opt/b")
        },
    ]))
    .unwrap();
    let sbom: serde_json::Value = serde_json::from_str(&fs.sbom_json()).unwrap();
    let files: Vec<(String, String)> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "file")
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["hashes"][0]["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let sha = |b: &[u8]| hlb_debian::Sha256::of(b).to_string();
    assert_eq!(
        files,
        [
            ("alpha".to_owned(), sha(&one)),
            ("zeta".to_owned(), sha(&two))
        ]
    );
    assert_eq!(sbom["components"][0]["name"], "base-passwd");
    assert!(!fs.sbom_json().contains("timestamp"));
}

#[test]
fn downloads_give_the_same_bytes_whatever_their_member_order_and_times() {
    let a = tar_with(
        &[
            M::File("b", 0o644, b"b"),
            M::Dir("d", 0o755),
            M::File("d/a", 0o644, b"a"),
        ],
        1,
    );
    let b = tar_with(
        &[
            M::Dir("d", 0o755),
            M::File("d/a", 0o644, b"a"),
            M::File("b", 0o644, b"b"),
        ],
        2_000_000_000,
    );
    let opts = ArchiveOptions {
        mtime: 0,
        zstd_level: 3,
    };
    let bytes = |tar: Vec<u8>| {
        assemble(&spec_with(vec![ArchiveSpec::new("rel", tar, "/opt/rel")]))
            .unwrap()
            .write_tar_zst(Vec::new(), opts)
            .unwrap()
    };
    assert_eq!(bytes(a.clone()), bytes(xz(&b)));
    assert_eq!(bytes(a.clone()), bytes(a));
}

#[test]
fn activation_files_get_their_directory_and_nothing_else() {
    let mut spec = ContainerSpec::new("t");
    spec.users = vec![UserSpec::system("svc")];
    spec.activation_files = vec![
        ActivationFileSpec {
            path: "/run/secrets/svc/token".into(),
            owner: "svc".into(),
            group: "svc".into(),
            mode: 0o400,
        },
        ActivationFileSpec {
            path: "/run/secrets/svc/key".into(),
            owner: "root".into(),
            group: "root".into(),
            mode: 0o400,
        },
    ];
    let fs = assemble(&spec).unwrap();
    assert_eq!(
        content(&fs, crate::activation::TMPFILES_PATH),
        "# Directories the deployer writes activation files (secrets) into; written by hlb.\n\
         d /run/secrets/svc 0750 svc svc -\n"
    );
    let conf = fs.node(crate::activation::TMPFILES_PATH).unwrap();
    assert_eq!((conf.mode, conf.uid), (0o644, 0));
    assert!(fs.paths().all(|p| !p.starts_with("/run/secrets")));
    // Without activation files, no drop-in.
    let fs = assemble(&ContainerSpec::new("t")).unwrap();
    assert!(fs.node(crate::activation::TMPFILES_PATH).is_none());

    let file = |path: &str, owner: &str, group: &str| ActivationFileSpec {
        path: path.into(),
        owner: owner.into(),
        group: group.into(),
        mode: 0o400,
    };
    for (files, at, wanted) in [
        (
            vec![
                file("/run/ok/a", "root", "root"),
                file("/etc/secret", "root", "root"),
            ],
            "activation_files[1].path",
            "activation file /etc/secret: is not under /run/: the deployer delivers activation \
             files to tmpfs, never to the container's disk",
        ),
        (
            vec![
                file("/run/ok/a", "root", "root"),
                file("/run/ok/b", "ghost", "root"),
            ],
            "activation_files[1].owner",
            "activation file /run/ok/b: unknown user ghost",
        ),
        (
            vec![file("/run/ok/a", "root", "ghosts")],
            "activation_files[0].group",
            "activation file /run/ok/a: unknown group ghosts",
        ),
    ] {
        let mut spec = ContainerSpec::new("t");
        spec.activation_files = files;
        let (got, e) = located(assemble(&spec).unwrap_err());
        assert_eq!((got.as_str(), e.as_str()), (at, wanted));
    }
    // A download cannot ship the drop-in.
    let mut spec = spec_with(vec![ArchiveSpec::new(
        "rel",
        tar_of(&[M::File(
            "hlb-activation.conf",
            0o644,
            b"d /etc 0777 - - -\n",
        )]),
        "/usr/lib/tmpfiles.d",
    )]);
    spec.activation_files = vec![file("/run/ok/a", "root", "root")];
    let (at, e) = located(assemble(&spec).unwrap_err());
    assert_eq!(at, "archives[0]");
    assert!(e.ends_with("which hlb generates"), "{e}");
}
