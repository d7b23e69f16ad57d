//! Resolver behaviour on small synthetic indexes.

use super::*;
use crate::packages::parse_packages;

/// Builds a `Packages` text; each record gets a unique fake hash and pool
/// path derived from its name and version.
fn index(records: &[&str]) -> String {
    let mut out = String::new();
    for (n, r) in records.iter().enumerate() {
        let name = r.lines().next().unwrap().trim();
        let mut fields = String::new();
        let mut version = "1.0".to_owned();
        let mut arch = "amd64".to_owned();
        for line in r.lines().skip(1) {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("Version: ") {
                version = v.to_owned();
            } else if let Some(a) = line.strip_prefix("Architecture: ") {
                arch = a.to_owned();
            } else if !line.is_empty() {
                fields.push_str(line);
                fields.push('\n');
            }
        }
        let sha = format!("{:064x}", n + 1);
        out.push_str(&format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\n{fields}Filename: pool/main/{name}_{version}_{arch}.deb\nSize: {}\nSHA256: {sha}\n\n",
            100 + n
        ));
    }
    out
}

fn universe(suites: &[(&str, &[&str])]) -> Universe {
    let mut all = Vec::new();
    for (suite, records) in suites {
        all.extend(parse_packages(&index(records), suite, suite).unwrap());
    }
    Universe::new("amd64", all)
}

fn names(r: &Resolution) -> Vec<String> {
    r.packages
        .iter()
        .map(|p| format!("{}={}", p.name, p.version))
        .collect()
}

fn req(texts: &[&str]) -> Vec<Request> {
    texts.iter().map(|t| Request::parse(t).unwrap()).collect()
}

const BASE: &[&str] = &[
    "app\nVersion: 2.0-1\nDepends: libfoo (>= 1.5), mta | mail-transport-agent, awk\nRecommends: docs",
    "libfoo\nVersion: 1.9-1\nPre-Depends: libc6",
    "libfoo\nVersion: 1.4-1\nPre-Depends: libc6",
    "libc6\nVersion: 2.36-9\nPriority: required",
    "mawk\nProvides: awk\nPriority: required\nDepends: libc6",
    "gawk\nProvides: awk\nPriority: optional",
    "original-awk\nProvides: awk\nPriority: optional",
    "postfix\nProvides: mail-transport-agent\nConflicts: mail-transport-agent, exim4",
    "exim4\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
    "docs\nArchitecture: all",
    "other-arch\nArchitecture: i386",
    "base-files\nEssential: yes\nVersion: 12.4",
];

#[test]
fn closure_with_alternatives_virtuals_and_priorities() {
    let u = universe(&[("bookworm", BASE)]);
    let r = resolve(&u, &req(&["app"]), ResolveOptions::default()).unwrap();
    // mta does not exist, so the virtual alternative is used; its providers
    // are tied on priority, so the name decides (exim4 < postfix). awk goes
    // to mawk by priority. Recommends are not followed.
    assert_eq!(
        names(&r),
        [
            "app=2.0-1",
            "exim4=1.0",
            "libc6=2.36-9",
            "libfoo=1.9-1",
            "mawk=1.0"
        ]
    );
    let libc = r.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.sha256.to_string(), format!("{:064x}", 4));
    assert_eq!(libc.filename, "pool/main/libc6_2.36-9_amd64.deb");
    assert_eq!(libc.suite, "bookworm");
    assert_eq!(
        r.why("libc6"),
        [
            "app (requested)",
            "app depends on libfoo (>= 1.5)",
            "libfoo pre-depends on libc6"
        ]
    );
}

#[test]
fn prefers_what_is_already_selected() {
    let u = universe(&[("bookworm", BASE)]);
    // postfix is requested, so it satisfies the virtual; gawk is requested,
    // so it satisfies awk instead of mawk.
    let r = resolve(
        &u,
        &req(&["app", "postfix", "gawk"]),
        ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(
        names(&r),
        [
            "app=2.0-1",
            "gawk=1.0",
            "libc6=2.36-9",
            "libfoo=1.9-1",
            "postfix=1.0"
        ]
    );
}

#[test]
fn recommends_essential_and_required_when_asked() {
    let u = universe(&[("bookworm", BASE)]);
    let opts = ResolveOptions {
        essential: true,
        required: true,
        recommends: true,
    };
    let r = resolve(&u, &req(&["app"]), opts).unwrap();
    assert_eq!(
        names(&r),
        [
            "app=2.0-1",
            "base-files=12.4",
            "docs=1.0",
            "exim4=1.0",
            "libc6=2.36-9",
            "libfoo=1.9-1",
            "mawk=1.0"
        ]
    );
    assert_eq!(r.why("base-files"), ["base-files (essential)"]);
    assert_eq!(r.why("docs"), ["app (requested)", "app recommends docs"]);
}

#[test]
fn highest_version_across_suites_and_pins() {
    let u = universe(&[
        ("bookworm", BASE),
        (
            "bookworm-security",
            &["libfoo\nVersion: 1.9-1+deb12u1\nPre-Depends: libc6"],
        ),
    ]);
    let r = resolve(&u, &req(&["libfoo"]), ResolveOptions::default()).unwrap();
    let foo = &r.packages.iter().find(|p| p.name == "libfoo").unwrap();
    assert_eq!(
        (foo.version.as_str(), foo.suite.as_str()),
        ("1.9-1+deb12u1", "bookworm-security")
    );
    let r = resolve(&u, &req(&["libfoo (= 1.9-1)"]), ResolveOptions::default()).unwrap();
    let foo = &r.packages.iter().find(|p| p.name == "libfoo").unwrap();
    assert_eq!(
        (foo.version.as_str(), foo.suite.as_str()),
        ("1.9-1", "bookworm")
    );
    let r = resolve(&u, &req(&["libfoo (<< 1.5)"]), ResolveOptions::default()).unwrap();
    assert_eq!(names(&r), ["libc6=2.36-9", "libfoo=1.4-1"]);
}

#[test]
fn unsatisfiable_versions_explain_the_chain() {
    let u = universe(&[(
        "bookworm",
        &[
            "dnsdist\nVersion: 1.7.3-2\nDepends: libfoo (>= 2)",
            "libfoo\nVersion: 1.9-1",
        ],
    )]);
    let e = resolve(&u, &req(&["dnsdist"]), ResolveOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot resolve the package closure:\n  dnsdist (requested) → dnsdist 1.7.3-2 depends on libfoo (>= 2): libfoo (>= 2) wanted, but the indexes have libfoo 1.9-1 (bookworm)"
    );
}

#[test]
fn unknown_foreign_and_already_selected_problems() {
    let u = universe(&[(
        "bookworm",
        &[
            "a1\nDepends: b1, c1:i386 | nothere",
            "b1\nVersion: 1\nDepends: d1 (<< 1)",
            "d1\nVersion: 2",
            "other-arch\nArchitecture: i386",
        ],
    )]);
    let e = resolve(
        &u,
        &req(&["a1", "d1", "missing", "other-arch"]),
        ResolveOptions::default(),
    )
    .unwrap_err();
    let ResolveError::Unsatisfiable(problems) = &e else {
        panic!("{e}");
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "missing (requested): no package named missing for amd64 and nothing provides it",
            "other-arch (requested): no package named other-arch for amd64 and nothing provides it",
            "a1 (requested) → a1 1.0 depends on c1:i386 | nothere: c1:i386: only amd64 and all packages are resolved; no package named nothere for amd64 and nothing provides it",
            "a1 (requested) → a1 depends on b1 → b1 1 depends on d1 (<< 1): d1 2 (bookworm) is already selected (via d1 (requested)), which does not satisfy d1 (<< 1)",
        ]
    );
}

#[test]
fn requests_parse_one_package() {
    assert_eq!(
        Request::parse("dnsdist (>= 1.7)").unwrap().0.name,
        "dnsdist"
    );
    let e = Request::parse("a1, b1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid relation \"a1, b1\": expected exactly one package"
    );
    assert!(Request::parse("a1 | b1").is_err());
    assert!(Request::parse("").is_err());
}

#[test]
fn versioned_dependencies_need_versioned_provides() {
    let u = universe(&[(
        "bookworm",
        &[
            "a1\nDepends: virt (>= 2)",
            "unversioned\nProvides: virt",
            "versioned\nProvides: virt (= 2.1)",
        ],
    )]);
    let r = resolve(&u, &req(&["a1"]), ResolveOptions::default()).unwrap();
    assert_eq!(names(&r), ["a1=1.0", "versioned=1.0"]);
}

#[test]
fn conflicts_and_breaks_are_reported() {
    let u = universe(&[
        ("bookworm", BASE),
        ("extra", &["breaker\nBreaks: libfoo (<< 2)"]),
    ]);
    let e = resolve(
        &u,
        &req(&["postfix", "exim4", "breaker", "libfoo"]),
        ResolveOptions::default(),
    )
    .unwrap_err();
    let ResolveError::Conflicts(conflicts) = &e else {
        panic!("{e}");
    };
    let text: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "breaker 1.0 breaks libfoo (<< 2), which matches libfoo 1.9-1 (selected via breaker (requested); libfoo 1.9-1 selected via libfoo (requested))",
            "exim4 1.0 conflicts mail-transport-agent, which matches postfix 1.0 (selected via exim4 (requested); postfix 1.0 selected via postfix (requested))",
            "postfix 1.0 conflicts mail-transport-agent, which matches exim4 1.0 (selected via postfix (requested); exim4 1.0 selected via exim4 (requested))",
            "postfix 1.0 conflicts exim4, which matches exim4 1.0 (selected via postfix (requested); exim4 1.0 selected via exim4 (requested))",
        ]
    );
    // Conflicting with a virtual name one provides oneself is not a conflict.
    resolve(&u, &req(&["postfix"]), ResolveOptions::default()).unwrap();
}

#[test]
fn same_result_under_permutation() {
    let mut records: Vec<&str> = BASE.to_vec();
    let reference = {
        let u = universe(&[("bookworm", &records)]);
        resolve(
            &u,
            &req(&["app", "gawk"]),
            ResolveOptions {
                essential: true,
                required: true,
                recommends: true,
            },
        )
        .unwrap()
    };
    // A deterministic family of permutations: rotations and reversals of
    // the records, and reversed request order.
    for k in 0..records.len() {
        records.rotate_left(1);
        for reversed in [false, true] {
            let mut rs = records.clone();
            if reversed {
                rs.reverse();
            }
            // The fake hashes follow record order; pin them back by name so
            // the comparison is about selection, not about fake data.
            let u = universe(&[("bookworm", &rs)]);
            let mut requests = req(&["gawk", "app"]);
            if k % 2 == 0 {
                requests.reverse();
            }
            let r = resolve(
                &u,
                &requests,
                ResolveOptions {
                    essential: true,
                    required: true,
                    recommends: true,
                },
            )
            .unwrap();
            assert_eq!(
                names(&r),
                names(&reference),
                "rotation {k}, reversed {reversed}"
            );
            assert_eq!(
                r.packages
                    .iter()
                    .map(|p| (&p.filename, &p.suite, &p.reason))
                    .collect::<Vec<_>>(),
                reference
                    .packages
                    .iter()
                    .map(|p| (&p.filename, &p.suite, &p.reason))
                    .collect::<Vec<_>>()
            );
        }
    }
}
