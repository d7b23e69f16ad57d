//! Go's template builtins: `and or not len index slice print printf
//! println html js urlquery eq ne lt le gt ge call`, with Go's error
//! texts (`incompatible types for comparison`, `index out of range`...).

use std::cmp::Ordering;

use super::{Error, FnResult, Registry, Ty, int, ok};
use crate::template::escape;
use crate::template::gofmt::{sprint, sprintf, sprintln};
use crate::value::Value;

pub fn register(r: &mut Registry) {
    use Ty::{Any, Reflect, Str};
    r.var("and", &[Reflect], Reflect, |_, a| {
        Ok(a.into_iter().last().unwrap_or(crate::value::Value::Invalid))
    });
    r.var("or", &[Reflect], Reflect, |_, a| {
        Ok(a.into_iter().last().unwrap_or(crate::value::Value::Invalid))
    });
    r.add("not", &[Reflect], |_, a| ok(!a[0].truthy()));
    r.add("len", &[Reflect], |_, a| length(&a[0]));
    r.var("index", &[Reflect], Reflect, |_, a| index(&a[0], &a[1..]));
    r.var("slice", &[Reflect], Reflect, |_, a| slice(&a[0], &a[1..]));
    r.var("print", &[], Any, |_, a| ok(sprint(&a)));
    r.var("println", &[], Any, |_, a| ok(sprintln(&a)));
    r.var("printf", &[Str], Any, |_, a| {
        ok(sprintf(super::s(&a[0]), &a[1..]))
    });
    r.var("html", &[], Any, |_, a| ok(escape::html(&eval_args(&a))));
    r.var("js", &[], Any, |_, a| ok(escape::js(&eval_args(&a))));
    r.var("urlquery", &[], Any, |_, a| {
        ok(escape::urlquery(&eval_args(&a)))
    });
    r.var("eq", &[Reflect], Reflect, |_, a| {
        eq(&a[0], &a[1..]).map(crate::value::Value::Bool)
    });
    r.add("ne", &[Reflect, Reflect], |_, a| {
        eq(&a[0], &a[1..]).map(|b| crate::value::Value::Bool(!b))
    });
    r.add("lt", &[Reflect, Reflect], |_, a| {
        ok(compare(&a[0], &a[1])? == Ordering::Less)
    });
    r.add("le", &[Reflect, Reflect], |_, a| {
        ok(compare(&a[0], &a[1])? != Ordering::Greater)
    });
    r.add("gt", &[Reflect, Reflect], |_, a| {
        ok(compare(&a[0], &a[1])? == Ordering::Greater)
    });
    r.add("ge", &[Reflect, Reflect], |_, a| {
        ok(compare(&a[0], &a[1])? != Ordering::Less)
    });
    r.var("call", &[Reflect], Reflect, |_, a| {
        Err(Error::Msg(format!(
            "non-function {} of type {}",
            crate::value::format_v(&a[0]),
            a[0].type_name()
        )))
    });
}

/// Go's evalArgs: one string argument as is, else `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    sprint(a)
}

fn length(v: &Value) -> FnResult {
    Ok(Value::Int(match v {
        Value::Str(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Strs(l) => l.len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        Value::Nil => return Err("len of nil pointer".into()),
        Value::Invalid => {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        Value::Object(o) => match (o.items(), o.entries()) {
            (Some(i), _) => i.len() as i64,
            (_, Some(e)) => e.len() as i64,
            _ => return Err(format!("len of type {}", o.type_name()).into()),
        },
        v => return Err(format!("len of type {}", v.type_name()).into()),
    }))
}

fn index_of(i: &Value, len: usize) -> Result<usize, Error> {
    let n = match i {
        Value::Int(n) | Value::I64(n) => *n,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => return Err(format!("cannot index slice/array with type {}", v.type_name()).into()),
    };
    if n < 0 || n as usize >= len {
        return Err(format!("index out of range: {n}").into());
    }
    Ok(n as usize)
}

fn index(item: &Value, idx: &[Value]) -> FnResult {
    let mut cur = item.clone();
    for i in idx {
        cur = match &cur {
            Value::Invalid | Value::Nil => return Err("index of untyped nil".into()),
            Value::Map(m) => match i {
                Value::Str(k) => m.borrow().get(&**k).cloned().unwrap_or(Value::Nil),
                Value::Invalid | Value::Nil => Value::Nil,
                v => {
                    return Err(
                        format!("value has type {}; should be string", v.type_name()).into(),
                    );
                }
            },
            Value::Str(s) => {
                let n = index_of(i, s.len())?;
                Value::Object(std::rc::Rc::new(crate::objects::Uint8(s.as_bytes()[n])))
            }
            Value::Object(o) if o.entries().is_some() => match i {
                Value::Str(k) => o
                    .entries()
                    .unwrap_or_default()
                    .get(&**k)
                    .cloned()
                    .unwrap_or(Value::Nil),
                v => {
                    return Err(
                        format!("value has type {}; should be string", v.type_name()).into(),
                    );
                }
            },
            c => match c.items() {
                Some(items) => {
                    let n = index_of(i, items.len())?;
                    items[n].clone()
                }
                None => return Err(format!("can't index item of type {}", c.type_name()).into()),
            },
        };
    }
    Ok(cur)
}

fn slice(item: &Value, idx: &[Value]) -> FnResult {
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()).into());
    }
    let len = match item {
        Value::Str(s) => s.len(),
        Value::Invalid | Value::Nil => return Err("slice of untyped nil".into()),
        v => match v.items() {
            Some(i) => i.len(),
            None => return Err(format!("can't slice item of type {}", v.type_name()).into()),
        },
    };
    let mut ix = [0usize, len, len];
    for (k, i) in idx.iter().enumerate() {
        let n = match i {
            Value::Int(n) | Value::I64(n) => *n,
            v => {
                return Err(format!("cannot index slice/array with type {}", v.type_name()).into());
            }
        };
        if n < 0 || n as usize > len {
            return Err(format!("index out of range: {n}").into());
        }
        ix[k] = n as usize;
    }
    if ix[0] > ix[1] {
        return Err(format!("invalid slice index: {} > {}", ix[0], ix[1]).into());
    }
    match item {
        Value::Str(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            Ok(Value::str(String::from_utf8_lossy(
                &s.as_bytes()[ix[0]..ix[1]],
            )))
        }
        v => {
            let items = v.items().unwrap_or_default();
            Ok(Value::list(items[ix[0]..ix[1]].to_vec()))
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Invalid | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::I64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// Go's `eq`.
pub fn eq(a: &Value, rest: &[Value]) -> Result<bool, Error> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                )
                .into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x) | Value::I64(x), Value::Int(y) | Value::I64(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                _ if k1 == Kind::Invalid => true,
                _ => {
                    if matches!(
                        a,
                        Value::Map(_) | Value::List(_) | Value::Strs(_) | Value::Bytes(_)
                    ) {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            crate::value::format_v(a),
                            a.type_name()
                        )
                        .into());
                    }
                    if matches!(
                        b,
                        Value::Map(_) | Value::List(_) | Value::Strs(_) | Value::Bytes(_)
                    ) {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            crate::value::format_v(b),
                            b.type_name()
                        )
                        .into());
                    }
                    false
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt` core.
fn compare(a: &Value, b: &Value) -> Result<Ordering, Error> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if matches!(k1, Kind::Other | Kind::Invalid) || matches!(k2, Kind::Other | Kind::Invalid) {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )
        .into());
    }
    if k1 == Kind::Bool {
        return Err("invalid type for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ => int(a).cmp(&int(b)),
    })
}
