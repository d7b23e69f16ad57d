//! Shared by the real-data tests: the machine's Debian mirror (through
//! `hlb-debian`'s test cache under `target/hlb-test-cache/`), closures
//! resolved at test time (the mirror moves on), and assembly helpers.

#![allow(dead_code)]

#[path = "../../../../cache/debian/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::OnceLock;

use hlb_cache::archive::ArchiveOptions;
use hlb_debian::Sha256;
use hlb_debian::archive::{keyring_for, load_suite};
use hlb_debian::resolve::{Request, ResolveOptions, ResolvedPackage, Universe, resolve};
use hlb_debian::sources::{SuiteLocation, discover};
use hlb_lxc::{ContainerSpec, DebInput, Rootfs, assemble};

pub const SUITES: [&str; 3] = ["bookworm", "bookworm-updates", "bookworm-security"];
pub const ARCH: &str = "amd64";

pub struct Archive {
    pub locations: Vec<SuiteLocation>,
    pub universe: Universe,
}

pub fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let sources = discover(Path::new("/etc/apt")).expect("read the machine's apt sources");
        let mut locations = Vec::new();
        let mut packages = Vec::new();
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
            packages.extend(loaded.packages);
            locations.push(location);
        }
        Archive {
            locations,
            universe: Universe::new(ARCH, packages),
        }
    })
}

/// The base every test container has: systemd as init, dbus, and the
/// essential and required sets. `usr-is-merged` is asked for so
/// `init-system-helpers` does not pull `usrmerge` (the root is merged).
pub const BASE: [&str; 4] = ["systemd", "systemd-sysv", "dbus", "usr-is-merged"];

/// Resolves `extra` on top of [`BASE`].
pub fn closure(extra: &[&str]) -> Vec<ResolvedPackage> {
    let a = archive();
    let requests: Vec<Request> = BASE.iter().chain(extra).map(|n| Request::name(n)).collect();
    let options = ResolveOptions {
        essential: true,
        required: true,
        recommends: false,
    };
    resolve(&a.universe, &requests, options)
        .unwrap_or_else(|e| panic!("{e}"))
        .packages
}

/// A downloaded, hash-checked .deb.
pub struct Deb {
    pub origin: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

pub fn download(packages: &[ResolvedPackage]) -> Vec<Deb> {
    let a = archive();
    packages
        .iter()
        .map(|p| {
            let location = a
                .locations
                .iter()
                .find(|l| l.suite == p.suite)
                .expect("suite of a resolved package");
            let url = location.pool_url(&p.filename);
            let (bytes, _) = support::fetch_by_hash(&url, &p.sha256, ".deb");
            assert_eq!(Sha256::of(&bytes), p.sha256, "{url}");
            Deb {
                origin: p.filename.clone(),
                bytes,
                sha256: p.sha256.to_string(),
            }
        })
        .collect()
}

pub fn inputs(debs: &[Deb]) -> Vec<DebInput<'_>> {
    debs.iter()
        .map(|d| DebInput {
            origin: &d.origin,
            bytes: &d.bytes,
            sha256: &d.sha256,
        })
        .collect()
}

pub fn build(debs: &[Deb], spec: &ContainerSpec) -> Rootfs {
    assemble(&inputs(debs), spec).unwrap_or_else(|e| panic!("{e}"))
}

/// The archive options of every test build: a fixed mtime, and a fast
/// zstd level (the level is an input like any other; 19 is slow in debug).
pub fn options() -> ArchiveOptions {
    ArchiveOptions {
        mtime: 1_700_000_000,
        zstd_level: 3,
    }
}

pub mod lxc;

use hlb_lxc::FileSpec;

/// dnsdist answering every A query with 192.0.2.1 on all addresses: a
/// network answer that needs no upstream.
pub const DNSDIST_CONF: &str =
    "setLocal(\"0.0.0.0:53\")\naddAction(AllRule(), SpoofAction(\"192.0.2.1\"))\n";

pub fn dnsdist_spec(hostname: &str, conf: &str) -> ContainerSpec {
    let mut spec = ContainerSpec::new(hostname);
    spec.services = vec!["dnsdist.service".to_owned()];
    spec.files = vec![FileSpec {
        group: "_dnsdist".to_owned(),
        ..FileSpec::root("/etc/dnsdist/dnsdist.conf", 0o640, conf)
    }];
    spec
}

/// Writes the template's outputs into `dir`; returns the archive's path.
pub fn write_archive(rootfs: &Rootfs, dir: &Path) -> std::path::PathBuf {
    let [archive, sbom] = rootfs
        .write_outputs(dir, options())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read_to_string(sbom).unwrap(), rootfs.sbom_json());
    archive
}
