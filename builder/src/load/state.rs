//! The state the loading stages share: the files seen so far, the
//! diagnostics, and how a failed read is reported.

use std::io;

use super::codes;
use crate::diag::{Diagnostic, SourceMap};
use crate::io::{EvalIo, PathError, RelPath, path_error};

/// State shared by the stages.
pub(crate) struct Loader<'io> {
    pub(super) io: &'io dyn EvalIo,
    /// The entry file: paths relative to the recipe root join onto it.
    pub(super) entry: RelPath,
    /// The recipe root: the entry file's directory, as components.
    pub(super) root: Vec<String>,
    pub(super) sources: SourceMap,
    pub(super) diags: Vec<Diagnostic>,
    /// Some recipe file could not be read or parsed.
    pub(super) incomplete: bool,
}

impl Loader<'_> {
    /// A diagnostic (without span) for a failed read of `path`.
    pub(super) fn io_diagnostic(&self, err: &io::Error, path: &RelPath, what: &str) -> Diagnostic {
        if let Some(e @ PathError::EscapesRoot(_)) = path_error(err) {
            return Diagnostic::new(codes::PATH_ESCAPES_ROOT, format!("{e} through a symlink"))
                .label("leads out of the recipe root")
                .help("copy the file into the recipe directory instead of linking to it");
        }
        match err.kind() {
            io::ErrorKind::NotFound => Diagnostic::new(
                codes::FILE_NOT_FOUND,
                format!("{what} `{path}` does not exist"),
            )
            .label("no such file")
            .help("paths are relative to the directory of the file that names them"),
            io::ErrorKind::IsADirectory => Diagnostic::new(
                codes::FILE_UNREADABLE,
                format!("{what} `{path}` is a directory"),
            )
            .label("a directory")
            .help("name a file; each file a recipe reads is named on its own"),
            _ => Diagnostic::new(
                codes::FILE_UNREADABLE,
                format!("cannot read {what} `{path}`: {}", io_reason(err)),
            )
            .label("unreadable"),
        }
    }
}

/// The error's message without the "(os error N)" tail.
fn io_reason(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
