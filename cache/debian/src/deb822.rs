//! deb822 control-file syntax: the one format under `Packages`, `Release`,
//! `InRelease` (once its signature is checked), `*.sources` and a `.deb`'s
//! `control` file.
//!
//! A document is a sequence of paragraphs separated by blank lines (lines
//! holding only whitespace count as blank). A paragraph is a sequence of
//! fields `Name: value`; a line starting with a space or tab continues the
//! previous field. Lines starting with `#` are comments and are skipped, as
//! apt does for `*.sources` (archive indexes never contain them).
//!
//! Invariants of the parsed form:
//! - field order is kept as written, so a paragraph can be re-emitted;
//! - a field name appears at most once per paragraph (a duplicate is an
//!   error, as dpkg treats it), and lookups ignore ASCII case;
//! - a value is its first line trimmed, then one `\n` plus the continuation
//!   line with its single leading blank removed and trailing blanks trimmed,
//!   for each continuation line. A folded field (`Depends`) therefore only
//!   needs whitespace-insensitive parsing; a multiline field (`SHA256`,
//!   `Description`) keeps its lines.

use std::fmt;

/// One `Name: value` field of a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written (case preserved).
    pub name: String,
    /// The value, see the module invariants for continuation lines.
    pub value: String,
    /// 1-based line of the field name in the source text.
    pub line: usize,
}

/// A paragraph (stanza): an ordered list of fields with unique names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    fields: Vec<Field>,
    line: usize,
}

impl Paragraph {
    /// 1-based line where the paragraph starts.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The fields in source order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field named `name` (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of the field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }

    /// The non-empty lines of a multiline value, each trimmed.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name)
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }
}

/// Why a deb822 text could not be parsed, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {kind}")]
pub struct Deb822Error {
    /// What was being parsed (a path or URL), as given by the caller.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub kind: Deb822ErrorKind,
}

/// The kinds of deb822 syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Deb822ErrorKind {
    /// A line that is neither a field, a continuation, a comment nor blank.
    #[error("expected `Name: value`, found a line without a colon")]
    MissingColon,
    /// `: value` with nothing before the colon, or a name with bad bytes.
    #[error("invalid field name {0:?}")]
    BadFieldName(String),
    /// A continuation line with no field before it.
    #[error("continuation line outside a field")]
    OrphanContinuation,
    /// The same field twice in one paragraph.
    #[error("field {name:?} repeats the one on line {first_line}")]
    DuplicateField {
        /// The repeated name.
        name: String,
        /// Where it first appeared.
        first_line: usize,
    },
}

/// Parses a whole deb822 document into paragraphs.
///
/// `origin` names the text in error messages (`path:line:col: ...`).
pub fn parse(text: &str, origin: &str) -> Result<Vec<Paragraph>, Deb822Error> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph> = None;
    let err = |line: usize, column: usize, kind| Deb822Error {
        origin: origin.to_owned(),
        line,
        column,
        kind,
    };
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(p) = current.take() {
                paragraphs.push(p);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some(field) = current.as_mut().and_then(|p| p.fields.last_mut()) else {
                return Err(err(line_no, 1, Deb822ErrorKind::OrphanContinuation));
            };
            field.value.push('\n');
            field.value.push_str(line[1..].trim_end());
            continue;
        }
        let Some(colon) = line.find(':') else {
            return Err(err(line_no, 1, Deb822ErrorKind::MissingColon));
        };
        let name = &line[..colon];
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
            || name.starts_with('-')
        {
            return Err(err(
                line_no,
                1,
                Deb822ErrorKind::BadFieldName(name.to_owned()),
            ));
        }
        let paragraph = current.get_or_insert_with(|| Paragraph {
            fields: Vec::new(),
            line: line_no,
        });
        if let Some(first) = paragraph.field(name) {
            return Err(err(
                line_no,
                1,
                Deb822ErrorKind::DuplicateField {
                    name: name.to_owned(),
                    first_line: first.line,
                },
            ));
        }
        paragraph.fields.push(Field {
            name: name.to_owned(),
            value: line[colon + 1..].trim().to_owned(),
            line: line_no,
        });
    }
    if let Some(p) = current.take() {
        paragraphs.push(p);
    }
    Ok(paragraphs)
}

/// Parses a document that must hold exactly one paragraph (a `control`
/// file, a `Release` file).
pub fn parse_single(text: &str, origin: &str) -> Result<Paragraph, SingleParagraphError> {
    let mut paragraphs = parse(text, origin)?;
    match paragraphs.len() {
        1 => Ok(paragraphs.remove(0)),
        found => Err(SingleParagraphError::Count {
            origin: origin.to_owned(),
            found,
        }),
    }
}

/// Error of [`parse_single`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SingleParagraphError {
    /// The text is not valid deb822.
    #[error(transparent)]
    Syntax(#[from] Deb822Error),
    /// The text holds zero or several paragraphs.
    #[error("{origin}: expected exactly one paragraph, found {found}")]
    Count {
        /// What was parsed.
        origin: String,
        /// How many paragraphs it held.
        found: usize,
    },
}

impl fmt::Display for Paragraph {
    /// Writes the paragraph back in deb822 form (without a trailing blank
    /// line); continuation lines get one leading space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for field in &self.fields {
            let mut lines = field.value.split('\n');
            let first = lines.next().unwrap_or("");
            if first.is_empty() {
                writeln!(f, "{}:", field.name)?;
            } else {
                writeln!(f, "{}: {first}", field.name)?;
            }
            for line in lines {
                writeln!(f, " {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_paragraphs() {
        let text = "Package: a\nDepends: b,\n c (>= 1)\nDescription: short\n long line\n .\n  indented\n\n\n# comment\nPackage: d\r\n";
        let ps = parse(text, "t").unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("package"), Some("a"));
        assert_eq!(ps[0].get("Depends"), Some("b,\nc (>= 1)"));
        assert_eq!(
            ps[0].get("Description"),
            Some("short\nlong line\n.\n indented")
        );
        assert_eq!(ps[1].line(), 11);
        assert_eq!(ps[1].get("Package"), Some("d"));
    }

    #[test]
    fn multiline_value_with_empty_first_line() {
        let ps = parse("SHA256:\n abc 12 main/x\n def 3 main/y\n", "t").unwrap();
        let lines: Vec<_> = ps[0].lines("sha256").collect();
        assert_eq!(lines, ["abc 12 main/x", "def 3 main/y"]);
    }

    #[test]
    fn round_trip_display() {
        let text = "Package: a\nSHA256:\n abc 12 main/x\nDescription: s\n l\n";
        let p = parse_single(text, "t").unwrap();
        assert_eq!(p.to_string(), text);
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("Package: a\nno colon here\n", "Packages").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert_eq!(e.kind, Deb822ErrorKind::MissingColon);
        assert_eq!(
            e.to_string(),
            "Packages:2:1: expected `Name: value`, found a line without a colon"
        );
        let e = parse(" orphan\n", "x").unwrap_err();
        assert_eq!(e.kind, Deb822ErrorKind::OrphanContinuation);
        let e = parse("A: 1\nB: 2\na: 3\n", "x").unwrap_err();
        assert_eq!(
            e.kind,
            Deb822ErrorKind::DuplicateField {
                name: "a".into(),
                first_line: 1
            }
        );
        assert_eq!(e.line, 3);
        let e = parse(": v\n", "x").unwrap_err();
        assert!(matches!(e.kind, Deb822ErrorKind::BadFieldName(_)));
    }

    #[test]
    fn single_paragraph_counts() {
        assert!(matches!(
            parse_single("A: 1\n\nB: 2\n", "c"),
            Err(SingleParagraphError::Count { found: 2, .. })
        ));
        assert!(matches!(
            parse_single("\n\n", "c"),
            Err(SingleParagraphError::Count { found: 0, .. })
        ));
    }
}
