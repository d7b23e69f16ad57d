//! Sprig's dict functions (`dict.go` behaviour, merges as `mergo` does
//! them). `set`, `unset`, `merge` and `mergeOverwrite` mutate their first
//! argument in place, as they do in Go, and return it.
//!
//! Determinism: Go's `keys` and `values` return map order (random); here
//! they are sorted by key, one of the orders helm can produce.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{FnResult, Registry, Ty, ok, s, strval};
use crate::value::{MapRef, Value};

fn m(v: &Value) -> MapRef {
    match v {
        Value::Map(m) => m.clone(),
        _ => Rc::new(crate::value::GoMap::default()),
    }
}

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.var("dict", &[], Any, |_, a| {
        let mut out = BTreeMap::new();
        for pair in a.chunks(2) {
            let k = strval(&pair[0]);
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
            out.insert(k, v);
        }
        Ok(Value::map(out))
    });
    r.add("get", &[Map, Str], |_, a| {
        ok(m(&a[0])
            .borrow()
            .get(s(&a[1]))
            .cloned()
            .unwrap_or_else(|| Value::str("")))
    });
    r.add("set", &[Map, Str, Any], |_, a| {
        let map = m(&a[0]);
        map.borrow_mut().insert(s(&a[1]).to_string(), a[2].clone());
        Ok(Value::Map(map))
    });
    r.add("unset", &[Map, Str], |_, a| {
        let map = m(&a[0]);
        map.borrow_mut().remove(s(&a[1]));
        Ok(Value::Map(map))
    });
    r.add("hasKey", &[Map, Str], |_, a| {
        ok(m(&a[0]).borrow().contains_key(s(&a[1])))
    });
    r.var("pluck", &[Str], Map, |_, a| {
        let k = s(&a[0]);
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|d| m(d).borrow().get(k).cloned())
                .collect(),
        ))
    });
    r.var("keys", &[], Map, |_, a| {
        let mut ks: Vec<String> = Vec::new();
        for d in &a {
            ks.extend(m(d).borrow().keys().cloned());
        }
        Ok(Value::Strs(Rc::new(ks)))
    });
    r.add("values", &[Map], |_, a| {
        Ok(Value::list(m(&a[0]).borrow().values().cloned().collect()))
    });
    r.var("pick", &[Map], Str, |_, a| {
        let src = m(&a[0]);
        let src = src.borrow();
        let out: BTreeMap<String, Value> = a[1..]
            .iter()
            .filter_map(|k| src.get(s(k)).map(|v| (s(k).to_string(), v.clone())))
            .collect();
        Ok(Value::map(out))
    });
    r.var("omit", &[Map], Str, |_, a| {
        let src = m(&a[0]);
        let out: BTreeMap<String, Value> = src
            .borrow()
            .iter()
            .filter(|(k, _)| !a[1..].iter().any(|o| s(o) == k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Value::map(out))
    });
    r.var("merge", &[Map], Map, |_, a| merge_all(a, false));
    r.var("mustMerge", &[Map], Map, |_, a| merge_all(a, false));
    r.var("mergeOverwrite", &[Map], Map, |_, a| merge_all(a, true));
    r.var("mustMergeOverwrite", &[Map], Map, |_, a| merge_all(a, true));
    r.add("deepCopy", &[Any], |_, a| Ok(a[0].deep_copy()));
    r.add("mustDeepCopy", &[Any], |_, a| Ok(a[0].deep_copy()));
    r.var("dig", &[Any], Any, |_, a| {
        // dig "a" "b" default dict
        let n = a.len();
        if n < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let dict = &a[n - 1];
        let default = &a[n - 2];
        let mut cur = dict.clone();
        for k in &a[..n - 2] {
            let next = match &cur {
                Value::Map(mm) => mm.borrow().get(&strval(k)).cloned(),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Ok(default.clone()),
            }
        }
        Ok(cur)
    });
}

fn merge_all(a: Vec<Value>, overwrite: bool) -> FnResult {
    let dst = m(&a[0]);
    for src in &a[1..] {
        if let Value::Map(src) = src {
            if Rc::ptr_eq(src, &dst) {
                continue;
            }
            let src = src.borrow().clone();
            merge_into(&dst, &src, overwrite);
        }
    }
    Ok(Value::Map(dst))
}

/// mergo's deep merge of maps: nested maps merge; otherwise with
/// `overwrite` a non-empty source value replaces, without it only an
/// empty destination value is filled.
pub fn merge_into(dst: &MapRef, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (k, sv) in src {
        let dv = dst.borrow().get(k).cloned();
        match dv {
            None => {
                dst.borrow_mut().insert(k.clone(), sv.clone());
            }
            Some(Value::Map(dm)) if matches!(sv, Value::Map(_)) => {
                if let Value::Map(sm) = sv {
                    if Rc::ptr_eq(&dm, sm) {
                        continue;
                    }
                    let sm = sm.borrow().clone();
                    merge_into(&dm, &sm, overwrite);
                }
            }
            Some(d) => {
                let replace = if overwrite {
                    !super::misc::empty(sv)
                } else {
                    super::misc::empty(&d)
                };
                if replace {
                    dst.borrow_mut().insert(k.clone(), sv.clone());
                }
            }
        }
    }
}
