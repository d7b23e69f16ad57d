//! Every function a Helm template can call: Go's builtins ([`builtin`]),
//! Sprig v3 as Helm exposes it ([`strings`], [`lists`], [`dicts`],
//! [`math`], [`encoding`], [`misc`]), and Helm's own ([`helm`]).
//!
//! Each function declares Go's parameter types ([`Ty`]) because the
//! executor checks arguments as Go's reflection does: a `float64` from
//! values passed to an `int` parameter is an error, a string literal
//! where an `int` is wanted is a parse-time-like error, and so on.

pub mod builtin;
pub mod crypto;
pub mod dicts;
pub mod encoding;
pub mod extra;
pub mod helm;
pub mod lists;
pub mod math;
pub mod misc;
pub mod strings;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::template::{Exec, ExecError};
use crate::value::Value;

/// A Go parameter type, as far as argument checking needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface{}`.
    Any,
    /// `reflect.Value` (the builtins: anything, even no value).
    Reflect,
    Str,
    Int,
    I64,
    Float,
    Bool,
    /// `map[string]interface{}`.
    Map,
    /// `[]interface{}`.
    List,
    /// `[]string`.
    Strs,
}

impl Ty {
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Reflect => "reflect.Value",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::I64 => "int64",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::Map => "map[string]interface {}",
            Ty::List => "[]interface {}",
            Ty::Strs => "[]string",
        }
    }
}

/// A function's failure: a message (Go wraps it as "error calling NAME:
/// MSG") or an execution error passed through unchanged.
pub enum Error {
    Msg(String),
    Exec(Box<ExecError>),
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error::Msg(s)
    }
}
impl From<&str> for Error {
    fn from(s: &str) -> Error {
        Error::Msg(s.to_string())
    }
}

pub type FnResult = Result<Value, Error>;
pub type Impl = fn(&mut Exec, Vec<Value>) -> FnResult;

#[derive(Clone)]
pub struct Func {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub f: Impl,
}

/// The registry being built.
pub struct Registry(HashMap<&'static str, Func>);

impl Registry {
    pub fn add(&mut self, name: &'static str, params: &'static [Ty], f: Impl) {
        self.0.insert(
            name,
            Func {
                params,
                variadic: None,
                f,
            },
        );
    }
    /// Register `alias` as another name of the already registered `target`.
    pub fn alias(&mut self, alias: &'static str, target: &str) {
        if let Some(f) = self.0.get(target).cloned() {
            self.0.insert(alias, f);
        }
    }
    pub fn var(&mut self, name: &'static str, params: &'static [Ty], variadic: Ty, f: Impl) {
        self.0.insert(
            name,
            Func {
                params,
                variadic: Some(variadic),
                f,
            },
        );
    }
}

/// Every function by name.
pub fn all() -> &'static HashMap<&'static str, Func> {
    static ALL: OnceLock<HashMap<&'static str, Func>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut r = Registry(HashMap::new());
        // Go's builtins first: a template's own functions (Sprig's
        // `slice`) override them, as Go looks those up first.
        builtin::register(&mut r);
        strings::register(&mut r);
        lists::register(&mut r);
        dicts::register(&mut r);
        math::register(&mut r);
        encoding::register(&mut r);
        misc::register(&mut r);
        crypto::register(&mut r);
        extra::register(&mut r);
        helm::register(&mut r);
        r.0
    })
}

// Argument helpers: the executor has already checked declared types.

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::I64(i) => *i,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

pub fn ok(v: impl Into<Value>) -> FnResult {
    Ok(v.into())
}

/// Sprig's `strval`: how a value becomes a string (`toString`, `cat`...).
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Invalid | Value::Nil => "<nil>".into(),
        v => crate::value::format_v(v),
    }
}
