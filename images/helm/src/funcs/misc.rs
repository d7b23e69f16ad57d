//! Sprig's defaults, flow and reflection helpers (`default`, `empty`,
//! `coalesce`, `ternary`, `fail`, `typeOf`, `kindIs`, ...), dates and
//! randomness.
//!
//! Determinism (the one intended difference from helm): `now` is the
//! render's fixed time input; `rand*`, `uuidv4` and `shuffle` draw from
//! the template file's seeded generator (see [`crate::engine`]).

use std::rc::Rc;

use rand_core::RngCore;

use super::{FnResult, Registry, Ty, int, ok, s, strval};
use crate::objects::Object;
use crate::value::Value;

/// Sprig's `empty`: Go zero values and empty collections.
pub fn empty(v: &Value) -> bool {
    !v.truthy()
}

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.var("default", &[Any], Any, |_, a| {
        if a.len() < 2 || empty(&a[1]) {
            Ok(a[0].clone())
        } else {
            Ok(a[1].clone())
        }
    });
    r.add("empty", &[Any], |_, a| ok(empty(&a[0])));
    r.var("coalesce", &[], Any, |_, a| {
        Ok(a.into_iter().find(|v| !empty(v)).unwrap_or(Value::Nil))
    });
    r.var("all", &[], Any, |_, a| ok(a.iter().all(|v| !empty(v))));
    r.var("any", &[], Any, |_, a| ok(a.iter().any(|v| !empty(v))));
    r.add("ternary", &[Any, Any, Bool], |_, a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.add("fail", &[Str], |_, a| Err(s(&a[0]).into()));
    r.add("typeOf", &[Any], |_, a| ok(a[0].type_name()));
    r.add("typeIs", &[Str, Any], |_, a| {
        ok(s(&a[0]) == a[1].type_name())
    });
    r.add("typeIsLike", &[Str, Any], |_, a| {
        let t = a[1].type_name();
        ok(s(&a[0]) == t || s(&a[0]) == format!("*{t}"))
    });
    r.add("kindOf", &[Any], |_, a| ok(a[0].kind_name()));
    r.add("kindIs", &[Str, Any], |_, a| {
        ok(s(&a[0]) == a[1].kind_name())
    });
    r.add("deepEqual", &[Any, Any], |_, a| {
        ok(super::lists::deep_equal(&a[0], &a[1]))
    });
    r.add("semverCompare", &[Str, Str], |_, a| {
        crate::semver::compare(s(&a[0]), s(&a[1]))
            .map(Value::Bool)
            .map_err(Into::into)
    });
    r.add("semver", &[Str], |_, a| {
        let v = crate::semver::Version::parse(s(&a[0])).map_err(super::Error::Msg)?;
        Ok(Value::Object(Rc::new(v)))
    });
    r.add("uuidv4", &[], |x, _| {
        let mut b = [0u8; 16];
        x.host.rng().fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = super::encoding::hex(&b);
        ok(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    });
    r.add("randAlphaNum", &[Int], |x, a| {
        rand_from(
            x,
            a,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    });
    r.add("randAlpha", &[Int], |x, a| {
        rand_from(
            x,
            a,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    });
    r.add("randNumeric", &[Int], |x, a| rand_from(x, a, b"0123456789"));
    r.add("randAscii", &[Int], |x, a| {
        let chars: Vec<u8> = (32u8..127).collect();
        rand_from(x, a, &chars)
    });
    r.add("randBytes", &[Int], |x, a| {
        use base64::Engine as _;
        let mut b = vec![0u8; int(&a[0]).max(0) as usize];
        x.host.rng().fill_bytes(&mut b);
        ok(base64::engine::general_purpose::STANDARD.encode(b))
    });
    r.add("randInt", &[Int, Int], |x, a| {
        let (lo, hi) = (int(&a[0]), int(&a[1]));
        let span = (hi - lo).max(1) as u64;
        ok(Value::Int(lo + (x.host.rng().next_u64() % span) as i64))
    });
    r.add("shuffle", &[Str], |x, a| {
        let mut cs: Vec<char> = s(&a[0]).chars().collect();
        for i in (1..cs.len()).rev() {
            let j = (x.host.rng().next_u64() % (i as u64 + 1)) as usize;
            cs.swap(i, j);
        }
        ok(cs.into_iter().collect::<String>())
    });
    r.add("now", &[], |x, _| Ok(time_value(x.host.now())));
    r.add("date", &[Str, Any], |_, a| {
        ok(crate::gotime::format(s(&a[0]), to_unix(&a[1])))
    });
    r.add("dateInZone", &[Str, Any, Str], |_, a| {
        ok(crate::gotime::format(s(&a[0]), to_unix(&a[1])))
    });
    r.add("htmlDate", &[Any], |_, a| {
        ok(crate::gotime::format("2006-01-02", to_unix(&a[0])))
    });
    r.add("htmlDateInZone", &[Any, Str], |_, a| {
        ok(crate::gotime::format("2006-01-02", to_unix(&a[0])))
    });
    r.add("unixEpoch", &[Any], |_, a| ok(to_unix(&a[0]).to_string()));
    r.add("toDate", &[Str, Str], |_, a| {
        Ok(match crate::gotime::parse(s(&a[0]), s(&a[1])) {
            Some(t) => time_value(t),
            None => time_value(i64::MIN / 4),
        })
    });
    r.add("dateModify", &[Str, Any], |_, a| {
        let d = crate::gotime::parse_duration(s(&a[0])).unwrap_or(0);
        Ok(time_value(to_unix(&a[1]) + d))
    });
    r.add("ago", &[Any], |x, a| {
        ok(crate::gotime::duration_string(
            x.host.now() - to_unix(&a[0]),
        ))
    });
    r.add("duration", &[Any], |_, a| {
        ok(crate::gotime::duration_string(super::math::to_i64(&a[0])))
    });
    r.add("durationRound", &[Any], |_, a| {
        ok(crate::gotime::duration_string(super::math::to_i64(&a[0])))
    });
    r.add("getHostByName", &[Str], |_, _| ok(""));
    r.add("urlquery_", &[Str], |_, a| ok(s(&a[0])));
    r.add("toStringOrEmpty", &[Any], |_, a| {
        ok(if a[0].is_nil_like() {
            String::new()
        } else {
            strval(&a[0])
        })
    });
}

fn rand_from(x: &mut crate::template::Exec, a: Vec<Value>, chars: &[u8]) -> FnResult {
    let n = int(&a[0]).max(0) as usize;
    let rng = x.host.rng();
    let out: String = (0..n)
        .map(|_| chars[(rng.next_u32() as usize) % chars.len()] as char)
        .collect();
    ok(out)
}

/// Seconds since the epoch of a date argument (a time, or a number).
fn to_unix(v: &Value) -> i64 {
    match v {
        Value::Object(o) => o
            .field("__unix")
            .map(|u| super::math::to_i64(&u))
            .unwrap_or(0),
        v => super::math::to_i64(v),
    }
}

pub fn time_value(unix: i64) -> Value {
    Value::Object(Rc::new(Time(unix)))
}

/// Go's `time.Time` (UTC, second precision).
pub struct Time(pub i64);

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "__unix").then_some(Value::I64(self.0))
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        Some(Ok(match name {
            "Unix" => Value::I64(self.0),
            "UTC" | "Local" => time_value(self.0),
            "Year" => Value::Int(crate::gotime::civil(self.0).0),
            "Format" => Value::str(crate::gotime::format(
                args.first().and_then(Value::as_str).unwrap_or(""),
                self.0,
            )),
            "String" => Value::str(crate::gotime::format(
                "2006-01-02 15:04:05.999999999 -0700 MST",
                self.0,
            )),
            _ => return None,
        }))
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Unix" | "UTC" | "Local" | "Year" | "Format" | "String"
        )
    }
    fn write_v(&self, out: &mut String, _plus: bool) {
        out.push_str(&crate::gotime::format(
            "2006-01-02 15:04:05.999999999 -0700 MST",
            self.0,
        ));
    }
}
