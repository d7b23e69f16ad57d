//! The deterministic tar.zst writer and the careful unpacker, end to end.
#![allow(clippy::disallowed_methods)] // tests build fixtures with std::fs directly

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use hlb_cache::archive::{self, ArchiveError, ArchiveOptions, ArchiveWriter, EntryMeta};
use hlb_cache::tree::hash_path;

/// The same logical tree, created in a given order with given permission
/// bits beyond x (what a umask changes) and given mtimes.
fn make_tree(root: &Path, reverse: bool, loose_perms: bool, mtime_offset: u64) {
    let mut files: Vec<(&str, &[u8], bool)> = vec![
        ("etc/hostname", b"node1\n", false),
        ("etc/motd", b"", false),
        ("usr/bin/tool", b"#!/bin/sh\necho hi\n", true),
        ("a-b", b"dash sorts before slash\n", false),
        ("a/z", b"z\n", false),
    ];
    let long = format!("deep/{}/file", "d".repeat(120));
    files.push((&long, b"long path\n", false));
    if reverse {
        files.reverse();
    }
    for (p, data, exec) in &files {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        let mode = match (exec, loose_perms) {
            (true, false) => 0o755,
            (true, true) => 0o775,
            (false, false) => 0o644,
            (false, true) => 0o664,
        };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + mtime_offset);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    std::os::unix::fs::symlink("../etc/hostname", root.join("usr/hostname-link")).unwrap();
    fs::create_dir_all(root.join("var/empty")).unwrap();
    if loose_perms {
        fs::set_permissions(root.join("var/empty"), fs::Permissions::from_mode(0o775)).unwrap();
    }
}

fn archive_of(root: &Path) -> Vec<u8> {
    archive::write_tree(root, Vec::new(), ArchiveOptions::default()).unwrap()
}

#[test]
fn same_tree_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    make_tree(&a, false, false, 0);
    make_tree(&b, true, true, 86_400);
    let (x, y) = (archive_of(&a), archive_of(&b));
    assert_eq!(x, y, "archives of the same tree differ");
    // The long path went through a pax header that carries no times.
    let tar = zstd::decode_all(&x[..]).unwrap();
    let text = String::from_utf8_lossy(&tar);
    assert!(text.contains(" path=deep/"), "no pax path record");
    assert!(!text.contains("time="), "a pax header carries a time");
    // And the bytes depend on the content.
    fs::write(a.join("etc/motd"), b"changed").unwrap();
    assert_ne!(archive_of(&a), x);
}

#[test]
fn mtime_option_is_the_only_time_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), false, false, 0);
    let zero = archive_of(dir.path());
    let opts = ArchiveOptions {
        mtime: 1_234_567_890,
        ..ArchiveOptions::default()
    };
    let fixed = archive::write_tree(dir.path(), Vec::new(), opts).unwrap();
    assert_ne!(zero, fixed);
    let again = archive::write_tree(dir.path(), Vec::new(), opts).unwrap();
    assert_eq!(fixed, again);
}

fn gnu_tar_list(bytes: &[u8], dir: &Path) -> String {
    let path = dir.join("t.tar.zst");
    fs::write(&path, bytes).unwrap();
    let out = Command::new("tar")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .args(["--zstd", "-tvf"])
        .arg(&path)
        .output()
        .expect("GNU tar is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn gnu_tar_lists_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    make_tree(&src, true, true, 5);
    let listing = gnu_tar_list(&archive_of(&src), dir.path());
    insta::assert_snapshot!(listing);
}

#[test]
fn writer_entries_as_gnu_tar_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::new(
        Vec::new(),
        ArchiveOptions {
            mtime: 86_400,
            zstd_level: 3,
        },
    )
    .unwrap();
    let root = EntryMeta {
        mode: 0o755,
        uid: 0,
        gid: 0,
    };
    let user = EntryMeta {
        mode: 0o640,
        uid: 1000,
        gid: 100,
    };
    w.add_dir(".", &root).unwrap();
    w.add_dir("./home", &root).unwrap();
    w.add_dir(
        "./home/u",
        &EntryMeta {
            mode: 0o700,
            ..user
        },
    )
    .unwrap();
    w.add_symlink(
        "./home/u/link",
        &EntryMeta {
            mode: 0o777,
            ..user
        },
        "notes",
    )
    .unwrap();
    w.add_file("./home/u/notes", &user, b"hello\n").unwrap();
    w.add_hardlink("./home/u/notes2", &user, "./home/u/notes")
        .unwrap();
    w.add_file_from("./home/u/sized", &user, 3, &b"abc"[..])
        .unwrap();
    let big = EntryMeta {
        mode: 0o4755,
        uid: 3_000_000,
        gid: 3_000_001,
    };
    w.add_file("./usr", &big, b"x").unwrap();
    let listing = gnu_tar_list(&w.finish().unwrap(), dir.path());
    insta::assert_snapshot!(listing);
}

#[test]
fn unpack_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    make_tree(&src, false, false, 0);
    let dest = dir.path().join("dest");
    archive::unpack(&archive_of(&src)[..], &dest).unwrap();
    assert_eq!(hash_path(&src).unwrap(), hash_path(&dest).unwrap());
    let mode = fs::metadata(dest.join("usr/bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

#[test]
fn write_tree_under_prefixes_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("templates")).unwrap();
    fs::write(src.join("Chart.yaml"), b"name: demo\n").unwrap();
    fs::write(src.join("templates/cm.yaml"), b"kind: ConfigMap\n").unwrap();
    let bytes =
        archive::write_tree_under(&src, "demo", Vec::new(), ArchiveOptions::default()).unwrap();
    let listing = gnu_tar_list(&bytes, dir.path());
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "demo/",
            "demo/Chart.yaml",
            "demo/templates/",
            "demo/templates/cm.yaml"
        ]
    );
}

/// A tar.zst built with raw headers, to say things our writer refuses to.
fn raw_archive(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, link, data) in entries {
        let mut h = tar::Header::new_ustar();
        let bytes = h.as_mut_bytes();
        bytes[..path.len()].copy_from_slice(path.as_bytes());
        bytes[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    zstd::encode_all(&b.into_inner().unwrap()[..], 3).unwrap()
}

fn refused(bytes: &[u8]) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let err = archive::unpack(bytes, &dest).unwrap_err();
    assert!(matches!(err, ArchiveError::Unsafe { .. }), "{err}");
    (err.to_string(), dir)
}

#[test]
fn unpack_refuses_absolute_paths() {
    let (msg, _d) = refused(&raw_archive(&[(
        "/tmp/hlb-evil",
        tar::EntryType::Regular,
        "",
        b"x",
    )]));
    assert!(msg.contains("absolute"), "{msg}");
}

#[test]
fn unpack_refuses_parent_components() {
    let (msg, d) = refused(&raw_archive(&[(
        "a/../../evil",
        tar::EntryType::Regular,
        "",
        b"x",
    )]));
    assert!(msg.contains(".."), "{msg}");
    assert!(!d.path().join("evil").exists());
}

#[test]
fn unpack_refuses_writing_through_a_symlink() {
    let (msg, d) = refused(&raw_archive(&[
        ("sub", tar::EntryType::Directory, "", b""),
        ("sub/in", tar::EntryType::Symlink, ".", b""),
        ("sub/in/x", tar::EntryType::Regular, "", b"x"),
    ]));
    assert!(msg.contains("symlink"), "{msg}");
    assert!(!d.path().join("dest/sub/x").exists());
}

#[test]
fn unpack_refuses_escaping_symlinks() {
    let (msg, _d) = refused(&raw_archive(&[(
        "esc",
        tar::EntryType::Symlink,
        "../outside",
        b"",
    )]));
    assert!(msg.contains("escapes"), "{msg}");
    let (msg, _d) = refused(&raw_archive(&[(
        "abs",
        tar::EntryType::Symlink,
        "/etc/passwd",
        b"",
    )]));
    assert!(msg.contains("absolute"), "{msg}");
    // Climbing inside the destination is fine.
    let dir = tempfile::tempdir().unwrap();
    let ok = raw_archive(&[
        ("a", tar::EntryType::Directory, "", b""),
        ("a/up", tar::EntryType::Symlink, "../b", b""),
    ]);
    archive::unpack(&ok[..], dir.path()).unwrap();
    assert_eq!(
        fs::read_link(dir.path().join("a/up")).unwrap(),
        Path::new("../b")
    );
}

#[test]
fn unpack_refuses_hard_links_outside() {
    let (msg, _d) = refused(&raw_archive(&[(
        "h",
        tar::EntryType::Link,
        "../../etc/passwd",
        b"",
    )]));
    assert!(msg.contains(".."), "{msg}");
    let (msg, _d) = refused(&raw_archive(&[("h", tar::EntryType::Link, "missing", b"")]));
    assert!(msg.contains("hard link"), "{msg}");
}

#[test]
fn unpack_replaces_a_planted_symlink_instead_of_following_it() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::write(&outside, b"keep").unwrap();
    let dest = dir.path().join("dest");
    // The symlink's target escapes, so this is refused up front; write the
    // link ourselves to check the file entry does not follow it.
    fs::create_dir_all(&dest).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("f")).unwrap();
    archive::unpack(
        &raw_archive(&[("f", tar::EntryType::Regular, "", b"new")])[..],
        &dest,
    )
    .unwrap();
    assert_eq!(fs::read(&outside).unwrap(), b"keep");
    assert_eq!(fs::read(dest.join("f")).unwrap(), b"new");
    assert!(
        !fs::symlink_metadata(dest.join("f"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn source_date_epoch_is_validated() {
    // Only this test touches SOURCE_DATE_EPOCH in this binary.
    // SAFETY: no other thread of this test binary reads or writes it.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "1700000000") };
    assert_eq!(ArchiveOptions::from_env().unwrap().mtime, 1_700_000_000);
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "yesterday") };
    assert!(ArchiveOptions::from_env().is_err());
    unsafe { std::env::remove_var("SOURCE_DATE_EPOCH") };
    assert_eq!(
        ArchiveOptions::from_env().unwrap(),
        ArchiveOptions::default()
    );
}
