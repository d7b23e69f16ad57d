//! Real packages from the machine's mirror, assembled twice in different
//! directories: identical bytes, a clean template, and a dpkg database that
//! dpkg itself reads and verifies against the unpacked files.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Command;

use hlb_lxc::ContainerSpec;

fn minimal() -> (Vec<hlb_debian::resolve::ResolvedPackage>, Vec<common::Deb>) {
    let packages = common::closure(&[]);
    let debs = common::download(&packages);
    (packages, debs)
}

#[test]
fn minimal_systemd_template_is_bit_for_bit_reproducible_and_clean() {
    let (packages, debs) = minimal();
    let spec = ContainerSpec::new("hlb-min");
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let first = common::build(&debs, &spec);
    let a = std::fs::read(common::write_archive(&first, dir_a.path())).unwrap();
    let second = common::build(&debs, &spec);
    let b = std::fs::read(common::write_archive(&second, dir_b.path())).unwrap();
    assert!(
        a == b,
        "two builds differ ({} and {} bytes)",
        a.len(),
        b.len()
    );
    assert_eq!(first.sbom_json(), second.sbom_json());

    // Every entry: fixed mtime, `./` prefix, and nothing a template must
    // not carry.
    let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(&a[..]).unwrap());
    let mut seen = BTreeSet::new();
    for entry in tar.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let h = e.header();
        assert_eq!(h.mtime().unwrap(), common::options().mtime, "{path}");
        assert!(path.starts_with("./") || path == ".", "{path}");
        assert!(!path.starts_with("./etc/ssh/ssh_host_"), "{path}");
        let is_file = h.entry_type().is_file();
        for dir in ["./var/log/", "./var/cache/apt/", "./var/lib/apt/lists/"] {
            assert!(!(is_file && path.starts_with(dir)), "{path}");
        }
        if path == "./etc/shadow" {
            assert_eq!(h.mode().unwrap(), 0o640);
            assert_eq!(h.gid().unwrap(), 42, "shadow group");
        }
        if path == "./etc/machine-id" {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            assert_eq!(s, "");
        }
        seen.insert(path);
    }
    for expected in [
        "./usr/bin/systemctl",
        "./usr/sbin/init",
        "./sbin",
        "./bin",
        "./etc/machine-id",
        "./etc/alternatives/awk",
        "./var/lib/dpkg/status",
    ] {
        assert!(seen.contains(expected), "{expected} missing");
    }

    // Users from base-passwd and from the packages' sysusers.d files.
    let passwd = match &first.node("/etc/passwd").unwrap().kind {
        hlb_lxc::tree::NodeKind::File(b) => String::from_utf8_lossy(b).into_owned(),
        k => panic!("passwd is {k:?}"),
    };
    for user in [
        "root:x:0:0:",
        "nobody:x:65534:",
        "messagebus:",
        "systemd-network:",
    ] {
        assert!(passwd.contains(user), "{user} in {passwd}");
    }

    // The SBOM lists exactly the resolved set, with the .debs' hashes.
    let sbom: serde_json::Value = serde_json::from_str(&first.sbom_json()).unwrap();
    assert!(!first.sbom_json().contains("timestamp"));
    let listed: BTreeSet<(String, String, String)> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
                c["hashes"][0]["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let resolved: BTreeSet<(String, String, String)> = packages
        .iter()
        .map(|p| (p.name.clone(), p.version.to_string(), p.sha256.to_string()))
        .collect();
    assert_eq!(listed, resolved);

    // dpkg reads the database: the installed set is the resolved set, and
    // every file's md5sum matches what the packages declare.
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("tar")
        .args(["--zstd", "-xpf"])
        .arg(dir_a.path().join("rootfs.tar.zst"))
        .arg("-C")
        .arg(root.path())
        .arg("--numeric-owner")
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admindir = root.path().join("var/lib/dpkg");
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args(["-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"])
        .output()
        .expect("run dpkg-query");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect();
    let expected: BTreeSet<String> = packages
        .iter()
        .map(|p| format!("{} {} ii", p.name, p.version))
        .collect();
    assert_eq!(installed, expected);
    let out = Command::new("dpkg")
        .arg(format!("--root={}", root.path().display()))
        .arg("--verify")
        .output()
        .expect("run dpkg --verify");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "dpkg --verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
