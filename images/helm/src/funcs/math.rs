//! Sprig's arithmetic and conversions (`numeric.go`, with `spf13/cast`'s
//! lenient conversions: a bad string is 0, a float truncates). Integer
//! results are Go `int64`, except `int`, `len`-like and `atoi` (`int`).

use super::{FnResult, Registry, Ty, ok};
use crate::value::Value;

/// `cast.ToInt64`.
pub fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::I64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_int_lenient(s),
        _ => 0,
    }
}

fn parse_int_lenient(s: &str) -> i64 {
    // cast trims a zero decimal part ("1.0" -> "1"), then ParseInt base 0.
    let t = match s.split_once('.') {
        Some((i, f)) if !f.is_empty() && f.bytes().all(|b| b == b'0') => i,
        _ => s,
    };
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = body.to_ascii_lowercase();
    let parsed = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse().ok()
    };
    parsed.map(|v| if neg { -v } else { v }).unwrap_or(0)
}

/// `cast.ToFloat64`.
pub fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::I64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn i64v(i: i64) -> FnResult {
    Ok(Value::I64(i))
}

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.var("add", &[], Any, |_, a| {
        i64v(a.iter().map(to_i64).fold(0i64, i64::wrapping_add))
    });
    r.add("add1", &[Any], |_, a| i64v(to_i64(&a[0]).wrapping_add(1)));
    r.add("sub", &[Any, Any], |_, a| {
        i64v(to_i64(&a[0]).wrapping_sub(to_i64(&a[1])))
    });
    r.var("mul", &[Any], Any, |_, a| {
        i64v(a.iter().map(to_i64).fold(1i64, i64::wrapping_mul))
    });
    r.add("div", &[Any, Any], |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        i64v(to_i64(&a[0]).wrapping_div(d))
    });
    r.add("mod", &[Any, Any], |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        i64v(to_i64(&a[0]).wrapping_rem(d))
    });
    r.var("max", &[Any], Any, |_, a| {
        i64v(a.iter().map(to_i64).max().unwrap_or(0))
    });
    r.var("min", &[Any], Any, |_, a| {
        i64v(a.iter().map(to_i64).min().unwrap_or(0))
    });
    r.var("biggest", &[Any], Any, |_, a| {
        i64v(a.iter().map(to_i64).max().unwrap_or(0))
    });
    r.var("maxf", &[Any], Any, |_, a| {
        ok(Value::Float(
            a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    r.var("minf", &[Any], Any, |_, a| {
        ok(Value::Float(
            a.iter().map(to_f64).fold(f64::INFINITY, f64::min),
        ))
    });
    r.var("addf", &[], Any, |_, a| {
        ok(Value::Float(a.iter().map(to_f64).sum()))
    });
    r.add("add1f", &[Any], |_, a| {
        ok(Value::Float(to_f64(&a[0]) + 1.0))
    });
    r.var("subf", &[Any], Any, |_, a| {
        ok(Value::Float(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x - y),
        ))
    });
    r.var("mulf", &[Any], Any, |_, a| {
        ok(Value::Float(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x * y),
        ))
    });
    r.var("divf", &[Any], Any, |_, a| {
        ok(Value::Float(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x / y),
        ))
    });
    r.add("floor", &[Any], |_, a| {
        ok(Value::Float(to_f64(&a[0]).floor()))
    });
    r.add("ceil", &[Any], |_, a| {
        ok(Value::Float(to_f64(&a[0]).ceil()))
    });
    r.var("round", &[Any, Int], Float, |_, a| {
        let val = to_f64(&a[0]);
        let p = super::int(&a[1]);
        let on = a.get(2).map_or(0.5, to_f64);
        let pow = 10f64.powi(p as i32);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= on {
            digit.ceil()
        } else {
            digit.floor()
        };
        ok(Value::Float(r / pow))
    });
    r.add("int", &[Any], |_, a| ok(Value::Int(to_i64(&a[0]))));
    r.add("int64", &[Any], |_, a| i64v(to_i64(&a[0])));
    r.add("float64", &[Any], |_, a| ok(Value::Float(to_f64(&a[0]))));
    r.add("atoi", &[Str], |_, a| {
        ok(Value::Int(super::s(&a[0]).parse().unwrap_or(0)))
    });
    r.add("toDecimal", &[Any], |_, a| {
        i64v(i64::from_str_radix(&super::strval(&a[0]), 8).unwrap_or(0))
    });
}
