//! Map keys in the order go-yaml writes a Go map.
//!
//! Go maps have no order, so go-yaml sorts their keys before writing:
//! numbers and booleans first, by value; then by type; strings in a
//! "natural" order where runs of digits compare as numbers (`a2` before
//! `a10`) and letters compare by code point. v2 and v3 differ in one case:
//! a letter against a non-letter after a run of digits (v3 puts the letter
//! first there, v2 puts the non-letter first).
//!
//! Structs keep their field order in Go; in hlb that is simply "don't call
//! [`sort_keys`] on that part of the tree".

use std::cmp::Ordering;

use super::emit::Flavor;
use super::{Node, Yaml};

/// Go's `reflect.Kind` numbering, which orders keys of different types.
fn kind(v: &Yaml) -> u8 {
    match v {
        Yaml::Bool(_) => 1,
        Yaml::Int(i) if *i > i128::from(i64::MAX) => 11,
        Yaml::Int(_) => 2,
        Yaml::Float(_) => 14,
        Yaml::Null => 20,
        Yaml::Map(_) => 21,
        Yaml::Seq(_) => 23,
        Yaml::Str(_) => 24,
    }
}

fn key_float(v: &Yaml) -> Option<f64> {
    match v {
        Yaml::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Yaml::Int(i) => Some(*i as f64),
        Yaml::Float(text) => Some(parse_float_text(text)),
        _ => None,
    }
}

/// The value of a float as go-yaml writes or reads it (`.inf`, `1_000.5`).
pub fn parse_float_text(text: &str) -> f64 {
    match text.trim_start_matches('+') {
        ".inf" | ".Inf" | ".INF" => f64::INFINITY,
        "-.inf" | "-.Inf" | "-.INF" => f64::NEG_INFINITY,
        ".nan" | ".NaN" | ".NAN" => f64::NAN,
        t => t.replace('_', "").parse().unwrap_or(f64::NAN),
    }
}

/// go-yaml's `keyList.Less`: whether key `a` sorts before key `b`.
pub fn go_key_less(a: &Yaml, b: &Yaml, flavor: Flavor) -> bool {
    let (ak, bk) = (kind(a), kind(b));
    if let (Some(af), Some(bf)) = (key_float(a), key_float(b)) {
        if af != bf {
            return af < bf;
        }
        if ak != bk {
            return ak < bk;
        }
        return match (a, b) {
            (Yaml::Int(x), Yaml::Int(y)) => x < y,
            (Yaml::Bool(x), Yaml::Bool(y)) => !x & y,
            _ => false,
        };
    }
    match (a, b) {
        (Yaml::Str(a), Yaml::Str(b)) => str_less(a, b, flavor),
        _ => ak < bk,
    }
}

fn str_less(a: &str, b: &str, flavor: Flavor) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let digit = |c: char| c.is_numeric();
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            digits = digit(ar[i]);
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return match flavor {
                Flavor::V3 if digits => al,
                _ => bl,
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            // A run of zeros after a non-zero digit is part of a number
            // that already differs from nothing: compare the rest as such.
            for j in (0..i).rev() {
                if !digit(ar[j]) {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let run = |r: &[char], n: &mut i64| {
            let mut k = i;
            while k < r.len() && digit(r[k]) {
                *n = n.wrapping_mul(10).wrapping_add(r[k] as i64 - '0' as i64);
                k += 1;
            }
            k
        };
        let ai = run(&ar, &mut an);
        let bi = run(&br, &mut bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Sort every map in `value` (recursively) as go-yaml sorts a Go map.
pub fn sort_keys(value: &mut Yaml, flavor: Flavor) {
    match value {
        Yaml::Seq(items) => items
            .iter_mut()
            .for_each(|n| sort_keys(&mut n.value, flavor)),
        Yaml::Map(entries) => {
            for (_, v) in entries.iter_mut() {
                sort_keys(&mut v.value, flavor);
            }
            sort_entries(entries, flavor);
        }
        _ => {}
    }
}

/// A stable insertion sort: `go_key_less` is not guaranteed to be a total
/// order for odd keys, and std's sorts may panic on such comparators.
fn sort_entries(entries: &mut [(Node, Node)], flavor: Flavor) {
    for i in 1..entries.len() {
        let mut j = i;
        while j > 0 && go_key_less(&entries[j].0.value, &entries[j - 1].0.value, flavor) {
            entries.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// `Ordering` view of [`go_key_less`], for callers that sort other things
/// by key (only meaningful for well-behaved keys).
pub fn go_key_cmp(a: &Yaml, b: &Yaml, flavor: Flavor) -> Ordering {
    if go_key_less(a, b, flavor) {
        Ordering::Less
    } else if go_key_less(b, a, flavor) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str], flavor: Flavor) -> Vec<String> {
        let mut y = Yaml::map(keys.iter().map(|k| (*k, Yaml::Null)));
        sort_keys(&mut y, flavor);
        y.as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.value.as_str().unwrap().to_string())
            .collect()
    }

    /// The string part of go-yaml's own sorted-output expectations (facts).
    const GO_ORDER: [&str; 34] = [
        "", ".1", ".2", ".a", "1", "2", "a!10", "a/0001", "a/002", "a/3", "a/10", "a/11", "a/0012",
        "a/100", "a~10", "ab/1", "b/1", "b/01", "b/2", "b/02", "b/3", "b/03", "b1", "b01", "b3",
        "c2.10", "c10.2", "d1", "d7", "d7abc", "d12", "d12a", "e2b", "e4b",
    ];

    #[test]
    fn natural_order() {
        for flavor in [Flavor::V2, Flavor::V3] {
            let mut shuffled = GO_ORDER.to_vec();
            shuffled.reverse();
            shuffled.rotate_left(7);
            assert_eq!(sorted(&shuffled, flavor), GO_ORDER, "{flavor:?}");
        }
        let mut v3 = GO_ORDER.to_vec();
        v3.push("e21a");
        v3.reverse();
        let mut want = GO_ORDER.to_vec();
        want.push("e21a");
        assert_eq!(sorted(&v3, Flavor::V3), want);
    }

    #[test]
    fn letters_by_code_point_and_kubernetes_keys() {
        assert_eq!(
            sorted(
                &["spec", "metadata", "kind", "apiVersion", "Zeta"],
                Flavor::V2
            ),
            ["Zeta", "apiVersion", "kind", "metadata", "spec"]
        );
    }

    #[test]
    fn numbers_before_strings_and_by_value() {
        let mut y = Yaml::Map(vec![
            (Node::new(Yaml::str("x")), Node::new(Yaml::Null)),
            (Node::new(Yaml::Int(10)), Node::new(Yaml::Null)),
            (Node::new(Yaml::Float("2.5".into())), Node::new(Yaml::Null)),
            (Node::new(Yaml::Bool(true)), Node::new(Yaml::Null)),
            (Node::new(Yaml::Null), Node::new(Yaml::Null)),
        ]);
        sort_keys(&mut y, Flavor::V3);
        let keys: Vec<Yaml> = y
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.value.clone())
            .collect();
        assert_eq!(
            keys,
            [
                Yaml::Bool(true),
                Yaml::Float("2.5".into()),
                Yaml::Int(10),
                Yaml::Null,
                Yaml::str("x")
            ]
        );
    }

    #[test]
    fn v2_and_v3_differ_after_digits() {
        // After the shared digit run "1", 'a' (letter) meets '.' (not one).
        assert!(go_key_less(&Yaml::str("1a"), &Yaml::str("1."), Flavor::V3));
        assert!(!go_key_less(&Yaml::str("1a"), &Yaml::str("1."), Flavor::V2));
    }
}
