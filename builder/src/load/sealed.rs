//! The `sealed-secret` reader: a Kubernetes Secret whose values are
//! declared secrets, sealed to a cluster's controller.
//!
//! Everything here is public (names, namespace, type, labels and
//! annotations end up in clear in the SealedSecret); only the `data` values
//! are secret, and they are named, never written. Keys are checked against
//! Kubernetes' rules at load time so a typo fails here and not at apply
//! time; the `sealedsecrets.bitnami.com/` annotations are hlb's to set
//! (from `scope`), so a recipe may not write them.

use std::collections::BTreeMap;

use kdl::{KdlEntry, KdlValue};

use super::check;
use super::codes;
use super::cx::Cx;
use super::reader::{NodeReader, repr, wrong_type};
use super::suggest::did_you_mean;
use super::values::{KeyProblem, after_from, bad, label_value, qualified_name, reference};
use crate::decl::{Body, Ref, RefRole, Scope, SealedSecretDecl, Spanned};
use crate::diag::{Diagnostic, Span};

/// The annotation prefix the sealed-secrets controller reads (scope).
const RESERVED_PREFIX: &str = "sealedsecrets.bitnami.com/";

pub(super) fn sealed_secret(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let target = if r.prop("target").is_none() {
        r.missing(cx, "target", "target=\"home\"");
        None
    } else {
        reference(cx, r, "target", RefRole::SealedSecretTarget)
    };
    // A bad scope is reported and the rest still read, so one run reports
    // every problem of the node.
    let mut scope_ok = true;
    let scope = match r.literal(cx, "scope", "scopes") {
        None => Spanned::new(Scope::Strict, r.header(cx)),
        Some(s) => match Scope::parse(&s.value) {
            Some(k) => Spanned::new(k, s.span),
            None => {
                let names: Vec<&str> = Scope::ALL.iter().map(Scope::as_str).collect();
                let help = did_you_mean(&s.value, names.iter().copied()).unwrap_or_else(|| {
                    "write `strict` (the default), `namespace-wide` or `cluster-wide`".into()
                });
                cx.error(
                    Diagnostic::new(
                        codes::BAD_SCOPE,
                        format!("`{}` is not a sealed-secret scope", s.value),
                    )
                    .at(s.span)
                    .label("unknown scope")
                    .help(help),
                );
                scope_ok = false;
                Spanned::new(Scope::Strict, s.span)
            }
        },
    };
    let namespace_written = r.prop("namespace").is_some();
    let namespace = r
        .string(cx, "namespace")
        .filter(|ns| match check::namespace(&ns.value) {
            Ok(()) => true,
            Err(p) => {
                bad(cx, codes::BAD_NAMESPACE, ns.span, "not a namespace", p);
                false
            }
        });
    if !namespace_written && scope.value != Scope::ClusterWide {
        let kind = r.kind();
        cx.error(
            Diagnostic::new(
                codes::MISSING_VALUE,
                format!("`{kind}` needs `namespace`"),
            )
            .at(r.header(cx))
            .label("`namespace` is missing")
            .help(format!(
                "a {} SealedSecret is bound to its namespace: add `namespace=\"…\"`, or write `scope=\"cluster-wide\"`",
                scope.value.as_str()
            )),
        );
    }
    let secret_type = r
        .string(cx, "type")
        .unwrap_or_else(|| Spanned::new("Opaque".to_string(), r.header(cx)));
    let children = r.children(cx, &["data", "label", "annotation", "after"]);
    let mut data: BTreeMap<String, Ref> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    let mut first_at: BTreeMap<(&str, String), Span> = BTreeMap::new();
    for &child in &children {
        let what = child.name().value();
        if what == "after" {
            continue;
        }
        let mut c = NodeReader::new(cx, child);
        let key = key_arg(cx, &mut c);
        let entry = match what {
            "data" => {
                let secret = if c.prop("secret").is_none() {
                    c.missing(cx, "secret", "secret=\"secret-name\"");
                    None
                } else {
                    reference(cx, &mut c, "secret", RefRole::Secret)
                };
                key.zip(secret).map(|(k, s)| (k, Entry::Data(s)))
            }
            _ => {
                let value = value_arg(cx, &mut c, what);
                key.zip(value).map(|(k, v)| (k, Entry::Meta(v)))
            }
        };
        c.finish(cx);
        let Some((key, entry)) = entry else { continue };
        if !check_key(cx, what, &key, &entry) {
            continue;
        }
        if let Some(first) = first_at.get(&(what, key.value.clone())) {
            cx.error(
                Diagnostic::new(
                    codes::DUPLICATE_KEY,
                    format!("`{what}` key `{}` is given twice", key.value),
                )
                .at(key.span)
                .label("given again here")
                .note(*first, "first given here")
                .help("keep one of them"),
            );
            continue;
        }
        first_at.insert((what, key.value.clone()), key.span);
        match (what, entry) {
            ("data", Entry::Data(s)) => {
                data.insert(key.value, s);
            }
            ("label", Entry::Meta(v)) => {
                labels.insert(key.value, v);
            }
            (_, Entry::Meta(v)) => {
                annotations.insert(key.value, v);
            }
            (_, Entry::Data(_)) => {}
        }
    }
    let has_data = children.iter().any(|c| c.name().value() == "data");
    if !has_data {
        let kind = r.kind();
        cx.error(
            Diagnostic::new(codes::MISSING_VALUE, format!("`{kind}` needs `data`"))
                .at(r.header(cx))
                .label("no `data` child")
                .help("add a block with at least one value: `{ data \"api-token\" secret=\"cloudflare-token\" }`"),
        );
    }
    let after = after_from(cx, r, &children);
    if !scope_ok {
        return None;
    }
    Some(Body::SealedSecret(SealedSecretDecl {
        target: target?,
        namespace,
        scope,
        secret_type,
        data,
        labels,
        annotations,
        after,
    }))
}

enum Entry {
    Data(Ref),
    Meta(Spanned<String>),
}

/// The key argument of `data`, `label` or `annotation`: a literal string.
fn key_arg(cx: &mut Cx, c: &mut NodeReader) -> Option<Spanned<String>> {
    let kind = c.kind();
    let Some(e) = c.next_arg() else {
        let example = match kind {
            "data" => "data \"api-token\" secret=\"cloudflare-token\"",
            "label" => "label \"app.kubernetes.io/part-of\" \"cert-manager\"",
            _ => "annotation \"example.org/owner\" \"ops\"",
        };
        c.missing_arg(cx, "a key", example);
        return None;
    };
    let (s, span) = string_arg(cx, e, kind, "key")?;
    cx.literal(s, span, "keys").map(|v| Spanned::new(v, span))
}

/// The value argument of `label` or `annotation`: an interpolated string.
fn value_arg(cx: &mut Cx, c: &mut NodeReader, kind: &str) -> Option<Spanned<String>> {
    let Some(e) = c.next_arg() else {
        c.missing_arg(
            cx,
            "a value",
            &format!("{kind} \"example.org/key\" \"value\""),
        );
        return None;
    };
    let (s, span) = string_arg(cx, e, kind, "value")?;
    cx.interpolate(s, span).ok().map(|v| Spanned::new(v, span))
}

fn string_arg<'e>(cx: &mut Cx, e: &'e KdlEntry, kind: &str, what: &str) -> Option<(&'e str, Span)> {
    let span = cx.value_span(e);
    match e.value() {
        KdlValue::String(s) => Some((s.as_str(), span)),
        _ => {
            let help = format!("write it in quotes: `\"{}\"`", repr(e));
            cx.error(wrong_type(
                e,
                span,
                &format!("the {what} of `{kind}`"),
                "a string",
                Some(help),
            ));
            None
        }
    }
}

/// Report a key (or label value) Kubernetes would refuse; whether it is fine.
fn check_key(cx: &mut Cx, what: &str, key: &Spanned<String>, entry: &Entry) -> bool {
    let problem = match what {
        "data" => data_key(&key.value),
        _ => qualified_name(&key.value),
    };
    let problem = problem.or_else(|| {
        (what == "annotation" && key.value.starts_with(RESERVED_PREFIX)).then(|| {
            (
                format!("`{}` is set by hlb", key.value),
                "hlb writes the `sealedsecrets.bitnami.com/` annotations from `scope`: remove it, and set `scope=` instead".to_string(),
            )
        })
    });
    if let Some((message, help)) = problem {
        cx.error(
            Diagnostic::new(codes::BAD_KEY, message)
                .at(key.span)
                .label(format!("not a valid {what} key"))
                .help(help),
        );
        return false;
    }
    if let (Entry::Meta(value), "label") = (entry, what)
        && let Some((message, help)) = label_value(&value.value)
    {
        cx.error(
            Diagnostic::new(codes::BAD_KEY, message)
                .at(value.span)
                .label("not a valid label value")
                .help(help),
        );
        return false;
    }
    true
}

/// A Secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters.
fn data_key(k: &str) -> KeyProblem {
    let ok = !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        && k != "."
        && k != "..";
    (!ok).then(|| {
        (
            format!("`{k}` is not a Secret data key"),
            "data keys use letters, digits, `-`, `_` and `.` (at most 253), e.g. `api-token`"
                .into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_keys() {
        for ok in ["api-token", "tls.crt", "_x", "A.b-c_d"] {
            assert!(data_key(ok).is_none(), "{ok}");
        }
        for bad in ["", "a/b", "a b", ".", "..", &"x".repeat(254)] {
            assert!(data_key(bad).is_some(), "{bad}");
        }
        for ok in ["app", "app.kubernetes.io/part-of", "example.org/x_y", "a1"] {
            assert!(qualified_name(ok).is_none(), "{ok}");
        }
        for bad in [
            "",
            "/x",
            "Example.org/x",
            "a/-x",
            "x-",
            &"x".repeat(64),
            "a//b",
        ] {
            assert!(qualified_name(bad).is_some(), "{bad}");
        }
        assert!(label_value("").is_none());
        assert!(label_value("cert-manager").is_none());
        assert!(label_value("two words").is_some());
    }
}
