//! Generated strings built from YAML's troublemakers (indicators, spaces,
//! line breaks, quotes, non-BMP characters) must read back unchanged after
//! being written, as values and as keys, in both styles. A fixed seed keeps
//! the run reproducible; raise `COUNT` locally to search harder.
//!
//! U+2028/U+2029 are left out on purpose: go-yaml (YAML 1.1) writes them
//! raw as line breaks and so do we, but YAML 1.2 readers, hlb's included,
//! do not read them as breaks.

use hlb_images::yaml::{Style, Yaml, emit, parse_documents};

const COUNT: usize = 4000;
const ALPHABET: &[char] = &[
    'a', 'b', 'y', 'n', 'e', '0', '1', '.', '_', '+', '-', ' ', ' ', '\n', '\t', ':', '#', '?',
    '\'', '"', '\\', '[', ']', '{', '}', ',', '!', '&', '*', '|', '>', '%', '@', '`', '~', 'é',
    '😀', '\r', '\u{85}', '\u{feff}', '\u{7}',
];

/// xorshift64*: small, deterministic, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn string(rng: &mut Rng) -> String {
    let len = (rng.next() % 14) as usize;
    (0..len)
        .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
        .collect()
}

fn strings() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..COUNT).map(|_| string(&mut rng)).collect()
}

/// A random tree: scalars of every kind, nested and empty collections.
fn tree(rng: &mut Rng, depth: u32) -> Yaml {
    let pick = rng.next() % if depth == 0 { 5 } else { 8 };
    match pick {
        0 => Yaml::Null,
        1 => Yaml::Bool(rng.next().is_multiple_of(2)),
        2 => Yaml::Int(i128::from(rng.next() as i64)),
        3 | 4 => Yaml::str(string(rng)),
        5 => Yaml::Seq(vec![]),
        6 => Yaml::Seq(
            (0..1 + rng.next() % 3)
                .map(|_| tree(rng, depth - 1).into())
                .collect(),
        ),
        _ => {
            let mut entries: Vec<(Yaml, Yaml)> = Vec::new();
            for _ in 0..rng.next() % 4 {
                let key = Yaml::str(string(rng));
                if !entries.iter().any(|(k, _)| *k == key) {
                    entries.push((key, tree(rng, depth - 1)));
                }
            }
            Yaml::map(entries)
        }
    }
}

#[test]
fn generated_trees_read_back() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for style in [Style::K8S, Style::TALOS] {
        for _ in 0..COUNT / 4 {
            let value = tree(&mut rng, 4);
            let text = emit(&value, &style);
            if style == Style::TALOS && text.contains("|4") {
                continue; // possibly a leading empty line that v3 drops
            }
            let back = parse_documents(&text).unwrap_or_else(|e| {
                panic!("{:?} wrote unreadable YAML ({e}):\n{text}", style.flavor)
            });
            assert_eq!(
                back[0].root.value, value,
                "{:?} wrote:\n{text}",
                style.flavor
            );
        }
    }
}

#[test]
fn generated_strings_read_back() {
    let mut failures = Vec::new();
    for style in [Style::K8S, Style::TALOS] {
        for s in strings() {
            // go-yaml v3 drops a literal block's leading empty line; so do we.
            if style == Style::TALOS && s.starts_with('\n') {
                continue;
            }
            for (doc, get) in [
                (Yaml::map([("k", Yaml::str(s.clone()))]), true),
                (Yaml::map([(Yaml::str(s.clone()), Yaml::Int(1))]), false),
            ] {
                let text = emit(&doc, &style);
                let back = parse_documents(&text).map(|d| d[0].root.value.clone());
                let ok = match &back {
                    Ok(v) if get => v.get("k").map(|n| &n.value) == Some(&Yaml::str(s.clone())),
                    Ok(v) => {
                        v.as_map().and_then(|m| m.first()).map(|(k, _)| &k.value)
                            == Some(&Yaml::str(s.clone()))
                    }
                    Err(_) => false,
                };
                if !ok {
                    failures.push(format!(
                        "{:?} {s:?} wrote {text:?} read {back:?}",
                        style.flavor
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(15)].join("\n")
    );
}
