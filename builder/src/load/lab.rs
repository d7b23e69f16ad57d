//! The `lab` node: the lab's name, parameters, deploy recipients and
//! secrets directory.
//!
//! It is read before any declaration, since every declaration's strings are
//! interpolated with its parameters. Parameters are literal: a parameter
//! cannot refer to another one, which keeps their meaning obvious and
//! evaluation order irrelevant.

use std::collections::BTreeMap;

use kdl::{KdlNode, KdlValue};

use super::check;
use super::codes;
use super::cx::{Cx, Params};
use super::files::KdlFile;
use super::reader::{NodeReader, repr, wrong_type};
use super::state::Loader;
use crate::decl::Spanned;
use crate::diag::{Diagnostic, Span};
use crate::interp;
use crate::io::RelPath;

/// What the `lab` node says.
pub(crate) struct LabHead {
    pub name: Spanned<String>,
    pub params: BTreeMap<String, Spanned<String>>,
    pub deploy_recipients: Vec<Spanned<String>>,
    /// `secrets-dir`, resolved against the recipe root; `None` when not
    /// written (the default applies) or unusable (reported).
    pub secrets_dir: Option<Spanned<RelPath>>,
    /// Whether `secrets-dir` was written (when it is but `secrets_dir` is
    /// `None`, it was unusable).
    pub secrets_dir_written: bool,
}

/// The secrets directory when the lab does not name one, relative to the
/// recipe root.
pub const DEFAULT_SECRETS_DIR: &str = "secrets";

/// Find the one `lab` node and read it. Returns the head if it could be
/// read, and the parameters as interpolation sees them.
pub(crate) fn read_lab(ld: &mut Loader, files: &[KdlFile]) -> (Option<LabHead>, Params) {
    let labs: Vec<(&KdlFile, &KdlNode)> = files
        .iter()
        .flat_map(|f| f.doc.nodes().iter().map(move |n| (f, n)))
        .filter(|(_, n)| n.name().value() == "lab")
        .collect();
    let Some(&(first_file, first)) = labs.first() else {
        if !ld.incomplete {
            let entry = files.first().map(|f| f.id);
            let mut d = Diagnostic::new(codes::NO_LAB, "no `lab` node in the recipes")
                .help("add one, usually to the entry file: `lab \"home\" { param \"domain\" \"example.org\" }`");
            if let Some(entry) = entry {
                d = d
                    .at(Span::new(entry, 0, 0))
                    .label("neither this file nor its imports declare a lab");
            }
            ld.diags.push(d);
        }
        return (None, Params::default());
    };
    let first_span = Span::new(
        first_file.id,
        first.name().span().offset(),
        first.name().span().len(),
    );
    for &(f, n) in &labs[1..] {
        ld.diags.push(
            Diagnostic::new(codes::SEVERAL_LABS, "a second `lab` node")
                .at(Span::new(
                    f.id,
                    n.name().span().offset(),
                    n.name().span().len(),
                ))
                .label("another lab")
                .note(first_span, "the lab is declared here")
                .help("a set of recipes describes one lab: merge the two `lab` nodes"),
        );
    }
    let mut params = Params {
        complete: labs.len() == 1,
        ..Params::default()
    };
    let head = read_lab_node(ld, first_file, first, &mut params);
    params.lab_name = head.as_ref().map(|h| h.name.value.clone());
    params.secrets_dir = head.as_ref().and_then(|h| match &h.secrets_dir {
        Some(dir) => Some(dir.value.clone()),
        None if h.secrets_dir_written => None,
        None => ld.entry.join_relative(DEFAULT_SECRETS_DIR).ok(),
    });
    params.values = head
        .as_ref()
        .map(|h| {
            h.params
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect()
        })
        .unwrap_or_default();
    (head, params)
}

/// Read the lab node; record in `seen` which parameter names exist but are
/// unusable, and whether every child could be read.
fn read_lab_node(
    ld: &mut Loader,
    file: &KdlFile,
    node: &KdlNode,
    seen: &mut Params,
) -> Option<LabHead> {
    let no_params = Params::default();
    let mut uses = Vec::new();
    let root = ld.root.clone();
    let ld_entry = ld.entry.clone();
    let mut cx = Cx {
        file: file.id,
        path: &file.path,
        root: &root,
        text: ld.sources.text(file.id),
        params: &no_params,
        diags: &mut ld.diags,
        uses: &mut uses,
        secrets_ok: false,
    };
    let mut r = NodeReader::new(&mut cx, node);
    let name = r.name(&mut cx);
    let mut params: BTreeMap<String, Spanned<String>> = BTreeMap::new();
    let mut key_spans: BTreeMap<String, Span> = BTreeMap::new();
    let mut recipients = Vec::new();
    let mut secrets_dir: Option<Spanned<RelPath>> = None;
    let mut secrets_dir_at: Option<Span> = None;
    let entry = ld_entry.clone();
    let children = r.children(&mut cx, &["param", "deploy-recipient", "secrets-dir"]);
    let all_known = node.children().map_or(0, |c| c.nodes().len()) == children.len();
    seen.complete &= all_known;
    for child in children {
        let mut c = NodeReader::new(&mut cx, child);
        if child.name().value() == "param" {
            let (key, value) = read_param(&mut cx, &mut c);
            match (key, value) {
                (None, _) => seen.complete = false,
                (Some(key), None) => {
                    seen.broken.insert(key.value);
                }
                (Some(key), Some(value)) => {
                    if let Some(first) = key_spans.get(&key.value) {
                        cx.error(
                            Diagnostic::new(
                                codes::DUPLICATE_PARAM,
                                format!("parameter `{}` is defined twice", key.value),
                            )
                            .at(key.span)
                            .label("defined again here")
                            .note(*first, "first defined here")
                            .help("keep one definition"),
                        );
                    } else {
                        key_spans.insert(key.value.clone(), key.span);
                        params.insert(key.value, value);
                    }
                }
            }
        } else if child.name().value() == "secrets-dir" {
            let at = cx.span(child.name().span());
            if let Some(first) = secrets_dir_at {
                cx.error(
                    Diagnostic::new(codes::DUPLICATE_PROPERTY, "`secrets-dir` is written twice")
                        .at(at)
                        .label("written again here")
                        .note(first, "first written here")
                        .help("keep one of them"),
                );
                c.rest_args();
            } else {
                secrets_dir_at = Some(at);
                if let Some(dir) = literal_arg(
                    &mut cx,
                    &mut c,
                    "a directory",
                    "paths of the secrets directory",
                ) {
                    secrets_dir = cx
                        .resolve_from(&entry, &dir.value, dir.span)
                        .map(|p| Spanned::new(p, dir.span));
                }
            }
        } else if let Some(rcpt) = literal_arg(&mut cx, &mut c, "a recipient", "deploy recipients")
        {
            match check::recipient(&rcpt.value) {
                Ok(()) => recipients.push(rcpt),
                Err((message, help)) => cx.error(
                    Diagnostic::new(codes::BAD_RECIPIENT, message)
                        .at(rcpt.span)
                        .label("not a recipient")
                        .help_opt(help),
                ),
            }
        }
        c.finish(&mut cx);
    }
    r.finish(&mut cx);
    Some(LabHead {
        name: name?,
        params,
        deploy_recipients: recipients,
        secrets_dir,
        secrets_dir_written: secrets_dir_at.is_some(),
    })
}

/// `param "name" "value"`: the name (with its span) if it could be read and
/// is usable, and the value if it could be read.
fn read_param(
    cx: &mut Cx,
    c: &mut NodeReader,
) -> (Option<Spanned<String>>, Option<Spanned<String>>) {
    let key = literal_arg(cx, c, "a name", "parameter names");
    let value = literal_arg(cx, c, "a value", "parameters");
    let Some(key) = key else {
        return (None, value);
    };
    let reserved = ["lab", "secret"]
        .iter()
        .any(|p| key.value == *p || key.value.starts_with(&format!("{p}.")));
    let usable = interp::references(&format!("${{{}}}", key.value)).contains(key.value.as_str());
    if reserved || !usable {
        let why = if reserved {
            "`lab.` and `secret.` are reserved for names hlb provides (`${lab.name}`, `${secret.NAME}`)".to_string()
        } else {
            "parameter names start with a letter or `_` and contain letters, digits, `_`, `.` and `-`".to_string()
        };
        cx.error(
            Diagnostic::new(
                codes::INVALID_PARAM_NAME,
                format!("`{}` cannot be a parameter name", key.value),
            )
            .at(key.span)
            .label("invalid parameter name")
            .help(why),
        );
        return (None, value);
    }
    (Some(key), value)
}

/// The next argument of a lab child: a literal string.
fn literal_arg(
    cx: &mut Cx,
    c: &mut NodeReader,
    what: &str,
    plural: &str,
) -> Option<Spanned<String>> {
    let kind = c.kind();
    let Some(e) = c.next_arg() else {
        let example = match kind {
            "param" => "param \"domain\" \"home.example.org\"",
            "secrets-dir" => "secrets-dir \"secrets\"",
            _ => "deploy-recipient \"age1…\"",
        };
        c.missing_arg(cx, what, example);
        return None;
    };
    let span = cx.value_span(e);
    match e.value() {
        KdlValue::String(s) => cx.literal(s, span, plural).map(|v| Spanned::new(v, span)),
        _ => {
            let help = format!("write it in quotes: `\"{}\"`", repr(e));
            let what = what.replacen("a ", "the ", 1);
            cx.error(wrong_type(
                e,
                span,
                &format!("{what} of `{kind}`"),
                "a string",
                Some(help),
            ));
            None
        }
    }
}
