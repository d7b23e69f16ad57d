//! Reading YAML: resolution as go-yaml v3 does it, anchors, merge keys,
//! duplicate keys and error positions.

use hlb_images::yaml::{Mark, Yaml, parse_documents};

fn one(text: &str) -> Yaml {
    let docs = parse_documents(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(docs.len(), 1, "{text}");
    docs[0].root.value.clone()
}

fn err(text: &str) -> String {
    parse_documents(text).expect_err(text).to_string()
}

#[test]
fn core_schema_as_go_yaml_v3() {
    let v = one(
        "a: yes\nb: on\nc: 0o17\nd: 0x1F\ne: .inf\nf: ~\ng: 017\nh: 1.5\ni: true\nj: '1'\nk: 2001-12-14\nl: 1_000\nm: 18446744073709551615\n",
    );
    let get = |k: &str| v.get(k).unwrap().value.clone();
    assert_eq!(get("a"), Yaml::str("yes"));
    assert_eq!(get("b"), Yaml::str("on"));
    assert_eq!(get("c"), Yaml::Int(15));
    assert_eq!(get("d"), Yaml::Int(31));
    assert_eq!(get("e"), Yaml::Float(".inf".into()));
    assert_eq!(get("f"), Yaml::Null);
    assert_eq!(get("g"), Yaml::Int(15));
    assert_eq!(get("h"), Yaml::Float("1.5".into()));
    assert_eq!(get("i"), Yaml::Bool(true));
    assert_eq!(get("j"), Yaml::str("1"));
    assert_eq!(get("k"), Yaml::str("2001-12-14"));
    assert_eq!(get("l"), Yaml::Int(1000));
    assert_eq!(get("m"), Yaml::Int(i128::from(u64::MAX)));
}

#[test]
fn tags() {
    let v = one("a: !!str 12\nb: !!int \"7\"\nc: !!float 1\nd: ! 5\n");
    assert_eq!(v.get("a").unwrap().value, Yaml::str("12"));
    assert_eq!(v.get("b").unwrap().value, Yaml::Int(7));
    assert_eq!(v.get("c").unwrap().value, Yaml::Float("1".into()));
    assert_eq!(v.get("d").unwrap().value, Yaml::str("5"));
    assert_eq!(err("a: !!int x\n"), "1:4: `x` is not an integer");
    assert_eq!(err("a: !Ref x\n"), "1:4: unsupported tag `!Ref`");
}

#[test]
fn positions_are_one_based() {
    let docs = parse_documents("---\nkind: A\nspec:\n  x: 1\n").unwrap();
    let root = &docs[0].root.value;
    assert_eq!(docs[0].start, Mark { line: 1, column: 1 });
    let (k, v) = root.get_entry("spec").unwrap();
    assert_eq!(k.mark, Some(Mark { line: 3, column: 1 }));
    let (k, _) = v.value.get_entry("x").unwrap();
    assert_eq!(k.mark, Some(Mark { line: 4, column: 3 }));
}

#[test]
fn anchors_and_aliases_expand() {
    let v = one("base: &b {x: 1}\ncopy: *b\nlist: [*b, *b]\n");
    assert_eq!(v.get("copy").unwrap().value, v.get("base").unwrap().value);
    assert_eq!(v.get("list").unwrap().value.as_seq().unwrap().len(), 2);
    assert!(
        err("a: *nope\n").contains("unknown anchor"),
        "{}",
        err("a: *nope\n")
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    assert!(
        err(&text).contains("aliases expand to more than"),
        "{}",
        err(&text)
    );
}

#[test]
fn merge_keys_as_go_yaml() {
    let v = one("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nm:\n  <<: [*a, *b]\n  x: 0\n  w: 3\n");
    let m = &v.get("m").unwrap().value;
    let keys: Vec<_> = m
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.value.clone(), v.value.clone()))
        .collect();
    // Explicit keys win; among sources the first wins; merged keys sit where `<<` was.
    assert_eq!(
        keys,
        [
            (Yaml::str("y"), Yaml::Int(1)),
            (Yaml::str("z"), Yaml::Int(2)),
            (Yaml::str("x"), Yaml::Int(0)),
            (Yaml::str("w"), Yaml::Int(3)),
        ]
    );
    assert_eq!(
        err("m:\n  <<: [1]\n"),
        "2:8: a merge key `<<` takes mappings, found an integer"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    assert_eq!(
        err("a: 1\nb: 2\na: 3\n"),
        "3:1: duplicate mapping key `a` (first at 1:1)"
    );
    // Same value, different spelling: still the same key.
    assert_eq!(
        err("1: a\n0x1: b\n"),
        "2:1: duplicate mapping key `1` (first at 1:1)"
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
    assert!(e.mark.line >= 1, "{e}");
    let e = parse_documents("a: b\n  c: d\n").unwrap_err();
    assert_eq!(e.mark.line, 2, "{e}");
}

#[test]
fn documents_and_empty_documents() {
    let docs = parse_documents("a: 1\n---\n---\n# only a comment\n---\nb: 2\n").unwrap();
    let roots: Vec<_> = docs.iter().map(|d| d.root.value.clone()).collect();
    assert_eq!(roots.len(), 4);
    assert_eq!(roots[1], Yaml::Null);
    assert_eq!(roots[2], Yaml::Null);
    assert_eq!(docs[3].start.line, 5);
    assert!(parse_documents("").unwrap().is_empty());
}

/// go-yaml v2 as sigs.k8s.io/yaml decodes Helm values: YAML 1.1 booleans
/// (keys too), and a repeated key keeps its last value instead of failing.
#[test]
fn v2_meaning_for_helm_values() {
    use hlb_images::yaml::{Flavor, Yaml, parse_documents_as};
    let docs = parse_documents_as("a: yes\nn: 1\nk: 1\nk: 2\n", Flavor::V2).expect("parses");
    let root = &docs[0].root.value;
    assert_eq!(root.get("a").map(|n| &n.value), Some(&Yaml::Bool(true)));
    assert_eq!(root.get("k").map(|n| &n.value), Some(&Yaml::Int(2)));
    let keys: Vec<&Yaml> = root
        .as_map()
        .expect("map")
        .iter()
        .map(|(k, _)| &k.value)
        .collect();
    assert!(
        keys.contains(&&Yaml::Bool(false)),
        "`n` is the boolean false: {keys:?}"
    );
    // v3 (the default) keeps `yes` a string and refuses the repeated key.
    assert!(hlb_images::yaml::parse_documents("k: 1\nk: 2\n").is_err());
}
