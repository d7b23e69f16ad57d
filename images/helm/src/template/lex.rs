//! Go `text/template`'s lexer: text, delimiters with trim markers,
//! comments, and the tokens inside an action.
//!
//! Facts followed (Go's `parse/lex.go` behaviour): `{{- ` trims the
//! whitespace before it and ` -}}` the whitespace after it (the marker
//! needs an ASCII space, tab, CR or LF beside it); a comment must start
//! right after the opening delimiter and end right before the closing one;
//! numbers are scanned by Go's syntax (prefixes `0x` `0o` `0b`, `_`
//! separators, hex floats, imaginary `i`) and judged later by the parser.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Field(String),
    Dot,
    Variable(String),
    Ident(String),
    Bool(bool),
    Nil,
    Keyword(&'static str),
    Str {
        quoted: String,
        value: String,
    },
    Char {
        quoted: String,
        value: i64,
    },
    Number(String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    /// A printable ASCII character with no meaning in an action (`#`).
    Punct(char),
    /// A lexing error, reported when the parser reaches it (Go's lexer
    /// runs lazily, so earlier parse errors win).
    Error(String),
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

pub struct LexError {
    pub pos: usize,
    pub msg: String,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenize a whole template; a lexing error becomes a final
/// [`Tok::Error`] token.
pub fn lex(text: &str) -> Vec<Token> {
    match lex_eager(text) {
        Ok(t) => t,
        Err((mut toks, e)) => {
            toks.push(Token {
                tok: Tok::Error(e.msg),
                pos: e.pos,
            });
            toks.push(Token {
                tok: Tok::Eof,
                pos: text.len(),
            });
            toks
        }
    }
}

type Partial = (Vec<Token>, LexError);

fn lex_eager(text: &str) -> Result<Vec<Token>, Partial> {
    let mut out = Vec::new();
    match lex_into(text, &mut out) {
        Ok(()) => Ok(out),
        Err(e) => Err((out, e)),
    }
}

fn lex_into(text: &str, out: &mut Vec<Token>) -> Result<(), LexError> {
    let b = text.as_bytes();
    let mut pos = 0;
    let mut trim_next = false;
    loop {
        // Text up to the next `{{`.
        let start = pos;
        let next = text[pos..].find("{{").map(|i| pos + i);
        let end = next.unwrap_or(b.len());
        let mut t_start = start;
        if trim_next {
            while t_start < end && is_space(b[t_start]) {
                t_start += 1;
            }
        }
        let mut t_end = end;
        let trim_left =
            next.is_some_and(|n| b.len() > n + 3 && b[n + 2] == b'-' && is_space(b[n + 3]));
        if trim_left {
            while t_end > t_start && is_space(b[t_end - 1]) {
                t_end -= 1;
            }
        }
        if t_end > t_start {
            out.push(Token {
                tok: Tok::Text(text[t_start..t_end].to_string()),
                pos: t_start,
            });
        }
        let Some(n) = next else { break };
        out.push(Token {
            tok: Tok::LeftDelim,
            pos: n,
        });
        pos = n + 2;
        if trim_left {
            pos += 2;
        }
        // A comment.
        if text[pos..].starts_with("/*") {
            let Some(close) = text[pos + 2..].find("*/") else {
                return Err(LexError {
                    pos: n,
                    msg: "unclosed comment".into(),
                });
            };
            let after = pos + 2 + close + 2;
            let rest = &text[after..];
            if rest.starts_with("}}") {
                trim_next = false;
                pos = after + 2;
            } else if rest.len() >= 4
                && is_space(rest.as_bytes()[0])
                && rest[1..].starts_with("-}}")
            {
                trim_next = true;
                pos = after + 4;
            } else {
                return Err(LexError {
                    pos: n,
                    msg: "comment ends before closing delimiter".into(),
                });
            }
            out.pop();
            continue;
        }
        // Inside the action.
        let (np, trim) = lex_action(text, pos, out)?;
        pos = np;
        trim_next = trim;
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: b.len(),
    });
    Ok(())
}

/// Lex tokens until the right delimiter; returns the position after it
/// and whether it trims the following text.
fn lex_action(text: &str, mut pos: usize, out: &mut Vec<Token>) -> Result<(usize, bool), LexError> {
    let b = text.as_bytes();
    let mut paren_depth = 0usize;
    loop {
        if pos >= b.len() {
            return Err(LexError {
                pos,
                msg: "unclosed action".into(),
            });
        }
        // Right delimiter, with or without trim marker.
        if text[pos..].starts_with("}}") {
            if paren_depth > 0 {
                return Err(LexError {
                    pos,
                    msg: "unclosed left paren".into(),
                });
            }
            out.push(Token {
                tok: Tok::RightDelim,
                pos,
            });
            return Ok((pos + 2, false));
        }
        let c = b[pos];
        if is_space(c) {
            let start = pos;
            while pos < b.len() && is_space(b[pos]) {
                pos += 1;
            }
            if text[pos..].starts_with("-}}") {
                if paren_depth > 0 {
                    return Err(LexError {
                        pos,
                        msg: "unclosed left paren".into(),
                    });
                }
                out.push(Token {
                    tok: Tok::RightDelim,
                    pos,
                });
                return Ok((pos + 3, true));
            }
            out.push(Token {
                tok: Tok::Space,
                pos: start,
            });
            continue;
        }
        let start = pos;
        let ch = text[pos..].chars().next().unwrap_or('\0');
        match ch {
            '|' => {
                out.push(Token {
                    tok: Tok::Pipe,
                    pos,
                });
                pos += 1;
            }
            '(' => {
                paren_depth += 1;
                out.push(Token {
                    tok: Tok::LParen,
                    pos,
                });
                pos += 1;
            }
            ')' => {
                if paren_depth == 0 {
                    return Err(LexError {
                        pos,
                        msg: "unexpected right paren".into(),
                    });
                }
                paren_depth -= 1;
                out.push(Token {
                    tok: Tok::RParen,
                    pos,
                });
                pos += 1;
            }
            ',' => {
                out.push(Token {
                    tok: Tok::Comma,
                    pos,
                });
                pos += 1;
            }
            ':' => {
                if b.get(pos + 1) != Some(&b'=') {
                    return Err(LexError {
                        pos,
                        msg: "expected :=".into(),
                    });
                }
                out.push(Token {
                    tok: Tok::Declare,
                    pos,
                });
                pos += 2;
            }
            '=' => {
                out.push(Token {
                    tok: Tok::Assign,
                    pos,
                });
                pos += 1;
            }
            '"' => {
                let mut i = pos + 1;
                loop {
                    match b.get(i) {
                        None | Some(b'\n') => {
                            return Err(LexError {
                                pos,
                                msg: "unterminated quoted string".into(),
                            });
                        }
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        _ => i += 1,
                    }
                }
                let quoted = &text[pos..=i];
                let value = unquote(quoted).map_err(|_| LexError {
                    pos,
                    msg: format!("invalid syntax: {quoted}"),
                })?;
                out.push(Token {
                    tok: Tok::Str {
                        quoted: quoted.to_string(),
                        value,
                    },
                    pos,
                });
                pos = i + 1;
            }
            '`' => {
                let Some(close) = text[pos + 1..].find('`') else {
                    return Err(LexError {
                        pos,
                        msg: "unterminated raw quoted string".into(),
                    });
                };
                let quoted = &text[pos..pos + close + 2];
                out.push(Token {
                    tok: Tok::Str {
                        quoted: quoted.to_string(),
                        value: quoted[1..quoted.len() - 1].replace('\r', ""),
                    },
                    pos,
                });
                pos += close + 2;
            }
            '\'' => {
                let mut i = pos + 1;
                loop {
                    match b.get(i) {
                        None | Some(b'\n') => {
                            return Err(LexError {
                                pos,
                                msg: "unterminated character constant".into(),
                            });
                        }
                        Some(b'\\') => i += 2,
                        Some(b'\'') => break,
                        _ => i += 1,
                    }
                }
                let quoted = &text[pos..=i];
                let inner = format!("\"{}\"", &quoted[1..quoted.len() - 1].replace("\\'", "'"));
                let value = unquote(&inner).ok().and_then(|s| {
                    let mut cs = s.chars();
                    let c = cs.next()?;
                    cs.next().is_none().then_some(c as i64)
                });
                let Some(value) = value else {
                    return Err(LexError {
                        pos,
                        msg: format!("malformed character constant: {quoted}"),
                    });
                };
                out.push(Token {
                    tok: Tok::Char {
                        quoted: quoted.to_string(),
                        value,
                    },
                    pos,
                });
                pos = i + 1;
            }
            '$' => {
                let mut i = pos + 1;
                while let Some(c) = text[i..].chars().next().filter(|c| is_alnum(*c)) {
                    i += c.len_utf8();
                }
                out.push(Token {
                    tok: Tok::Variable(text[pos..i].to_string()),
                    pos,
                });
                pos = i;
            }
            '.' => {
                if b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
                    pos = lex_number(text, pos, out)?;
                } else {
                    let mut i = pos + 1;
                    while let Some(c) = text[i..].chars().next().filter(|c| is_alnum(*c)) {
                        i += c.len_utf8();
                    }
                    if i == pos + 1 {
                        out.push(Token { tok: Tok::Dot, pos });
                    } else {
                        out.push(Token {
                            tok: Tok::Field(text[pos + 1..i].to_string()),
                            pos,
                        });
                    }
                    pos = i;
                }
            }
            '+' | '-' | '0'..='9' => {
                pos = lex_number(text, pos, out)?;
            }
            c if is_alnum(c) => {
                let mut i = pos;
                while let Some(c) = text[i..].chars().next().filter(|c| is_alnum(*c)) {
                    i += c.len_utf8();
                }
                let word = &text[pos..i];
                let tok = match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    w => match KEYWORDS.iter().find(|k| **k == w) {
                        Some(k) => Tok::Keyword(k),
                        None => Tok::Ident(w.to_string()),
                    },
                };
                out.push(Token { tok, pos });
                pos = i;
                // Go: a word must be followed by a space, delimiter or
                // punctuation it knows.
                if let Some(n) = text[pos..].chars().next()
                    && !(is_space(n as u8) && n.is_ascii()
                        || matches!(n, '.' | ',' | '|' | ':' | ')' | '(' | '=' | '}' | '-'))
                {
                    return Err(LexError {
                        pos: start,
                        msg: format!("bad character {n:?}"),
                    });
                }
            }
            c if c.is_ascii_graphic() => {
                out.push(Token {
                    tok: Tok::Punct(c),
                    pos,
                });
                pos += 1;
            }
            c => {
                return Err(LexError {
                    pos,
                    msg: format!("unrecognized character in action: {}", go_quote_rune(c)),
                });
            }
        }
    }
}

fn go_quote_rune(c: char) -> String {
    match c {
        '\n' => "U+000A '\\n'".into(),
        c => format!("U+{:04X} '{}'", c as u32, c),
    }
}

fn lex_number(text: &str, pos: usize, out: &mut Vec<Token>) -> Result<usize, LexError> {
    let b = text.as_bytes();
    let mut i = pos;
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B'))
    {
        match b[i + 1] {
            b'x' | b'X' => {
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                digits = b"01234567_";
                exp = b"";
            }
            _ => {
                digits = b"01_";
                exp = b"";
            }
        }
        i += 2;
    }
    let accept_run = |i: &mut usize, set: &[u8]| {
        while b.get(*i).is_some_and(|c| set.contains(c)) {
            *i += 1;
        }
    };
    accept_run(&mut i, digits);
    if b.get(i) == Some(&b'.') {
        i += 1;
        accept_run(&mut i, digits);
    }
    if !exp.is_empty() && b.get(i).is_some_and(|c| exp.contains(c)) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        accept_run(&mut i, b"0123456789_");
    }
    if b.get(i) == Some(&b'i') {
        i += 1;
    }
    if let Some(c) = text[i..].chars().next()
        && (is_alnum(c) || c == '.')
    {
        let mut j = i;
        while let Some(c) = text[j..]
            .chars()
            .next()
            .filter(|c| is_alnum(*c) || *c == '.')
        {
            j += c.len_utf8();
        }
        return Err(LexError {
            pos,
            msg: format!("bad number syntax: {:?}", &text[pos..j]),
        });
    }
    out.push(Token {
        tok: Tok::Number(text[pos..i].to_string()),
        pos,
    });
    Ok(i)
}

/// Go's `strconv.Unquote` for a double-quoted string.
#[allow(clippy::result_unit_err)]
pub fn unquote(q: &str) -> Result<String, ()> {
    let inner = q
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(())?;
    let mut out = String::with_capacity(inner.len());
    let mut bytes: Vec<u8> = Vec::new();
    let mut cs = inner.chars().peekable();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some(c) = cs.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let e = cs.next().ok_or(())?;
        let hex = |cs: &mut std::iter::Peekable<std::str::Chars>, n: usize| -> Result<u32, ()> {
            let s: String = (0..n).filter_map(|_| cs.next()).collect();
            if s.len() != n {
                return Err(());
            }
            u32::from_str_radix(&s, 16).map_err(|_| ())
        };
        let ch = match e {
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            '\\' => '\\',
            '"' => '"',
            'x' => {
                bytes.push(hex(&mut cs, 2)? as u8);
                continue;
            }
            'u' => char::from_u32(hex(&mut cs, 4)?).ok_or(())?,
            'U' => char::from_u32(hex(&mut cs, 8)?).ok_or(())?,
            '0'..='7' => {
                let s: String = std::iter::once(e)
                    .chain((0..2).filter_map(|_| cs.next()))
                    .collect();
                let v = u32::from_str_radix(&s, 8).map_err(|_| ())?;
                if v > 255 || s.len() != 3 {
                    return Err(());
                }
                bytes.push(v as u8);
                continue;
            }
            _ => return Err(()),
        };
        flush(&mut bytes, &mut out);
        out.push(ch);
    }
    flush(&mut bytes, &mut out);
    Ok(out)
}
