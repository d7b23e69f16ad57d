//! What the readers of one recipe file share: the file, the lab's
//! parameters, and where problems and file uses are collected.
//!
//! [`Cx::interpolate`] is the one place recipe strings are interpolated, so
//! every `${…}` problem is reported the same way, at the exact place in the
//! recipe (or in an interpolated file) where it was written.

use std::collections::{BTreeMap, BTreeSet};

use kdl::KdlEntry;

use super::codes;
use super::suggest::did_you_mean;
use crate::diag::{Diagnostic, FileId, Span};
use crate::interp;
use crate::io::{PathError, RelPath};

/// The diagnostic for a recipe path that [`RelPath`] refuses.
pub(crate) fn path_diagnostic(err: &PathError, span: Span) -> Diagnostic {
    let (code, label, help) = match err {
        PathError::EscapesRoot(_) => (
            codes::PATH_ESCAPES_ROOT,
            "leads out of the recipe root",
            "recipes may only read files in the directory of the entry file and below",
        ),
        PathError::Absolute(_) => (
            codes::ABSOLUTE_PATH,
            "absolute path",
            "write the path relative to this file's directory",
        ),
        PathError::Empty => (codes::INVALID_PATH, "empty path", "name a file"),
        PathError::Backslash(_) => (
            codes::INVALID_PATH,
            "backslash",
            "separate path components with `/`",
        ),
        PathError::Nul => (
            codes::INVALID_PATH,
            "NUL character",
            "remove the NUL character",
        ),
    };
    Diagnostic::new(code, err.to_string())
        .at(span)
        .label(label)
        .help(help)
}

/// The lab's parameters, as interpolation sees them.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub lab_name: Option<String>,
    pub values: BTreeMap<String, String>,
    /// Parameters whose name is known but whose value is bad (reported):
    /// references to them are not reported again.
    pub broken: BTreeSet<String>,
    /// False when the lab node is missing or some child of it could not be
    /// read as a parameter: then an unknown parameter may just be one we
    /// could not read, and is not reported.
    pub complete: bool,
    /// The secrets directory (the lab's `secrets-dir`, or its default);
    /// `None` when the lab node is missing or its `secrets-dir` is unusable
    /// (reported), and where no declaration is read.
    pub secrets_dir: Option<RelPath>,
}

impl Params {
    pub fn lookup(&self, name: &str) -> Option<String> {
        if name == "lab.name" {
            return self.lab_name.clone();
        }
        self.values.get(name).cloned()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.values
            .keys()
            .map(String::as_str)
            .chain(std::iter::once("lab.name"))
    }
}

/// A recipe file a declaration reads, and what must hold for its content.
#[derive(Debug)]
pub(crate) struct FileUse {
    pub path: RelPath,
    /// Where the path was written.
    pub span: Span,
    /// The content must be UTF-8 text.
    pub text: bool,
    /// The content is interpolated: its `${…}` must resolve.
    pub interpolate: bool,
}

/// What readers of one file share.
pub(crate) struct Cx<'a> {
    pub file: FileId,
    /// The file being read.
    pub path: &'a RelPath,
    /// The recipe root (directory of the entry file), as components.
    pub root: &'a [String],
    pub text: &'a str,
    pub params: &'a Params,
    pub diags: &'a mut Vec<Diagnostic>,
    pub uses: &'a mut Vec<FileUse>,
    /// `${secret.NAME}` may appear (an interpolated recipe file, whose
    /// secret references the loader checks on their own); elsewhere it is
    /// an error, since recipe strings end up in public parameters.
    pub secrets_ok: bool,
}

impl Cx<'_> {
    /// Resolve a path written in this file (relative to its directory);
    /// report paths that are absolute, malformed or outside the recipe root.
    pub fn resolve(&mut self, rel: &str, span: Span) -> Option<RelPath> {
        let base = self.path;
        self.resolve_from(base, rel, span)
    }

    /// Like [`Cx::resolve`], relative to the directory of the file `base`
    /// (the entry file, for paths relative to the recipe root).
    pub fn resolve_from(&mut self, base: &RelPath, rel: &str, span: Span) -> Option<RelPath> {
        let err = match base.join_relative(rel) {
            Ok(p) if p.is_inside(self.root.iter().map(String::as_str)) => return Some(p),
            Ok(_) => PathError::EscapesRoot(rel.to_string()),
            Err(e) => e,
        };
        self.error(path_diagnostic(&err, span));
        None
    }

    pub fn span(&self, s: miette::SourceSpan) -> Span {
        Span::new(self.file, s.offset(), s.len())
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The span of an entry's value (without `key=`).
    pub fn value_span(&self, e: &KdlEntry) -> Span {
        let whole = self.span(e.span());
        let Some(repr) = e.format().map(|f| f.value_repr.as_str()) else {
            return whole;
        };
        let text = self.text.get(whole.offset..whole.end()).unwrap_or_default();
        match text.rfind(repr) {
            Some(at) if !repr.is_empty() => Span::new(self.file, whole.offset + at, repr.len()),
            _ => whole,
        }
    }

    /// Where inside a string value the part `text[offset..offset+len]` was
    /// written: found in the value's source text when it appears there as is
    /// (no escapes in between), else the whole value.
    fn sub_span(&self, value: Span, text: &str, offset: usize, len: usize) -> Span {
        let part = text.get(offset..offset + len).unwrap_or_default();
        let src = self.text.get(value.offset..value.end()).unwrap_or_default();
        if src == text {
            return Span::new(self.file, value.offset + offset, len);
        }
        match src.find(part) {
            Some(at) if !part.is_empty() => Span::new(self.file, value.offset + at, part.len()),
            _ => value,
        }
    }

    /// Interpolate a recipe string written at `span`; report every problem.
    /// `Err` holds the text as written, for callers that can keep checking
    /// with it (the load fails anyway).
    pub fn interpolate(&mut self, text: &str, span: Span) -> Result<String, String> {
        if interp::is_literal(text) {
            return Ok(text.to_string());
        }
        let params = self.params;
        match interp::interpolate(text, &|n| params.lookup(n)) {
            Ok(s) => Ok(s),
            Err(errors) => {
                let mut reported = false;
                for e in errors {
                    let at = self.sub_span(span, text, e.offset, e.len);
                    match reference_name(text, e.offset, e.len) {
                        Some(name) if is_secret_ref(name) => {
                            if self.secrets_ok {
                                continue;
                            }
                            self.error(secret_in_recipe_string(at));
                        }
                        Some(name) => {
                            if !params.complete || params.broken.contains(name) {
                                continue;
                            }
                            let help = did_you_mean(name, params.names()).unwrap_or_else(|| {
                                format!(
                                    "define it in the `lab` node: `param \"{name}\" \"…\"`, or write `$${{` for a literal `${{`"
                                )
                            });
                            self.error(
                                Diagnostic::new(codes::UNKNOWN_PARAM, format!("unknown parameter `{name}`"))
                                    .at(at)
                                    .label("no parameter of this name")
                                    .help(help),
                            );
                        }
                        None => self.error(
                            Diagnostic::new(codes::BAD_INTERPOLATION, e.message)
                                .at(at)
                                .label("bad interpolation")
                                .help("if this text is not meant for hlb, write `$${` for a literal `${`"),
                        ),
                    }
                    reported = true;
                }
                // With an incomplete lab, unknown parameters pass silently:
                // another error explains them.
                if reported {
                    Err(text.to_string())
                } else {
                    Ok(text.to_string())
                }
            }
        }
    }

    /// A string that must be taken literally (`what` says which, plural):
    /// `$${` still reads as `${`, but a `${name}` is an error.
    pub fn literal(&mut self, text: &str, span: Span, what: &str) -> Option<String> {
        if interp::is_literal(text) {
            return Some(text.to_string());
        }
        match interp::interpolate(text, &|_| None) {
            Ok(s) => Some(s),
            Err(errors) => {
                for e in errors {
                    let at = self.sub_span(span, text, e.offset, e.len);
                    let d = if reference_name(text, e.offset, e.len).is_some() {
                        Diagnostic::new(
                            codes::LITERAL_ONLY,
                            format!("{what} are literal: `${{…}}` is not expanded here"),
                        )
                        .at(at)
                        .label("interpolation is not available here")
                        .help("write the value out, or `$${` for a literal `${`")
                    } else {
                        Diagnostic::new(codes::BAD_INTERPOLATION, e.message)
                            .at(at)
                            .label("bad interpolation")
                    };
                    self.error(d);
                }
                None
            }
        }
    }
}

/// Whether a `${…}` name is a secret reference: `secret.NAME`.
pub(crate) fn is_secret_ref(name: &str) -> bool {
    name.starts_with("secret.")
}

fn secret_in_recipe_string(at: Span) -> Diagnostic {
    Diagnostic::new(
        codes::SECRET_IN_PUBLIC_TEXT,
        "a secret cannot be interpolated into a recipe string",
    )
    .at(at)
    .label("recipe strings are public")
    .help("recipe strings end up in public build parameters: put the text in a file and use `source=\"…\" interpolate=#true`, or `secret=\"NAME\"` for a file that is exactly the secret")
}

/// The parameter name of a well-formed `${name}` at `text[offset..offset+len]`.
fn reference_name(text: &str, offset: usize, len: usize) -> Option<&str> {
    let part = text.get(offset..offset + len)?;
    let name = part.strip_prefix("${")?.strip_suffix('}')?.trim();
    interp::references(part).contains(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names_are_recognised() {
        assert_eq!(reference_name("x ${ a.b } y", 2, 8), Some("a.b"));
        assert_eq!(reference_name("${1x}", 0, 5), None);
        assert_eq!(reference_name("${open", 0, 6), None);
    }
}
