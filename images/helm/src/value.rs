//! The values templates compute with: Go's dynamic values as Helm's
//! templates see them.
//!
//! Why a model of Go's types rather than JSON: templates observe Go's type
//! distinctions. Values read from YAML are `float64` (Helm reads values
//! through a JSON round trip), literals in templates are `int`, Sprig's
//! arithmetic returns `int64`; `eq 1 1.0` is an error, `{{ 1000000.0 }}`
//! prints `1e+06`, and a `float64` passed where a function wants `int` is
//! an error. `typeOf` and `kindIs` expose the names.
//!
//! Invariants:
//! - [`Value::Invalid`] is Go's invalid `reflect.Value` (prints
//!   `<no value>`); [`Value::Nil`] is a nil `interface{}` (a missing map
//!   key). A pipeline's result turns `Nil` into `Invalid`, as Go does.
//! - Maps are shared and mutable (`Rc<RefCell<..>>`): Sprig's `set`,
//!   `unset`, `merge` mutate the map every alias of it sees, as Go's maps
//!   do. Lists are immutable once built, like the slices Sprig returns.
//! - Map keys are ordered (`BTreeMap`): Go's templates, `fmt` and
//!   encoding/json all visit string keys in sorted order.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::objects::Object;

/// A shared, mutable Go map: `map[string]interface{}`, or Helm's named
/// `common.Values` (the top-level scope, `.Values`, `.Template`), which
/// only `%T`/`typeOf` and type errors tell apart.
pub struct GoMap {
    pub values_type: Cell<bool>,
    map: RefCell<BTreeMap<String, Value>>,
}

impl std::ops::Deref for GoMap {
    type Target = RefCell<BTreeMap<String, Value>>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl GoMap {
    pub fn new(m: BTreeMap<String, Value>) -> GoMap {
        GoMap {
            values_type: Cell::new(false),
            map: RefCell::new(m),
        }
    }
}

impl Default for GoMap {
    fn default() -> GoMap {
        GoMap::new(BTreeMap::new())
    }
}

pub type MapRef = Rc<GoMap>;

/// A Go value.
#[derive(Clone)]
pub enum Value {
    /// No value at all (Go's invalid `reflect.Value`).
    Invalid,
    /// A nil `interface{}`.
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64` (what Sprig's arithmetic returns).
    I64(i64),
    Float(f64),
    Str(Rc<str>),
    /// Go `[]byte`.
    Bytes(Rc<[u8]>),
    /// Go `[]interface{}`.
    List(Rc<Vec<Value>>),
    /// Go `[]string` (what Sprig's string-list functions return).
    Strs(Rc<Vec<String>>),
    Map(MapRef),
    /// Helm's structured objects (`.Capabilities`, `.Files`, ...).
    Object(Rc<dyn Object>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_v(self))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Rc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Rc::from(s.as_ref()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(GoMap::new(m)))
    }

    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    /// Go's `reflect.Value.Interface()` of an interface-typed value: the
    /// conversion a pipeline applies to its result (nil becomes invalid).
    pub fn concrete(self) -> Value {
        match self {
            Value::Nil => Value::Invalid,
            v => v,
        }
    }

    pub fn is_nil_like(&self) -> bool {
        matches!(self, Value::Nil | Value::Invalid)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Go's template truth: zero values are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::I64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Strs(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// Go's `%T` type name.
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::I64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Strs(_) => "[]string".into(),
            Value::Map(m) if m.values_type.get() => "common.Values".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Go's `reflect.Kind` name (Sprig's `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::I64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) | Value::List(_) | Value::Strs(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind_name(),
        }
    }

    /// The items of a slice value.
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(l) => Some(l.as_ref().clone()),
            Value::Strs(l) => Some(l.iter().map(Value::str).collect()),
            Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
            Value::Object(o) => o.items(),
            _ => None,
        }
    }

    /// Deep copy (maps become fresh maps).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m) => {
                let c = Value::map(
                    m.borrow()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.deep_copy()))
                        .collect(),
                );
                if let Value::Map(cm) = &c {
                    cm.values_type.set(m.values_type.get());
                }
                c
            }
            Value::List(l) => Value::list(l.iter().map(Value::deep_copy).collect()),
            v => v.clone(),
        }
    }
}

/// Go's `%v` of a value (`fmt.Sprint` of one operand).
pub fn format_v(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v, false);
    out
}

/// `%v` (`plus` = `%+v`, which only differs for structs).
pub fn write_v(out: &mut String, v: &Value, plus: bool) {
    match v {
        Value::Invalid => out.push_str("<invalid reflect.Value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{x}");
            }
            out.push(']');
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, x, plus);
            }
            out.push(']');
        }
        Value::Strs(l) => {
            out.push('[');
            out.push_str(&l.join(" "));
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, x, plus);
            }
            out.push(']');
        }
        Value::Object(o) => o.write_v(out, plus),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as `%v` prints a float64.
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits, then strconv's %g layout for the
    // shortest form: exponent form when exp < -4 || exp >= 6... except that
    // strconv uses the digit count when it is larger (eprec = 6 only caps
    // shortest output), so 1234567 prints 1.234567e+06.
    let s = format!("{:e}", f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { '-' } else { '+' };
        let ea = exp.unsigned_abs();
        return format!("{sign}{m}e{es}{ea:02}");
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(3.0), "3");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(1e20), "1e+20");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(-2.5e-7), "-2.5e-07");
    }
}
