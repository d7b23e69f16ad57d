//! Real-data tests against the machine's Debian mirror (design D9: the
//! mirror comes from the apt configuration, never from this repository).
//!
//! They download `InRelease` and `main/binary-amd64/Packages.xz` of the
//! bookworm suites the machine's sources list, verify them with the
//! keyring the sources name, resolve real closures, and read a few small
//! .debs next to `dpkg-deb`. Nothing is pinned: the archive moves, so every
//! assertion is about properties, not about today's versions.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use hlb_debian::Sha256;
use hlb_debian::archive::{LoadedSuite, by_hash_url, decompress_index, keyring_for, load_suite};
use hlb_debian::deb::{DebReader, EntryKind};
use hlb_debian::packages::BinaryPackage;
use hlb_debian::release::{Keyring, ReleaseError, verify_inrelease};
use hlb_debian::resolve::{Request, Resolution, ResolveOptions, Universe, resolve};
use hlb_debian::sources::{SuiteLocation, discover, packages_index_path};

const SUITES: [&str; 3] = ["bookworm", "bookworm-updates", "bookworm-security"];
const ARCH: &str = "amd64";

struct Suite {
    location: SuiteLocation,
    inrelease: Vec<u8>,
    keyring: Keyring,
    loaded: LoadedSuite,
}

struct Archive {
    suites: Vec<Suite>,
    universe: Universe,
}

fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(load)
}

fn load() -> Archive {
    let sources = discover(Path::new("/etc/apt")).expect("read the machine's apt sources");
    let mut suites = Vec::new();
    for wanted in SUITES {
        let source = sources
            .iter()
            .find(|s| {
                s.is_binary()
                    && s.covers_arch(ARCH)
                    && s.suites.iter().any(|x| x == wanted)
                    && s.components.iter().any(|c| c == "main")
            })
            .unwrap_or_else(|| panic!("no apt source lists {wanted} main for {ARCH}"));
        let keyring = keyring_for(source.signed_by.as_ref(), &source.origin, &mut |p| {
            std::fs::read(p)
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let location = SuiteLocation {
            uri: source.uris[0].clone(),
            suite: wanted.to_owned(),
        };
        let loaded = load_suite(
            &location,
            &["main".to_owned()],
            ARCH,
            &keyring,
            &mut support::fetch,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.release.signed_by.is_empty());
        assert_eq!(loaded.indexes.len(), 1);
        assert_eq!(
            loaded.indexes[0].path,
            packages_index_path("main", ARCH, ".xz")
        );
        let inrelease = support::fetch(&location.inrelease_url()).unwrap();
        assert_eq!(Sha256::of(&inrelease), loaded.inrelease_sha256);
        suites.push(Suite {
            location,
            inrelease,
            keyring,
            loaded,
        });
    }
    let universe = Universe::new(
        ARCH,
        suites
            .iter()
            .flat_map(|s| s.loaded.packages.iter().cloned()),
    );
    Archive { suites, universe }
}

/// The library's independent checker, plus the output order.
fn check_closure(universe: &Universe, r: &Resolution) {
    let errors = hlb_debian::resolve::check_closure(universe, &r.packages);
    assert!(errors.is_empty(), "{errors:#?}");
    let mut sorted: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        r.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn release_chain_is_verified_and_tampering_is_caught() {
    let a = archive();
    for s in &a.suites {
        assert!(!s.loaded.packages.is_empty(), "{} has packages", s.location);
        assert!(
            s.loaded
                .packages
                .iter()
                .all(|p| p.suite == s.location.suite)
        );
        // Flip one byte of the signed text: the signature must fail.
        let mut tampered = s.inrelease.clone();
        let pos = tampered
            .windows(8)
            .position(|w| w == b"\nSHA256:")
            .expect("InRelease has a SHA256 list")
            + 20;
        tampered[pos] = if tampered[pos] == b'0' { b'1' } else { b'0' };
        let e = verify_inrelease(&tampered, &s.keyring, "tampered").unwrap_err();
        assert!(matches!(e, ReleaseError::BadSignature { .. }), "{e}");
    }
    // The decompressed index is what the Release lists uncompressed (the
    // small updates suite keeps this cheap).
    let updates = a
        .suites
        .iter()
        .find(|s| s.location.suite == "bookworm-updates")
        .unwrap();
    let release = &updates.loaded.release.release;
    let index = &updates.loaded.indexes[0];
    let xz = support::fetch(&by_hash_url(&updates.location, &index.path, &index.sha256)).unwrap();
    let text = decompress_index(".xz", &xz).unwrap();
    release
        .verify_index(
            "updates",
            &packages_index_path("main", ARCH, ""),
            text.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // A keyring that does not hold the archive key refuses a real InRelease.
    let other = std::fs::read("/usr/share/keyrings/debian-archive-removed-keys.gpg");
    if let Ok(bytes) = other {
        let keyring = Keyring::from_bytes(&bytes, "removed-keys").unwrap();
        let e = verify_inrelease(&a.suites[0].inrelease, &keyring, "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::BadSignature { .. }), "{e}");
    }
}

#[test]
fn resolves_dnsdist() {
    let a = archive();
    let r = resolve(
        &a.universe,
        &[Request::name("dnsdist")],
        ResolveOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    check_closure(&a.universe, &r);
    let names: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
    for expected in ["dnsdist", "libc6"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let libc = r.why("libc6");
    assert_eq!(
        libc.first().map(String::as_str),
        Some("dnsdist (requested)"),
        "{libc:?}"
    );
    // The highest dnsdist across the suites is chosen.
    let best = a
        .universe
        .versions_of("dnsdist")
        .map(|p| p.version.clone())
        .max()
        .unwrap();
    assert_eq!(
        r.packages
            .iter()
            .find(|p| p.name == "dnsdist")
            .unwrap()
            .version,
        best
    );
    // Pinning an impossible version gives an explanation, not a closure.
    let e = resolve(
        &a.universe,
        &[Request::parse("dnsdist (>> 999:0)").unwrap()],
        ResolveOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("dnsdist (>> 999:0) wanted, but the indexes have dnsdist"),
        "{e}"
    );
}

#[test]
fn resolves_a_minimal_systemd_system_deterministically() {
    let a = archive();
    let requests: Vec<Request> = ["systemd", "systemd-sysv", "dbus", "ifupdown"]
        .map(Request::name)
        .to_vec();
    let options = ResolveOptions {
        essential: true,
        required: true,
        recommends: false,
    };
    let r = resolve(&a.universe, &requests, options).unwrap_or_else(|e| panic!("{e}"));
    check_closure(&a.universe, &r);
    let names: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
    for expected in [
        "systemd",
        "systemd-sysv",
        "dbus",
        "ifupdown",
        "base-files",
        "dpkg",
        "libc6",
        "init-system-helpers",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for p in a.universe.packages().iter().filter(|p| p.essential) {
        assert!(
            names.contains(&p.name.as_str()),
            "essential {} in closure",
            p.name
        );
    }
    // Same inputs in another order give the same closure.
    let mut reversed: Vec<BinaryPackage> = a.universe.packages().to_vec();
    reversed.reverse();
    let u2 = Universe::new(ARCH, reversed);
    let mut req2 = requests.clone();
    req2.reverse();
    let r2 = resolve(&u2, &req2, options).unwrap();
    assert_eq!(r, r2);
}

/// `ls -l`-style mode string, as tar prints it.
fn mode_string(kind: EntryKind, mode: u32) -> String {
    let t = match kind {
        EntryKind::File => '-',
        EntryKind::Directory => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::HardLink => 'h',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
        EntryKind::Fifo => 'p',
    };
    let mut s = String::from(t);
    for (shift, special, lower, upper) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => lower,
            (true, false) => upper,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `YYYY-MM-DD HH:MM` in UTC.
fn utc_minutes(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Lists a .deb with this crate, in `dpkg-deb -c`'s fields, whitespace
/// collapsed.
fn list_with_crate(bytes: &[u8], origin: &str) -> Vec<String> {
    let reader = DebReader::new(bytes, origin).unwrap_or_else(|e| panic!("{e}"));
    let mut data = reader.into_data().unwrap();
    let mut out = Vec::new();
    for entry in data.entries().unwrap() {
        let mut e = entry.unwrap_or_else(|e| panic!("{e}"));
        let mut path = format!("./{}", e.path.display());
        if e.kind == EntryKind::Directory && !e.path.as_os_str().is_empty() {
            path.push('/');
        }
        let owner = format!(
            "{}/{}",
            e.user.clone().unwrap_or(e.uid.to_string()),
            e.group.clone().unwrap_or(e.gid.to_string())
        );
        let mut line = format!(
            "{} {owner} {} {} {path}",
            mode_string(e.kind, e.mode),
            e.size,
            utc_minutes(e.mtime)
        );
        match (e.kind, &e.link_target) {
            (EntryKind::Symlink, Some(t)) => line.push_str(&format!(" -> {}", t.display())),
            (EntryKind::HardLink, Some(t)) => line.push_str(&format!(" link to ./{}", t.display())),
            _ => {}
        }
        // Read the content through, and check its length.
        let n = std::io::copy(&mut e, &mut std::io::sink()).unwrap();
        assert_eq!(n, e.size, "{path}");
        out.push(line);
    }
    out
}

fn dpkg_deb(args: &[&str], path: &Path) -> Vec<u8> {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(path)
        .env("TZ", "UTC")
        .output()
        .expect("run dpkg-deb");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn reads_real_debs_like_dpkg_deb() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        panic!("dpkg-deb is needed for this test (Debian machine)");
    }
    let a = archive();
    let r = resolve(
        &a.universe,
        &[Request::name("dnsdist")],
        ResolveOptions::default(),
    )
    .unwrap();
    // The smallest few packages of the closure, plus dnsdist itself when
    // small enough: a handful of downloads, well under a few MB.
    let mut by_size: Vec<_> = r.packages.iter().filter(|p| p.size < 400_000).collect();
    by_size.sort_by_key(|p| (p.size, p.name.clone()));
    let picked: Vec<_> = by_size.into_iter().take(5).collect();
    assert!(picked.len() >= 3, "closure has small packages");
    let mut total = 0;
    for p in picked {
        let suite = a
            .suites
            .iter()
            .find(|s| s.location.suite == p.suite)
            .unwrap();
        let url = suite.location.pool_url(&p.filename);
        let (bytes, path) = support::fetch_by_hash(&url, &p.sha256, ".deb");
        assert_eq!(Sha256::of(&bytes), p.sha256, "{url}");
        assert_eq!(bytes.len() as u64, p.size, "{url}");
        total += bytes.len();

        let ours = list_with_crate(&bytes, &url);
        let theirs: Vec<String> = String::from_utf8(dpkg_deb(&["-c"], &path))
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(ours, theirs, "{}", p.name);

        // The control paragraph equals what dpkg-deb extracts, and so do
        // the maintainer scripts and conffiles.
        let reader = DebReader::new(&bytes[..], &url).unwrap();
        let info = reader.control();
        let ctrl = tempfile::tempdir().unwrap();
        let status = Command::new("dpkg-deb")
            .arg("-e")
            .arg(&path)
            .arg(ctrl.path())
            .status()
            .unwrap();
        assert!(status.success());
        let control_text = std::fs::read_to_string(ctrl.path().join("control")).unwrap();
        assert_eq!(info.control.to_string(), control_text, "{}", p.name);
        assert_eq!(info.control.get("Package"), Some(p.name.as_str()));
        assert_eq!(info.control.get("Version"), Some(p.version.as_str()));
        let mut files: Vec<String> = std::fs::read_dir(ctrl.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut ours: Vec<String> = info
            .scripts
            .keys()
            .chain(info.other.keys())
            .cloned()
            .chain(["control".to_owned()])
            .chain((!info.conffiles.is_empty()).then(|| "conffiles".to_owned()))
            .collect();
        ours.sort();
        assert_eq!(ours, files, "{}", p.name);
        for (name, script) in &info.scripts {
            assert_eq!(
                &std::fs::read(ctrl.path().join(name)).unwrap(),
                script,
                "{name}"
            );
        }
        if !info.conffiles.is_empty() {
            let text = std::fs::read_to_string(ctrl.path().join("conffiles")).unwrap();
            let listed: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split_whitespace().last())
                .collect();
            assert_eq!(
                info.conffiles
                    .iter()
                    .map(|c| c.path.as_str())
                    .collect::<Vec<_>>(),
                listed
            );
        }
    }
    assert!(total < 3_000_000, "downloaded {total} bytes of .debs");
}
