//! Version ordering vectors, written for this crate from the rules of
//! Debian policy §5.6.12 and dpkg's documented behaviour.

use super::*;
use std::cmp::Ordering::{Equal, Greater, Less};

const TABLE: &[(&str, Ordering, &str)] = &[
    // Identity and spellings of the same version.
    ("1.0", Equal, "1.0"),
    ("1.0", Equal, "0:1.0"),
    ("1.0", Equal, "1.0-0"),
    ("0:0", Equal, "0"),
    ("1.00", Equal, "1.0"),
    ("1.002", Equal, "1.2"),
    ("010", Equal, "10"),
    ("1.0-01", Equal, "1.0-1"),
    // Epoch dominates everything.
    ("1:0.1", Greater, "9.9"),
    ("2:1.0", Greater, "1:9.9"),
    ("1:1.0-1", Less, "2:0.1-1"),
    ("0:9", Less, "1:0"),
    // Numeric runs compare as numbers.
    ("1.2.3", Less, "1.10"),
    ("10", Greater, "9"),
    ("1.9", Less, "1.10"),
    ("2.30-2", Less, "2.30-10"),
    ("1.0.0", Greater, "1.0"),
    ("1.0", Less, "1.1"),
    ("0.9.8+git20230101", Less, "0.9.8+git20230102"),
    // Tilde sorts before everything, even the end of the string.
    ("1.0~rc1", Less, "1.0"),
    ("1.0~rc1", Less, "1.0~rc2"),
    ("1.0~", Less, "1.0"),
    ("1.0~~", Less, "1.0~"),
    ("1.0~~a", Less, "1.0~"),
    ("1.0~~", Less, "1.0~~a"),
    ("1.2~beta", Less, "1.2~rc"),
    ("1.0~rc1-1", Less, "1.0-1"),
    ("1.0-1~bpo12+1", Less, "1.0-1"),
    ("1.0-1~deb12u1", Greater, "1.0-0"),
    ("2.36-9+deb12u3", Greater, "2.36-9+deb12u1"),
    ("2.36-9+deb12u10", Greater, "2.36-9+deb12u9"),
    // Letters sort before non-letters; the end sorts before both.
    ("1.0", Less, "1.0a"),
    ("1.0a", Less, "1.0+"),
    ("1.0+", Less, "1.0."),
    ("1.0a", Less, "1.0b"),
    ("1A", Less, "1a"),
    ("1.0", Less, "1.0+b1"),
    ("7.6p2-4", Greater, "7.6-0"),
    ("1.0-a", Greater, "1.0-1"),
    ("1.0+dfsg", Less, "1.0.1"),
    // Revisions.
    ("1.0-1", Less, "1.0-2"),
    ("1.0-1", Less, "1.0-1.1"),
    ("1.0-1", Less, "1.0-1+b1"),
    ("1.2-5.6.7", Less, "1.2-5.6.8"),
    ("1.0-1-1", Greater, "1.0-1"),
    ("1.0-1-1", Greater, "1.0-2"),
    ("1.0", Less, "1.0-1"),
    // Upstream with hyphens and a colon-free epoch.
    ("3:1.2-3-4", Greater, "3:1.2-3"),
    ("252.33-1~deb12u1", Less, "252.36-1~deb12u1"),
];

#[test]
fn ordering_table() {
    for (a, expected, b) in TABLE {
        let va = Version::parse(a).unwrap();
        let vb = Version::parse(b).unwrap();
        assert_eq!(va.cmp(&vb), *expected, "{a} vs {b}");
        assert_eq!(vb.cmp(&va), expected.reverse(), "{b} vs {a}");
        assert_eq!(va == vb, *expected == Equal, "{a} == {b}");
    }
}

#[test]
fn ordering_is_transitive_over_table_versions() {
    let mut versions: Vec<Version> = TABLE
        .iter()
        .flat_map(|(a, _, b)| [a, b])
        .map(|s| Version::parse(s).unwrap())
        .collect();
    versions.sort();
    for w in versions.windows(2) {
        assert_ne!(w[0].cmp(&w[1]), Greater, "{} > {}", w[0], w[1]);
    }
    for (i, a) in versions.iter().enumerate() {
        for b in &versions[i..] {
            assert_ne!(a.cmp(b), Greater);
        }
    }
}

#[test]
fn parts_and_display() {
    let v = Version::parse("2:1.2-3-4").unwrap();
    assert_eq!((v.epoch(), v.upstream(), v.revision()), (2, "1.2-3", "4"));
    assert_eq!(v.to_string(), "2:1.2-3-4");
    let v = Version::parse("1.0").unwrap();
    assert_eq!((v.epoch(), v.upstream(), v.revision()), (0, "1.0", ""));
}

#[test]
fn invalid_versions() {
    for (text, reason) in [
        ("", "empty version"),
        ("a1", "upstream version does not start with a digit"),
        ("1.0 1", "contains whitespace"),
        ("x:1.0", "epoch is not a number"),
        (":1.0", "epoch is not a number"),
        ("99999999999:1", "epoch is too large"),
        ("1:", "empty upstream version"),
        ("1.0-", "empty revision after '-'"),
        ("1.0_1", "invalid character in upstream version"),
        ("1.0-1_2", "invalid character in revision"),
        ("1:2:3", "colon in upstream version"),
        ("-1", "empty upstream version"),
    ] {
        let err = Version::parse(text).unwrap_err();
        assert_eq!(err.reason, reason, "{text:?}");
    }
}
