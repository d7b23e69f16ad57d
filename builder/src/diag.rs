//! Diagnostics: what hlb tells a person about a problem in their recipes.
//!
//! Every stage that finds a problem in user input (the loader, the planner,
//! the compilers) reports it as a [`Diagnostic`]: a stable code, a message, a
//! primary [`Span`] into a file of the [`SourceMap`], secondary notes and an
//! optional `help:` line. A run collects all it can find into
//! [`Diagnostics`], which renders them for a terminal (through miette's
//! graphical handler, one report per diagnostic) or as JSON for tools.
//!
//! Spans are byte ranges into the text the [`SourceMap`] holds for their file;
//! lines and columns are computed only when a diagnostic is shown (1-based,
//! columns counted in characters), so recording a span costs nothing.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, Severity,
    SourceCode, SpanContents,
};

use crate::io::RelPath;

/// Identifies one file of a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one file of a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub fn new(file: FileId, offset: usize, len: usize) -> Span {
        Span { file, offset, len }
    }

    /// The byte just past the span.
    pub fn end(&self) -> usize {
        self.offset + self.len
    }

    /// The smallest span covering both (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        let start = self.offset.min(other.offset);
        let end = self.end().max(other.end());
        Span::new(self.file, start, end - start)
    }
}

struct SourceFile {
    path: RelPath,
    text: Arc<str>,
    /// Byte offsets where lines start; computed on first use.
    lines: OnceLock<Vec<usize>>,
}

/// The texts diagnostics point into: every recipe file read, and any other
/// file a diagnostic needs to show.
#[derive(Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.files.iter().map(|s| &s.path))
            .finish()
    }
}

impl Clone for SourceMap {
    fn clone(&self) -> Self {
        SourceMap {
            files: self
                .files
                .iter()
                .map(|s| SourceFile {
                    path: s.path.clone(),
                    text: s.text.clone(),
                    lines: OnceLock::new(),
                })
                .collect(),
        }
    }
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, path: RelPath, text: Arc<str>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 2^32 source files"));
        self.files.push(SourceFile {
            path,
            text,
            lines: OnceLock::new(),
        });
        id
    }

    /// The file already added under `path`, if any.
    pub fn find(&self, path: &RelPath) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| &f.path == path)
            .map(|i| FileId(i as u32))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn path(&self, f: FileId) -> &RelPath {
        &self.files[f.0 as usize].path
    }

    pub fn text(&self, f: FileId) -> &str {
        &self.files[f.0 as usize].text
    }

    /// The text a span covers (empty if the span does not fit the file).
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.file)
            .get(span.offset..span.end())
            .unwrap_or_default()
    }

    /// 1-based line and column of the span's start; columns count characters.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let file = &self.files[span.file.0 as usize];
        let text = &*file.text;
        let lines = file.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let offset = span.offset.min(text.len());
        let line = lines.partition_point(|&start| start <= offset) - 1;
        let start = lines[line];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    /// `path:line:column` of a span, for messages.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span);
        format!("{}:{line}:{col}", self.path(span.file))
    }
}

/// One problem, with where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code (`E0101`); documented in `docs/recipes.md`.
    pub code: &'static str,
    /// One sentence, starting lowercase, without a final period.
    pub message: String,
    pub span: Option<Span>,
    /// Short text shown under the primary span.
    pub label: Option<String>,
    /// Secondary spans, e.g. the first declaration for a duplicate.
    pub notes: Vec<(Span, String)>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span: None,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }
}

/// All problems a run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// Width reports are wrapped at; fixed so that output does not depend on the
/// terminal.
const RENDER_WIDTH: usize = 100;

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Sort by file path, then position; diagnostics without a span first.
    /// Stable, so diagnostics at the same place keep the order they were found.
    pub fn sort(&mut self, sources: &SourceMap) {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.span.map(|s| (sources.path(s.file).clone(), s.offset));
            key(a).cmp(&key(b))
        });
    }

    /// One miette graphical report per diagnostic, in file-then-offset order.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut sorted = self.clone();
        sorted.sort(sources);
        let mut out = String::new();
        for d in &sorted.0 {
            render_one(d, sources, color, &mut out);
        }
        out
    }

    /// An array of `{code, message, file, line, column, label, help, notes}`;
    /// `file`, `line` and `column` are null for a diagnostic without a span.
    pub fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        let mut sorted = self.clone();
        sorted.sort(sources);
        let place = |span: Option<Span>| match span {
            Some(s) => {
                let (line, column) = sources.line_col(s);
                (
                    serde_json::Value::from(sources.path(s.file).as_str()),
                    serde_json::Value::from(line),
                    serde_json::Value::from(column),
                )
            }
            None => Default::default(),
        };
        sorted
            .0
            .iter()
            .map(|d| {
                let (file, line, column) = place(d.span);
                let notes: Vec<serde_json::Value> = d
                    .notes
                    .iter()
                    .map(|(span, text)| {
                        let (file, line, column) = place(Some(*span));
                        serde_json::json!({
                            "message": text, "file": file, "line": line, "column": column,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "code": d.code,
                    "message": d.message,
                    "file": file,
                    "line": line,
                    "column": column,
                    "label": d.label,
                    "help": d.help,
                    "notes": notes,
                })
            })
            .collect()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    /// Plain one-line-per-problem form (`E0101: message`), for logs and
    /// error chains; use [`Diagnostics::render`] for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error[{}]: {}", d.code, d.message)?;
        }
        Ok(())
    }
}

/// The miette view of one diagnostic (or of one of its notes).
struct Report {
    message: String,
    severity: Severity,
    source: Option<Source>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// A file as miette sees it: named by its path, with columns counted in
/// characters (miette counts bytes), like [`SourceMap::line_col`].
struct Source {
    name: String,
    text: Arc<str>,
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_bytes().read_span(span, before, after)?;
        let column = if before == 0 {
            let offset = span.offset().min(self.text.len());
            let line_start = self.text.as_bytes()[..offset]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            self.text
                .get(line_start..offset)
                .map_or(inner.column(), |s| s.chars().count())
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

fn named(sources: &SourceMap, file: FileId) -> Source {
    let f = &sources.files[file.0 as usize];
    Source {
        name: f.path.to_string(),
        text: f.text.clone(),
    }
}

/// Clamp a span to its file so a stale span can never make rendering panic.
fn labeled(sources: &SourceMap, span: Span, label: Option<String>) -> LabeledSpan {
    let len = sources.text(span.file).len();
    let offset = span.offset.min(len);
    let end = span.end().min(len);
    LabeledSpan::new(label, offset, end - offset)
}

fn render_one(d: &Diagnostic, sources: &SourceMap, color: bool, out: &mut String) {
    let mut report = Report {
        message: d.message.clone(),
        severity: Severity::Error,
        source: d.span.map(|s| named(sources, s.file)),
        labels: d
            .span
            .map(|s| labeled(sources, s, d.label.clone()))
            .into_iter()
            .collect(),
        help: d.help.clone(),
    };
    // Notes in the primary file join its snippet; notes elsewhere are shown
    // after it, each with a snippet of its own.
    let mut elsewhere = Vec::new();
    for (span, text) in &d.notes {
        if d.span.is_some_and(|p| p.file == span.file) {
            report
                .labels
                .push(labeled(sources, *span, Some(text.clone())));
        } else {
            elsewhere.push(Report {
                message: text.clone(),
                severity: Severity::Advice,
                source: Some(named(sources, span.file)),
                labels: vec![labeled(sources, *span, None)],
                help: None,
            });
        }
    }
    let mut theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    theme.characters.error = format!("error[{}]:", d.code);
    theme.characters.advice = "note:".to_string();
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(RENDER_WIDTH)
        .with_links(false)
        .with_context_lines(1);
    if !out.is_empty() {
        out.push('\n');
    }
    // Writing into a String cannot fail.
    for r in std::iter::once(&report).chain(&elsewhere) {
        let _ = handler.render_report(out, r);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> (SourceMap, FileId, FileId) {
        let mut sources = SourceMap::new();
        let a = sources.add(
            RelPath::new("lab.kdl").unwrap(),
            "lab \"home\"\nhost \"é\" address=\"x\"\n".into(),
        );
        let b = sources.add(RelPath::new("apps/b.kdl").unwrap(), "host \"x\"\n".into());
        (sources, a, b)
    }

    #[test]
    fn line_col_counts_characters() {
        let (sources, a, _) = map();
        assert_eq!(sources.line_col(Span::new(a, 0, 1)), (1, 1));
        assert_eq!(sources.line_col(Span::new(a, 11, 4)), (2, 1));
        // `address` comes after a two-byte `é`: byte 22, character 10 of the line.
        let addr = sources.text(a).find("address").unwrap();
        assert_eq!(sources.line_col(Span::new(a, addr, 7)), (2, 10));
        // the end of the file is a valid position
        let end = sources.text(a).len();
        assert_eq!(sources.line_col(Span::new(a, end, 0)), (3, 1));
    }

    #[test]
    fn renders_sorted_with_code_snippet_note_and_help() {
        let (sources, a, b) = map();
        let addr = sources.text(a).find("\"x\"").unwrap();
        let diags = Diagnostics(vec![
            Diagnostic::new("E0202", "duplicate name `x`")
                .at(Span::new(b, 5, 3))
                .label("declared again here")
                .note(Span::new(a, addr, 3), "first declared here")
                .help("rename one of them"),
            Diagnostic::new("E0404", "bad address").at(Span::new(a, addr, 3)),
        ]);
        let text = diags.render(&sources, false);
        let first = text.find("error[E0202]").unwrap();
        let second = text.find("error[E0404]").unwrap();
        // `apps/b.kdl` sorts before `lab.kdl`
        assert!(first < second, "{text}");
        assert!(text.contains("[apps/b.kdl:1:6]"), "{text}");
        assert!(text.contains("help: rename one of them"), "{text}");
        assert!(text.contains("note: first declared here"), "{text}");
        assert!(
            text.contains("[lab.kdl:2:18]"),
            "columns count characters: {text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour codes: {text}");
    }

    #[test]
    fn json_names_file_line_and_column() {
        let (sources, a, _) = map();
        let diags = Diagnostics(vec![
            Diagnostic::new("E0101", "unknown node `hots`")
                .at(Span::new(a, 11, 4))
                .help("did you mean `host`?"),
            Diagnostic::new("E0301", "no lab"),
        ]);
        let json = diags.to_json(&sources);
        assert_eq!(json[0]["code"], "E0301");
        assert!(json[0]["file"].is_null());
        assert_eq!(json[1]["file"], "lab.kdl");
        assert_eq!(json[1]["line"], 2);
        assert_eq!(json[1]["column"], 1);
        assert_eq!(json[1]["help"], "did you mean `host`?");
    }

    #[test]
    fn colour_is_optional_and_changes_only_styling() {
        let (sources, a, _) = map();
        let diags = Diagnostics(vec![
            Diagnostic::new("E0101", "unknown node `hots`").at(Span::new(a, 11, 4)),
        ]);
        let plain = diags.render(&sources, false);
        let coloured = diags.render(&sources, true);
        assert!(coloured.contains('\u{1b}'));
        let stripped: String = {
            // drop ANSI escape sequences: ESC [ ... letter
            let mut out = String::new();
            let mut chars = coloured.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(stripped, plain);
    }

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let (sources, a, _) = map();
        let diags = Diagnostics(vec![
            Diagnostic::new("E0001", "x").at(Span::new(a, 1000, 5)),
        ]);
        assert!(diags.render(&sources, false).contains("error[E0001]"));
    }
}
