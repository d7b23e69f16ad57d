//! Reading the recipe files: the entry file and everything it imports.
//!
//! Files are loaded breadth-first from the entry; each file is read and
//! parsed once however many files import it (diamonds are free), and a file
//! gets its [`FileId`] in load order, so ids — and with them the order of
//! declarations and diagnostics — do not depend on timing. The files of one
//! breadth-first level are parsed on several threads, large files in pieces
//! (`split.rs`): KDL parsing dominates load time for large labs.
//!
//! Import cycles cannot make loading loop (a file is loaded once) but are
//! errors all the same, reported with the whole cycle.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kdl::{KdlDocument, KdlError, KdlValue};

use super::bound::{self, Excess, PARSE_STACK, TooDeep};
use super::codes;
use super::cx::{Cx, Params};
use super::reader::NodeReader;
use super::split;
use super::state::Loader;
use crate::diag::{Diagnostic, FileId, Span};
use crate::io::RelPath;

/// A recipe file that was read and parsed.
pub(crate) struct KdlFile {
    pub id: FileId,
    pub path: RelPath,
    pub doc: KdlDocument,
    /// Files this one imports (indices into the loaded files), with the
    /// span of the path in the `import` node.
    pub imports: Vec<(usize, Span)>,
}

/// What became of one file.
enum Outcome {
    Unreadable(io::Error),
    NotUtf8 {
        lossy: String,
        at: usize,
    },
    /// Past a bound of [`bound::check`]: not handed to the parser.
    TooDeep {
        text: Arc<str>,
        too_deep: TooDeep,
    },
    Parsed {
        text: Arc<str>,
        doc: Result<KdlDocument, KdlError>,
    },
}

/// One unit of parsing work: a piece of one file.
struct Job {
    file: usize,
    start: usize,
    end: usize,
}

/// Read and parse `paths`; results in input order. Files are read here, in
/// order; parsing — the expensive part — runs on several threads, over
/// whole files and over pieces of large ones (see `split.rs`).
fn read_level(ld: &Loader, paths: &[RelPath]) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let mut texts: Vec<Option<Arc<str>>> = Vec::with_capacity(paths.len());
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(paths.len());
    for path in paths {
        match ld.io.read(path).map(String::from_utf8) {
            Ok(Ok(text)) => match bound::check(&text) {
                Ok(()) => {
                    texts.push(Some(text.into()));
                    outcomes.push(None);
                }
                Err(too_deep) => {
                    texts.push(None);
                    outcomes.push(Some(Outcome::TooDeep {
                        text: text.into(),
                        too_deep,
                    }));
                }
            },
            Ok(Err(e)) => {
                let at = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                texts.push(None);
                outcomes.push(Some(Outcome::NotUtf8 { lossy, at }));
            }
            Err(e) => {
                texts.push(None);
                outcomes.push(Some(Outcome::Unreadable(e)));
            }
        }
    }
    let mut jobs = Vec::new();
    for (file, text) in texts.iter().enumerate() {
        let Some(text) = text else { continue };
        let cuts = if threads > 1 {
            split::cut_points(text, threads)
        } else {
            Vec::new()
        };
        let mut start = 0;
        for end in cuts.into_iter().chain(std::iter::once(text.len())) {
            jobs.push(Job { file, start, end });
            start = end;
        }
    }
    let mut parsed = run_jobs(&texts, &jobs, threads);
    for (file, text) in texts.into_iter().enumerate() {
        let Some(text) = text else { continue };
        let pieces: Vec<_> = jobs
            .iter()
            .zip(parsed.iter_mut())
            .filter(|(j, _)| j.file == file)
            .filter_map(|(_, r)| r.take())
            .collect();
        let doc = if pieces.len() == 1 {
            pieces
                .into_iter()
                .next()
                .unwrap_or_else(|| bound::on_parse_stack(|| KdlDocument::parse_v2(&text)))
        } else {
            match pieces.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(docs) => Ok(split::join(docs)),
                // Report syntax errors exactly as a whole-file parse does.
                Err(_) => bound::on_parse_stack(|| KdlDocument::parse_v2(&text)),
            }
        };
        outcomes[file] = Some(Outcome::Parsed { text, doc });
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Outcome::Unreadable(io::Error::other("internal: file was not parsed"))
            })
        })
        .collect()
}

/// Parse every job, on up to `threads` threads; results in job order.
fn run_jobs(
    texts: &[Option<Arc<str>>],
    jobs: &[Job],
    threads: usize,
) -> Vec<Option<Result<KdlDocument, KdlError>>> {
    let parse = |j: &Job| {
        let text = texts[j.file].as_deref().unwrap_or_default();
        split::parse_piece(text, j.start, j.end)
    };
    let threads = threads.min(jobs.len());
    if threads <= 1 {
        return bound::on_parse_stack(|| jobs.iter().map(|j| Some(parse(j))).collect());
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<KdlDocument, KdlError>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .name("kdl-parse".into())
                    .stack_size(PARSE_STACK)
                    .spawn_scoped(s, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(j) = jobs.get(i) else { break };
                            done.push((i, parse(j)));
                        }
                        done
                    })
            })
            .collect();
        // A worker that could not start leaves its jobs to the others; if
        // none started, the jobs are parsed here, on a parse stack.
        let started: Vec<_> = workers.into_iter().filter_map(Result::ok).collect();
        if started.is_empty() {
            return bound::on_parse_stack(|| {
                jobs.iter()
                    .enumerate()
                    .map(|(i, j)| (i, parse(j)))
                    .collect()
            });
        }
        started
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(done) => done,
                // A panic in the parser is a bug; let it surface as one.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| Some(r)).collect()
}

/// Load `entry` and everything it imports. Files that cannot be read or
/// parsed are reported and left out (and the loader marked incomplete).
pub(crate) fn load_files(ld: &mut Loader, entry: &RelPath) -> Vec<KdlFile> {
    let mut files: Vec<KdlFile> = Vec::new();
    // Every path ever queued: its index in `files` once loaded, None if it
    // failed (or is still pending).
    let mut index: BTreeMap<RelPath, Option<usize>> = BTreeMap::new();
    // Imports by path, resolved to indices once everything is loaded.
    let mut edges: Vec<(usize, RelPath, Span)> = Vec::new();
    index.insert(entry.clone(), None);
    let mut level: Vec<(RelPath, Option<Span>)> = vec![(entry.clone(), None)];
    while !level.is_empty() {
        let paths: Vec<RelPath> = level.iter().map(|(p, _)| p.clone()).collect();
        let outcomes = read_level(ld, &paths);
        let mut next = Vec::new();
        for ((path, site), outcome) in level.into_iter().zip(outcomes) {
            let Some(file) = admit(ld, path.clone(), site, outcome) else {
                ld.incomplete = true;
                continue;
            };
            let at = files.len();
            index.insert(path, Some(at));
            for (target, span) in imports_of(ld, &file) {
                if !index.contains_key(&target) {
                    index.insert(target.clone(), None);
                    next.push((target.clone(), Some(span)));
                }
                edges.push((at, target, span));
            }
            files.push(file);
        }
        level = next;
    }
    for (from, target, span) in edges {
        if let Some(Some(to)) = index.get(&target) {
            files[from].imports.push((*to, span));
        }
    }
    files
}

/// Register a file's text and turn problems into diagnostics.
fn admit(ld: &mut Loader, path: RelPath, site: Option<Span>, outcome: Outcome) -> Option<KdlFile> {
    match outcome {
        Outcome::Unreadable(err) => {
            let d = ld.io_diagnostic(&err, &path, "recipe file");
            ld.diags.push(match site {
                Some(span) => d.at(span),
                None => d.help("check the path of the entry file"),
            });
            None
        }
        Outcome::NotUtf8 { lossy, at } => {
            let id = ld.sources.add(path.clone(), lossy.into());
            let span = Span::new(id, at, 3);
            let mut d =
                Diagnostic::new(codes::INVALID_UTF8, format!("`{path}` is not valid UTF-8"))
                    .at(span)
                    .label("invalid byte")
                    .help("recipes are UTF-8 text; re-encode the file");
            if let Some(site) = site {
                d = d.note(site, "imported here");
            }
            ld.diags.push(d);
            None
        }
        Outcome::TooDeep { text, too_deep } => {
            let id = ld.sources.add(path, text);
            ld.diags.push(too_deep_diagnostic(id, too_deep));
            None
        }
        Outcome::Parsed { text, doc } => {
            let id = ld.sources.add(path.clone(), text);
            match doc {
                Ok(doc) => Some(KdlFile {
                    id,
                    path,
                    doc,
                    imports: Vec::new(),
                }),
                Err(err) => {
                    syntax_diagnostics(ld, id, &err);
                    None
                }
            }
        }
    }
}

fn too_deep_diagnostic(id: FileId, too: TooDeep) -> Diagnostic {
    let (message, len, label, help) = match too.excess {
        Excess::Blocks => (
            format!("blocks are nested more than {} deep", bound::MAX_DEPTH),
            1,
            format!("block {} levels deep", bound::MAX_DEPTH + 1),
            "recipes need only a few levels of `{ … }`: look for a `}` missing higher up"
                .to_string(),
        ),
        Excess::CommentMarks => (
            format!(
                "a block comment holds more than {} `*` and `/`",
                bound::MAX_COMMENT_MARKS
            ),
            2,
            "this comment".to_string(),
            "shorten the comment, or write it as `//` lines".to_string(),
        ),
        Excess::Prefixes => (
            format!(
                "more than {} `/-` and type annotations in a row",
                bound::MAX_PREFIXES
            ),
            1,
            "one too many".to_string(),
            "write one `/-` or annotation before a node, value or block".to_string(),
        ),
    };
    Diagnostic::new(codes::TOO_DEEP, message)
        .at(Span::new(id, too.at, len))
        .label(label)
        .help(help)
}

/// The most syntax errors reported for one file; the rest are counted. A
/// file with thousands (a stray run of `}`) is one mistake, and rendering
/// each would take longer than fixing it.
const MAX_SYNTAX_ERRORS: usize = 50;

fn syntax_diagnostics(ld: &mut Loader, id: FileId, err: &KdlError) {
    let text = ld.sources.text(id).to_string();
    let mut seen = Vec::new();
    let mut more: Option<(Span, usize)> = None;
    for d in &err.diagnostics {
        let span = Span::new(id, d.span.offset(), d.span.len());
        let message = d
            .message
            .clone()
            .unwrap_or_else(|| "unexpected input".into());
        if seen.contains(&(span, message.clone())) {
            continue;
        }
        seen.push((span, message.clone()));
        if seen.len() > MAX_SYNTAX_ERRORS {
            let (_, n) = more.get_or_insert((span, 0));
            *n += 1;
            continue;
        }
        let written = text.get(span.offset..span.end()).unwrap_or_default();
        let word_at = text
            .get(span.offset..)
            .unwrap_or_default()
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        let help = if ["true", "false", "null"].contains(&word_at)
            || ["true", "false", "null"].contains(&written)
        {
            Some(format!("KDL 2 writes keywords with `#`: `#{word_at}`"))
        } else {
            d.help.clone()
        };
        ld.diags.push(
            Diagnostic::new(
                codes::SYNTAX,
                format!("invalid KDL: {}", lowercase_first(&message)),
            )
            .at(span)
            .label("syntax error")
            .help_opt(help),
        );
    }
    if let Some((span, n)) = more {
        ld.diags.push(
            Diagnostic::new(
                codes::SYNTAX,
                format!("invalid KDL: {n} more syntax errors in this file"),
            )
            .at(span)
            .label("the next one")
            .help(format!(
                "only the first {MAX_SYNTAX_ERRORS} are shown: one unclosed string, comment or block often causes the rest"
            )),
        );
    }
    if err.diagnostics.is_empty() {
        ld.diags.push(
            Diagnostic::new(codes::SYNTAX, "invalid KDL")
                .at(Span::new(id, 0, 0))
                .label("somewhere in this file"),
        );
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if chars.clone().next().is_some_and(|n| n.is_lowercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_string(),
    }
}

/// The files a file's `import` nodes name, resolved and checked.
fn imports_of(ld: &mut Loader, file: &KdlFile) -> Vec<(RelPath, Span)> {
    let params = Params::default();
    let mut uses = Vec::new();
    let root = ld.root.clone();
    let mut cx = Cx {
        file: file.id,
        path: &file.path,
        root: &root,
        text: ld.sources.text(file.id),
        params: &params,
        diags: &mut ld.diags,
        uses: &mut uses,
        secrets_ok: false,
    };
    let mut out = Vec::new();
    let mut unresolved = false;
    for node in file.doc.nodes() {
        if node.name().value() != "import" {
            continue;
        }
        let mut r = NodeReader::new(&mut cx, node);
        let args = r.rest_args();
        if args.is_empty() {
            r.missing_arg(&mut cx, "a path", "import \"apps/dns.kdl\"");
        }
        let before = cx.diags.len();
        for e in args {
            let span = cx.value_span(e);
            let KdlValue::String(s) = e.value() else {
                cx.error(super::reader::wrong_type(
                    e,
                    span,
                    "an import path",
                    "a string",
                    Some("write the path in quotes: `import \"apps/dns.kdl\"`".into()),
                ));
                continue;
            };
            let Some(s) = cx.literal(s, span, "import paths") else {
                continue;
            };
            let Some(path) = cx.resolve(&s, span) else {
                continue;
            };
            if path.extension() != Some("kdl") {
                cx.error(
                    Diagnostic::new(codes::INVALID_PATH, format!("`{s}` is not a `.kdl` file"))
                        .at(span)
                        .label("not a recipe file")
                        .help("only recipe files (`.kdl`) can be imported; other files are read with `source=`"),
                );
                continue;
            }
            out.push((path, span));
        }
        // A file that could not be imported may declare what others name.
        unresolved |= cx.diags.len() > before;
        r.finish(&mut cx);
    }
    ld.incomplete |= unresolved;
    out
}

/// Report every import cycle, each at the import that closes it.
pub(crate) fn check_import_cycles(ld: &mut Loader, files: &[KdlFile]) {
    // Iterative depth-first search; `on_stack[i]` is i's position in `stack`.
    let n = files.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut on_stack = vec![usize::MAX; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)]; // (file, next import)
        state[start] = 1;
        on_stack[start] = 0;
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            let Some(&(to, span)) = files[f].imports.get(*next) else {
                state[f] = 2;
                on_stack[f] = usize::MAX;
                stack.pop();
                continue;
            };
            *next += 1;
            match state[to] {
                0 => {
                    state[to] = 1;
                    on_stack[to] = stack.len();
                    stack.push((to, 0));
                }
                1 => {
                    let cycle: Vec<usize> = stack[on_stack[to]..].iter().map(|(f, _)| *f).collect();
                    let mut names: Vec<String> =
                        cycle.iter().map(|&i| files[i].path.to_string()).collect();
                    names.push(files[to].path.to_string());
                    let mut d = Diagnostic::new(
                        codes::IMPORT_CYCLE,
                        format!("import cycle: {}", names.join(" → ")),
                    )
                    .at(span)
                    .label(format!(
                        "`{}` imports `{}` again here",
                        files[f].path, files[to].path
                    ))
                    .help(if f == to {
                        "a file cannot import itself: remove this import"
                    } else {
                        "move what both files need into a third file that both import"
                    });
                    for &(from, next) in stack[on_stack[to]..].iter().take(cycle.len() - 1) {
                        let (via, via_span) = files[from].imports[next - 1];
                        d = d.note(
                            via_span,
                            format!("`{}` imports `{}` here", files[from].path, files[via].path),
                        );
                    }
                    ld.diags.push(d);
                }
                _ => {}
            }
        }
    }
}
