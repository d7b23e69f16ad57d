//! Every error at one declaration says which (`AssembleError::location`,
//! the `lxc-template` params path the compiler passes on as
//! `BuildError::InvalidAt`), and units written as declared files are
//! enabled like packaged ones.

use crate::assemble_tests::{Item, base_passwd, build, content, deb};
use crate::spec::{ContainerSpec, FileSpec, GroupSpec, UserSpec};
use crate::tree::NodeKind;
use crate::{AssembleError, DebInput, Rootfs, assemble};

fn located(r: Result<Rootfs, AssembleError>) -> (String, String) {
    crate::assemble_tests::located(r.expect_err("refused"))
}

fn files(list: Vec<FileSpec>) -> ContainerSpec {
    let mut spec = ContainerSpec::new("t");
    spec.files = list;
    spec
}

fn ok_file(path: &str) -> FileSpec {
    FileSpec::root(path, 0o644, "x")
}

fn base() -> Vec<(&'static str, Vec<u8>)> {
    vec![("base-passwd.deb", base_passwd())]
}

#[test]
fn declared_files_users_and_groups_are_located() {
    let owned = |owner: &str, group: &str| FileSpec {
        owner: owner.into(),
        group: group.into(),
        ..ok_file("/etc/c")
    };
    for (third, at, message) in [
        (
            ok_file("etc/relative"),
            "files[2]",
            "file etc/relative: not an absolute path",
        ),
        (
            ok_file("/usr/bin/true/x"),
            "files[2]",
            "file /usr/bin/true/x: a parent is not a directory",
        ),
        (
            ok_file("/usr/bin"),
            "files[2]",
            "file /usr/bin: is a directory in the packages or a download",
        ),
        (
            owned("ghost", "root"),
            "files[2].owner",
            "file /etc/c: unknown user ghost",
        ),
        (
            owned("root", "ghosts"),
            "files[2].group",
            "file /etc/c: unknown group ghosts",
        ),
    ] {
        let spec = files(vec![ok_file("/etc/a"), ok_file("/etc/b"), third]);
        assert_eq!(
            located(build(&base(), &spec)),
            (at.to_owned(), message.to_owned())
        );
    }

    let mut spec = ContainerSpec::new("t");
    spec.users = vec![
        UserSpec::system("fine"),
        UserSpec {
            group: Some("nope".into()),
            ..UserSpec::system("u")
        },
    ];
    assert_eq!(
        located(build(&base(), &spec)),
        (
            "users[1]".to_owned(),
            "user u: unknown group nope".to_owned()
        )
    );
    spec.users = vec![
        UserSpec::system("fine"),
        UserSpec {
            extra_groups: vec!["nope".into()],
            ..UserSpec::system("u")
        },
    ];
    assert_eq!(located(build(&base(), &spec)).0, "users[1]");
    spec.users = Vec::new();
    spec.groups = vec![GroupSpec {
        name: "g".into(),
        gid: Some(42),
    }];
    assert_eq!(
        located(build(&base(), &spec)),
        (
            "groups[0]".to_owned(),
            "group g: id 42 is already used by shadow".to_owned()
        )
    );
}

#[test]
fn services_and_masks_are_located() {
    let unit = |name: &str, text: &str| {
        FileSpec::root(&format!("/etc/systemd/system/{name}"), 0o644, text)
    };
    let mut spec = files(vec![
        unit(
            "a.service",
            "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
        ),
        unit("static.service", "[Service]\nExecStart=/bin/true\n"),
    ]);
    spec.services = vec![
        "a.service".into(),
        "a.service".into(),
        "a.service".into(),
        "missing.service".into(),
    ];
    assert_eq!(
        located(build(&base(), &spec)),
        (
            "services[3]".to_owned(),
            "cannot enable missing.service: no such unit in /etc/systemd/system or \
             /usr/lib/systemd/system"
                .to_owned()
        )
    );
    spec.services[3] = "static.service".into();
    assert_eq!(
        located(build(&base(), &spec)),
        (
            "services[3]".to_owned(),
            "cannot enable static.service: its [Install] section has no WantedBy, RequiredBy or \
             Alias"
                .to_owned()
        )
    );
    let mut spec = ContainerSpec::new("t");
    spec.masked = vec!["ok.service".into(), "a/b.service".into()];
    assert_eq!(located(build(&base(), &spec)).0, "masked[1]");
}

/// Five packages, the fifth (index 4) the one at fault.
fn five(fifth: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
    let mut debs = base();
    for name in ["a", "b", "c"] {
        debs.push(("x.deb", deb(name, "", &[Item::Dir("etc")])));
    }
    debs.push(("fifth.deb", fifth));
    debs
}

#[test]
fn packages_are_located_at_the_later_one() {
    let spec = ContainerSpec::new("t");
    let with_x = |name: &str, body: &'static [u8]| {
        deb(name, "", &[Item::Dir("etc"), Item::File("etc/x", body)])
    };
    // A conflict: at the package unpacked second.
    let mut debs = five(with_x("later", b"2"));
    debs[2] = ("b.deb", with_x("earlier", b"1"));
    assert_eq!(
        located(build(&debs, &spec)),
        (
            "packages[4]".to_owned(),
            "file conflict at /etc/x: earlier and later both ship it, with different content"
                .to_owned()
        )
    );
    // A package that cannot be unpacked.
    let (at, e) = located(build(&five(b"not a deb".to_vec()), &spec));
    assert_eq!(at, "packages[4]");
    assert!(e.starts_with("fifth.deb"), "{e}");
    // The same package twice.
    let (at, e) = located(build(&five(deb("a", "", &[])), &spec));
    assert_eq!(at, "packages[4]");
    assert_eq!(e, "package a is given twice (x.deb and fifth.deb)");
    // A .deb whose bytes are not the pinned ones.
    let debs = five(deb("e", "", &[]));
    let wrong = hlb_debian::Sha256::of(b"other").to_string();
    let hashes: Vec<String> = debs
        .iter()
        .enumerate()
        .map(|(i, (_, b))| {
            if i == 4 {
                wrong.clone()
            } else {
                hlb_debian::Sha256::of(b).to_string()
            }
        })
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
    let (at, e) = located(assemble(&inputs, &spec));
    assert_eq!(at, "packages[4]");
    assert!(e.starts_with("fifth.deb: SHA-256 is "), "{e}");
    // Not at one package: no location.
    let e = build(&[("a.deb", deb("alpha", "", &[]))], &spec).unwrap_err();
    assert_eq!(e.location(), None, "{e}");
}

#[test]
fn a_unit_written_as_a_declared_file_is_enabled() {
    let packaged = deb(
        "websrv",
        "",
        &[
            Item::Dir("usr"),
            Item::Dir("usr/lib"),
            Item::Dir("usr/lib/systemd"),
            Item::Dir("usr/lib/systemd/system"),
            Item::File(
                "usr/lib/systemd/system/websrv.service",
                b"[Service]\nExecStart=/usr/bin/websrv\n[Install]\nWantedBy=multi-user.target\n",
            ),
        ],
    );
    let mut spec = files(vec![
        FileSpec::root(
            "/etc/systemd/system/traefik.service",
            0o644,
            "[Service]\nExecStart=/usr/local/bin/traefik\n\n[Install]\nWantedBy=multi-user.target\n",
        ),
        // A drop-in for a packaged unit changes nothing of how it is
        // enabled.
        FileSpec::root(
            "/etc/systemd/system/websrv.service.d/hlb.conf",
            0o644,
            "[Service]\nUser=www-data\n",
        ),
    ]);
    spec.services = vec!["traefik.service".into(), "websrv.service".into()];
    let mut debs = base();
    debs.push(("websrv.deb", packaged));
    let fs = build(&debs, &spec).unwrap();
    let link = |p: &str| fs.node(p).map(|n| n.kind.clone());
    assert_eq!(
        link("/etc/systemd/system/multi-user.target.wants/traefik.service"),
        Some(NodeKind::Symlink(
            "/etc/systemd/system/traefik.service".into()
        ))
    );
    assert_eq!(
        link("/etc/systemd/system/multi-user.target.wants/websrv.service"),
        Some(NodeKind::Symlink(
            "/usr/lib/systemd/system/websrv.service".into()
        ))
    );
    assert_eq!(
        content(&fs, "/etc/systemd/system/websrv.service.d/hlb.conf"),
        "[Service]\nUser=www-data\n"
    );
}
