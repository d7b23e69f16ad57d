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
    /// Templates `tpl` defined, looked up before `set` (a `tpl` call
    /// sees the whole set plus its own defines, without copying the set).
    pub overlay: Option<&'a Set>,
    pub host: &'a mut dyn crate::engine::Env,
    tree: &'a Tree,
    vars: Vec<(String, Value)>,
    depth: usize,
    /// The node being evaluated (Go's `state.node`): errors name it.
    cur: Cur<'a>,
}

/// A node errors can name.
#[derive(Clone, Copy)]
enum Cur<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    /// A `{{template}}` call: position and name.
    Template(usize, &'a str),
}

impl Cur<'_> {
    fn pos(&self) -> usize {
        match self {
            Cur::None => 0,
            Cur::Arg(Arg::Pipe(_, p)) => p.pos,
            Cur::Arg(a) => a.pos(),
            Cur::Cmd(c) => c.pos,
            Cur::Pipe(p) => p.pos,
            Cur::Template(p, _) => *p,
        }
    }
    fn ctx(&self) -> String {
        match self {
            Cur::None => String::new(),
            Cur::Arg(Arg::Pipe(_, p)) => p.go_string(),
            Cur::Arg(a) => a.go_string(),
            Cur::Cmd(c) => c.go_string(),
            Cur::Pipe(p) => p.go_string(),
            Cur::Template(_, n) => format!("{{{{template {}}}}}", super::gofmt::go_quote(n)),
        }
    }
}

type R<T> = Result<T, Box<ExecError>>;

/// Context text of a node: Go's `String()` of it, whole (Go 1.25's
/// `ErrorContext` no longer truncates it).
fn context(s: String) -> String {
    s
}

impl<'a> Exec<'a> {
    pub fn new(set: &'a Set, host: &'a mut dyn crate::engine::Env, tree: &'a Tree) -> Self {
        Exec {
            set,
            overlay: None,
            host,
            tree,
            vars: Vec::new(),
            depth: 0,
            cur: Cur::None,
        }
    }

    /// A template by name: `tpl`'s own defines first, then the set.
    pub fn lookup(&self, name: &str) -> Option<&'a Tree> {
        if let Some(o) = self.overlay
            && let Some(t) = o.trees.get(name)
        {
            return Some(t);
        }
        self.set.trees.get(name).map(|t| &**t)
    }

    fn at(&mut self, c: Cur<'a>) {
        self.cur = c;
    }

    /// An error at the current node (Go's `s.errorf`).
    fn err(&self, msg: impl Into<String>) -> Box<ExecError> {
        self.error(self.cur.pos(), self.cur.ctx(), msg)
    }

    /// Execute `tree` with `dot` into `out`.
    pub fn run(&mut self, dot: Value, out: &mut String) -> R<()> {
        self.vars = vec![("$".to_string(), dot.clone())];
        let tree = self.tree;
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
    pub fn tree(&self) -> &Tree {
        self.tree
    }

    fn walk_list(&mut self, dot: &Value, list: &'a [Node], out: &mut String) -> R<Flow> {
        for n in list {
            match self.walk(dot, n, out)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'a Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    match v {
                        Value::Invalid => out.push_str("<no value>"),
                        v => crate::value::write_v(out, &v, false),
                    }
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, out, false),
            Node::With(b) => return self.walk_if_with(dot, b, out, true),
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
            Node::Template { pos, name, pipe } => {
                self.at(Cur::Template(*pos, name));
                let Some(tree) = self.lookup(name) else {
                    return Err(self.err(format!(
                        "template {} not defined",
                        super::gofmt::go_quote(name)
                    )));
                };
                let tree: &'a Tree = tree;
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Invalid,
                };
                if self.depth >= MAX_DEPTH {
                    return Err(self.err(format!("exceeded maximum template depth ({MAX_DEPTH})")));
                }
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree);
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

    fn walk_if_with(
        &mut self,
        dot: &Value,
        b: &'a Branch,
        out: &mut String,
        with: bool,
    ) -> R<Flow> {
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

    fn walk_range(&mut self, dot: &Value, b: &'a Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
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
                    return Err(self.err(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Object(o) if o.entries().is_some() => o
                .entries()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, x)| (Value::str(k), x))
                .collect(),
            Value::Str(_) => {
                return Err(self.err(format!("range can't iterate over {}", format_v(&v))));
            }
            other => match other.items() {
                Some(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| (Value::Int(i as i64), x))
                    .collect(),
                None => {
                    return Err(self.err(format!("range can't iterate over {}", format_v(other))));
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

    pub fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at(Cur::Pipe(pipe));
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

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.err(format!(
                "can't give argument to non-function {}",
                args[0].go_string()
            )));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { names, .. } => {
                self.at(Cur::Arg(first));
                self.eval_field_chain(dot, dot.clone(), names, &cmd.args, final_)
            }
            Arg::Chain { node, fields, .. } => {
                self.at(Cur::Arg(first));
                if matches!(node.as_ref(), Arg::Nil(_)) {
                    return Err(self.err(format!(
                        "indirection through explicit nil in {}",
                        first.go_string()
                    )));
                }
                let recv = self.eval_arg(dot, Ty::Reflect, node)?;
                self.eval_field_chain(dot, recv, fields, &cmd.args, final_)
            }
            Arg::Ident { name, .. } => {
                self.at(Cur::Arg(first));
                self.eval_function(dot, name, Cur::Cmd(cmd), &cmd.args, final_)
            }
            Arg::Pipe(_, p) => {
                self.not_a_function(&cmd.args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { names, .. } => {
                self.at(Cur::Arg(first));
                let v = self.var_value(&names[0]);
                if names.len() == 1 {
                    self.not_a_function(&cmd.args, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, &names[1..], &cmd.args, final_)
            }
            _ => {
                self.at(Cur::Arg(first));
                self.not_a_function(&cmd.args, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.err("nil is not a command")),
                    Arg::Number { text, num, .. } => self.ideal_constant(text, num),
                    Arg::Str { value, .. } => Ok(Value::Str(value.clone())),
                    _ => Err(self.err("can't evaluate command")),
                }
            }
        }
    }

    fn ideal_constant(&self, text: &str, n: &super::ast::Number) -> R<Value> {
        if n.is_complex {
            return Err(self.err(format!("complex constants are not supported: {text}")));
        }
        if n.is_float_syntax && !text.starts_with('\'') {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint_overflow {
            return Err(self.err(format!("{text} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        names: &[String],
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let n = names.len();
        for name in &names[..n - 1] {
            recv = self.eval_field(dot, name, &[], None, recv)?;
        }
        self.eval_field(dot, &names[n - 1], args, final_, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        args: &'a [Arg],
        final_: Option<Value>,
        recv: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || final_.is_some();
        match &recv {
            Value::Invalid => Ok(Value::Invalid),
            Value::Nil => Err(self.err(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(format!("{name} is not a method but has arguments")));
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
                        Some(Err(e)) => Err(self.err(format!("error calling {name}: {e}"))),
                        None => Ok(Value::Invalid),
                    };
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.err(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(v);
                }
                if let Some(e) = o.entries() {
                    return Ok(e
                        .get(name)
                        .cloned()
                        .unwrap_or(Value::Bytes(Rc::from(Vec::new()))));
                }
                Err(self.err(format!(
                    "can't evaluate field {name} in type {}",
                    o.type_name()
                )))
            }
            other => Err(self.err(format!(
                "can't evaluate field {name} in type {}",
                field_recv_type(other)
            ))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        call_node: Cur<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let Some(f) = self.host.func(name).cloned() else {
            return Err(self.err(format!("{name:?} is not a defined function")));
        };
        self.eval_call(dot, &f, name, call_node, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: &Func,
        name: &str,
        call_node: Cur<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = f.params.len();
        if f.variadic.is_some() {
            if num_in < fixed {
                return Err(self.err(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != fixed {
            return Err(self.err(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
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
            argv.push(self.validate(fv, ty)?);
        }
        let r = (f.f)(self, argv);
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(call_node);
                let prefix = self.prefix(self.cur.pos(), &self.cur.ctx())
                    + &format!("error calling {name}: ");
                let inner = match e {
                    funcs::Error::Msg(m) => ExecError::plain(m),
                    funcs::Error::Exec(e) => *e,
                };
                Err(Box::new(ExecError {
                    is_exec: true,
                    ..ExecError::wrap(&prefix, inner)
                }))
            }
        }
    }

    /// Go's validateType: does `v` fit a parameter of type `ty`? Errors
    /// name the current node.
    fn validate(&self, v: Value, ty: Ty) -> R<Value> {
        let bad = |want: &str, got: &Value| {
            let got = match got {
                Value::Nil => "interface {}".to_string(),
                g => g.type_name(),
            };
            self.err(format!("wrong type for value; expected {want}; got {got}"))
        };
        match (ty, v) {
            (Ty::Reflect, v) => Ok(v),
            (Ty::Any, Value::Invalid) => Ok(Value::Nil),
            (Ty::Any, v) => Ok(v),
            (Ty::Map, Value::Invalid) => Ok(Value::empty_map()),
            (Ty::List, Value::Invalid) => Ok(Value::list(Vec::new())),
            (Ty::Strs, Value::Invalid) => Ok(Value::Strs(Rc::new(Vec::new()))),
            (t, Value::Invalid) => {
                Err(self.err(format!("invalid value; expected {}", t.go_name())))
            }
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

    fn eval_arg(&mut self, dot: &Value, ty: Ty, arg: &'a Arg) -> R<Value> {
        self.at(Cur::Arg(arg));
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match ty {
                    Ty::Any | Ty::Reflect | Ty::Map | Ty::List | Ty::Strs => Ok(Value::Nil),
                    t => Err(self.err(format!("cannot assign nil to {}", t.go_name()))),
                };
            }
            Arg::Field { names, .. } => {
                self.eval_field_chain(dot, dot.clone(), names, &[], None)?
            }
            Arg::Variable { names, .. } => {
                let v = self.var_value(&names[0]);
                if names.len() == 1 {
                    v
                } else {
                    self.eval_field_chain(dot, v, &names[1..], &[], None)?
                }
            }
            Arg::Pipe(_, p) => self.eval_pipeline(dot, p)?,
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_arg(dot, Ty::Reflect, node)?;
                self.at(Cur::Arg(arg));
                self.eval_field_chain(dot, recv, fields, &[], None)?
            }
            Arg::Ident { name, .. } => {
                let Some(f) = self.host.func(name).cloned() else {
                    return Err(self.err(format!("{name:?} is not a defined function")));
                };
                self.eval_call(
                    dot,
                    &f,
                    name,
                    Cur::Arg(arg),
                    std::slice::from_ref(arg),
                    None,
                )?
            }
            Arg::Bool(_, b) => {
                return match ty {
                    Ty::Bool | Ty::Any | Ty::Reflect => Ok(Value::Bool(*b)),
                    t => Err(self.literal_mismatch(t, &arg.go_string())),
                };
            }
            Arg::Str { value, .. } => {
                return match ty {
                    Ty::Str | Ty::Any | Ty::Reflect => Ok(Value::Str(value.clone())),
                    t => Err(self.literal_mismatch(t, &arg.go_string())),
                };
            }
            Arg::Number { text, num, .. } => {
                return match ty {
                    Ty::Int | Ty::I64 => match num.int {
                        Some(i) if !num.is_complex => Ok(if ty == Ty::Int {
                            Value::Int(i)
                        } else {
                            Value::I64(i)
                        }),
                        _ => Err(self.literal_mismatch(ty, text)),
                    },
                    Ty::Float => match num.float {
                        Some(f) => Ok(Value::Float(f)),
                        None => Err(self.literal_mismatch(ty, text)),
                    },
                    Ty::Any | Ty::Reflect => self.ideal_constant(text, num),
                    t => Err(self.literal_mismatch(t, text)),
                };
            }
        };
        self.validate(v, ty)
    }

    fn literal_mismatch(&self, ty: Ty, text: &str) -> Box<ExecError> {
        let what = match ty {
            Ty::Bool => "bool",
            Ty::Int | Ty::I64 => "integer",
            Ty::Float => "float",
            Ty::Str => "string",
            _ => {
                return self.err(format!(
                    "can't handle {text} for arg of type {}",
                    ty.go_name()
                ));
            }
        };
        self.err(format!("expected {what}; found {text}"))
    }

    /// Run another template of the set with its own variables (include).
    pub fn exec_template(&mut self, name: &str, dot: Value) -> Result<String, Box<ExecError>> {
        let Some(tree) = self.lookup(name) else {
            return Err(Box::new(ExecError::plain(format!(
                "template: no template {} associated with template \"gotpl\"",
                super::gofmt::go_quote(name)
            ))));
        };
        let tree: &'a Tree = tree;
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let saved_cur = self.cur;
        let mut out = String::new();
        let r = self.walk_list(&dot, &tree.root, &mut out);
        self.tree = saved_tree;
        self.vars = saved_vars;
        self.cur = saved_cur;
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
