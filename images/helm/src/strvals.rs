//! Helm's `strvals`: the `--set` family's `a.b[0].c=v,d={x,y}` syntax.
//!
//! Facts followed: `,` separates assignments, `.` nests maps, `[n]`
//! indexes lists (padding with nil), `{a,b}` is a list, `\` escapes the
//! next character; `--set` types values (`true`/`false` any case → bool,
//! `null` → nil, decimal integers not starting with `0` → int64), while
//! `--set-string` keeps strings; `--set-json` values are JSON.

use std::collections::BTreeMap;

use crate::value::{MapRef, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Typed,
    Str,
    Json,
}

const MAX_INDEX: usize = 65536;

/// Parse `s` into `dest`.
pub fn parse_into(s: &str, dest: &MapRef, kind: Kind) -> Result<(), String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        i = assignment(&chars, i, dest, kind, s)?;
        if i < chars.len() && chars[i] == ',' {
            i += 1;
        }
    }
    Ok(())
}

/// Path segments of a key: names and indexes.
enum Seg {
    Key(String),
    Index(usize),
}

fn assignment(
    c: &[char],
    mut i: usize,
    dest: &MapRef,
    kind: Kind,
    whole: &str,
) -> Result<usize, String> {
    let mut segs = Vec::new();
    let mut cur = String::new();
    loop {
        if i >= c.len() {
            if cur.is_empty() && segs.is_empty() {
                return Ok(i);
            }
            return Err(format!("key {cur:?} has no value"));
        }
        match c[i] {
            '\\' if i + 1 < c.len() => {
                cur.push(c[i + 1]);
                i += 2;
            }
            '.' => {
                segs.push(Seg::Key(std::mem::take(&mut cur)));
                i += 1;
            }
            '[' => {
                if !cur.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut cur)));
                }
                let end = c[i..].iter().position(|&x| x == ']').ok_or("missing ']'")? + i;
                let n: String = c[i + 1..end].iter().collect();
                let idx: i64 = n
                    .parse()
                    .map_err(|_| format!("failed to parse index: {n}"))?;
                if idx < 0 {
                    return Err("negative 1 index not allowed".into());
                }
                if idx as usize > MAX_INDEX {
                    return Err(format!(
                        "index of {idx} is greater than maximum supported index of {MAX_INDEX}"
                    ));
                }
                segs.push(Seg::Index(idx as usize));
                i = end + 1;
                if i < c.len() && c[i] == '.' {
                    i += 1;
                }
            }
            '=' => {
                if !cur.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut cur)));
                }
                i += 1;
                break;
            }
            ',' => {
                return Err(format!("key {cur:?} has no value (cannot end with ,)"));
            }
            ch => {
                cur.push(ch);
                i += 1;
            }
        }
    }
    // The value.
    let (value, next) = if kind == Kind::Json {
        let rest: String = c[i..].iter().collect();
        let mut de = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        match de.next() {
            Some(Ok(j)) => {
                let used = de.byte_offset();
                let used_chars = rest[..used].chars().count();
                (crate::convert::from_json_value(&j), i + used_chars)
            }
            _ => return Err(format!("failed parsing --set-json data {whole}")),
        }
    } else if i < c.len() && c[i] == '{' {
        let mut items = Vec::new();
        let mut j = i + 1;
        let mut cur = String::new();
        loop {
            if j >= c.len() {
                return Err("list must terminate with '}'".into());
            }
            match c[j] {
                '\\' if j + 1 < c.len() => {
                    cur.push(c[j + 1]);
                    j += 2;
                }
                ',' => {
                    items.push(typed(&std::mem::take(&mut cur), kind));
                    j += 1;
                }
                '}' => {
                    if !cur.is_empty() || !items.is_empty() {
                        items.push(typed(&cur, kind));
                    }
                    j += 1;
                    break;
                }
                ch => {
                    cur.push(ch);
                    j += 1;
                }
            }
        }
        (Value::list(items), j)
    } else {
        let mut j = i;
        let mut cur = String::new();
        while j < c.len() && c[j] != ',' {
            if c[j] == '\\' && j + 1 < c.len() {
                cur.push(c[j + 1]);
                j += 2;
            } else {
                cur.push(c[j]);
                j += 1;
            }
        }
        (typed(&cur, kind), j)
    };
    set_path(dest, &segs, value)?;
    Ok(next)
}

fn typed(v: &str, kind: Kind) -> Value {
    if kind == Kind::Str {
        return Value::str(v);
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if v == "0" {
        return Value::I64(0);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Ok(i) = v.parse::<i64>()
    {
        return Value::I64(i);
    }
    Value::str(v)
}

fn set_path(dest: &MapRef, segs: &[Seg], value: Value) -> Result<(), String> {
    let Some(Seg::Key(first)) = segs.first() else {
        return Err("key has no name".into());
    };
    if segs.len() == 1 {
        dest.borrow_mut().insert(first.clone(), value);
        return Ok(());
    }
    let existing = dest.borrow().get(first).cloned();
    let child = set_in(existing, &segs[1..], value)?;
    dest.borrow_mut().insert(first.clone(), child);
    Ok(())
}

/// Set `value` at `segs` inside `node` (creating maps/lists), returning the node.
fn set_in(node: Option<Value>, segs: &[Seg], value: Value) -> Result<Value, String> {
    let Some(seg) = segs.first() else {
        return Ok(value);
    };
    match seg {
        Seg::Key(k) => {
            let m = match node {
                Some(Value::Map(m)) => m,
                _ => match Value::map(BTreeMap::new()) {
                    Value::Map(m) => m,
                    _ => unreachable!(),
                },
            };
            let existing = m.borrow().get(k).cloned();
            let child = set_in(existing, &segs[1..], value)?;
            m.borrow_mut().insert(k.clone(), child);
            Ok(Value::Map(m))
        }
        Seg::Index(i) => {
            let mut items = match node {
                Some(Value::List(l)) => l.as_ref().clone(),
                _ => Vec::new(),
            };
            while items.len() <= *i {
                items.push(Value::Nil);
            }
            let existing = Some(items[*i].clone()).filter(|v| !matches!(v, Value::Nil));
            items[*i] = set_in(existing, &segs[1..], value)?;
            Ok(Value::list(items))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::format_v;

    fn p(s: &str, k: Kind) -> String {
        let m = match Value::empty_map() {
            Value::Map(m) => m,
            _ => unreachable!(),
        };
        parse_into(s, &m, k).unwrap();
        format_v(&Value::Map(m))
    }

    #[test]
    fn set_syntax() {
        assert_eq!(
            p("a=1,b.c=true,d={x,y}", Kind::Typed),
            "map[a:1 b:map[c:true] d:[x y]]"
        );
        assert_eq!(p("a[1].b=x", Kind::Typed), "map[a:[<nil> map[b:x]]]");
        assert_eq!(p("a=012,b=null", Kind::Typed), "map[a:012 b:<nil>]");
        assert_eq!(p("a=1", Kind::Str), "map[a:1]");
        assert_eq!(p("a.b\\.c=x\\,y", Kind::Typed), "map[a:map[b.c:x,y]]");
        assert_eq!(p("a={\"x\":1}", Kind::Json), "map[a:map[x:1]]");
    }
}
