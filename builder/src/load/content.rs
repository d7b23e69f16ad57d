//! The content properties shared by the kinds that put a file somewhere
//! (`file`, `manifest`, and an `lxc` container's `file` children): where
//! the bytes come from (`text=`, `source=`, `fetch=`, `secret=`), whether
//! they are interpolated, and the file's mode.

use kdl::KdlValue;

use super::codes;
use super::cx::{Cx, FileUse};
use super::reader::{NodeReader, repr, wrong_type};
use super::values::reference;
use crate::decl::{Content, RefRole, Spanned};
use crate::diag::{Diagnostic, Span};

/// The default permission bits of a `file`.
pub const DEFAULT_MODE: u32 = 0o644;

/// The default permission bits of a secret-bearing `file`.
pub const DEFAULT_SECRET_MODE: u32 = 0o600;

/// `text=`, `source=` or `fetch=`: exactly one. A manifest's source must be
/// text (`text_only`); a file's must be text only when interpolated.
pub(super) fn content(
    cx: &mut Cx,
    r: &mut NodeReader,
    kind: &str,
    text_only: bool,
) -> Option<Content> {
    let keys: &[&'static str] = if kind == "file" {
        &["text", "source", "fetch", "secret"]
    } else {
        &["text", "source", "fetch"]
    };
    let present: Vec<(&str, Span)> = keys
        .iter()
        .filter_map(|&k| {
            r.prop(k)
                .and_then(|e| e.name())
                .map(|n| (k, cx.span(n.span())))
        })
        .collect();
    let Some(&(key, _)) = present.first() else {
        let kind_ = r.kind();
        let (label, help) = if kind == "file" {
            (
                "no `text`, `source`, `fetch` or `secret`",
                "add one of `text=\"…\"`, `source=\"files/…\"`, `fetch=\"download-name\"` or `secret=\"secret-name\"`",
            )
        } else {
            (
                "no `text`, `source` or `fetch`",
                "add one of `text=\"…\"`, `source=\"files/…\"` or `fetch=\"download-name\"`",
            )
        };
        cx.error(
            Diagnostic::new(codes::MISSING_VALUE, format!("`{kind_}` needs content"))
                .at(r.header(cx))
                .label(label)
                .help(help),
        );
        return None;
    };
    for &(other, span) in &present[1..] {
        cx.error(
            Diagnostic::new(
                codes::CONFLICTING_PROPERTIES,
                format!("`{key}` and `{other}` cannot be used together"),
            )
            .at(span)
            .label("second content")
            .note(present[0].1, "content is already given here")
            .help(format!(
                "a {kind} has one content: keep `{key}` or `{other}`"
            )),
        );
    }
    let interpolated = r
        .prop("interpolate")
        .is_some_and(|e| matches!(e.value(), KdlValue::Bool(true)));
    match key {
        "text" => r.text(cx, "text").map(Content::Text),
        "source" => {
            let written = r.string(cx, "source")?;
            let path = cx.resolve(&written.value, written.span)?;
            cx.uses.push(FileUse {
                path: path.clone(),
                span: written.span,
                text: text_only || interpolated,
                interpolate: interpolated,
            });
            Some(Content::Source(Spanned::new(path, written.span)))
        }
        "secret" => reference(cx, r, "secret", RefRole::Secret).map(Content::Secret),
        _ => reference(cx, r, "fetch", RefRole::Fetch).map(Content::Fetch),
    }
}

/// `interpolate=#true`: only meaningful for `source`/`fetch` content.
pub(super) fn interpolate(cx: &mut Cx, r: &mut NodeReader, content: Option<&Content>) -> bool {
    let Some(flag) = r.bool(cx, "interpolate") else {
        return false;
    };
    if let Some(Content::Secret(secret)) = content {
        cx.error(
            Diagnostic::new(
                codes::CONFLICTING_PROPERTIES,
                "`interpolate` does not apply to `secret`",
            )
            .at(flag.span)
            .label("no effect on a secret")
            .note(secret.span, "the secret's plaintext is delivered as it is")
            .help("remove `interpolate`; to embed a secret in a text, interpolate a `source` file that uses `${secret.NAME}`"),
        );
    }
    if let Some(Content::Text(text)) = content {
        let kind = r.kind();
        cx.error(
            Diagnostic::new(
                codes::CONFLICTING_PROPERTIES,
                "`interpolate` does not apply to `text`",
            )
            .at(flag.span)
            .label("no effect on inline text")
            .note(text.span, "inline text is always interpolated")
            .help(format!(
                "remove `interpolate` from this `{kind}`; write `$${{` for a literal `${{`"
            )),
        );
    }
    flag.value
}

/// `mode=0o640`: octal, from 0o000 to 0o777; 0o644 when not written.
pub(super) fn mode(cx: &mut Cx, r: &mut NodeReader) -> Spanned<u32> {
    let default = Spanned::new(DEFAULT_MODE, r.header(cx));
    let Some(e) = r.prop("mode") else {
        return default;
    };
    let span = cx.value_span(e);
    let written = repr(e);
    let out_of_range = || {
        (
            format!("mode `{written}` is out of range"),
            "modes are permission bits from 0o000 to 0o777; setuid, setgid and sticky bits are not supported"
                .to_string(),
        )
    };
    let problem = match e.value() {
        KdlValue::Integer(n) if *n < 0 => out_of_range(),
        KdlValue::Integer(n) if written.starts_with("0o") => match u32::try_from(*n) {
            Ok(m) if m <= 0o777 => return Spanned::new(m, span),
            _ => out_of_range(),
        },
        KdlValue::Integer(n) => {
            // `mode=644` almost always means 0o644; say so rather than
            // reading it as decimal.
            let digits = written.trim_start_matches('0');
            if written.chars().all(|c| ('0'..='7').contains(&c)) {
                let digits = if digits.is_empty() { "0" } else { digits };
                (
                    "`mode` must be written in octal".to_string(),
                    format!("write `mode=0o{digits}`"),
                )
            } else if *n <= 0o777 {
                (
                    "`mode` must be written in octal".to_string(),
                    format!("write `mode=0o{n:o}`: the same value in octal"),
                )
            } else {
                out_of_range()
            }
        }
        KdlValue::String(s) => {
            let digits = s.trim_start_matches("0o").trim_start_matches('0');
            let help = if !digits.is_empty() && digits.chars().all(|c| ('0'..='7').contains(&c)) {
                format!("write an octal number without quotes: `mode=0o{digits}`")
            } else {
                "write an octal number without quotes, like `mode=0o640`".to_string()
            };
            (
                format!("`mode` must be an octal number, found a string `{written}`"),
                help,
            )
        }
        _ => {
            cx.error(wrong_type(
                e,
                span,
                "`mode`",
                "an octal number",
                Some("write it like `mode=0o640`".into()),
            ));
            return default;
        }
    };
    let (message, help) = problem;
    cx.error(
        Diagnostic::new(codes::BAD_MODE, message)
            .at(span)
            .label("bad mode")
            .help(help),
    );
    default
}
