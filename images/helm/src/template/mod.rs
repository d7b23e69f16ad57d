//! Go's `text/template`, exactly: [`lex`] → [`parse`] → [`ast`] trees,
//! run by [`exec`]; [`gofmt`] is the part of Go's `fmt` that `printf`,
//! `print` and `%v` output need; [`escape`] holds `html`, `js` and
//! `urlquery`.
//!
//! The engine knows nothing of Helm: functions come from
//! [`crate::funcs`] through the [`crate::engine::Env`] a caller passes.

pub mod ast;
pub mod escape;
pub mod exec;
pub mod gofmt;
pub mod lex;
pub mod parse;

pub use ast::Tree;
pub use exec::{Exec, ExecError, Set};
pub use parse::{ParseError, parse};
