//! String interpolation: the one syntax hlb gives recipes and opted-in files.
//!
//! `${name}` is replaced by the value of `name`; `$${` stands for a literal
//! `${` (so `$${x}` reads as the text `${x}`). Nothing else is special: a
//! lone `$`, `$name`, `{{ … }}` and `%{…}` pass through untouched, which is
//! what files in nginx, Traefik, shell or Go-template syntax need. Names are
//! `[A-Za-z_][A-Za-z0-9_.-]*`; what they resolve to is the caller's business
//! (lab parameters, `lab.name`, …). Interpolation is applied once: a value
//! that itself contains `${…}` is not expanded again.

use std::collections::BTreeSet;

/// One problem found while interpolating; `offset`/`len` are byte positions
/// in the input text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
}

/// A `${…}` reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    pub name: &'a str,
    /// Byte offset of the `$`.
    pub offset: usize,
    /// Length of the whole `${…}`.
    pub len: usize,
}

enum Piece<'a> {
    Text(&'a str),
    Ref(Reference<'a>),
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Split `text` into literal pieces and references; all syntax errors are
/// collected, not just the first.
fn scan(text: &str) -> (Vec<Piece<'_>>, Vec<InterpError>) {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    let (mut i, mut lit) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1..].starts_with(b"${") {
            // `$${` → literal `${`
            pieces.push(Piece::Text(&text[lit..i]));
            lit = i + 1;
            i += 3;
        } else if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            pieces.push(Piece::Text(&text[lit..i]));
            match text[i + 2..].find('}') {
                Some(end) => {
                    let raw = &text[i + 2..i + 2 + end];
                    let name = raw.trim();
                    let len = end + 3;
                    if valid_name(name) {
                        pieces.push(Piece::Ref(Reference {
                            name,
                            offset: i,
                            len,
                        }));
                    } else {
                        errors.push(InterpError {
                            offset: i,
                            len,
                            message: format!(
                                "`${{{raw}}}` is not a valid reference: names start with a letter or `_` and contain letters, digits, `_`, `.` and `-`"
                            ),
                        });
                    }
                    i += len;
                }
                None => {
                    errors.push(InterpError {
                        offset: i,
                        len: text.len() - i,
                        message: "unterminated `${`: close it with `}`, or write `$${` for a literal `${`".into(),
                    });
                    i = text.len();
                }
            }
            lit = i;
        } else {
            i += 1;
        }
    }
    pieces.push(Piece::Text(&text[lit.min(text.len())..]));
    (pieces, errors)
}

/// The names `text` refers to, for dependency tracking (which parameters a
/// derivation must hash). Syntax errors are ignored here; `interpolate`
/// reports them.
pub fn references(text: &str) -> BTreeSet<&str> {
    scan(text)
        .0
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref(r) => Some(r.name),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Whether `text` contains anything interpolation would change.
pub fn is_literal(text: &str) -> bool {
    !text.contains("${")
}

/// Replace every `${name}` with `lookup(name)`; report every unknown name
/// and syntax error.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<InterpError>> {
    if is_literal(text) {
        return Ok(text.to_string());
    }
    let (pieces, mut errors) = scan(text);
    let mut out = String::with_capacity(text.len());
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(r) => match lookup(r.name) {
                Some(v) => out.push_str(&v),
                None => errors.push(InterpError {
                    offset: r.offset,
                    len: r.len,
                    message: format!("unknown parameter `{}`", r.name),
                }),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.offset);
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(name: &str) -> Option<String> {
        match name {
            "domain" => Some("home.example.org".into()),
            "lab.name" => Some("home".into()),
            "x" => Some("${domain}".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_references() {
        assert_eq!(
            interpolate("https://${domain}/${ lab.name }", &params).unwrap(),
            "https://home.example.org/home"
        );
    }

    #[test]
    fn escapes_and_foreign_syntax_pass_through() {
        let nginx = "set $$x 1; return 200 \"$host $${upstream} {{ .Values }} %{x}\";";
        assert_eq!(
            interpolate(nginx, &params).unwrap(),
            "set $$x 1; return 200 \"$host ${upstream} {{ .Values }} %{x}\";"
        );
        assert_eq!(interpolate("cost: 5$", &params).unwrap(), "cost: 5$");
    }

    #[test]
    fn values_are_not_expanded_twice() {
        assert_eq!(interpolate("${x}", &params).unwrap(), "${domain}");
    }

    #[test]
    fn all_errors_are_reported_with_positions() {
        let errs = interpolate("a ${nope} b ${1bad} c ${open", &params).unwrap_err();
        assert_eq!(errs.len(), 3);
        assert_eq!((errs[0].offset, errs[0].len), (2, 7));
        assert!(errs[0].message.contains("unknown parameter `nope`"));
        assert!(errs[1].message.contains("not a valid reference"));
        assert!(errs[2].message.contains("unterminated"));
    }

    #[test]
    fn references_are_listed() {
        let r: Vec<_> = references("${b} $${a} ${a} ${b}").into_iter().collect();
        assert_eq!(r, vec!["a", "b"]);
    }
}
