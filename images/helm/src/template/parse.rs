//! Go `text/template/parse`'s parser: tokens to [`Tree`]s.
//!
//! One text yields its main tree plus one tree per `define`/`block`.
//! Facts followed: a pipeline's later commands must be executable; a field
//! chain after a term becomes one field/variable node positioned at the
//! first chained field; functions and variables must be known at parse
//! time; `break`/`continue` only inside `range`; `else if`/`else with`
//! nest as a single node in the else list.

use std::rc::Rc;

use super::ast::{Arg, Branch, Command, Node, Number, Pipe, Tree, line_col};
use super::lex::{Tok, Token, lex};

/// A parse failure, with where (`name:line`) as Go reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub name: String,
    pub line: usize,
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template: {}:{}: {}", self.name, self.line, self.msg)
    }
}

/// Parse `text` (named `name`): the main tree first, then the defines.
pub fn parse(
    name: &str,
    text: &str,
    is_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let parse_name: Rc<str> = Rc::from(name);
    let text_rc: Rc<str> = Rc::from(text);
    let tokens = lex(text);
    let mut p = Parser {
        toks: tokens,
        i: 0,
        vars: vec!["$".to_string()],
        is_func,
        name: name.to_string(),
        text: text_rc.clone(),
        defines: Vec::new(),
        range_depth: 0,
    };
    let root = p.top()?;
    let mut trees = vec![Tree {
        name: name.to_string(),
        parse_name: parse_name.clone(),
        text: text_rc.clone(),
        root,
    }];
    for (n, root) in p.defines {
        trees.push(Tree {
            name: n,
            parse_name: parse_name.clone(),
            text: text_rc.clone(),
            root,
        });
    }
    Ok(trees)
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    is_func: &'a dyn Fn(&str) -> bool,
    name: String,
    text: Rc<str>,
    defines: Vec<(String, Vec<Node>)>,
    range_depth: usize,
}

#[allow(clippy::enum_variant_names)]
enum End {
    Eof,
    End,
    Else(usize),
}

type R<T> = Result<T, ParseError>;

/// A node, or the `end`/`else` that closed a list (and where).
type Item = (Option<Node>, Option<(End, usize)>);

fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "EOF".into(),
        Tok::Text(s) => format!("{s:?}"),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Field(f) => format!("<.{f}>"),
        Tok::Dot => "<.>".into(),
        Tok::Variable(v) => format!("<{v}>"),
        Tok::Ident(i) => format!("<{i}>"),
        Tok::Bool(b) => format!("<{b}>"),
        Tok::Nil => "<nil>".into(),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Str { quoted, .. } => quoted.clone(),
        Tok::Char { quoted, .. } => quoted.clone(),
        Tok::Number(n) => n.clone(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Punct(c) => format!("{:?}", c.to_string()),
        Tok::Error(e) => e.clone(),
    }
}

impl Parser<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> R<T> {
        Err(ParseError {
            name: self.name.clone(),
            line: line_col(&self.text, pos).0,
            msg: msg.into(),
        })
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i]
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.i -= 1;
        t
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> R<T> {
        if let Tok::Error(msg) = &t.tok {
            return self.err(t.pos, msg.clone());
        }
        self.err(
            t.pos,
            format!("unexpected {} in {}", describe(&t.tok), context),
        )
    }

    fn top(&mut self) -> R<Vec<Node>> {
        let mut list = Vec::new();
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::Eof => return Ok(list),
                Tok::LeftDelim => {
                    // `{{define` at top level.
                    let save = self.i;
                    self.next();
                    let kw = self.next_non_space();
                    if kw.tok == Tok::Keyword("define") {
                        self.parse_define(t.pos)?;
                        continue;
                    }
                    self.i = save;
                    match self.text_or_action()? {
                        (Some(n), None) => list.push(n),
                        (None, None) => {}
                        (_, Some((end, pos))) => {
                            return match end {
                                End::Eof => Ok(list),
                                End::End => self.err(pos, "unexpected {{end}}"),
                                End::Else(_) => self.err(pos, "unexpected {{else}}"),
                            };
                        }
                    }
                }
                _ => {
                    if let (Some(n), _) = self.text_or_action()? {
                        list.push(n);
                    }
                }
            }
        }
    }

    fn parse_define(&mut self, _pos: usize) -> R<()> {
        let name_tok = self.next_non_space();
        let name = match &name_tok.tok {
            Tok::Str { value, .. } => value.clone(),
            _ => return self.unexpected(&name_tok, "define clause"),
        };
        let close = self.next_non_space();
        if close.tok != Tok::RightDelim {
            return self.unexpected(&close, "define clause");
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let End::Else(p) = end {
            return self.err(p, "unexpected {{else}}");
        }
        if let End::Eof = end {
            return self.err(self.text.len(), "unexpected EOF");
        }
        self.defines.push((name, list));
        Ok(())
    }

    /// Items until `{{end}}`/`{{else}}`.
    fn item_list(&mut self) -> R<(Vec<Node>, End)> {
        let mut list = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof {
                return self.err(self.text.len(), "unexpected EOF");
            }
            match self.text_or_action()? {
                (Some(n), None) => list.push(n),
                (None, None) => {}
                (_, Some((end, _))) => return Ok((list, end)),
            }
        }
    }

    /// One text or action; `end`/`else` are reported instead of a node.
    fn text_or_action(&mut self) -> R<Item> {
        let t = self.next();
        match t.tok {
            Tok::Text(s) => Ok((Some(Node::Text(Rc::from(s))), None)),
            Tok::LeftDelim => self.action(),
            Tok::Eof => Ok((None, Some((End::Eof, t.pos)))),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> R<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Keyword("block") => {
                let name_tok = self.next_non_space();
                let name = match &name_tok.tok {
                    Tok::Str { value, .. } => value.clone(),
                    _ => return self.unexpected(&name_tok, "block clause"),
                };
                let pipe = self.pipeline("block", Tok::RightDelim)?;
                let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
                let (list, end) = self.item_list()?;
                self.vars = saved_vars;
                if let End::Else(p) = end {
                    return self.err(p, "unexpected {{else}}");
                }
                self.defines.push((name.clone(), list));
                Ok((
                    Some(Node::Template {
                        pos: name_tok.pos,
                        name,
                        pipe: Some(pipe),
                    }),
                    None,
                ))
            }
            Tok::Keyword("break") | Tok::Keyword("continue") => {
                let kw = if t.tok == Tok::Keyword("break") {
                    "break"
                } else {
                    "continue"
                };
                let close = self.next_non_space();
                if close.tok != Tok::RightDelim {
                    return self.unexpected(&close, &format!("{{{{{kw}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.err(t.pos, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
                }
                Ok((
                    Some(if kw == "break" {
                        Node::Break(t.pos)
                    } else {
                        Node::Continue(t.pos)
                    }),
                    None,
                ))
            }
            Tok::Keyword("define") => self.err(t.pos, "unexpected <define> in command"),
            Tok::Keyword("else") => {
                // `else` alone, or `else if`/`else with`: the caller sees
                // the keyword position; the chained form is re-lexed as a
                // new control by its caller.
                let peek = self.peek_non_space();
                match peek.tok {
                    Tok::Keyword("if") | Tok::Keyword("with") => {
                        // Leave the `if`/`with` to be parsed by the caller.
                        Ok((None, Some((End::Else(t.pos), t.pos))))
                    }
                    Tok::RightDelim => {
                        self.next_non_space();
                        Ok((None, Some((End::Else(usize::MAX), t.pos))))
                    }
                    _ => self.unexpected(&peek, "else"),
                }
            }
            Tok::Keyword("end") => {
                let close = self.next_non_space();
                if close.tok != Tok::RightDelim {
                    return self.unexpected(&close, "end");
                }
                Ok((None, Some((End::End, t.pos))))
            }
            Tok::Keyword("if") => Ok((Some(Node::If(self.control("if", t.pos)?)), None)),
            Tok::Keyword("range") => {
                self.range_depth += 1;
                let b = self.control("range", t.pos);
                self.range_depth -= 1;
                Ok((Some(Node::Range(b?)), None))
            }
            Tok::Keyword("with") => Ok((Some(Node::With(self.control("with", t.pos)?)), None)),
            Tok::Keyword("template") => {
                let name_tok = self.next_non_space();
                let name = match &name_tok.tok {
                    Tok::Str { value, .. } => value.clone(),
                    _ => return self.unexpected(&name_tok, "template clause"),
                };
                let close = self.peek_non_space();
                let pipe = if close.tok == Tok::RightDelim {
                    self.next_non_space();
                    None
                } else {
                    Some(self.pipeline("template clause", Tok::RightDelim)?)
                };
                Ok((
                    Some(Node::Template {
                        pos: name_tok.pos,
                        name,
                        pipe,
                    }),
                    None,
                ))
            }
            _ => {
                self.i -= 1;
                let pipe = self.pipeline("command", Tok::RightDelim)?;
                Ok((Some(Node::Action(pipe)), None))
            }
        }
    }

    /// `if`/`range`/`with`: pipeline, list, optional else.
    fn control(&mut self, context: &str, pos: usize) -> R<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let (list, end) = self.item_list()?;
        let else_list = match end {
            End::End => None,
            End::Eof => return self.err(self.text.len(), "unexpected EOF"),
            End::Else(p) if p == usize::MAX => {
                let (el, end2) = self.item_list()?;
                match end2 {
                    End::End => Some(el),
                    _ => return self.err(pos, "expected end; found {{else}}"),
                }
            }
            End::Else(_) => {
                // `else if` / `else with`: a nested control that also
                // consumes this control's `end`.
                let kw = self.next_non_space();
                let nested = match kw.tok {
                    Tok::Keyword("if") if context == "if" => Node::If(self.control("if", kw.pos)?),
                    Tok::Keyword("with") if context == "with" => {
                        Node::With(self.control("with", kw.pos)?)
                    }
                    _ => return self.unexpected(&kw, "else"),
                };
                Some(vec![nested])
            }
        };
        self.vars.truncate(mark);
        Ok(Branch {
            pos,
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> R<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations.
        if let Tok::Variable(_) = first.tok {
            let save = self.i;
            let v = self.next_non_space();
            let after = self.peek().clone();
            let after_ns = self.peek_non_space();
            let name = match &v.tok {
                Tok::Variable(n) => n.clone(),
                _ => unreachable!(),
            };
            match after_ns.tok {
                Tok::Declare | Tok::Assign => {
                    self.next_non_space();
                    pipe.is_assign = after_ns.tok == Tok::Assign;
                    if pipe.is_assign && !self.vars.contains(&name) {
                        return self.err(v.pos, format!("undefined variable {name:?}"));
                    }
                    pipe.decl.push(name.clone());
                    if !pipe.is_assign {
                        self.vars.push(name);
                    }
                }
                Tok::Comma if context == "range" => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    let v2 = self.next_non_space();
                    let Tok::Variable(n2) = v2.tok.clone() else {
                        return self.err(v2.pos, format!("missing variable in {context}"));
                    };
                    let op = self.next_non_space();
                    match op.tok {
                        Tok::Declare | Tok::Assign => {
                            pipe.is_assign = op.tok == Tok::Assign;
                            pipe.decl.push(n2.clone());
                            self.vars.push(n2);
                        }
                        _ => {
                            return self.err(
                                op.pos,
                                format!("unexpected {} in {context}", describe(&op.tok)),
                            );
                        }
                    }
                }
                Tok::Comma => {
                    return self.err(after_ns.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after;
                    self.i = save;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.tok == end {
                if pipe.cmds.is_empty() {
                    return self.err(t.pos, format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args.first(),
                        Some(
                            Arg::Bool(..)
                                | Arg::Dot(_)
                                | Arg::Nil(_)
                                | Arg::Number { .. }
                                | Arg::Str { .. }
                        )
                    ) {
                        return self.err(
                            t.pos,
                            format!("non executable command in pipeline stage {}", i + 1),
                        );
                    }
                }
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char { .. }
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str { .. }
                | Tok::Variable(_)
                | Tok::LParen => {
                    self.i -= 1;
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> R<Command> {
        let start = self.peek_non_space();
        let mut cmd = Command {
            pos: start.pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err(start.pos, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek().tok {
            let chain_pos = self.peek().pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = &self.peek().tok {
                fields.push(f.clone());
                self.next();
            }
            return Ok(Some(match node {
                Arg::Field { mut names, .. } => {
                    names.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        names,
                    }
                }
                Arg::Variable { mut names, .. } => {
                    names.extend(fields);
                    Arg::Variable {
                        pos: chain_pos,
                        names,
                    }
                }
                Arg::Bool(..)
                | Arg::Str { .. }
                | Arg::Number { .. }
                | Arg::Nil(_)
                | Arg::Dot(_) => {
                    return self.err(
                        chain_pos,
                        format!("unexpected . after term {:?}", node.go_string()),
                    );
                }
                n => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(n),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.tok {
            Tok::Ident(name) => {
                if !(self.is_func)(&name) {
                    return self.err(t.pos, format!("function {name:?} not defined"));
                }
                Arg::Ident { pos: t.pos, name }
            }
            Tok::Dot => Arg::Dot(t.pos),
            Tok::Nil => Arg::Nil(t.pos),
            Tok::Variable(v) => {
                if !self.vars.contains(&v) {
                    return self.err(t.pos, format!("undefined variable {v:?}"));
                }
                Arg::Variable {
                    pos: t.pos,
                    names: vec![v],
                }
            }
            Tok::Field(f) => Arg::Field {
                pos: t.pos,
                names: vec![f],
            },
            Tok::Bool(b) => Arg::Bool(t.pos, b),
            Tok::Char { quoted, value } => Arg::Number {
                pos: t.pos,
                text: quoted,
                num: Number {
                    int: Some(value),
                    float: Some(value as f64),
                    is_float_syntax: false,
                    uint_overflow: false,
                    is_complex: false,
                },
            },
            Tok::Number(text) => {
                let num = match parse_number(&text) {
                    Ok(n) => n,
                    Err(m) => return self.err(t.pos, m),
                };
                Arg::Number {
                    pos: t.pos,
                    text,
                    num,
                }
            }
            Tok::LParen => {
                let pipe = self.pipeline("parenthesized pipeline", Tok::RParen)?;
                Arg::Pipe(t.pos, Box::new(pipe))
            }
            Tok::Str { quoted, value } => Arg::Str {
                pos: t.pos,
                quoted,
                value: Rc::from(value),
            },
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

/// Go's `strconv.ParseInt/ParseUint/ParseFloat` with base 0 as the
/// template parser applies them to a number literal.
pub fn parse_number(text: &str) -> Result<Number, String> {
    let mut n = Number {
        int: None,
        float: None,
        is_float_syntax: false,
        uint_overflow: false,
        is_complex: false,
    };
    if text.ends_with('i') {
        n.is_complex = true;
        return Ok(n);
    }
    let lower = text.to_ascii_lowercase();
    let is_hex = lower.trim_start_matches(['+', '-']).starts_with("0x");
    n.is_float_syntax = if is_hex {
        lower.contains('p')
    } else {
        lower.contains(['.', 'e'])
    };
    if let Some(i) = parse_go_int(text) {
        match i64::try_from(i) {
            Ok(v) => {
                n.int = Some(v);
                n.float = Some(v as f64);
            }
            Err(_) => {
                if i > 0 && i <= i128::from(u64::MAX) {
                    n.uint_overflow = true;
                    n.float = Some(i as f64);
                } else {
                    return Err(format!("illegal number syntax: {text:?}"));
                }
            }
        }
        return Ok(n);
    }
    match parse_go_float(text) {
        Some(f) => {
            if !n.is_float_syntax {
                return Err(format!("integer overflow: {text:?}"));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            Ok(n)
        }
        None => Err(format!("illegal number syntax: {text:?}")),
    }
}

/// `strconv.ParseInt(s, 0, 64)`-like (wider result to detect overflow).
fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && !underscore_ok(&lower, prefixed) {
        return None;
    }
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    if v > i128::from(u64::MAX) {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// Go's underscoreOK: `_` only between digits or after a base prefix.
fn underscore_ok(s: &str, prefixed: bool) -> bool {
    let b = s.as_bytes();
    let mut saw = if prefixed { '0' } else { '^' };
    let mut i = 0;
    if prefixed && b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_alphabetic() {
        i = 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_hexdigit() {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

fn parse_go_float(text: &str) -> Option<f64> {
    let t = text.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let (neg, body) = match lower.as_bytes().first()? {
        b'-' => (true, &lower[1..]),
        b'+' => (false, &lower[1..]),
        _ => (false, &lower[..]),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        let (mant, exp) = h.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        let mut v = 0f64;
        for c in ip.chars() {
            v = v * 16.0 + f64::from(c.to_digit(16)?);
        }
        let mut scale = 1.0 / 16.0;
        for c in fp.chars() {
            v += f64::from(c.to_digit(16)?) * scale;
            scale /= 16.0;
        }
        v * 2f64.powi(exp)
    } else {
        if body.is_empty() || !body.chars().next()?.is_ascii_digit() && !body.starts_with('.') {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}
