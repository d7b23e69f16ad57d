//! The recipe loader: KDL files in, a checked [`Lab`] out.
//!
//! Loading runs in stages, each reporting every problem it finds before the
//! next starts:
//!
//! 1. `files`: read the entry file and its imports (once each, in parallel
//!    where possible), check each is within the parser's bounds (`bound`),
//!    parse them as KDL 2.0, report import cycles.
//! 2. `lab`: find the one `lab` node and read its parameters, which every
//!    later string is interpolated with.
//! 3. `kinds`: read each top-level declaration with its kind's reader.
//! 4. `resolve`: unique names, references, dependency cycles.
//! 5. Read every recipe file the declarations name (once each), hash it, and
//!    check what must hold for its content (UTF-8, interpolation).
//! 6. `secrets`: each secret's `.age` exists and its `.tag` is read; the
//!    `${secret.NAME}` references of interpolated files; sealing
//!    certificates (see that module).
//!
//! A stage skips checks that an earlier failure would turn into noise: when
//! a recipe file is missing or unparsable, dangling references and a missing
//! `lab` are not reported (what they name may be in that file); when the lab
//! node is broken, unknown parameters are not reported.
//!
//! Purity: the loader reaches files only through [`EvalIo`]; it reads no
//! clock, environment or network.
//!
//! # Module map
//!
//! Each layer uses only the layers above it; `tests/loader_modules.rs`
//! checks that the modules import each other without a cycle and that no
//! kind's module uses another kind's.
//!
//! - Foundations, knowing nothing of kinds: `codes` (the stable error
//!   codes), `suggest` ("did you mean"), `check` (pure value checks: URLs,
//!   addresses, DNS labels, namespaces), `net` (CIDRs, UTC times), `bound`
//!   (refusing, before the KDL parser runs, a file that would make it
//!   recurse too deep: E0012), `split` (cutting large files to parse them
//!   on several threads), `cx` (the
//!   per-file context: spans, interpolation, paths, diagnostics), `state`
//!   (the `Loader` the stages share).
//! - Shared readers: `reader` (a node's shape: its properties, arguments,
//!   children and name), `values` (one value each: string settings,
//!   integers, choices, word lists, references, `after` lists, IPs and
//!   CIDRs, label keys and values), `content` (the content, interpolation
//!   and mode of anything that puts a file somewhere).
//! - One module per kind, each using only the shared readers and the
//!   foundations: `basic` (`cluster`, `host`, `fetch`, `file`, `manifest`,
//!   `secret`), `sealed` (`sealed-secret`), `talos` with `talos_network`
//!   (`talos-cluster`), `lxc` with `lxc_items` and `lxc_net` (`lxc`).
//! - Dispatch: `kinds` maps a top-level node's name to its kind's reader.
//! - Stages: `files` (read, bound, parse, imports), `lab`, `resolve`,
//!   `secrets`, run in order by [`load`] here.

pub mod codes;

mod basic;
mod bound;
mod check;
mod content;
mod cx;
mod files;
mod kinds;
mod lab;
mod lxc;
mod lxc_items;
mod lxc_net;
mod net;
mod reader;
mod resolve;
mod sealed;
mod secrets;
mod split;
mod state;
mod suggest;
mod talos;
mod talos_network;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::decl::{Decl, Lab, RecipeFile};
use crate::diag::{Diagnostic, Diagnostics, SourceMap, Span};
use crate::interp;
use crate::io::{EvalIo, RelPath};

pub use content::{DEFAULT_MODE, DEFAULT_SECRET_MODE};
pub use lab::DEFAULT_SECRETS_DIR;
pub use reader::{MAX_NAME, is_valid_name};
pub use talos::DEFAULT_LINK;
pub use talos_network::{DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR};

use cx::{Cx, FileUse, Params};
use resolve::Declared;
use state::Loader;

/// Why a lab could not be loaded: every problem found, and the texts they
/// point into.
#[derive(Debug)]
pub struct LoadError {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
}

impl LoadError {
    /// The report for a person (see [`Diagnostics::render`]).
    pub fn render(&self, color: bool) -> String {
        self.diagnostics.render(&self.sources, color)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "the recipes have {n} error{}",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for LoadError {}

/// Load the lab whose entry file is `entry`. Its directory is the recipe
/// root: no path in the recipes may lead out of it.
pub fn load(io: &dyn EvalIo, entry: &RelPath) -> Result<Lab, LoadError> {
    let mut ld = Loader {
        io,
        entry: entry.clone(),
        root: entry.parent_components().map(str::to_string).collect(),
        sources: SourceMap::new(),
        diags: Vec::new(),
        incomplete: false,
    };

    let files = files::load_files(&mut ld, entry);
    files::check_import_cycles(&mut ld, &files);

    let (head, params) = lab::read_lab(&mut ld, &files);

    let mut declared: Vec<Declared> = Vec::new();
    let mut decls: Vec<Decl> = Vec::new();
    let mut uses: Vec<FileUse> = Vec::new();
    let mut invalid_names: BTreeSet<String> = BTreeSet::new();
    let root = ld.root.clone();
    for file in &files {
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
        for node in file.doc.nodes() {
            if matches!(node.name().value(), "import" | "lab") {
                continue;
            }
            let Some(read) = kinds::read_node(&mut cx, node) else {
                continue;
            };
            if let Some(name) = read.name {
                declared.push(Declared {
                    name: name.value,
                    kind: read.kind,
                    span: name.span,
                });
            }
            invalid_names.extend(read.invalid_name);
            decls.extend(read.decl);
        }
    }
    drop(files);

    let index = resolve::index_names(&mut ld, &declared);
    let check_dangling = !ld.incomplete;
    resolve::resolve_refs(&mut ld, &mut decls, &index, &invalid_names, check_dangling);
    decls.sort_by(|a, b| crate::decl::order_key(a).cmp(&crate::decl::order_key(b)));
    decls.dedup_by(|b, a| crate::decl::order_key(a) == crate::decl::order_key(b));
    resolve::check_cycles(&mut ld, &decls);

    let mut recipe_files = read_recipe_files(&mut ld, &uses, &params);
    let refs = resolve::RefCx {
        index: &index,
        invalid_names: &invalid_names,
        check_dangling,
    };
    secrets::check(&mut ld, &mut decls, &refs, &mut recipe_files);

    match (head, params.secrets_dir) {
        (Some(head), Some(secrets_dir)) if ld.diags.is_empty() => Ok(Lab {
            name: head.name,
            params: head.params,
            deploy_recipients: head.deploy_recipients,
            secrets_dir,
            decls,
            sources: ld.sources,
            files: recipe_files,
        }),
        _ => {
            let mut diagnostics = Diagnostics(ld.diags);
            if diagnostics.is_empty() {
                // Unreachable in practice: a missing head is always reported.
                diagnostics.push(Diagnostic::new(
                    codes::NO_LAB,
                    "no `lab` node in the recipes",
                ));
            }
            diagnostics.sort(&ld.sources);
            Err(LoadError {
                sources: ld.sources,
                diagnostics,
            })
        }
    }
}

/// Read each recipe file the declarations name, once; report unreadable
/// ones at every use, and content problems once per file.
fn read_recipe_files(
    ld: &mut Loader,
    uses: &[FileUse],
    params: &Params,
) -> BTreeMap<RelPath, RecipeFile> {
    let mut read: BTreeMap<RelPath, Result<RecipeFile, io::Error>> = BTreeMap::new();
    let mut checked_text: BTreeSet<&RelPath> = BTreeSet::new();
    let mut checked_interp: BTreeSet<&RelPath> = BTreeSet::new();
    for u in uses {
        let result = read
            .entry(u.path.clone())
            .or_insert_with(|| ld.io.read(&u.path).map(|b| RecipeFile::new(Arc::from(b))));
        let file = match result {
            Ok(f) => f.clone(),
            Err(err) => {
                let d = ld.io_diagnostic(err, &u.path, "file").at(u.span);
                ld.diags.push(d);
                continue;
            }
        };
        if !(u.text || u.interpolate) || checked_text.contains(&u.path) {
            continue;
        }
        checked_text.insert(&u.path);
        let text = match std::str::from_utf8(&file.bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to();
                let lossy = String::from_utf8_lossy(&file.bytes);
                let id = ld.sources.add(u.path.clone(), lossy.into());
                let help = if u.interpolate {
                    "interpolated files must be UTF-8 text: re-encode it, or drop `interpolate`"
                } else {
                    "manifests must be UTF-8 text: re-encode it"
                };
                ld.diags.push(
                    Diagnostic::new(
                        codes::INVALID_UTF8,
                        format!("`{}` is not valid UTF-8", u.path),
                    )
                    .at(Span::new(id, at, 3))
                    .label("invalid byte")
                    .note(u.span, "read as text here")
                    .help(help),
                );
                continue;
            }
        };
        if u.interpolate && !checked_interp.contains(&u.path) {
            checked_interp.insert(&u.path);
            check_file_interpolation(ld, u, text, params);
        }
    }
    read.into_iter()
        .filter_map(|(p, r)| r.ok().map(|f| (p, f)))
        .collect()
}

/// Report the `${…}` problems of an interpolated recipe file, pointing into
/// the file itself (which joins the source map only if it has problems).
fn check_file_interpolation(ld: &mut Loader, u: &FileUse, text: &str, params: &Params) {
    if interp::is_literal(text) {
        return;
    }
    let Err(errors) = interp::interpolate(text, &|n| params.lookup(n)) else {
        return;
    };
    let id = ld.sources.add(u.path.clone(), Arc::from(text));
    let root = ld.root.clone();
    let mut sink = Vec::new();
    let mut cx = Cx {
        file: id,
        path: &u.path,
        root: &root,
        text,
        params,
        diags: &mut ld.diags,
        uses: &mut sink,
        secrets_ok: true,
    };
    let before = cx.diags.len();
    // Report through the reader, with the whole file as the value.
    let _ = cx.interpolate(text, Span::new(id, 0, text.len()));
    debug_assert!(cx.diags.len() - before <= errors.len());
    for d in &mut ld.diags[before..] {
        d.notes
            .push((u.span, "interpolated because of `interpolate=#true`".into()));
    }
}
