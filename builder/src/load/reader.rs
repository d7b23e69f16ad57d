//! Reading one KDL node against what its kind accepts.
//!
//! A kind's reader asks a [`NodeReader`] for the values it knows (`name`,
//! `string("api")`, `bool("executable")`, …). Each request both reads the
//! value and records the property as known, so that [`NodeReader::finish`]
//! can report everything the kind did not ask for — unknown properties,
//! surplus arguments, unexpected children — with suggestions drawn from what
//! it did ask for. Every problem becomes a diagnostic in the `Cx`; readers
//! return `None` for a value that is absent or bad and keep going, so one run
//! reports every problem of a node.
//!
//! String values are interpolated with the lab's parameters unless read as
//! literals (names, references, paths of imports).

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::codes;
use super::cx::Cx;
use super::suggest::did_you_mean;
use crate::decl::Spanned;
use crate::diag::{Diagnostic, Span};

/// How a value's type is called in messages.
pub(crate) fn type_name(v: &KdlValue) -> &'static str {
    match v {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a decimal number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

/// The raw text of a value as written.
pub(crate) fn repr(e: &KdlEntry) -> String {
    e.format()
        .map(|f| f.value_repr.clone())
        .unwrap_or_else(|| e.value().to_string())
}

pub(crate) struct NodeReader<'n> {
    pub node: &'n KdlNode,
    /// Properties the kind asked for, known or not present.
    known: Vec<&'static str>,
    /// Positional arguments consumed so far.
    args_used: usize,
    children_used: bool,
}

impl<'n> NodeReader<'n> {
    /// Start reading; reports type annotations and duplicate properties.
    pub fn new(cx: &mut Cx, node: &'n KdlNode) -> NodeReader<'n> {
        if let Some(ty) = node.ty() {
            cx.error(annotation(cx.span(ty.span())));
        }
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for e in node.entries() {
            if e.ty().is_some() {
                cx.error(annotation(cx.value_span(e)));
            }
            if let Some(key) = e.name() {
                let span = cx.span(key.span());
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key.value()) {
                    cx.error(
                        Diagnostic::new(
                            codes::DUPLICATE_PROPERTY,
                            format!("property `{}` is written twice", key.value()),
                        )
                        .at(span)
                        .label("written again here")
                        .note(*first, "first written here")
                        .help(if key.value() == "after" {
                            "keep one; for several, write a child: `{ after \"a\" \"b\" }`"
                        } else {
                            "keep one of them"
                        }),
                    );
                } else {
                    seen.push((key.value(), span));
                }
            }
        }
        NodeReader {
            node,
            known: Vec::new(),
            args_used: 0,
            children_used: false,
        }
    }

    pub fn kind(&self) -> &'n str {
        self.node.name().value()
    }

    /// The node's name identifier.
    pub fn name_span(&self, cx: &Cx) -> Span {
        cx.span(self.node.name().span())
    }

    /// The node up to its last entry: where "missing" problems point.
    pub fn header(&self, cx: &Cx) -> Span {
        let start = cx.span(self.node.span());
        let name = self.name_span(cx);
        let end = self
            .node
            .entries()
            .iter()
            .map(|e| cx.span(e.span()).end())
            .fold(name.end(), usize::max);
        Span::new(cx.file, start.offset, end.saturating_sub(start.offset))
    }

    fn positional(&self) -> impl Iterator<Item = &'n KdlEntry> + use<'n> {
        self.node.entries().iter().filter(|e| e.name().is_none())
    }

    /// The next positional argument, if any (consumed).
    pub fn next_arg(&mut self) -> Option<&'n KdlEntry> {
        let e = self.positional().nth(self.args_used)?;
        self.args_used += 1;
        Some(e)
    }

    /// All remaining positional arguments (consumed).
    pub fn rest_args(&mut self) -> Vec<&'n KdlEntry> {
        let rest: Vec<_> = self.positional().skip(self.args_used).collect();
        self.args_used += rest.len();
        rest
    }

    /// The declaration name: the first argument, a string following the
    /// naming rule.
    pub fn name(&mut self, cx: &mut Cx) -> Option<Spanned<String>> {
        let kind = self.kind();
        let Some(e) = self.next_arg() else {
            cx.error(
                Diagnostic::new(codes::MISSING_NAME, format!("`{kind}` has no name"))
                    .at(self.header(cx))
                    .label("a name argument belongs here")
                    .help(format!(
                        "write `{kind} \"some-name\" …`; names are unique across the lab"
                    )),
            );
            return None;
        };
        let span = cx.value_span(e);
        let KdlValue::String(s) = e.value() else {
            cx.error(wrong_type(
                e,
                span,
                &format!("the name of `{kind}`"),
                "a string",
                Some(format!(
                    "write the name in quotes: `{kind} \"{}\"`",
                    repr(e)
                )),
            ));
            return None;
        };
        check_name(cx, s, span).then(|| Spanned::new(s.clone(), span))
    }

    /// Look a property up and record it as known.
    pub fn prop(&mut self, key: &'static str) -> Option<&'n KdlEntry> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        // The first of duplicates wins; `new` reported the others.
        self.node
            .entries()
            .iter()
            .find(|e| e.name().is_some_and(|n| n.value() == key))
    }

    /// A string property, interpolated; `None` if absent or bad.
    pub fn string(&mut self, cx: &mut Cx, key: &'static str) -> Option<Spanned<String>> {
        let (s, span) = self.raw_string(cx, key)?;
        let value = cx.interpolate(s, span).ok()?;
        Some(Spanned::new(value, span))
    }

    /// Like [`NodeReader::string`], but when interpolation fails the text as
    /// written stands in, so that the rest of the declaration (its
    /// references) is still checked. For values no other check looks at.
    pub fn text(&mut self, cx: &mut Cx, key: &'static str) -> Option<Spanned<String>> {
        let (s, span) = self.raw_string(cx, key)?;
        let value = cx.interpolate(s, span).unwrap_or_else(|raw| raw);
        Some(Spanned::new(value, span))
    }

    /// A string property taken literally (`what`: how such values are
    /// called, plural, for the message).
    pub fn literal(
        &mut self,
        cx: &mut Cx,
        key: &'static str,
        what: &str,
    ) -> Option<Spanned<String>> {
        let (s, span) = self.raw_string(cx, key)?;
        let value = cx.literal(s, span, what)?;
        Some(Spanned::new(value, span))
    }

    fn raw_string(&mut self, cx: &mut Cx, key: &'static str) -> Option<(&'n str, Span)> {
        let e = self.prop(key)?;
        let span = cx.value_span(e);
        match e.value() {
            KdlValue::String(s) => Some((s.as_str(), span)),
            _ => {
                let help = format!("write it in quotes: `{key}=\"{}\"`", repr(e));
                cx.error(wrong_type(
                    e,
                    span,
                    &format!("`{key}`"),
                    "a string",
                    Some(help),
                ));
                None
            }
        }
    }

    /// A boolean property (`#true`/`#false`).
    pub fn bool(&mut self, cx: &mut Cx, key: &'static str) -> Option<Spanned<bool>> {
        let e = self.prop(key)?;
        let span = cx.value_span(e);
        match e.value() {
            KdlValue::Bool(b) => Some(Spanned::new(*b, span)),
            v => {
                let help = match v {
                    KdlValue::String(s)
                        if matches!(s.as_str(), "true" | "false" | "yes" | "no") =>
                    {
                        let b = matches!(s.as_str(), "true" | "yes");
                        Some(format!("booleans are written without quotes: `{key}=#{b}`"))
                    }
                    _ => Some(format!("write `{key}=#true` or `{key}=#false`")),
                };
                cx.error(wrong_type(e, span, &format!("`{key}`"), "a boolean", help));
                None
            }
        }
    }

    /// Report a required property that is absent; `example` is a complete
    /// `key=value` the help line can suggest.
    pub fn missing(&self, cx: &mut Cx, key: &str, example: &str) {
        if self.has_child(key) || self.has_misspelled(key) {
            // Written as a child node or under another name; `finish`
            // reports that, with the fix.
            return;
        }
        let kind = self.kind();
        cx.error(
            Diagnostic::new(codes::MISSING_VALUE, format!("`{kind}` needs `{key}`"))
                .at(self.header(cx))
                .label(format!("`{key}` is missing"))
                .help(format!("add `{example}`")),
        );
    }

    /// Report a missing positional argument (`what`: "a value").
    pub fn missing_arg(&self, cx: &mut Cx, what: &str, example: &str) {
        let kind = self.kind();
        cx.error(
            Diagnostic::new(codes::MISSING_VALUE, format!("`{kind}` needs {what}"))
                .at(self.header(cx))
                .label(format!("{what} is missing"))
                .help(format!("write `{example}`")),
        );
    }

    /// A required string property, interpolated.
    pub fn req_string(
        &mut self,
        cx: &mut Cx,
        key: &'static str,
        example: &str,
    ) -> Option<Spanned<String>> {
        if self.prop(key).is_none() {
            self.missing(cx, key, example);
            return None;
        }
        self.string(cx, key)
    }

    /// Whether some property looks like a misspelling or synonym of `key`.
    fn has_misspelled(&self, key: &str) -> bool {
        self.node
            .entries()
            .iter()
            .filter_map(|e| e.name())
            .any(|n| {
                let n = n.value();
                n != key && (synonym(n) == Some(key) || super::suggest::closest(n, [key]).is_some())
            })
    }

    fn has_child(&self, name: &str) -> bool {
        self.node
            .children()
            .is_some_and(|doc| doc.nodes().iter().any(|c| c.name().value() == name))
    }

    /// The child nodes named in `allowed`; others are reported.
    pub fn children(&mut self, cx: &mut Cx, allowed: &[&'static str]) -> Vec<&'n KdlNode> {
        self.children_used = true;
        let Some(doc) = self.node.children() else {
            return Vec::new();
        };
        let kind = self.kind();
        let mut out = Vec::new();
        for child in doc.nodes() {
            let name = child.name().value();
            if allowed.contains(&name) {
                out.push(child);
            } else {
                let one_string = match child.entries() {
                    [e] if e.name().is_none() => match e.value() {
                        KdlValue::String(v) => Some(v.as_str()),
                        _ => None,
                    },
                    _ => None,
                };
                let help = match (kind, one_string) {
                    ("lab", Some(v)) => {
                        Some(format!("parameters are written `param \"{name}\" \"{v}\"`"))
                    }
                    _ => None,
                }
                .or_else(|| did_you_mean(name, allowed.iter().copied()))
                .unwrap_or_else(|| format!("`{kind}` takes these children: {}", list(allowed)));
                cx.error(
                    Diagnostic::new(
                        codes::UNKNOWN_CHILD,
                        format!("`{kind}` has no child `{name}`"),
                    )
                    .at(cx.span(child.name().span()))
                    .label("unknown child")
                    .help(help),
                );
            }
        }
        out
    }

    /// Report what the kind did not ask for.
    pub fn finish(self, cx: &mut Cx) {
        let kind = self.kind();
        let extra: Vec<&KdlEntry> = self.positional().skip(self.args_used).collect();
        if let (Some(first), Some(last)) = (extra.first(), extra.last()) {
            let span = cx.span(first.span()).to(cx.span(last.span()));
            let takes = match self.args_used {
                0 => "no arguments".to_string(),
                1 => "one argument".to_string(),
                n => format!("{n} arguments"),
            };
            let them = if extra.len() == 1 { "it" } else { "them" };
            let help = if self.known.is_empty() {
                format!("remove {them}")
            } else {
                format!(
                    "remove {them}, or write {them} as properties: {}",
                    list(&self.known)
                )
            };
            cx.error(
                Diagnostic::new(
                    codes::EXTRA_ARGUMENTS,
                    format!(
                        "`{kind}` takes {takes}, found {}",
                        self.args_used + extra.len()
                    ),
                )
                .at(span)
                .label(if extra.len() == 1 {
                    "extra argument"
                } else {
                    "extra arguments"
                })
                .help(help),
            );
        }
        for e in self.node.entries() {
            let Some(key) = e.name() else { continue };
            if self.known.contains(&key.value()) {
                continue;
            }
            let help = did_you_mean(key.value(), self.known.iter().copied())
                .or_else(|| {
                    synonym(key.value())
                        .filter(|s| self.known.contains(s))
                        .map(|s| format!("`{kind}` calls this `{s}`"))
                })
                .unwrap_or_else(|| {
                    if self.known.is_empty() {
                        format!("`{kind}` takes no properties")
                    } else {
                        format!("`{kind}` takes these properties: {}", list(&self.known))
                    }
                });
            cx.error(
                Diagnostic::new(
                    codes::UNKNOWN_PROPERTY,
                    format!("`{kind}` has no property `{}`", key.value()),
                )
                .at(cx.span(key.span()))
                .label("unknown property")
                .help(help),
            );
        }
        if !self.children_used
            && let Some(doc) = self.node.children()
        {
            for child in doc.nodes() {
                let name = child.name().value();
                let help = if self.known.contains(&name) {
                    format!("`{name}` is a property: write `{name}=…` on the `{kind}` line")
                } else {
                    format!("`{kind}` takes no children; its settings are properties: `key=value`")
                };
                cx.error(
                    Diagnostic::new(
                        codes::UNKNOWN_CHILD,
                        format!("`{kind}` takes no children, found `{name}`"),
                    )
                    .at(cx.span(child.name().span()))
                    .label("unexpected child")
                    .help(help),
                );
            }
        }
    }
}

/// The property other tools (or hlb's design sketches) use for what hlb
/// calls the returned name.
fn synonym(key: &str) -> Option<&'static str> {
    Some(match key {
        "cluster" | "host" | "on" | "to" => "target",
        "file" | "template" | "src" | "from" => "source",
        "content" | "contents" | "data" => "text",
        "depends-on" | "depends_on" | "requires" | "needs" => "after",
        "perm" | "perms" | "permissions" | "chmod" => "mode",
        "dest" | "destination" | "to-path" => "path",
        "sha256" | "checksum" | "digest" => "hash",
        "endpoint" | "server" | "url" => "api",
        "ip" | "addr" | "hostname" => "address",
        "exec" | "executable-bit" => "executable",
        _ => return None,
    })
}

/// `a`, `b` and `c`.
pub(crate) fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn annotation(span: Span) -> Diagnostic {
    Diagnostic::new(
        codes::TYPE_ANNOTATION,
        "type annotations are not used in recipes",
    )
    .at(span)
    .label("type annotation")
    .help("remove the `(…)`")
}

/// An E0104 for entry `e` whose value should have been `expected`.
pub(crate) fn wrong_type(
    e: &KdlEntry,
    span: Span,
    what: &str,
    expected: &str,
    help: Option<String>,
) -> Diagnostic {
    let (found, help) = match e.value() {
        KdlValue::Null => (
            "`#null`".to_string(),
            Some("give it a value, or leave it out".to_string()),
        ),
        v => (format!("{} `{}`", type_name(v), repr(e)), help),
    };
    Diagnostic::new(
        codes::WRONG_TYPE,
        format!("{what} must be {expected}, found {found}"),
    )
    .at(span)
    .label(format!("expected {expected}"))
    .help_opt(help)
}

/// Whether `name` follows the naming rule: lowercase ASCII letters, digits,
/// `-` and `.`, starting and ending with a letter or digit, at most 63
/// characters. Compatible with store names (`drv::valid_store_name`).
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b.first().is_some_and(inner)
        && b.last().is_some_and(inner)
        && b.iter().all(|c| inner(c) || *c == b'-' || *c == b'.')
}

pub const MAX_NAME: usize = 63;

/// Check a declaration (or lab) name; report and return false if it is bad.
pub(crate) fn check_name(cx: &mut Cx, name: &str, span: Span) -> bool {
    if is_valid_name(name) {
        return true;
    }
    if name.contains("${") {
        cx.error(
            Diagnostic::new(
                codes::LITERAL_ONLY,
                "names are literal: `${…}` is not expanded here",
            )
            .at(span)
            .label("interpolation is not available in names")
            .help("write the name out"),
        );
        return false;
    }
    let fixed: String = name
        .trim()
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            _ => '-',
        })
        .collect::<String>()
        .trim_matches(|c| c == '-' || c == '.')
        .to_string();
    let help = if name.len() > MAX_NAME {
        format!(
            "names have at most {MAX_NAME} characters; this one has {}",
            name.len()
        )
    } else if is_valid_name(&fixed) {
        format!("names use lowercase letters, digits, `-` and `.`: try `{fixed}`")
    } else {
        "names use lowercase letters, digits, `-` and `.`, and start and end with a letter or digit"
            .to_string()
    };
    cx.error(
        Diagnostic::new(codes::INVALID_NAME, format!("`{name}` is not a valid name"))
            .at(span)
            .label("invalid name")
            .help(help),
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_rule() {
        for ok in ["a", "0", "gateway-api", "v1.3", "a-b.c-d", &"x".repeat(63)] {
            assert!(is_valid_name(ok), "{ok}");
            assert!(crate::drv::valid_store_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            ".a",
            "a.",
            "A",
            "a_b",
            "a b",
            "é",
            &"x".repeat(64),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
