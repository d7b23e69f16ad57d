//! Sprig's string functions (`strings.go`, `regex.go` behaviour): case,
//! trimming, quoting, splitting, joining, indenting, regexes.
//!
//! Sprig's argument order is the template-friendly one (`trimSuffix
//! "-" .Name`: the cut first, the subject last); the subject comes last so
//! pipelines feed it.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Error, Registry, Ty, int, ok, s, strval};
use crate::value::Value;

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.add("upper", &[Str], |_, a| ok(s(&a[0]).to_uppercase()));
    r.add("lower", &[Str], |_, a| ok(s(&a[0]).to_lowercase()));
    r.add("title", &[Str], |_, a| ok(title(s(&a[0]))));
    r.add("untitle", &[Str], |_, a| ok(untitle(s(&a[0]))));
    r.add(
        "trim",
        &[Str],
        |_, a| ok(s(&a[0]).trim_matches(is_go_space)),
    );
    r.add("trimAll", &[Str, Str], |_, a| {
        let cut: Vec<char> = s(&a[0]).chars().collect();
        ok(s(&a[1]).trim_matches(|c| cut.contains(&c)))
    });
    r.add("trimSuffix", &[Str, Str], |_, a| {
        ok(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])))
    });
    r.add("trimPrefix", &[Str, Str], |_, a| {
        ok(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])))
    });
    r.add("nospace", &[Str], |_, a| {
        ok(s(&a[0])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    r.add("repeat", &[Int, Str], |_, a| {
        let n = int(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        ok(s(&a[1]).repeat(n as usize))
    });
    r.add("substr", &[Int, Int, Str], |_, a| {
        ok(substr(int(&a[0]), int(&a[1]), s(&a[2])))
    });
    r.add("trunc", &[Int, Str], |_, a| ok(trunc(int(&a[0]), s(&a[1]))));
    r.add("abbrev", &[Int, Str], |_, a| {
        let (w, t) = (int(&a[0]), s(&a[1]));
        if w < 4 || t.len() as i64 <= w {
            return ok(t);
        }
        ok(format!("{}...", &t[..(w - 3) as usize]))
    });
    r.add("abbrevboth", &[Int, Int, Str], |_, a| ok(s(&a[2])));
    r.add("initials", &[Str], |_, a| {
        ok(s(&a[0])
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect::<String>())
    });
    r.add("wrap", &[Int, Str], |_, a| {
        ok(wrap(int(&a[0]) as usize, s(&a[1]), "\n"))
    });
    r.add("wrapWith", &[Int, Str, Str], |_, a| {
        ok(wrap(int(&a[0]) as usize, s(&a[2]), s(&a[1])))
    });
    r.add("contains", &[Str, Str], |_, a| {
        ok(s(&a[1]).contains(s(&a[0])))
    });
    r.add("hasPrefix", &[Str, Str], |_, a| {
        ok(s(&a[1]).starts_with(s(&a[0])))
    });
    r.add("hasSuffix", &[Str, Str], |_, a| {
        ok(s(&a[1]).ends_with(s(&a[0])))
    });
    r.var("quote", &[], Any, |_, a| {
        ok(a.iter()
            .filter(|v| !v.is_nil_like())
            .map(|v| crate::template::gofmt::go_quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    r.var("squote", &[], Any, |_, a| {
        ok(a.iter()
            .filter(|v| !v.is_nil_like())
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    r.var("cat", &[], Any, |_, a| {
        ok(a.iter()
            .filter(|v| !v.is_nil_like())
            .map(strval)
            .collect::<Vec<_>>()
            .join(" "))
    });
    r.add("indent", &[Int, Str], |_, a| {
        ok(indent(int(&a[0]), s(&a[1])))
    });
    r.add("nindent", &[Int, Str], |_, a| {
        ok(format!("\n{}", indent(int(&a[0]), s(&a[1]))))
    });
    r.add("replace", &[Str, Str, Str], |_, a| {
        ok(s(&a[2]).replace(s(&a[0]), s(&a[1])))
    });
    r.add("plural", &[Str, Str, Int], |_, a| {
        ok(if int(&a[2]) == 1 { s(&a[0]) } else { s(&a[1]) })
    });
    r.add("snakecase", &[Str], |_, a| ok(snake(s(&a[0]), '_')));
    r.add("kebabcase", &[Str], |_, a| ok(snake(s(&a[0]), '-')));
    r.add("camelcase", &[Str], |_, a| ok(camel(s(&a[0]))));
    r.add("swapcase", &[Str], |_, a| {
        ok(s(&a[0])
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<String>()
                } else {
                    c.to_uppercase().collect::<String>()
                }
            })
            .collect::<String>())
    });
    r.add("toString", &[Any], |_, a| ok(strval(&a[0])));
    r.add("toStrings", &[Any], |_, a| {
        Ok(Value::Strs(Rc::new(strslice(&a[0]))))
    });
    r.add("join", &[Str, Any], |_, a| {
        ok(strslice(&a[1]).join(s(&a[0])))
    });
    r.add("split", &[Str, Str], |_, a| {
        let m: BTreeMap<String, Value> = s(&a[1])
            .split(s(&a[0]))
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::str(p)))
            .collect();
        Ok(Value::map(m))
    });
    r.add("splitn", &[Str, Int, Str], |_, a| {
        let m: BTreeMap<String, Value> = s(&a[2])
            .splitn(int(&a[1]).max(0) as usize, s(&a[0]))
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::str(p)))
            .collect();
        Ok(Value::map(m))
    });
    r.add("splitList", &[Str, Str], |_, a| {
        let (sep, t) = (s(&a[0]), s(&a[1]));
        let parts: Vec<String> = if sep.is_empty() {
            t.chars().map(|c| c.to_string()).collect()
        } else {
            t.split(sep).map(str::to_string).collect()
        };
        Ok(Value::Strs(Rc::new(parts)))
    });
    r.add("sortAlpha", &[Any], |_, a| {
        let mut v = strslice(&a[0]);
        v.sort();
        Ok(Value::Strs(Rc::new(v)))
    });
    r.add("regexMatch", &[Str, Str], |_, a| {
        ok(re(s(&a[0])).map(|r| r.is_match(s(&a[1]))).unwrap_or(false))
    });
    r.add("mustRegexMatch", &[Str, Str], |_, a| {
        ok(re(s(&a[0]))?.is_match(s(&a[1])))
    });
    r.add("regexFind", &[Str, Str], |_, a| {
        ok(re(s(&a[0]))
            .ok()
            .and_then(|r| r.find(s(&a[1])).map(|m| m.as_str().to_string()))
            .unwrap_or_default())
    });
    r.add("mustRegexFind", &[Str, Str], |_, a| {
        ok(re(s(&a[0]))?
            .find(s(&a[1]))
            .map(|m| m.as_str().to_string())
            .unwrap_or_default())
    });
    r.add("regexFindAll", &[Str, Str, Int], |_, a| {
        let r = re(s(&a[0]))?;
        let n = int(&a[2]);
        let all: Vec<String> = r
            .find_iter(s(&a[1]))
            .take(if n < 0 { usize::MAX } else { n as usize })
            .map(|m| m.as_str().to_string())
            .collect();
        Ok(Value::Strs(Rc::new(all)))
    });
    r.add("regexReplaceAll", &[Str, Str, Str], |_, a| {
        ok(re(s(&a[0]))?.replace_all(s(&a[1]), s(&a[2])).into_owned())
    });
    r.add("mustRegexReplaceAll", &[Str, Str, Str], |_, a| {
        ok(re(s(&a[0]))?.replace_all(s(&a[1]), s(&a[2])).into_owned())
    });
    r.add("regexReplaceAllLiteral", &[Str, Str, Str], |_, a| {
        ok(re(s(&a[0]))?
            .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
            .into_owned())
    });
    r.add("regexSplit", &[Str, Str, Int], |_, a| {
        let r = re(s(&a[0]))?;
        let n = int(&a[2]);
        let parts: Vec<String> = if n < 0 {
            r.split(s(&a[1])).map(str::to_string).collect()
        } else {
            r.splitn(s(&a[1]), n as usize).map(str::to_string).collect()
        };
        Ok(Value::Strs(Rc::new(parts)))
    });
    r.add("regexQuoteMeta", &[Str], |_, a| ok(regex::escape(s(&a[0]))));
}

fn re(p: &str) -> Result<regex::Regex, Error> {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> = Default::default();
    }
    if let Some(r) = CACHE.with(|c| c.borrow().get(p).cloned()) {
        return Ok(r);
    }
    let r = regex::Regex::new(&go_regex(p))
        .map_err(|e| Error::Msg(format!("error parsing regexp: {e}")))?;
    CACHE.with(|c| c.borrow_mut().insert(p.to_string(), r.clone()));
    Ok(r)
}

/// Go's RE2 dialect in the `regex` crate's: inside a class, a `-` next to
/// a class escape (`[\w-.]`) is a literal in Go but a bad range here.
fn go_regex(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len());
    let mut in_class = false;
    let mut prev_was_class_escape = false;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' && i + 1 < c.len() {
            let e = c[i + 1];
            out.push(ch);
            out.push(e);
            prev_was_class_escape = in_class && "dDsSwW".contains(e);
            i += 2;
            continue;
        }
        if in_class {
            if ch == ']' {
                in_class = false;
            } else if ch == '-' {
                let next_is_class_escape =
                    i + 2 < c.len() && c[i + 1] == '\\' && "dDsSwW".contains(c[i + 2]);
                if prev_was_class_escape || next_is_class_escape {
                    out.push_str("\\-");
                    prev_was_class_escape = false;
                    i += 1;
                    continue;
                }
            }
        } else if ch == '[' {
            in_class = true;
            out.push(ch);
            i += 1;
            // A leading `^` and `]` belong to the class.
            if i < c.len() && c[i] == '^' {
                out.push('^');
                i += 1;
            }
            if i < c.len() && c[i] == ']' {
                out.push_str("\\]");
                i += 1;
            }
            prev_was_class_escape = false;
            continue;
        }
        prev_was_class_escape = false;
        out.push(ch);
        i += 1;
    }
    out
}

/// Go's `unicode.IsSpace` (what `strings.TrimSpace` trims).
pub fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Sprig's `strslice`: a list as strings (nil items dropped).
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::Strs(l) => l.as_ref().clone(),
        Value::List(l) => l.iter().filter(|x| !x.is_nil_like()).map(strval).collect(),
        Value::Invalid | Value::Nil => Vec::new(),
        v => match v.items() {
            Some(items) => items.iter().map(strval).collect(),
            None => vec![strval(v)],
        },
    }
}

fn title(t: &str) -> String {
    // Go's deprecated strings.Title: upper-case letters that follow a
    // separator (anything but letters, digits, `_`, and not ASCII
    // punctuation-free...).
    let mut out = String::with_capacity(t.len());
    let mut prev_sep = true;
    for c in t.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !(c.is_alphanumeric()) && c.is_whitespace()
        };
    }
    out
}

fn untitle(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut prev_space = true;
    for c in t.chars() {
        if prev_space && c.is_alphabetic() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn substr(start: i64, end: i64, t: &str) -> String {
    let b = t.as_bytes();
    let n = b.len() as i64;
    let slice = if start < 0 {
        &b[..end.clamp(0, n) as usize]
    } else if end < 0 || end > n {
        &b[start.min(n) as usize..]
    } else {
        &b[start.min(end) as usize..end as usize]
    };
    String::from_utf8_lossy(slice).into_owned()
}

fn trunc(c: i64, t: &str) -> String {
    let n = t.len() as i64;
    let b = t.as_bytes();
    if c < 0 && n + c > 0 {
        return String::from_utf8_lossy(&b[(n + c) as usize..]).into_owned();
    }
    if c >= 0 && n > c {
        return String::from_utf8_lossy(&b[..c as usize]).into_owned();
    }
    t.to_string()
}

fn indent(n: i64, t: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", t.replace('\n', &format!("\n{pad}")))
}

/// goutils WrapCustom with wrapLongWords=false.
fn wrap(width: usize, t: &str, nl: &str) -> String {
    let width = width.max(1);
    let mut out = String::new();
    for (li, line) in t.split('\n').enumerate() {
        if li > 0 {
            out.push_str(nl);
        }
        let mut cur = 0;
        for (wi, w) in line.split(' ').filter(|w| !w.is_empty()).enumerate() {
            if wi > 0 {
                if cur + 1 + w.len() > width {
                    out.push_str(nl);
                    cur = 0;
                } else {
                    out.push(' ');
                    cur += 1;
                }
            }
            out.push_str(w);
            cur += w.len();
        }
    }
    out
}

fn snake(t: &str, sep: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = t.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit()) {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if c == ' ' || c == '-' || c == '_' {
            out.push(sep);
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(t: &str) -> String {
    t.split(['_', ' ', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().collect::<String>() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}
