//! The generic value readers every kind's reader uses: on top of the node
//! shape [`NodeReader`] checks (which properties, arguments and children a
//! node has), these read and check one value — a string setting, an
//! integer in a range, a choice among words, a space-separated word list,
//! a reference by name, `after` lists, IP addresses and CIDRs, Kubernetes
//! label keys and values — and report a bad one at the value.
//!
//! Nothing here knows a kind of declaration: a kind's module depends on
//! this one and never on another kind's module.

use std::collections::BTreeMap;
use std::net::IpAddr;

use kdl::{KdlNode, KdlValue};

use super::check;
use super::codes;
use super::cx::Cx;
use super::net::Cidr;
use super::reader::{NodeReader, list, repr, wrong_type};
use super::suggest::did_you_mean;
use crate::decl::{Ref, RefRole, Spanned};
use crate::diag::{Diagnostic, Span};

/// Report a value check's problem with `code`.
pub(super) fn bad(
    cx: &mut Cx,
    code: &'static str,
    span: Span,
    label: &str,
    problem: check::Problem,
) {
    let (message, help) = problem;
    cx.error(
        Diagnostic::new(code, message)
            .at(span)
            .label(label)
            .help_opt(help),
    );
}

/// Property `key` if it is written, then recorded as known; a property
/// that is only there to get a better message than "unknown property"
/// stays out of the lists of properties a kind takes when it is absent.
pub(super) fn present<'n>(r: &mut NodeReader<'n>, key: &'static str) -> Option<&'n kdl::KdlEntry> {
    let written = r
        .node
        .entries()
        .iter()
        .any(|e| e.name().is_some_and(|n| n.value() == key));
    if written { r.prop(key) } else { None }
}

/// A reference property (`target=`, `fetch=`): a literal name.
pub(super) fn reference(
    cx: &mut Cx,
    r: &mut NodeReader,
    key: &'static str,
    role: RefRole,
) -> Option<Ref> {
    let name = r.literal(cx, key, "references")?;
    Some(Ref {
        kind: role.allowed()[0],
        name: name.value,
        span: name.span,
    })
}

/// `after="a"` and the `after` children among `children`.
pub(super) fn after_from(cx: &mut Cx, r: &mut NodeReader, children: &[&KdlNode]) -> Vec<Ref> {
    let mut out: Vec<Ref> = Vec::new();
    out.extend(reference(cx, r, "after", RefRole::After));
    for &child in children.iter().filter(|c| c.name().value() == "after") {
        let mut c = NodeReader::new(cx, child);
        let args = c.rest_args();
        if args.is_empty() {
            c.missing_arg(cx, "at least one name", "after \"gateway-api\"");
        }
        for e in args {
            let span = cx.value_span(e);
            let KdlValue::String(s) = e.value() else {
                let help = format!("write the name in quotes: `\"{}\"`", repr(e));
                cx.error(wrong_type(
                    e,
                    span,
                    "a name in `after`",
                    "a string",
                    Some(help),
                ));
                continue;
            };
            if let Some(name) = cx.literal(s, span, "references") {
                out.push(Ref {
                    kind: RefRole::After.allowed()[0],
                    name,
                    span,
                });
            }
        }
        c.finish(cx);
    }
    let mut unique: Vec<Ref> = Vec::with_capacity(out.len());
    for r in out {
        if let Some(first) = unique.iter().find(|u| u.name == r.name) {
            cx.error(
                Diagnostic::new(
                    codes::DUPLICATE_REFERENCE,
                    format!("`{}` is listed twice in `after`", r.name),
                )
                .at(r.span)
                .label("listed again here")
                .note(first.span, "first listed here")
                .help("list each name once"),
            );
        } else {
            unique.push(r);
        }
    }
    unique
}

/// The single-valued settings read so far, with where each was first given.
pub(super) struct Once<'n> {
    pub(super) seen: BTreeMap<&'n str, Span>,
}

impl<'n> Once<'n> {
    /// Whether `child` is the first of its name; reports the others.
    pub(super) fn first(&mut self, cx: &mut Cx, child: &'n KdlNode) -> bool {
        let name = child.name().value();
        let span = cx.span(child.name().span());
        if let Some(first) = self.seen.get(name) {
            cx.error(
                Diagnostic::new(codes::DUPLICATE_KEY, format!("`{name}` is given twice"))
                    .at(span)
                    .label("given again here")
                    .note(*first, "first given here")
                    .help("keep one of them"),
            );
            return false;
        }
        self.seen.insert(name, span);
        true
    }
}

/// The one string argument of a setting child, interpolated.
pub(super) fn arg(cx: &mut Cx, c: &mut NodeReader, example: &str) -> Option<Spanned<String>> {
    let (s, span) = raw_arg(cx, c, "a value", example)?;
    cx.interpolate(s, span).ok().map(|v| Spanned::new(v, span))
}

/// The next argument of a child as written, which must be a string; a
/// missing one is reported as `what` with `example`.
pub(super) fn raw_arg<'n>(
    cx: &mut Cx,
    c: &mut NodeReader<'n>,
    what: &str,
    example: &str,
) -> Option<(&'n str, Span)> {
    let kind = c.kind();
    let Some(e) = c.next_arg() else {
        c.missing_arg(cx, what, example);
        return None;
    };
    let span = cx.value_span(e);
    match e.value() {
        KdlValue::String(s) => Some((s.as_str(), span)),
        _ => {
            let help = format!("write it in quotes: `{kind} \"{}\"`", repr(e));
            cx.error(wrong_type(
                e,
                span,
                &format!("the value of `{kind}`"),
                "a string",
                Some(help),
            ));
            None
        }
    }
}

/// A setting child with one string argument and nothing else.
pub(super) fn setting(cx: &mut Cx, child: &KdlNode, example: &str) -> Option<Spanned<String>> {
    let mut c = NodeReader::new(cx, child);
    let v = arg(cx, &mut c, example);
    c.finish(cx);
    v
}

pub(super) fn choice<T: Copy>(
    cx: &mut Cx,
    written: &Spanned<String>,
    what: &str,
    all: &[T],
    name: fn(&T) -> &'static str,
) -> Option<T> {
    if let Some(v) = all.iter().find(|v| name(v) == written.value) {
        return Some(*v);
    }
    let names: Vec<&str> = all.iter().map(name).collect();
    let help = did_you_mean(&written.value, names.iter().copied()).unwrap_or_else(|| {
        format!(
            "write one of {}",
            list(
                &names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            )
        )
    });
    cx.error(
        Diagnostic::new(
            codes::BAD_CHOICE,
            format!("`{}` is not a {what}", written.value),
        )
        .at(written.span)
        .label(format!("unknown {what}"))
        .help(help),
    );
    None
}

/// An integer property from 0 to `max`.
pub(super) fn int(
    cx: &mut Cx,
    c: &mut NodeReader,
    key: &'static str,
    max: u32,
    code: &'static str,
) -> Option<u32> {
    let e = c.prop(key)?;
    let span = cx.value_span(e);
    match e.value() {
        KdlValue::Integer(n) => match u32::try_from(*n) {
            Ok(v) if v <= max => Some(v),
            _ => {
                bad(
                    cx,
                    code,
                    span,
                    "out of range",
                    (format!("`{key}` is {n}, outside 0 to {max}"), None),
                );
                None
            }
        },
        _ => {
            let help = format!("write a number without quotes: `{key}=…`");
            cx.error(wrong_type(
                e,
                span,
                &format!("`{key}`"),
                "an integer",
                Some(help),
            ));
            None
        }
    }
}

/// The space-separated words of a string property (`groups="adm www-data"`),
/// each spanned where it is written when the value is written plainly
/// (else at the whole value).
pub(super) fn words(v: &Spanned<String>) -> Vec<Spanned<String>> {
    let plain = v.value.len() + 2 == v.span.len;
    let mut out = Vec::new();
    let mut at = 0;
    for part in v.value.split(' ') {
        if !part.is_empty() {
            let span = if plain {
                Span::new(v.span.file, v.span.offset + 1 + at, part.len())
            } else {
                v.span
            };
            out.push(Spanned::new(part.to_string(), span));
        }
        at += part.len() + 1;
    }
    out
}

/// The first argument as a reference of `role` (a literal name); `what`
/// and `example` for the message when it is missing.
pub(super) fn ref_arg(
    cx: &mut Cx,
    c: &mut NodeReader,
    role: RefRole,
    what: &str,
    example: &str,
) -> Option<Ref> {
    let (s, span) = raw_arg(cx, c, what, example)?;
    cx.literal(s, span, "references").map(|name| Ref {
        kind: role.allowed()[0],
        name,
        span,
    })
}

pub(super) fn cidr(cx: &mut Cx, v: &Spanned<String>, what: &str) -> Option<Cidr> {
    match Cidr::parse(&v.value) {
        Ok(c) => Some(c),
        Err(message) => {
            cx.error(
                Diagnostic::new(codes::BAD_CIDR, message)
                    .at(v.span)
                    .label(format!("not {what}"))
                    .help("write an address and a prefix length, like `10.244.0.0/16`"),
            );
            None
        }
    }
}

pub(super) fn ip(cx: &mut Cx, v: &Spanned<String>, what: &str) -> Option<IpAddr> {
    match v.value.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            let help = if v.value.contains('/') {
                "write the address alone, without a prefix length"
            } else {
                "write an IP address, like `10.0.0.1`"
            };
            bad(
                cx,
                codes::BAD_ADDRESS,
                v.span,
                &format!("not {what}"),
                (
                    format!("`{}` is not an IP address", v.value),
                    Some(help.into()),
                ),
            );
            None
        }
    }
}

pub(super) type KeyProblem = Option<(String, String)>;

/// `name` of at most 63 characters: alphanumeric at both ends, `-_.` inside.
fn name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// A label or annotation key: `[prefix/]name`, prefix a DNS subdomain.
pub(super) fn qualified_name(k: &str) -> KeyProblem {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    (!(prefix_ok && name_part(name))).then(|| {
        (
            format!("`{k}` is not a Kubernetes label or annotation key"),
            "keys are `name` or `prefix/name`: a name of at most 63 letters, digits, `-`, `_` and `.` that starts and ends with a letter or digit, after an optional lowercase DNS prefix, e.g. `app.kubernetes.io/part-of`".into(),
        )
    })
}

/// A label value: empty, or like the name part of a key.
pub(super) fn label_value(v: &str) -> KeyProblem {
    (!(v.is_empty() || name_part(v))).then(|| {
        (
            format!("`{v}` is not a valid label value"),
            "label values have at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; free text belongs in an `annotation`".into(),
        )
    })
}
