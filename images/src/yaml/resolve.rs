//! What a plain (unquoted) scalar means, as go-yaml decides it.
//!
//! go-yaml resolves a plain scalar by its first character, a table of fixed
//! spellings (`true`, `~`, `.inf`, …) and Go's own number parsers
//! (`strconv.ParseInt` with base prefixes, after dropping `_`). The encoder
//! uses the same resolution backwards: a string that would read back as
//! something else must be quoted. v2 (YAML 1.1 flavoured, used by
//! `sigs.k8s.io/yaml`) also reads `yes/no/on/off/y/n` as booleans; v3 reads
//! them as strings but still quotes them when writing.
//!
//! Timestamps (`2001-12-14`, `2001-12-14T21:59:43Z`) resolve to a
//! timestamp; hlb reads them as strings (as Kubernetes does) but the
//! encoder must quote such strings, so they are recognised here exactly as
//! Go's `time.Parse` accepts go-yaml's four layouts.

use super::emit::Flavor;

/// The type a plain scalar resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Timestamp,
    /// The merge key `<<`.
    Merge,
    Str,
}

/// Resolve the plain scalar `s` as go-yaml `flavor` would when decoding
/// into an untyped value.
pub fn resolve_plain(s: &str, flavor: Flavor) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float,
        "<<" => return Resolved::Merge,
        _ => {}
    }
    if flavor == Flavor::V2 && is_old_bool(s) {
        return Resolved::Bool(matches!(
            s,
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
        ));
    }
    match s.as_bytes()[0] {
        b'.' => {
            if is_dot_float(s) && finite(s) {
                Resolved::Float
            } else {
                Resolved::Str
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_go_int(&plain) {
                return Resolved::Int(i);
            }
            if is_yaml_style_float(&plain) && finite(&plain) {
                return Resolved::Float;
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// YAML 1.1 booleans: strings in v3, but quoted on output by both flavours.
pub fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// YAML 1.1 base-60 floats (`1:20`, `-190:20:30.15`): never decoded, always
/// quoted on output. Pattern: `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`.
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && i - start < 2 && b[i].is_ascii_digit() {
            i += 1;
        }
        match i - start {
            1 => {}
            2 if b[start] <= b'5' => {}
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`.
pub fn parse_go_int(s: &str) -> Option<i128> {
    let (neg, signed, rest) = match s.as_bytes().first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let b = rest.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (radix, digits) = if b[0] == b'0' && b.len() >= 3 && matches!(b[1], b'x' | b'X') {
        (16, &rest[2..])
    } else if b[0] == b'0' && b.len() >= 3 && matches!(b[1], b'o' | b'O') {
        (8, &rest[2..])
    } else if b[0] == b'0' && b.len() >= 3 && matches!(b[1], b'b' | b'B') {
        (2, &rest[2..])
    } else if b[0] == b'0' {
        (8, &rest[1..])
    } else {
        (10, rest)
    };
    let mut n: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        n = n
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
        if n > u128::from(u64::MAX) {
            return None;
        }
    }
    let n = i128::try_from(n).ok()?;
    let v = if neg { -n } else { n };
    let fits_i64 = v >= i128::from(i64::MIN) && v <= i128::from(i64::MAX);
    // ParseUint takes no sign, so only an unsigned text may exceed i64.
    (fits_i64 || !signed).then_some(v)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    exponent(b, i)
}

/// `^\.[0-9]+([eE][-+]?[0-9]+)?$`: what Go's `ParseFloat` accepts from a
/// text starting with a dot.
fn is_dot_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 1;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i > 1 && exponent(b, i)
}

fn exponent(b: &[u8], mut i: usize) -> bool {
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'e' | b'E') {
        return false;
    }
    i += 1;
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i > start && i == b.len()
}

/// Go's `ParseFloat` fails (range error) where the value overflows.
fn finite(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Whether Go's `time.Parse` accepts `s` in one of go-yaml's layouts:
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`),
/// `2006-1-2 15:4:5.999999999` and `2006-1-2`.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: u32 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = num(b, &mut i).filter(|m| (1..=12).contains(m)) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = num(b, &mut i) else {
        return false;
    };
    if day < 1 || day > days_in(month, year) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(_hour) = num(b, &mut i).filter(|h| *h < 24) else {
        return false;
    };
    for _ in 0..2 {
        if b.get(i) != Some(&b':') {
            return false;
        }
        i += 1;
        if num(b, &mut i).filter(|m| *m < 60).is_none() {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if !zoned {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let z = &b[i + 1..];
            z.len() == 5
                && z[0].is_ascii_digit()
                && z[1].is_ascii_digit()
                && z[2] == b':'
                && z[3].is_ascii_digit()
                && z[4].is_ascii_digit()
                && (z[0] - b'0') * 10 + (z[1] - b'0') <= 24
                && (z[3] - b'0') * 10 + (z[4] - b'0') <= 60
        }
        _ => false,
    }
}

/// One or two digits (Go's `getnum(s, false)`).
fn num(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    let mut n = u32::from(d0 - b'0');
    if let Some(d1) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        *i += 1;
        n = n * 10 + u32::from(d1 - b'0');
    }
    Some(n)
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that
/// round-trip, in exponent form (`1e+06`, `1e-05`) when the decimal exponent
/// is below -4 or at least 6 (what `%g` does at shortest precision); with
/// `+Inf`/`-Inf`/`NaN` spelled `.inf`/`-.inf`/`.nan` as go-yaml writes them.
pub fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` is the shortest round-tripping form: `d.ddde±x`.
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let nd = digits.len() as i32;
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let dp = exp + 1;
    let out = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_ints() {
        assert_eq!(parse_go_int("0x1F"), Some(31));
        assert_eq!(parse_go_int("0o17"), Some(15));
        assert_eq!(parse_go_int("017"), Some(15));
        assert_eq!(parse_go_int("0b101"), Some(5));
        assert_eq!(parse_go_int("-0x10"), Some(-16));
        assert_eq!(parse_go_int("+7"), Some(7));
        assert_eq!(parse_go_int("0"), Some(0));
        assert_eq!(parse_go_int("08"), None);
        assert_eq!(parse_go_int("0x"), None);
        assert_eq!(
            parse_go_int("18446744073709551615"),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(parse_go_int("+18446744073709551615"), None);
        assert_eq!(parse_go_int("18446744073709551616"), None);
        assert_eq!(parse_go_int("-9223372036854775809"), None);
    }

    #[test]
    fn plain_resolution() {
        use Flavor::{V2, V3};
        assert_eq!(resolve_plain("yes", V3), Resolved::Str);
        assert_eq!(resolve_plain("yes", V2), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off", V2), Resolved::Bool(false));
        assert_eq!(resolve_plain("1_000", V3), Resolved::Int(1000));
        assert_eq!(resolve_plain("08", V3), Resolved::Float);
        assert_eq!(resolve_plain("1e999", V3), Resolved::Str);
        assert_eq!(resolve_plain(".5", V3), Resolved::Float);
        assert_eq!(resolve_plain("._5", V3), Resolved::Str);
        assert_eq!(resolve_plain("-.inf", V3), Resolved::Float);
        assert_eq!(resolve_plain("1.", V3), Resolved::Float);
        assert_eq!(resolve_plain("-", V3), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3", V3), Resolved::Str);
        assert_eq!(resolve_plain("2001-12-14", V3), Resolved::Timestamp);
        assert_eq!(resolve_plain("2001-02-29", V3), Resolved::Str);
        assert_eq!(resolve_plain("2000-02-29", V3), Resolved::Timestamp);
        assert_eq!(
            resolve_plain("2001-12-14t21:59:43.10-05:00", V3),
            Resolved::Timestamp
        );
        assert_eq!(
            resolve_plain("2001-12-14 21:59:43.10", V3),
            Resolved::Timestamp
        );
        assert_eq!(
            resolve_plain("2001-12-14 21:59:43.10 -5", V3),
            Resolved::Str
        );
        assert_eq!(resolve_plain("2001-12-14T21:59:43", V3), Resolved::Str);
    }

    #[test]
    fn base60() {
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("-190:20:30.15"));
        assert!(!is_base60_float("1:60"));
        assert!(!is_base60_float("12"));
        assert!(!is_base60_float("a:1"));
    }

    #[test]
    fn go_float_format() {
        for (f, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
            (0.1, "0.1"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
            (f64::NAN, ".nan"),
        ] {
            assert_eq!(format_go_float(f), s, "{f}");
        }
    }
}
