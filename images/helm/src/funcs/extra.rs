//! The rest of Sprig's names: path functions (`base dir clean ext isAbs`
//! and their `os*` forms, Go's `path` package semantics), aliases
//! (`tuple`, `trimall`, `date_modify`...), `b32dec`, URL helpers, and the
//! functions hlb does not support yet (they fail when called, naming
//! themselves, so a chart that only defines them still renders).

use std::collections::BTreeMap;

use super::{Error, Registry, Ty, ok, s};
use crate::value::Value;

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.var("tuple", &[], Any, |_, a| Ok(Value::list(a)));
    r.add("hello", &[], |_, _| ok("Hello!"));
    r.add("trimall", &[Str, Str], |_, a| {
        let cut: Vec<char> = s(&a[0]).chars().collect();
        ok(s(&a[1]).trim_matches(|c| cut.contains(&c)))
    });
    for name in ["base", "osBase"] {
        r.add(name, &[Str], |_, a| ok(base(s(&a[0]))));
    }
    for name in ["dir", "osDir"] {
        r.add(name, &[Str], |_, a| ok(dir(s(&a[0]))));
    }
    for name in ["clean", "osClean"] {
        r.add(name, &[Str], |_, a| ok(clean(s(&a[0]))));
    }
    for name in ["ext", "osExt"] {
        r.add(name, &[Str], |_, a| {
            let p = s(&a[0]);
            let last = p.rsplit('/').next().unwrap_or(p);
            ok(last
                .rfind('.')
                .map(|i| last[i..].to_string())
                .unwrap_or_default())
        });
    }
    for name in ["isAbs", "osIsAbs"] {
        r.add(name, &[Str], |_, a| ok(s(&a[0]).starts_with('/')));
    }
    r.add("b32dec", &[Str], |_, a| ok(b32dec(s(&a[0]))));
    r.add("mustChunk", &[Int, Any], |x, a| {
        let f = super::all().get("chunk").map(|f| f.f);
        match f {
            Some(f) => f(x, a),
            None => Err("chunk missing".into()),
        }
    });
    for (alias, target) in [
        ("mustRegexFindAll", "regexFindAll"),
        ("mustRegexReplaceAllLiteral", "regexReplaceAllLiteral"),
        ("mustRegexSplit", "regexSplit"),
        ("date_modify", "dateModify"),
        ("mustDateModify", "dateModify"),
        ("must_date_modify", "dateModify"),
        ("date_in_zone", "dateInZone"),
        ("mustToDate", "toDate"),
    ] {
        r.alias(alias, target);
    }
    r.add("urlParse", &[Str], |_, a| ok(url_parse(s(&a[0]))));
    r.add("urlJoin", &[Map], |_, a| ok(url_join(&a[0])));
    for (name, params) in [
        ("bcrypt", &[Str][..]),
        ("htpasswd", &[Str, Str][..]),
        ("derivePassword", &[Int, Str, Str, Str, Str][..]),
        ("encryptAES", &[Str, Str][..]),
        ("decryptAES", &[Str, Str][..]),
        ("randSeededNumeric", &[Int, Int][..]),
    ] {
        r.add(name, params, |_, _| {
            Err(Error::Msg("not supported by hlb yet".into()))
        });
    }
}

/// Go's `path.Clean`.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `path.Dir`.
pub fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

fn b32dec(t: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for (i, c) in t.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let Some(v) = ALPHA.iter().position(|&x| x == c) else {
            return format!("illegal base32 data at input byte {i}");
        };
        bits = (bits << 5) | v as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn url_parse(u: &str) -> Value {
    let mut m = BTreeMap::new();
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => (String::new(), u.to_string()),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (rest, String::new()),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (rest, String::new()),
    };
    let (authority, path) = if scheme.is_empty() {
        (String::new(), rest)
    } else {
        match rest.find('/') {
            Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
            None => (rest, String::new()),
        }
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (u.to_string(), h.to_string()),
        None => (String::new(), authority),
    };
    m.insert("scheme".to_string(), Value::str(scheme));
    m.insert("host".to_string(), Value::str(host));
    m.insert("hostname".to_string(), Value::str(""));
    m.insert("path".to_string(), Value::str(path));
    m.insert("query".to_string(), Value::str(query));
    m.insert("opaque".to_string(), Value::str(""));
    m.insert("fragment".to_string(), Value::str(fragment));
    m.insert("userinfo".to_string(), Value::str(userinfo));
    Value::map(m)
}

fn url_join(v: &Value) -> String {
    let get = |k: &str| match v {
        Value::Map(m) => m.borrow().get(k).map(super::strval).unwrap_or_default(),
        _ => String::new(),
    };
    let mut out = String::new();
    if !get("scheme").is_empty() {
        out.push_str(&get("scheme"));
        out.push_str("://");
    }
    if !get("userinfo").is_empty() {
        out.push_str(&get("userinfo"));
        out.push('@');
    }
    out.push_str(&get("host"));
    out.push_str(&get("path"));
    if !get("query").is_empty() {
        out.push('?');
        out.push_str(&get("query"));
    }
    if !get("fragment").is_empty() {
        out.push('#');
        out.push_str(&get("fragment"));
    }
    out
}
