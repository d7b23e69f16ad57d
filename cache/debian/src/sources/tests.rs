use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn discovers_in_apt_order_and_skips_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let apt = tmp.path();
    std::fs::create_dir(apt.join("sources.list.d")).unwrap();
    write(
        apt,
        "sources.list",
        "# main list\ndeb [arch=amd64,arm64 signed-by=/k/a.gpg] http://mirror.example/debian/ bookworm main contrib # trailing\n\ndeb-src http://mirror.example/debian bookworm main\n",
    );
    let d = apt.join("sources.list.d");
    write(
        &d,
        "b.sources",
        "Types: deb\n# a comment inside\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/x.gpg\n\nTypes: deb\nURIs: http://other.example/\nSuites: sid\nComponents: main\nEnabled: no\n",
    );
    write(&d, "a.list", "deb http://flat.example/repo ./\n");
    write(&d, "c.list.disabled", "deb http://never.example/ x main\n");
    write(
        &d,
        "d.sources",
        "Types: deb\nURIs: http://mirror.example/sec\nSuites: bookworm-security\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n",
    );

    let s = discover(apt).unwrap();
    let summary: Vec<_> = s
        .iter()
        .map(|e| {
            (
                e.types.join(","),
                e.uris.join(","),
                e.suites.join(","),
                e.components.join(","),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "deb".into(),
                "http://mirror.example/debian".into(),
                "bookworm".into(),
                "main,contrib".into()
            ),
            (
                "deb-src".into(),
                "http://mirror.example/debian".into(),
                "bookworm".into(),
                "main".into()
            ),
            (
                "deb".into(),
                "http://flat.example/repo".into(),
                "./".into(),
                String::new()
            ),
            (
                "deb".into(),
                "http://mirror.example/debian".into(),
                "bookworm,bookworm-updates".into(),
                "main".into()
            ),
            (
                "deb".into(),
                "http://mirror.example/sec".into(),
                "bookworm-security".into(),
                "main".into()
            ),
        ]
    );
    assert_eq!(s[0].architectures, ["amd64", "arm64"]);
    assert!(s[0].covers_arch("amd64") && !s[0].covers_arch("i386"));
    assert_eq!(
        s[0].signed_by,
        Some(SignedBy::Keyrings(vec!["/k/a.gpg".into()]))
    );
    assert!(!s[1].is_binary());
    assert!(s[0].origin.ends_with("sources.list:2"), "{}", s[0].origin);
    assert!(s[3].origin.ends_with("b.sources:1"), "{}", s[3].origin);
    assert_eq!(
        s[3].locations()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "http://mirror.example/debian bookworm",
            "http://mirror.example/debian bookworm-updates"
        ]
    );
    assert_eq!(
        s[4].signed_by,
        Some(SignedBy::Inline(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
                .into()
        ))
    );
}

#[test]
fn empty_or_missing_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(discover(tmp.path()).unwrap().is_empty());
}

#[test]
fn errors_name_file_and_line() {
    let e = parse_one_line(
        "\ndeb http://m.example/ bookworm\n",
        "/etc/apt/sources.list",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/apt/sources.list:2: entry lacks components"
    );
    let e = parse_one_line("rpm http://m.example/ x y\n", "f").unwrap_err();
    assert!(e.to_string().contains("unknown type \"rpm\""), "{e}");
    let e = parse_deb822("Types: deb\nSuites: x\nComponents: main\n", "s.sources").unwrap_err();
    assert_eq!(e.to_string(), "s.sources:1: entry lacks URIs");
    let e = parse_deb822("Types deb\n", "s.sources").unwrap_err();
    assert!(e.to_string().starts_with("s.sources:1:1:"), "{e}");
}

#[test]
fn fingerprints_and_urls() {
    let s = parse_deb822(
        "Types: deb\nURIs: http://m.example/debian/\nSuites: bookworm\nComponents: main\nSigned-By: ABCD1234 EF56!\n",
        "x",
    )
    .unwrap();
    assert_eq!(
        s[0].signed_by,
        Some(SignedBy::Fingerprints(vec![
            "ABCD1234".into(),
            "EF56".into()
        ]))
    );
    let loc = SuiteLocation {
        uri: s[0].uris[0].clone(),
        suite: "bookworm".into(),
    };
    assert_eq!(
        loc.inrelease_url(),
        "http://m.example/debian/dists/bookworm/InRelease"
    );
    assert_eq!(
        loc.index_url(&packages_index_path("main", "amd64", ".xz")),
        "http://m.example/debian/dists/bookworm/main/binary-amd64/Packages.xz"
    );
    assert_eq!(
        loc.pool_url("pool/main/a/a/a.deb"),
        "http://m.example/debian/pool/main/a/a/a.deb"
    );
}
