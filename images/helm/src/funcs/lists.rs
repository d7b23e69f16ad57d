//! Sprig's list functions (`list.go` behaviour). Sprig reflects over any
//! slice type; the non-`must` variants turn errors into panics, which Go's
//! template engine reports as "error calling NAME: ..." all the same.

use std::rc::Rc;

use super::{Error, FnResult, Registry, Ty, int, ok};
use crate::value::Value;

fn items(name: &str, v: &Value) -> Result<Vec<Value>, Error> {
    match v {
        Value::Str(_)
        | Value::Map(_)
        | Value::Bool(_)
        | Value::Int(_)
        | Value::I64(_)
        | Value::Float(_) => Err(format!("Cannot {name} on type {}", v.kind_name()).into()),
        Value::Invalid | Value::Nil => {
            Err("runtime error: invalid memory address or nil pointer dereference".into())
        }
        v => v
            .items()
            .ok_or_else(|| format!("Cannot {name} on type {}", v.kind_name()).into()),
    }
}

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.var("list", &[], Any, |_, a| Ok(Value::list(a)));
    for (name, f) in [
        ("first", first as super::Impl),
        ("mustFirst", first),
        ("last", last),
        ("mustLast", last),
        ("rest", rest),
        ("mustRest", rest),
        ("initial", initial),
        ("mustInitial", initial),
        ("reverse", reverse),
        ("mustReverse", reverse),
        ("uniq", uniq),
        ("mustUniq", uniq),
        ("compact", compact),
        ("mustCompact", compact),
    ] {
        r.add(name, &[Any], f);
    }
    r.add("append", &[Any, Any], push);
    r.add("push", &[Any, Any], push);
    r.add("mustAppend", &[Any, Any], push);
    r.add("mustPush", &[Any, Any], push);
    r.add("prepend", &[Any, Any], prepend);
    r.add("mustPrepend", &[Any, Any], prepend);
    r.var("concat", &[], Any, |_, a| {
        let mut out = Vec::new();
        for l in &a {
            out.extend(items("concat", l)?);
        }
        Ok(Value::list(out))
    });
    r.var("without", &[Any], Any, |_, a| {
        let l = items("find without", &a[0])?;
        Ok(Value::list(
            l.into_iter()
                .filter(|x| !a[1..].iter().any(|o| deep_equal(x, o)))
                .collect(),
        ))
    });
    r.var("mustWithout", &[Any], Any, |_, a| {
        let l = items("find without", &a[0])?;
        Ok(Value::list(
            l.into_iter()
                .filter(|x| !a[1..].iter().any(|o| deep_equal(x, o)))
                .collect(),
        ))
    });
    r.add("has", &[Any, Any], has);
    r.add("mustHas", &[Any, Any], has);
    r.var("slice", &[Any], Any, slice);
    r.var("mustSlice", &[Any], Any, slice);
    r.add("until", &[Int], |_, a| {
        ok_ints(0, int(&a[0]), if int(&a[0]) < 0 { -1 } else { 1 })
    });
    r.add("untilStep", &[Int, Int, Int], |_, a| {
        ok_ints(int(&a[0]), int(&a[1]), int(&a[2]))
    });
    r.var("seq", &[], Int, |_, a| {
        let p: Vec<i64> = a.iter().map(int).collect();
        let (start, step, end) = match p.as_slice() {
            [] => return ok(""),
            [e] => (1, if *e >= 1 { 1 } else { -1 }, *e),
            [s, e] => (*s, if e >= s { 1 } else { -1 }, *e),
            [s, st, e, ..] => (*s, *st, *e),
        };
        if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
            return ok("");
        }
        let mut out = Vec::new();
        let mut i = start;
        while (step > 0 && i <= end) || (step < 0 && i >= end) {
            out.push(i.to_string());
            i += step;
        }
        ok(out.join(" "))
    });
    r.add("chunk", &[Int, Any], |_, a| {
        let size = int(&a[0]).max(1) as usize;
        let l = items("chunk", &a[1])?;
        Ok(Value::list(
            l.chunks(size).map(|c| Value::list(c.to_vec())).collect(),
        ))
    });
}

fn ok_ints(start: i64, stop: i64, step: i64) -> FnResult {
    let mut out = Vec::new();
    if step == 0 {
        return Ok(Value::list(out));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        i += step;
    }
    Ok(Value::list(out))
}

fn first(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("find first", &a[0])?;
    Ok(l.first().cloned().unwrap_or(Value::Nil))
}
fn last(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("find last", &a[0])?;
    Ok(l.last().cloned().unwrap_or(Value::Nil))
}
fn rest(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("find rest", &a[0])?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::list(l[1..].to_vec()))
}
fn initial(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("find initial", &a[0])?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::list(l[..l.len() - 1].to_vec()))
}
fn reverse(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let mut l = items("find reverse", &a[0])?;
    l.reverse();
    Ok(Value::list(l))
}
fn uniq(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("find uniq", &a[0])?;
    let mut out: Vec<Value> = Vec::new();
    for x in l {
        if !out.iter().any(|o| deep_equal(o, &x)) {
            out.push(x);
        }
    }
    Ok(Value::list(out))
}
fn compact(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = items("compact", &a[0])?;
    Ok(Value::list(
        l.into_iter().filter(|x| !super::misc::empty(x)).collect(),
    ))
}
fn push(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let mut l = items("append", &a[0])?;
    l.push(a[1].clone());
    Ok(Value::list(l))
}
fn prepend(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let mut l = items("prepend", &a[0])?;
    l.insert(0, a[1].clone());
    Ok(Value::list(l))
}
fn has(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    if a[1].is_nil_like() {
        return ok(false);
    }
    let l = items("find has", &a[1])?;
    ok(l.iter().any(|x| deep_equal(x, &a[0])))
}
fn slice(_: &mut crate::template::Exec, a: Vec<Value>) -> FnResult {
    let l = match &a[0] {
        Value::Str(_) | Value::Map(_) => {
            return Err(format!(
                "list should be type of slice or array but {}",
                a[0].kind_name()
            )
            .into());
        }
        v => v.items().unwrap_or_default(),
    };
    let n = l.len();
    let idx: Vec<usize> = a[1..]
        .iter()
        .map(|v| super::math::to_i64(v).max(0) as usize)
        .collect();
    let (s, e) = match idx.as_slice() {
        [] => (0, n),
        [s] => (*s, n),
        [s, e, ..] => (*s, *e),
    };
    if s > e || e > n {
        return Err(format!("runtime error: slice bounds out of range [{s}:{e}]").into());
    }
    Ok(Value::list(l[s..e].to_vec()))
}

/// Go's `reflect.DeepEqual` over template values.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::I64(x), Value::I64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Strs(x), Value::Strs(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}
