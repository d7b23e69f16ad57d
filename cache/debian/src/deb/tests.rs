//! `.deb` reading on packages built in the test.

use std::io::{Read, Write};

use super::*;

/// A tar entry to write: (path as raw bytes, kind, content or link target).
type Spec<'a> = (&'a str, tar::EntryType, &'a [u8]);

/// Writes a tar with raw names, bypassing the tar crate's own path checks
/// so unsafe archives can be produced.
fn tar_of(entries: &[Spec]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        let name = path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(*kind);
        h.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o4755
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").unwrap();
        h.set_groupname("root").unwrap();
        h.set_mtime(1_700_000_000);
        let content: &[u8] = match kind {
            tar::EntryType::Regular => data,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                h.as_old_mut().linkname[..data.len()].copy_from_slice(data);
                &[]
            }
            _ => &[],
        };
        h.set_size(content.len() as u64);
        h.set_cksum();
        b.append(&h, content).unwrap();
    }
    b.into_inner().unwrap()
}

fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::stream::encode_all(data, 3).unwrap(),
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }
}

fn ext(c: Compression) -> &'static str {
    match c {
        Compression::None => "",
        Compression::Gzip => ".gz",
        Compression::Xz => ".xz",
        Compression::Zstd => ".zst",
        Compression::Bzip2 => ".bz2",
    }
}

const CONTROL: &[u8] = b"Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: greeting\n a test package\n";

fn control_tar() -> Vec<u8> {
    tar_of(&[
        ("./", tar::EntryType::Directory, b""),
        ("./control", tar::EntryType::Regular, CONTROL),
        (
            "./postinst",
            tar::EntryType::Regular,
            b"#!/bin/sh\nexit 0\n",
        ),
        (
            "./conffiles",
            tar::EntryType::Regular,
            b"/etc/hello.conf\nremove-on-upgrade /etc/old.conf\n",
        ),
        (
            "./md5sums",
            tar::EntryType::Regular,
            b"abc  usr/bin/hello\n",
        ),
    ])
}

fn deb(control: Compression, data: Compression, data_entries: &[Spec]) -> Vec<u8> {
    let mut out = ar::MAGIC.to_vec();
    ar::write_member(&mut out, "debian-binary", b"2.0\n");
    ar::write_member(
        &mut out,
        &format!("control.tar{}", ext(control)),
        &compress(&control_tar(), control),
    );
    ar::write_member(&mut out, "_gpgbuilder", b"ignored");
    ar::write_member(
        &mut out,
        &format!("data.tar{}", ext(data)),
        &compress(&tar_of(data_entries), data),
    );
    out
}

const DATA: &[Spec] = &[
    ("./", tar::EntryType::Directory, b""),
    ("./usr/", tar::EntryType::Directory, b""),
    ("./usr/bin/", tar::EntryType::Directory, b""),
    (
        "./usr/bin/hello",
        tar::EntryType::Regular,
        b"#!/bin/sh\necho hi\n",
    ),
    ("./usr/bin/hi", tar::EntryType::Symlink, b"hello"),
    ("./usr/bin/hey", tar::EntryType::Link, b"./usr/bin/hello"),
    (
        "./usr/lib/abs",
        tar::EntryType::Symlink,
        b"/etc/../usr/bin/hello",
    ),
];

#[test]
fn reads_control_and_data_for_every_compression() {
    for (c, d) in [
        (Compression::Gzip, Compression::Xz),
        (Compression::Xz, Compression::Zstd),
        (Compression::Zstd, Compression::Gzip),
        (Compression::None, Compression::Bzip2),
        (Compression::Gzip, Compression::None),
    ] {
        let bytes = deb(c, d, DATA);
        let reader = DebReader::new(&bytes[..], "hello.deb").unwrap();
        let info = reader.control();
        assert_eq!(info.control.get("Package"), Some("hello"));
        assert_eq!(
            info.control.get("Description"),
            Some("greeting\na test package")
        );
        assert_eq!(info.scripts.keys().collect::<Vec<_>>(), ["postinst"]);
        assert_eq!(info.scripts["postinst"], b"#!/bin/sh\nexit 0\n");
        assert_eq!(
            info.conffiles,
            [
                Conffile {
                    path: "/etc/hello.conf".into(),
                    flags: vec![]
                },
                Conffile {
                    path: "/etc/old.conf".into(),
                    flags: vec!["remove-on-upgrade".into()]
                },
            ]
        );
        assert_eq!(info.other.keys().collect::<Vec<_>>(), ["md5sums"]);
        assert_eq!(reader.data_member(), format!("data.tar{}", ext(d)));

        let mut data = reader.into_data().unwrap();
        let mut seen = Vec::new();
        for entry in data.entries().unwrap() {
            let mut e = entry.unwrap();
            let mut content = String::new();
            e.read_to_string(&mut content).unwrap();
            seen.push((
                e.path.display().to_string(),
                e.kind,
                format!("{:o}", e.mode),
                e.size,
                e.link_target.as_ref().map(|t| t.display().to_string()),
                content,
                e.user.clone(),
                e.mtime,
            ));
        }
        let root = Some("root".to_owned());
        assert_eq!(
            seen,
            [
                (
                    "".into(),
                    EntryKind::Directory,
                    "755".into(),
                    0,
                    None,
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr".into(),
                    EntryKind::Directory,
                    "755".into(),
                    0,
                    None,
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr/bin".into(),
                    EntryKind::Directory,
                    "755".into(),
                    0,
                    None,
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr/bin/hello".into(),
                    EntryKind::File,
                    "4755".into(),
                    18,
                    None,
                    "#!/bin/sh\necho hi\n".into(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr/bin/hi".into(),
                    EntryKind::Symlink,
                    "4755".into(),
                    0,
                    Some("hello".into()),
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr/bin/hey".into(),
                    EntryKind::HardLink,
                    "4755".into(),
                    0,
                    Some("usr/bin/hello".into()),
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
                (
                    "usr/lib/abs".into(),
                    EntryKind::Symlink,
                    "4755".into(),
                    0,
                    Some("/etc/../usr/bin/hello".into()),
                    String::new(),
                    root.clone(),
                    1_700_000_000
                ),
            ],
            "{c:?}/{d:?}"
        );
    }
}

fn first_error(entries: &[Spec]) -> DebError {
    let bytes = deb(Compression::Gzip, Compression::Gzip, entries);
    let mut data = DebReader::new(&bytes[..], "evil.deb")
        .unwrap()
        .into_data()
        .unwrap();
    for entry in data.entries().unwrap() {
        if let Err(e) = entry {
            return e;
        }
    }
    panic!("no error for {entries:?}");
}

#[test]
fn refuses_path_traversal() {
    let e = first_error(&[("./../etc/passwd", tar::EntryType::Regular, b"x")]);
    assert_eq!(
        e.to_string(),
        "evil.deb: data.tar.gz: unsafe path \"./../etc/passwd\": contains a `..` component"
    );
    let e = first_error(&[("/etc/passwd", tar::EntryType::Regular, b"x")]);
    assert!(
        matches!(
            e,
            DebError::UnsafePath {
                reason: "is absolute",
                ..
            }
        ),
        "{e}"
    );
    let e = first_error(&[("./a/../../b", tar::EntryType::Directory, b"")]);
    assert!(matches!(e, DebError::UnsafePath { .. }), "{e}");
    let e = first_error(&[("./x", tar::EntryType::Link, b"../../etc/shadow")]);
    assert!(
        matches!(
            e,
            DebError::UnsafePath {
                reason: "contains a `..` component",
                ..
            }
        ),
        "{e}"
    );
    let e = first_error(&[("./x", tar::EntryType::Link, b"/etc/shadow")]);
    assert!(
        matches!(
            e,
            DebError::UnsafePath {
                reason: "is absolute",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn refuses_bad_layouts() {
    let err = |bytes: Vec<u8>| DebReader::new(&bytes[..], "x.deb").unwrap_err().to_string();
    assert_eq!(
        err(b"garbage".to_vec()),
        "x.deb: not an ar archive (bad magic)"
    );

    let mut only_data = ar::MAGIC.to_vec();
    ar::write_member(&mut only_data, "debian-binary", b"2.0\n");
    ar::write_member(&mut only_data, "data.tar", &tar_of(DATA));
    assert_eq!(err(only_data), "x.deb: data member before control member");

    let mut wrong_first = ar::MAGIC.to_vec();
    ar::write_member(&mut wrong_first, "control.tar", &control_tar());
    assert_eq!(
        err(wrong_first),
        "x.deb: first member is \"control.tar\", not debian-binary"
    );

    let mut v3 = ar::MAGIC.to_vec();
    ar::write_member(&mut v3, "debian-binary", b"3.0\n");
    assert_eq!(err(v3), "x.deb: unsupported format version \"3.0\"");

    let mut no_data = ar::MAGIC.to_vec();
    ar::write_member(&mut no_data, "debian-binary", b"2.0\n");
    ar::write_member(&mut no_data, "control.tar", &control_tar());
    assert_eq!(err(no_data), "x.deb: no data.tar member");

    let mut lzma = ar::MAGIC.to_vec();
    ar::write_member(&mut lzma, "debian-binary", b"2.0\n");
    ar::write_member(&mut lzma, "control.tar.lzma", b"");
    assert_eq!(err(lzma), "x.deb: unexpected member \"control.tar.lzma\"");

    let mut no_control_file = ar::MAGIC.to_vec();
    ar::write_member(&mut no_control_file, "debian-binary", b"2.0\n");
    ar::write_member(
        &mut no_control_file,
        "control.tar",
        &tar_of(&[("./postinst", tar::EntryType::Regular, b"")]),
    );
    assert_eq!(
        err(no_control_file),
        "x.deb: control.tar has no control file"
    );
}
