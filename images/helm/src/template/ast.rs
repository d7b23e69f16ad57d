//! The parse tree of a Go template, as `text/template/parse` builds it.
//!
//! Positions are byte offsets into the source text ([`Tree::text`]); Go
//! reports `line:col` with a 0-based byte column, computed on demand.
//! `String()` forms ([`Arg::go_string`], [`Command::go_string`]) reproduce
//! Go's, since error messages quote them (`at <.Values.a.b>`).

use std::rc::Rc;

/// A parsed template: a `define`, a file, or a `tpl` string.
#[derive(Debug)]
pub struct Tree {
    /// Its name (`define`'s name, or the file's name).
    pub name: String,
    /// The name of the file (or text) it was parsed from.
    pub parse_name: Rc<str>,
    pub text: Rc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// Go's `ErrorContext` location: `parse_name:line:col` (col is the
    /// 0-based byte offset in its line).
    pub fn location(&self, pos: usize) -> String {
        let (line, col) = line_col(&self.text, pos);
        format!("{}:{}:{}", self.parse_name, line, col)
    }

    /// Whether the body is only whitespace and comments: such a `define`
    /// does not replace an existing one.
    pub fn is_empty(&self) -> bool {
        self.root.iter().all(|n| match n {
            Node::Text(t) => t.trim().is_empty(),
            _ => false,
        })
    }
}

/// 1-based line, 0-based byte column of `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..pos.min(text.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

#[derive(Debug)]
pub enum Node {
    Text(Rc<str>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// `if`, `range` and `with`: a pipeline, a body and an optional else.
#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy)]
pub struct Number {
    /// Integer value when the constant is an integer.
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Written as a float (has `.`, `e` or `p` and is not hex/char).
    pub is_float_syntax: bool,
    /// Fits in uint64 but not int64.
    pub uint_overflow: bool,
    pub is_complex: bool,
}

#[derive(Debug)]
pub enum Arg {
    Field {
        pos: usize,
        names: Vec<String>,
    },
    Variable {
        pos: usize,
        names: Vec<String>,
    },
    Ident {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number {
        pos: usize,
        text: String,
        num: Number,
    },
    Str {
        pos: usize,
        quoted: String,
        value: Rc<str>,
    },
    Pipe(usize, Box<Pipe>),
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::Str { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Dot(p) | Arg::Nil(p) | Arg::Bool(p, _) | Arg::Pipe(p, _) => *p,
        }
    }

    pub fn go_string(&self) -> String {
        match self {
            Arg::Field { names, .. } => names.iter().map(|n| format!(".{n}")).collect(),
            Arg::Variable { names, .. } => names.join("."),
            Arg::Ident { name, .. } => name.clone(),
            Arg::Dot(_) => ".".into(),
            Arg::Nil(_) => "nil".into(),
            Arg::Bool(_, b) => b.to_string(),
            Arg::Number { text, .. } => text.clone(),
            Arg::Str { quoted, .. } => quoted.clone(),
            Arg::Pipe(_, p) => format!("({})", p.go_string()),
            Arg::Chain { node, fields, .. } => {
                let mut s = match node.as_ref() {
                    Arg::Pipe(..) => node.go_string(),
                    n => n.go_string(),
                };
                for f in fields {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
        }
    }
}

impl Command {
    pub fn go_string(&self) -> String {
        self.args
            .iter()
            .map(|a| match a {
                Arg::Pipe(_, p) => format!("({})", p.go_string()),
                a => a.go_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Pipe {
    pub fn go_string(&self) -> String {
        let mut s = String::new();
        if !self.decl.is_empty() {
            s.push_str(&self.decl.join(", "));
            s.push_str(if self.is_assign { " = " } else { " := " });
        }
        s.push_str(
            &self
                .cmds
                .iter()
                .map(Command::go_string)
                .collect::<Vec<_>>()
                .join(" | "),
        );
        s
    }
}
