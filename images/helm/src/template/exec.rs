//! Go `text/template`'s executor (`exec.go` behaviour), with Helm's
//! options: `missingkey=zero` (a missing map key is a nil interface, which
//! prints `<no value>`).
//!
//! Invariants: the variable stack's bottom is `$`; `if`/`with`/`range`
//! pop the variables they declared; each command's result goes through
//! [`Value::concrete`] as Go's evalPipeline does, so a nil from a map
//! becomes "no value" between commands; errors carry the node's position
//! and Go's `String()` of it, and are built once (no re-wrapping).

use std::collections::HashMap;
use std::rc::Rc;

use super::ast::{Arg, Branch, Command, Node, Pipe, Tree};
#[allow(unused_imports)]
use crate::engine::Env as _;
use crate::funcs::{self, Func, Ty};
use crate::value::{Value, format_v};

/// Maximum nesting of `{{template}}` calls (Go's `maxExecDepth`).
const MAX_DEPTH: usize = 100_000;

/// A template set: every tree by name (Go's `common.tmpl`).
#[derive(Default, Clone)]
pub struct Set {
    pub trees: HashMap<String, Rc<Tree>>,
}

impl Set {
    /// Add parsed trees: a later definition replaces an earlier one unless
    /// its body is empty (Go's `AddParseTree`/`associate`).
    pub fn add(&mut self, trees: Vec<Tree>) {
        for t in trees {
            if t.is_empty()
                && let Some(old) = self.trees.get(&t.name)
                && !old.is_empty()
            {
                continue;
            }
            self.trees.insert(t.name.clone(), Rc::new(t));
        }
    }
}

/// A Go error chain as Helm inspects it: `text` is `err.Error()`,
/// `inner` what `errors.Unwrap` yields next, `is_exec` whether it is a
/// `template.ExecError` (Helm reformats only those).
#[derive(Debug, Clone)]
pub struct ExecError {
    pub text: String,
    pub is_exec: bool,
    pub inner: Option<Box<ExecError>>,
}

impl ExecError {
    /// A plain Go error (`errors.New`).
    pub fn plain(text: impl Into<String>) -> ExecError {
        ExecError {
            text: text.into(),
            is_exec: false,
            inner: None,
        }
    }

    /// `fmt.Errorf(prefix + "%w", inner)`.
    pub fn wrap(prefix: &str, inner: ExecError) -> ExecError {
        ExecError {
            text: format!("{prefix}{}", inner.text),
            is_exec: false,
            inner: Some(Box::new(inner)),
        }
    }

    /// The texts of the chain, outermost first.
    pub fn chain(&self) -> Vec<&str> {
        let mut out = vec![self.text.as_str()];
        let mut cur = self.inner.as_deref();
        while let Some(e) = cur {
            out.push(&e.text);
            cur = e.inner.as_deref();
        }
        out
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Control flow out of a list.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// One execution (Go's `state`).
pub struct Exec<'a> {
    pub set: &'a Set,
    pub host: &'a mut dyn crate::engine::Env,
    tree: Rc<Tree>,
    vars: Vec<(String, Value)>,
    depth: usize,
}

type R<T> = Result<T, Box<ExecError>>;

/// Context text of a node: Go's `String()` of it, whole (Go 1.25's
/// `ErrorContext` no longer truncates it).
fn context(s: String) -> String {
    s
}

impl<'a> Exec<'a> {
    pub fn new(set: &'a Set, host: &'a mut dyn crate::engine::Env, tree: Rc<Tree>) -> Self {
        Exec {
            set,
            host,
            tree,
            vars: Vec::new(),
            depth: 0,
        }
    }

    /// Execute `tree` with `dot` into `out`.
    pub fn run(&mut self, dot: Value, out: &mut String) -> R<()> {
        self.vars = vec![("$".to_string(), dot.clone())];
        let tree = self.tree.clone();
        self.walk_list(&dot, &tree.root, out)?;
        Ok(())
    }

    pub fn error(&self, pos: usize, ctx: String, msg: impl Into<String>) -> Box<ExecError> {
        Box::new(ExecError {
            text: self.prefix(pos, &ctx) + &msg.into(),
            is_exec: true,
            inner: None,
        })
    }

    /// Go's `template: LOC: executing "NAME" at <CTX>: `.
    fn prefix(&self, pos: usize, ctx: &str) -> String {
        format!(
            "template: {}: executing {} at <{}>: ",
            self.tree.location(pos),
            super::gofmt::go_quote(&self.tree.name),
            context(ctx.to_string())
        )
    }

    /// The current template's tree (for `tpl` naming and `fail` locations).
    pub fn tree(&self) -> &Rc<Tree> {
        &self.tree
    }

    fn walk_list(&mut self, dot: &Value, list: &[Node], out: &mut String) -> R<Flow> {
        for n in list {
            match self.walk(dot, n, out)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(pipe, &v, out)?;
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, out, false),
            Node::With(b) => return self.walk_if_with(dot, b, out, true),
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
            Node::Template { pos, name, pipe } => {
                let Some(tree) = self.set.trees.get(name).cloned() else {
                    return Err(self.error(
                        *pos,
                        format!("template {name:?}"),
                        format!("template {name:?} not defined"),
                    ));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Invalid,
                };
                if self.depth >= MAX_DEPTH {
                    return Err(self.error(
                        *pos,
                        format!("template {name:?}"),
                        format!("exceeded maximum template depth ({MAX_DEPTH})"),
                    ));
                }
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
                self.depth += 1;
                let r = self.walk_list(&new_dot, &tree.root, out);
                self.depth -= 1;
                self.tree = saved_tree;
                self.vars = saved_vars;
                r?;
            }
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, pipe: &Pipe, v: &Value, out: &mut String) -> R<()> {
        match v {
            Value::Invalid => out.push_str("<no value>"),
            v => out.push_str(&format_v(v)),
        }
        let _ = pipe;
        Ok(())
    }

    fn walk_if_with(&mut self, dot: &Value, b: &Branch, out: &mut String, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let r = if v.truthy() {
            if with {
                self.walk_list(&v, &b.list, out)
            } else {
                self.walk_list(dot, &b.list, out)
            }
        } else if let Some(el) = &b.else_list {
            self.walk_list(dot, el, out)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let pos = b.pipe.pos;
        let ctx = b.pipe.go_string();
        // (key, element) pairs.
        let pairs: Vec<(Value, Value)> = match &v {
            Value::Invalid | Value::Nil => Vec::new(),
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, x)| (Value::str(k), x.clone()))
                .collect(),
            Value::Int(n) | Value::I64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(
                        pos,
                        ctx,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Object(o) if o.entries().is_some() => o
                .entries()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, x)| (Value::str(k), x))
                .collect(),
            other => match other.items() {
                Some(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| (Value::Int(i as i64), x))
                    .collect(),
                None => {
                    return Err(self.error(
                        pos,
                        ctx,
                        format!("range can't iterate over {}", format_v(other)),
                    ));
                }
            },
        };
        let mut result = Ok(Flow::Normal);
        if pairs.is_empty() {
            if let Some(el) = &b.else_list {
                result = self.walk_list(dot, el, out);
            }
        } else {
            for (k, elem) in pairs {
                let inner = self.vars.len();
                match b.pipe.decl.len() {
                    0 => {}
                    1 => self.set_decl(&b.pipe, 0, elem.clone(), mark),
                    _ => {
                        self.set_decl(&b.pipe, 0, k, mark);
                        self.set_decl(&b.pipe, 1, elem.clone(), mark);
                    }
                }
                let r = self.walk_list(&elem, &b.list, out);
                self.vars.truncate(inner);
                match r {
                    Ok(Flow::Break) => break,
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        self.vars.truncate(mark);
        result.map(|_| Flow::Normal)
    }

    /// Set a range variable: declared ones live just above `mark`.
    fn set_decl(&mut self, pipe: &Pipe, i: usize, v: Value, mark: usize) {
        if pipe.is_assign {
            self.set_var(&pipe.decl[i], v);
        } else if let Some(slot) = self.vars.get_mut(mark + i) {
            slot.1 = v;
        }
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Invalid)
    }

    pub fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.concrete());
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.error(
                cmd.args[0].pos(),
                cmd.go_string(),
                format!(
                    "can't give argument to non-function {}",
                    cmd.args[0].go_string()
                ),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, final_: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { names, pos } => {
                self.eval_field_chain(dot, dot.clone(), first, *pos, names, &cmd.args, final_)
            }
            Arg::Chain { node, fields, pos } => {
                if matches!(node.as_ref(), Arg::Nil(_)) {
                    return Err(self.error(
                        *pos,
                        first.go_string(),
                        format!("indirection through explicit nil in {}", first.go_string()),
                    ));
                }
                let recv = self.eval_arg(dot, Ty::Reflect, node)?;
                self.eval_field_chain(dot, recv, first, *pos, fields, &cmd.args, final_)
            }
            Arg::Ident { name, pos } => self.eval_function(dot, name, *pos, cmd, &cmd.args, final_),
            Arg::Pipe(_, p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { names, pos } => {
                let v = self.var_value(&names[0]);
                if names.len() == 1 {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, *pos, &names[1..], &cmd.args, final_)
            }
            _ => {
                self.not_a_function(cmd, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(p) => Err(self.error(*p, "nil".into(), "nil is not a command")),
                    Arg::Number { pos, text, num } => self.ideal_constant(*pos, text, num),
                    Arg::Str { value, .. } => Ok(Value::Str(value.clone())),
                    _ => Err(self.error(first.pos(), first.go_string(), "can't evaluate command")),
                }
            }
        }
    }

    fn ideal_constant(&self, pos: usize, text: &str, n: &super::ast::Number) -> R<Value> {
        if n.is_complex {
            return Err(self.error(
                pos,
                text.into(),
                format!("complex constants are not supported: {text}"),
            ));
        }
        if n.is_float_syntax && !text.starts_with('\'') {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint_overflow {
            return Err(self.error(pos, text.into(), format!("{text} overflows int")));
        }
        Ok(Value::Invalid)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &Arg,
        pos: usize,
        names: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let n = names.len();
        for name in &names[..n - 1] {
            recv = self.eval_field(dot, name, node, pos, &[], None, recv)?;
        }
        self.eval_field(dot, &names[n - 1], node, pos, args, final_, recv)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &Arg,
        pos: usize,
        args: &[Arg],
        final_: Option<Value>,
        recv: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || final_.is_some();
        match &recv {
            Value::Invalid => Ok(Value::Invalid),
            Value::Nil => Err(self.error(
                pos,
                node.go_string(),
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(
                        pos,
                        node.go_string(),
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                Ok(m.borrow().get(name).cloned().unwrap_or(Value::Nil))
            }
            Value::Object(o) => {
                if o.has_method(name) {
                    let mut argv = Vec::new();
                    for a in args.iter().skip(1) {
                        argv.push(self.eval_arg(dot, Ty::Any, a)?);
                    }
                    if let Some(f) = final_ {
                        argv.push(f);
                    }
                    return match o.method(name, &argv) {
                        Some(Ok(v)) => Ok(v),
                        Some(Err(e)) => Err(self.error(
                            pos,
                            node.go_string(),
                            format!("error calling {name}: {e}"),
                        )),
                        None => Ok(Value::Invalid),
                    };
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.error(
                            pos,
                            node.go_string(),
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    return Ok(v);
                }
                if let Some(e) = o.entries() {
                    return Ok(e
                        .get(name)
                        .cloned()
                        .unwrap_or(Value::Bytes(Rc::from(Vec::new()))));
                }
                Err(self.error(
                    pos,
                    node.go_string(),
                    format!("can't evaluate field {name} in type {}", o.type_name()),
                ))
            }
            other => Err(self.error(
                pos,
                node.go_string(),
                format!(
                    "can't evaluate field {name} in type {}",
                    field_recv_type(other)
                ),
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        pos: usize,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let Some(f) = self.host.func(name).cloned() else {
            return Err(self.error(
                pos,
                name.into(),
                format!("{name:?} is not a defined function"),
            ));
        };
        self.eval_call(dot, &f, name, cmd, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: &Func,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = f.params.len();
        if f.variadic.is_some() {
            if num_in < fixed {
                return Err(self.error(
                    cmd.pos,
                    cmd.go_string(),
                    format!(
                        "wrong number of args for {name}: want at least {fixed} got {}",
                        args.len()
                    ),
                ));
            }
        } else if num_in != fixed {
            return Err(self.error(
                cmd.pos,
                cmd.go_string(),
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            ));
        }
        if name == "and" || name == "or" {
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, Ty::Reflect, a)?;
                if v.truthy() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                v = fv;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let ty = f.params.get(i).copied().or(f.variadic).unwrap_or(Ty::Any);
            argv.push(self.eval_arg(dot, ty, a)?);
        }
        if let Some(fv) = final_ {
            let ty = if f.variadic.is_some() && num_in > fixed {
                f.variadic.unwrap_or(Ty::Any)
            } else {
                f.params.get(num_in - 1).copied().unwrap_or(Ty::Any)
            };
            argv.push(self.validate(cmd.pos, name, fv, ty)?);
        }
        match (f.f)(self, argv) {
            Ok(v) => Ok(v),
            Err(funcs::Error::Msg(m)) => {
                let inner = ExecError::plain(m);
                let prefix =
                    self.prefix(cmd.pos, &cmd.go_string()) + &format!("error calling {name}: ");
                Err(Box::new(ExecError {
                    is_exec: true,
                    ..ExecError::wrap(&prefix, inner)
                }))
            }
            Err(funcs::Error::Exec(e)) => {
                let prefix =
                    self.prefix(cmd.pos, &cmd.go_string()) + &format!("error calling {name}: ");
                Err(Box::new(ExecError {
                    is_exec: true,
                    ..ExecError::wrap(&prefix, *e)
                }))
            }
        }
    }

    /// Go's validateType: does `v` fit a parameter of type `ty`?
    fn validate(&self, pos: usize, ctx: &str, v: Value, ty: Ty) -> R<Value> {
        let bad = |want: &str, got: &Value| {
            let got = match got {
                Value::Nil => "interface {}".to_string(),
                g => g.type_name(),
            };
            self.error(
                pos,
                ctx.to_string(),
                format!("wrong type for value; expected {want}; got {got}"),
            )
        };
        match (ty, v) {
            (Ty::Reflect, v) => Ok(v),
            (Ty::Any, Value::Invalid) => Ok(Value::Nil),
            (Ty::Any, v) => Ok(v),
            (Ty::Map, Value::Invalid) => Ok(Value::empty_map()),
            (Ty::List, Value::Invalid) => Ok(Value::list(Vec::new())),
            (Ty::Strs, Value::Invalid) => Ok(Value::Strs(Rc::new(Vec::new()))),
            (t, Value::Invalid) => Err(self.error(
                pos,
                ctx.to_string(),
                format!("invalid value; expected {}", t.go_name()),
            )),
            (Ty::Str, v @ Value::Str(_))
            | (Ty::Int, v @ Value::Int(_))
            | (Ty::I64, v @ Value::I64(_))
            | (Ty::Float, v @ Value::Float(_))
            | (Ty::Bool, v @ Value::Bool(_))
            | (Ty::Map, v @ Value::Map(_))
            | (Ty::List, v @ Value::List(_))
            | (Ty::Strs, v @ Value::Strs(_)) => Ok(v),
            (t, v) => Err(bad(t.go_name(), &v)),
        }
    }

    fn eval_arg(&mut self, dot: &Value, ty: Ty, arg: &Arg) -> R<Value> {
        let cmd_for = |a: &Arg| a.go_string();
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(p) => {
                return match ty {
                    Ty::Any | Ty::Reflect | Ty::Map | Ty::List | Ty::Strs => Ok(Value::Nil),
                    t => Err(self.error(
                        *p,
                        "nil".into(),
                        format!("cannot assign nil to {}", t.go_name()),
                    )),
                };
            }
            Arg::Field { names, pos } => {
                self.eval_field_chain(dot, dot.clone(), arg, *pos, names, &[], None)?
            }
            Arg::Variable { names, pos } => {
                let v = self.var_value(&names[0]);
                if names.len() == 1 {
                    v
                } else {
                    self.eval_field_chain(dot, v, arg, *pos, &names[1..], &[], None)?
                }
            }
            Arg::Pipe(_, p) => self.eval_pipeline(dot, p)?,
            Arg::Chain { node, fields, pos } => {
                let recv = self.eval_arg(dot, Ty::Reflect, node)?;
                self.eval_field_chain(dot, recv, arg, *pos, fields, &[], None)?
            }
            Arg::Ident { name, pos } => {
                let cmd = Command {
                    pos: *pos,
                    args: Vec::new(),
                };
                let Some(f) = self.host.func(name).cloned() else {
                    return Err(self.error(
                        *pos,
                        name.clone(),
                        format!("{name:?} is not a defined function"),
                    ));
                };
                let c = Command {
                    pos: *pos,
                    args: vec![Arg::Ident {
                        pos: *pos,
                        name: name.clone(),
                    }],
                };
                let _ = cmd;
                self.eval_call(dot, &f, name, &c, &[], None)?
            }
            Arg::Bool(p, b) => {
                return match ty {
                    Ty::Bool | Ty::Any | Ty::Reflect => Ok(Value::Bool(*b)),
                    t => Err(self.literal_mismatch(*p, t, &cmd_for(arg))),
                };
            }
            Arg::Str { pos, value, .. } => {
                return match ty {
                    Ty::Str | Ty::Any | Ty::Reflect => Ok(Value::Str(value.clone())),
                    t => Err(self.literal_mismatch(*pos, t, &cmd_for(arg))),
                };
            }
            Arg::Number { pos, text, num } => {
                return match ty {
                    Ty::Int | Ty::I64 => match num.int {
                        Some(i) if !num.is_complex => Ok(if ty == Ty::Int {
                            Value::Int(i)
                        } else {
                            Value::I64(i)
                        }),
                        _ => Err(self.literal_mismatch(*pos, ty, text)),
                    },
                    Ty::Float => match num.float {
                        Some(f) => Ok(Value::Float(f)),
                        None => Err(self.literal_mismatch(*pos, ty, text)),
                    },
                    Ty::Any | Ty::Reflect => self.ideal_constant(*pos, text, num),
                    t => Err(self.literal_mismatch(*pos, t, text)),
                };
            }
        };
        // Errors from validate name the argument node.
        self.validate(arg.pos(), &arg.go_string(), v, ty)
    }

    fn literal_mismatch(&self, pos: usize, ty: Ty, text: &str) -> Box<ExecError> {
        let what = match ty {
            Ty::Bool => "bool",
            Ty::Int | Ty::I64 => "integer",
            Ty::Float => "float",
            Ty::Str => "string",
            _ => {
                return self.error(
                    pos,
                    text.into(),
                    format!("can't handle {text} for arg of type {}", ty.go_name()),
                );
            }
        };
        self.error(pos, text.into(), format!("expected {what}; found {text}"))
    }

    /// Run another template of the set with its own variables (include).
    pub fn exec_template(&mut self, name: &str, dot: Value) -> Result<String, Box<ExecError>> {
        let Some(tree) = self.set.trees.get(name).cloned() else {
            return Err(Box::new(ExecError::plain(format!(
                "template: no template {} associated with template \"gotpl\"",
                super::gofmt::go_quote(name)
            ))));
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
        let mut out = String::new();
        let r = self.walk_list(&dot, &tree.root, &mut out);
        self.tree = saved_tree;
        self.vars = saved_vars;
        r.map(|_| out)
    }
}

/// The static type Go names for a field receiver that is not a map.
fn field_recv_type(v: &Value) -> String {
    match v {
        Value::Str(_) | Value::Float(_) | Value::Bool(_) | Value::List(_) => "interface {}".into(),
        v => v.type_name(),
    }
}
