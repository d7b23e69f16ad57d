//! The `lxc-template` derivation kind with real packages: a small closure
//! resolved from the machine's apt sources (through `hlb-debian`, as the
//! lock resolver does), its .debs downloaded (cached under
//! `target/hlb-test-cache/`), laid out as a store would hold fetch outputs,
//! and built through [`Compiler::build`].

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, NoSecrets, Value};
use hlb_cache::Digest;
use hlb_debian::resolve::{Request, ResolveOptions, ResolvedPackage, resolve};
use hlb_lxc::{LxcTemplateCompiler, ROOTFS_FILE, SBOM_FILE};

/// base-passwd (users need it) and netbase, without the essential set:
/// a handful of packages, enough to exercise every param.
fn packages() -> &'static [ResolvedPackage] {
    static P: std::sync::OnceLock<Vec<ResolvedPackage>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let a = common::archive();
        let requests = [Request::name("base-passwd"), Request::name("netbase")];
        resolve(&a.universe, &requests, ResolveOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .packages
    })
}

const UNIT: &str = "[Unit]\nDescription=hello\n[Service]\nExecStart=/bin/true\nUser=app\n\
                    [Install]\nWantedBy=multi-user.target\n";

fn file(path: &str, mode: i64, owner: &str, content: (&str, &str)) -> Value {
    Value::map()
        .with("path", path)
        .with("mode", mode)
        .with("owner", owner)
        .with("group", owner)
        .with(content.0, content.1)
}

fn params(packages: &[ResolvedPackage]) -> Value {
    let pkgs = packages
        .iter()
        .map(|p| {
            Value::map()
                .with("name", p.name.as_str())
                .with("sha256", p.sha256.to_string())
        })
        .collect();
    Value::map()
        .with("hostname", "hello")
        .with("architecture", "amd64")
        .with("packages", Value::List(pkgs))
        .with(
            "groups",
            Value::List(vec![Value::map().with("name", "app")]),
        )
        .with(
            "users",
            Value::List(vec![
                Value::map()
                    .with("name", "app")
                    .with("group", "app")
                    .with("home", "/var/lib/app"),
            ]),
        )
        .with(
            "files",
            Value::List(vec![
                file("/etc/app/app.conf", 0o640, "app", ("text", "listen 80\n")),
                file(
                    "/etc/systemd/system/hello.service",
                    0o644,
                    "root",
                    ("source", "unit"),
                ),
            ]),
        )
        .with("services", Value::List(vec!["hello.service".into()]))
        .with("network", Value::Null)
        .with("source_date_epoch", 1_700_000_000i64)
        .with("zstd_level", 3i64)
}

/// A fresh directory laid out as a store: one file per fetch output.
struct Store {
    dir: tempfile::TempDir,
    inputs: BTreeMap<String, PathBuf>,
}

fn store(packages: &[ResolvedPackage]) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = BTreeMap::new();
    for deb in common::download(packages) {
        let name = deb
            .origin
            .rsplit('/')
            .next()
            .unwrap_or(&deb.origin)
            .to_owned();
        let path = dir.path().join(&name);
        std::fs::write(&path, &deb.bytes).unwrap();
        let pkg = packages.iter().find(|p| p.filename == deb.origin).unwrap();
        inputs.insert(format!("deb:{}", pkg.name), path);
    }
    Store { dir, inputs }
}

fn derivation(params: Value, inputs: &BTreeMap<String, PathBuf>) -> Derivation {
    Derivation {
        kind: hlb_builder::kinds::LXC_TEMPLATE.to_owned(),
        name: "hello".to_owned(),
        builder_version: LxcTemplateCompiler.version(),
        params,
        inputs: inputs
            .keys()
            .map(|r| (r.clone(), Digest::of(r.as_bytes())))
            .collect(),
        sources: [("unit".to_owned(), Digest::of(UNIT.as_bytes()))].into(),
        fixed_output: None,
        secret: false,
    }
}

/// Builds `params` with `store`'s inputs; returns the output directory.
fn build(store: &Store, params: Value) -> Result<PathBuf, BuildError> {
    let drv = derivation(params, &store.inputs);
    let out = store.dir.path().join("out");
    let tmp = store.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let cx = BuildCx {
        id: drv.id(),
        drv: &drv,
        inputs: store.inputs.clone(),
        sources: [("unit".to_owned(), Arc::from(UNIT.as_bytes()))].into(),
        out: &out,
        tmp: &tmp,
        secrets: &NoSecrets,
    };
    LxcTemplateCompiler.build(&cx).map(|()| out)
}

fn entries(rootfs: &Path) -> BTreeMap<String, (u64, u64, u32, Vec<u8>)> {
    let file = std::fs::File::open(rootfs).unwrap();
    let mut tar = tar::Archive::new(zstd::Decoder::new(file).unwrap());
    let mut out = BTreeMap::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let h = e.header();
        let meta = (h.uid().unwrap(), h.gid().unwrap(), h.mode().unwrap());
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        out.insert(path, (meta.0, meta.1, meta.2, bytes));
    }
    out
}

#[test]
fn two_builds_in_different_directories_give_identical_bytes() {
    let packages = packages();
    let a = store(packages);
    let b = store(packages);
    assert_ne!(a.dir.path(), b.dir.path());
    let out_a = build(&a, params(packages)).unwrap_or_else(|e| panic!("{e}"));
    let out_b = build(&b, params(packages)).unwrap_or_else(|e| panic!("{e}"));
    for name in [ROOTFS_FILE, SBOM_FILE] {
        let x = std::fs::read(out_a.join(name)).unwrap();
        let y = std::fs::read(out_b.join(name)).unwrap();
        assert!(x == y, "{name} differs between builds");
    }
    let mut listing: Vec<String> = std::fs::read_dir(&out_a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    assert_eq!(listing, [ROOTFS_FILE, SBOM_FILE]);

    // The params landed: the declared file with its owner, the unit
    // enabled, the user created, every package in the SBOM with its hash.
    let tree = entries(&out_a.join(ROOTFS_FILE));
    let passwd = String::from_utf8(tree["./etc/passwd"].3.clone()).unwrap();
    let app = passwd
        .lines()
        .find(|l| l.starts_with("app:"))
        .unwrap_or_else(|| panic!("no app user in\n{passwd}"));
    let uid: u64 = app.split(':').nth(2).unwrap().parse().unwrap();
    assert!(app.contains(":/var/lib/app:"), "{app}");
    let (owner, _, mode, bytes) = &tree["./etc/app/app.conf"];
    assert_eq!(
        (*owner, *mode & 0o7777, bytes.as_slice()),
        (uid, 0o640, &b"listen 80\n"[..])
    );
    assert_eq!(
        tree["./etc/systemd/system/hello.service"].3,
        UNIT.as_bytes()
    );
    assert!(
        tree.contains_key("./etc/systemd/system/multi-user.target.wants/hello.service"),
        "hello.service not enabled"
    );
    assert_eq!(tree["./etc/hostname"].3, b"hello\n");
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_a.join(SBOM_FILE)).unwrap()).unwrap();
    let text = sbom.to_string();
    for p in packages {
        assert!(
            text.contains(&p.sha256.to_string()),
            "{} not in SBOM",
            p.name
        );
    }

    // source_date_epoch is an input: another value, other bytes.
    let c = store(packages);
    let out_c = build(&c, params(packages).with("source_date_epoch", 0i64)).unwrap();
    assert_ne!(
        std::fs::read(out_c.join(ROOTFS_FILE)).unwrap(),
        std::fs::read(out_a.join(ROOTFS_FILE)).unwrap()
    );
}

/// Builds with `edit` applied to the params (and a release tarball as
/// input `archive:0`); the build must fail at parameter `at` (`None`: at
/// none) with a message containing every `wanted`, and leave nothing at
/// the output.
fn refused_at(edit: impl FnOnce(Value) -> Value, at: Option<&str>, wanted: &[&str]) {
    let packages = packages();
    let s = with_release(store(packages));
    let e = build(&s, edit(params(packages))).expect_err("the build is refused");
    let got = match &e {
        BuildError::InvalidAt { at, .. } => Some(at.as_str()),
        _ => None,
    };
    assert_eq!(got, at, "{e}");
    let e = e.to_string();
    assert!(e.starts_with("lxc-template hello: "), "{e}");
    for w in wanted {
        assert!(e.contains(w), "{e}\nlacks: {w}");
    }
    assert!(!s.dir.path().join("out").exists(), "half-built output left");
}

fn refused(edit: impl FnOnce(Value) -> Value, at: &str, wanted: &[&str]) {
    refused_at(edit, Some(at), wanted)
}

/// A `.tar.gz` release as upstream projects ship them: a top directory, a
/// setuid executable and a licence, with the ids of the machine that made
/// it.
fn release_tarball() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, mode, body) in [
        (
            "hello-1.0/bin/hello",
            0o4755,
            &b"#!/bin/sh\nexec sleep infinity\n"[..],
        ),
        ("hello-1.0/LICENSE", 0o644, &b"Public domain.\n"[..]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_uid(1001);
        h.set_gid(1001);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, name, body).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// `store` with [`release_tarball`] as input `archive:0`, as a fetch
/// output would be.
fn with_release(mut store: Store) -> Store {
    let path = store.dir.path().join("hello-1.0.tar.gz");
    std::fs::write(&path, release_tarball()).unwrap();
    store.inputs.insert("archive:0".to_owned(), path);
    store
}

/// The release unpacked under /opt/hello, its `bin` only, owned by `app`;
/// a token delivered to `app` at activation.
fn with_release_params(params: Value) -> Value {
    params
        .with(
            "archives",
            Value::List(vec![
                Value::map()
                    .with("source", "archive:0")
                    .with("name", "hello-release")
                    .with("to", "/opt/hello")
                    .with("strip_components", 1i64)
                    .with("include", Value::List(vec!["bin".into()]))
                    .with("owner", "app")
                    .with("group", "app"),
            ]),
        )
        .with(
            "activation_files",
            Value::List(vec![
                Value::map()
                    .with("path", "/run/secrets/app/token")
                    .with("owner", "app")
                    .with("group", "app")
                    .with("mode", 0o400i64),
            ]),
        )
}

/// Replaces `key` of item `index` of list `list` in `params`.
fn edit_item(params: Value, list: &str, index: usize, key: &str, value: Value) -> Value {
    let Some(Value::List(mut items)) = params.get(list).cloned() else {
        panic!("{list}")
    };
    items[index] = items[index].clone().with(key, value);
    params.with(list, Value::List(items))
}

fn with_file(params: Value, f: Value) -> Value {
    let Some(Value::List(mut files)) = params.get("files").cloned() else {
        panic!("files")
    };
    files.push(f);
    params.with("files", Value::List(files))
}

#[test]
fn a_file_path_outside_the_rootfs_is_refused() {
    refused(
        |p| with_file(p, file("/etc/../../escape", 0o644, "root", ("text", "x"))),
        "files[2]",
        &["lxc-template hello: ", "/etc/../../escape"],
    );
    refused(
        |p| with_file(p, file("etc/relative", 0o644, "root", ("text", "x"))),
        "files[2]",
        &["etc/relative"],
    );
}

#[test]
fn an_unknown_owner_is_refused() {
    refused(
        |p| with_file(p, file("/etc/x", 0o644, "nobody-here", ("text", "x"))),
        "files[2].owner",
        &["file /etc/x: unknown user nobody-here"],
    );
}

#[test]
fn a_service_no_unit_provides_is_refused() {
    refused(
        |p| {
            p.with(
                "services",
                Value::List(vec!["hello.service".into(), "nope.service".into()]),
            )
        },
        "services[1]",
        &["cannot enable nope.service: no such unit"],
    );
}

#[test]
fn a_deb_whose_hash_does_not_match_is_refused() {
    refused(
        |p| {
            let Some(Value::List(mut pkgs)) = p.get("packages").cloned() else {
                panic!("packages")
            };
            let first = pkgs[0].clone();
            let name = first.get("name").unwrap().as_str().unwrap().to_owned();
            pkgs[0] = first.with("sha256", "0".repeat(64));
            assert!(!name.is_empty());
            p.with("packages", Value::List(pkgs))
        },
        "packages[0]",
        &["SHA-256 is", "but the lock records 0000"],
    );
}

#[test]
fn secrets_and_missing_inputs_are_refused() {
    refused(
        |p| {
            with_file(
                p,
                file("/etc/x", 0o600, "root", ("text", "x")).with("secret", "db-password"),
            )
        },
        "files[2].secret",
        &["params.files[2].secret", "templates carry no secrets"],
    );
    refused_package(
        |p| {
            let Some(Value::List(mut pkgs)) = p.get("packages").cloned() else {
                panic!("packages")
            };
            pkgs.push(Value::map().with("name", "hlb-absent").with("sha256", "00"));
            let at = pkgs.len() - 1;
            (p.with("packages", Value::List(pkgs)), at)
        },
        &["package hlb-absent has no input `deb:hlb-absent`"],
    );
}

/// Like [`refused`], for an edit that says at which index it added the
/// package at fault.
fn refused_package(edit: impl FnOnce(Value) -> (Value, usize), wanted: &[&str]) {
    let packages = packages();
    let (params, at) = edit(params(packages));
    refused(|_| params, &format!("packages[{at}]"), wanted);
}

#[test]
fn a_release_tarball_is_unpacked_and_listed_in_the_sbom() {
    let packages = packages();
    let s = with_release(store(packages));
    let out = build(&s, with_release_params(params(packages))).unwrap_or_else(|e| panic!("{e}"));
    let tree = entries(&out.join(ROOTFS_FILE));
    let passwd = String::from_utf8(tree["./etc/passwd"].3.clone()).unwrap();
    let app = passwd.lines().find(|l| l.starts_with("app:")).unwrap();
    let uid: u64 = app.split(':').nth(2).unwrap().parse().unwrap();
    let gid: u64 = app.split(':').nth(3).unwrap().parse().unwrap();
    // Only `bin`, stripped of its top directory, owned by app (not 1001),
    // without the setuid bit.
    let (u, g, mode, bytes) = &tree["./opt/hello/bin/hello"];
    assert_eq!(
        (*u, *g, *mode & 0o7777, bytes.as_slice()),
        (uid, gid, 0o755, &b"#!/bin/sh\nexec sleep infinity\n"[..])
    );
    let (u, _, mode, _) = &tree["./opt/hello/"];
    assert_eq!((*u, *mode & 0o7777), (0, 0o755));
    assert!(!tree.keys().any(|k| k.contains("LICENSE")));
    // The secret's directory for its reader, and nothing of the secret.
    assert_eq!(
        String::from_utf8_lossy(&tree["./usr/lib/tmpfiles.d/hlb-activation.conf"].3)
            .lines()
            .nth(1),
        Some("d /run/secrets/app 0750 app app -")
    );
    assert!(!tree.keys().any(|k| k.starts_with("./run/secrets")));
    // The SBOM names the download with the hash of its bytes.
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(SBOM_FILE)).unwrap()).unwrap();
    let sha = hlb_debian::Sha256::of(&release_tarball()).to_string();
    let listed = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hello-release")
        .unwrap_or_else(|| panic!("no hello-release in {sbom:#}"));
    assert_eq!(listed["type"], "file");
    assert_eq!(listed["hashes"][0]["content"], sha.as_str());
    // Built twice elsewhere: the same bytes.
    let again = with_release(store(packages));
    let out2 = build(&again, with_release_params(params(packages))).unwrap();
    for name in [ROOTFS_FILE, SBOM_FILE] {
        assert!(
            std::fs::read(out.join(name)).unwrap() == std::fs::read(out2.join(name)).unwrap(),
            "{name} differs"
        );
    }
}

#[test]
fn a_failing_archive_or_activation_file_leaves_nothing_and_names_the_parameter() {
    let release = |edit: fn(Value) -> Value| move |p| edit(with_release_params(p));
    refused(
        release(|p| {
            edit_item(
                p,
                "archives",
                0,
                "include",
                Value::List(vec!["bin".into(), "share/man".into()]),
            )
        }),
        "archives[0].include[1]",
        &["archive hello-release: include \"share/man\" matches no member"],
    );
    refused(
        release(|p| edit_item(p, "archives", 0, "owner", "ghost".into())),
        "archives[0].owner",
        &["archive hello-release: unknown user ghost"],
    );
    refused(
        release(|p| edit_item(p, "archives", 0, "to", "/etc/hostname".into())),
        "archives[0].to",
        &["archive hello-release: to /etc/hostname: is not a directory"],
    );
    refused(
        release(|p| {
            edit_item(
                p,
                "archives",
                0,
                "to",
                "/usr/share/base-passwd/passwd.master".into(),
            )
        }),
        "archives[0].to",
        &["is not a directory"],
    );
    refused(
        release(|p| edit_item(p, "archives", 0, "source", "archive:9".into())),
        "archives[0].source",
        &["archive hello-release: no source or input `archive:9`"],
    );
    refused(
        release(|p| edit_item(p, "activation_files", 0, "path", "/etc/token".into())),
        "activation_files[0].path",
        &["activation file /etc/token: is not under /run/"],
    );
    refused(
        release(|p| edit_item(p, "activation_files", 0, "group", "ghosts".into())),
        "activation_files[0].group",
        &["activation file /run/secrets/app/token: unknown group ghosts"],
    );
    // A member on a path a package ships: at the archive, naming both.
    let packages = packages();
    let mut s = with_release(store(packages));
    let path = s.dir.path().join("docs.tar");
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "copyright", &b"ours"[..]).unwrap();
    std::fs::write(&path, tar.into_inner().unwrap()).unwrap();
    s.inputs.insert("archive:1".to_owned(), path);
    let Some(Value::List(mut archives)) = with_release_params(params(packages))
        .get("archives")
        .cloned()
    else {
        panic!("archives")
    };
    archives.push(
        Value::map()
            .with("source", "archive:1")
            .with("name", "docs")
            .with("to", "/usr/share/doc/netbase"),
    );
    let e = build(&s, params(packages).with("archives", Value::List(archives))).unwrap_err();
    let BuildError::InvalidAt { at, message } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(at, "archives[1]");
    assert_eq!(
        message,
        "lxc-template hello: archive docs: member copyright lands on \
         /usr/share/doc/netbase/copyright, which package netbase ships"
    );
    assert!(!s.dir.path().join("out").exists());
    // Not at one parameter: a stray .deb input.
    let mut s = with_release(store(packages));
    let stray = s.dir.path().join("stray.deb");
    std::fs::write(&stray, b"x").unwrap();
    s.inputs.insert("deb:stray".to_owned(), stray);
    let e = build(&s, params(packages)).unwrap_err();
    assert!(matches!(e, BuildError::Invalid(_)), "{e:?}");
}
