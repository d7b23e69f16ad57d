//! Go's `fmt` as templates reach it: `printf`'s verbs, flags, width and
//! precision, its error spellings (`%!d(string=x)`, `%!v(MISSING)`,
//! `%!(EXTRA ...)`), and `print`/`println`'s spacing rules.

use std::fmt::Write as _;

use crate::value::{Value, format_float_g, format_v};

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::Str(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&format_v(a));
    }
    out
}

/// `fmt.Sprintln`: always spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = args.iter().map(format_v).collect::<Vec<_>>().join(" ");
    out.push('\n');
    out
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if chars.peek().map(|x| x.1) == Some('*') {
            chars.next();
            if let Some(Value::Int(w) | Value::I64(w)) = args.get(argi) {
                if *w < 0 {
                    spec.minus = true;
                }
                spec.width = Some(w.unsigned_abs() as usize);
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            argi += 1;
        } else {
            let mut w = String::new();
            while let Some(&(_, d)) = chars.peek().filter(|x| x.1.is_ascii_digit()) {
                w.push(d);
                chars.next();
            }
            if !w.is_empty() {
                spec.width = w.parse().ok();
            }
        }
        // Precision.
        if chars.peek().map(|x| x.1) == Some('.') {
            chars.next();
            if chars.peek().map(|x| x.1) == Some('*') {
                chars.next();
                if let Some(Value::Int(p) | Value::I64(p)) = args.get(argi) {
                    spec.prec = Some((*p).max(0) as usize);
                } else {
                    out.push_str("%!(BADPREC)");
                }
                argi += 1;
            } else {
                let mut p = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|x| x.1.is_ascii_digit()) {
                    p.push(d);
                    chars.next();
                }
                spec.prec = Some(p.parse().unwrap_or(0));
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        format_one(&mut out, verb, &spec, arg);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Nil | Value::Invalid => out.push_str("<nil>"),
                a => {
                    let _ = write!(out, "{}={}", a.type_name(), format_v(a));
                }
            }
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, s: &str, spec: &Spec, numeric: bool) {
    let len = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(s);
        return;
    }
    let fill = w - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else if spec.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, arg: &Value) {
    match arg {
        Value::Nil | Value::Invalid => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        a => {
            let _ = write!(out, "%!{verb}({}={})", a.type_name(), format_v(a));
        }
    }
}

fn format_one(out: &mut String, verb: char, spec: &Spec, arg: &Value) {
    if verb == 'T' {
        pad(out, &arg.type_name(), spec, false);
        return;
    }
    match arg {
        Value::Nil | Value::Invalid => match verb {
            'v' => pad(out, "<nil>", spec, false),
            _ => bad_verb(out, verb, arg),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec, false),
            _ => bad_verb(out, verb, arg),
        },
        Value::Int(i) | Value::I64(i) => fmt_int(out, verb, spec, *i, arg),
        Value::Float(f) => fmt_float(out, verb, spec, *f, arg),
        Value::Str(s) => fmt_str(out, verb, spec, s.as_bytes(), arg),
        Value::Bytes(b) if matches!(verb, 's' | 'q' | 'x' | 'X') => {
            fmt_str(out, verb, spec, b, arg)
        }
        Value::List(_) | Value::Strs(_) | Value::Bytes(_) => {
            let items = arg.items().unwrap_or_default();
            if verb == 'v' && spec.sharp {
                pad(out, &format_v(arg), spec, false);
                return;
            }
            let mut s = String::from("[");
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                format_one(
                    &mut s,
                    verb,
                    &Spec {
                        width: spec.width,
                        ..*spec
                    },
                    x,
                );
            }
            s.push(']');
            out.push_str(&s);
        }
        Value::Map(m) => {
            let mut s = String::from("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                format_one(&mut s, verb, spec, &Value::str(k));
                s.push(':');
                format_one(&mut s, verb, spec, x);
            }
            s.push(']');
            out.push_str(&s);
        }
        Value::Object(o) => {
            let mut s = String::new();
            o.write_v(&mut s, spec.plus);
            match verb {
                'v' | 's' => pad(out, &s, spec, false),
                _ => bad_verb(out, verb, arg),
            }
        }
    }
}

fn fmt_int(out: &mut String, verb: char, spec: &Spec, i: i64, arg: &Value) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'v' | 'd' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        'c' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec, false);
            return;
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            pad(out, &go_quote_char(c), spec, false);
            return;
        }
        'U' => {
            let s = format!("U+{u:04X}");
            pad(out, &s, spec, false);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => {
            bad_verb(out, verb, arg);
            return;
        }
        _ => {
            bad_verb(out, verb, arg);
            return;
        }
    };
    if let Some(p) = spec.prec {
        if digits.len() < p {
            digits = format!("{}{}", "0".repeat(p - digits.len()), digits);
        }
        if p == 0 && u == 0 {
            digits.clear();
        }
    }
    let prefix = match (verb, spec.sharp) {
        ('x', true) => "0x",
        ('X', true) => "0X",
        ('o', true) => "0",
        ('O', _) => "0o",
        ('b', true) => "0b",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    let zero_ok = spec.prec.is_none();
    pad(
        out,
        &s,
        &Spec {
            zero: spec.zero && zero_ok,
            ..*spec
        },
        true,
    );
}

fn fmt_float(out: &mut String, verb: char, spec: &Spec, f: f64, arg: &Value) {
    let mut s = match verb {
        'v' | 'g' | 'G' => match spec.prec {
            None => format_float_g(f),
            Some(p) => format_g_prec(f, p.max(1)),
        },
        'f' | 'F' => {
            if f.is_finite() {
                format!("{:.*}", spec.prec.unwrap_or(6), f)
            } else {
                format_float_g(f)
            }
        }
        'e' | 'E' => format_e(f, spec.prec.unwrap_or(6)),
        _ => {
            bad_verb(out, verb, arg);
            return;
        }
    };
    if verb == 'G' || verb == 'E' {
        s = s.to_uppercase();
    }
    if !s.starts_with('-') && !s.starts_with('+') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    pad(out, &s, spec, f.is_finite());
}

/// `%e` with precision (Go: at least two exponent digits).
pub fn format_e(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return format_float_g(f);
    }
    let s = format!("{:.*e}", prec, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!(
        "{m}e{}{:02}",
        if e < 0 { '-' } else { '+' },
        e.unsigned_abs()
    )
}

/// `%.Ng`.
fn format_g_prec(f: f64, p: usize) -> String {
    if !f.is_finite() {
        return format_float_g(f);
    }
    if f == 0.0 {
        return "0".into();
    }
    let e = format_e(f, p - 1);
    let (m, exp) = e.split_once('e').unwrap_or((&e, "+00"));
    let x: i32 = exp.parse().unwrap_or(0);
    if x < -4 || x >= p as i32 {
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        format!("{m}e{exp}")
    } else {
        let s = format!("{:.*}", (p as i32 - 1 - x).max(0) as usize, f);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn fmt_str(out: &mut String, verb: char, spec: &Spec, b: &[u8], arg: &Value) {
    let text = String::from_utf8_lossy(b);
    let text: &str = match spec.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => {
            let end = text.char_indices().nth(p).map_or(text.len(), |(i, _)| i);
            &text[..end]
        }
        _ => &text,
    };
    match verb {
        'v' | 's' => pad(out, text, spec, false),
        'q' => {
            let q = if spec.sharp && !text.contains('`') {
                format!("`{text}`")
            } else {
                go_quote(text)
            };
            pad(out, &q, spec, false);
        }
        'x' | 'X' => {
            let mut s = String::new();
            for (i, c) in b.iter().enumerate() {
                if spec.space && i > 0 {
                    s.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    s.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(s, "{c:02x}");
                } else {
                    let _ = write!(s, "{c:02X}");
                }
            }
            pad(out, &s, spec, false);
        }
        _ => bad_verb(out, verb, arg),
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            '\u{FFFD}' => out.push_str("\\ufffd"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn go_quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// Approximates Go's `unicode.IsPrint` (letters, marks, numbers,
/// punctuation, symbols and the ASCII space).
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xE000..=0xF8FF | 0xFFF9..=0xFFFB | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs() {
        let s = |f: &str, a: Vec<Value>| sprintf(f, &a);
        assert_eq!(s("%d-%s", vec![Value::Int(3), Value::str("x")]), "3-x");
        assert_eq!(s("%05d", vec![Value::Int(-42)]), "-0042");
        assert_eq!(s("%-4s|", vec![Value::str("a")]), "a   |");
        assert_eq!(s("%q", vec![Value::str("a\"b")]), "\"a\\\"b\"");
        assert_eq!(s("%d", vec![Value::str("x")]), "%!d(string=x)");
        assert_eq!(s("%d %d", vec![Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            s("%d", vec![Value::Int(1), Value::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(s("%.2f", vec![Value::Float(1.23456)]), "1.23");
        assert_eq!(s("%v", vec![Value::Float(1e6)]), "1e+06");
        assert_eq!(s("%x", vec![Value::str("hi")]), "6869");
        assert_eq!(s("%e", vec![Value::Float(1234.5678)]), "1.234568e+03");
        assert_eq!(s("%g", vec![Value::Float(0.000012)]), "1.2e-05");
        assert_eq!(s("%v", vec![Value::Nil]), "<nil>");
        assert_eq!(s("%s", vec![Value::Nil]), "%!s(<nil>)");
        assert_eq!(s("%T", vec![Value::Float(1.0)]), "float64");
        assert_eq!(s("%5.1f|", vec![Value::Float(2.25)]), "  2.2|");
    }

    #[test]
    fn print_spacing() {
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2)]), "1 2");
        assert_eq!(sprint(&[Value::str("a"), Value::Int(2)]), "a2");
        assert_eq!(
            sprint(&[Value::Int(1), Value::str("b"), Value::Int(2)]),
            "1b2"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::str("b")]), "a b\n");
    }
}
