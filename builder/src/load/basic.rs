//! The readers of the small kinds: `cluster`, `host`, `fetch`, `file`,
//! `manifest` and `secret`.
//!
//! A reader takes a top-level node and a [`Cx`], asks a [`NodeReader`] for
//! the properties its kind has, checks their values, and builds the kind's
//! [`Body`]. It returns `None` only when something required is missing or
//! unusable; optional values that are bad are reported and defaulted, so
//! later checks still see the declaration. References are read as names
//! here and resolved once every declaration is known (`resolve.rs`).

use super::check;
use super::codes;
use super::content::{DEFAULT_SECRET_MODE, content, interpolate, mode};
use super::cx::{Cx, FileUse};
use super::reader::NodeReader;
use super::values::{after_from, bad, present, reference};
use crate::decl::{
    Body, ClusterDecl, Content, FetchDecl, FileDecl, HostDecl, ManifestDecl, Ref, RefRole,
    SecretDecl, Spanned,
};
use crate::diag::Diagnostic;
use crate::drv::FixedHash;
use crate::io::RelPath;

/// Secret names that name no value a recipe may use: the lab key opens
/// every tag, and a recipe that could deliver it would defeat them.
const RESERVED_SECRETS: &[&str] = &[hlb_secrets::dir::LAB_KEY_NAME];

pub(super) fn cluster(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let api = r.req_string(cx, "api", "api=\"https://10.0.0.10:6443\"")?;
    if let Err(p) = check::url(&api.value, &["https"]) {
        bad(cx, codes::BAD_URL, api.span, "not an https URL", p);
    }
    let sealing_cert = r.string(cx, "sealing-cert").and_then(|written| {
        let path = cx.resolve(&written.value, written.span)?;
        cx.uses.push(FileUse {
            path: path.clone(),
            span: written.span,
            text: false,
            interpolate: false,
        });
        Some(Spanned::new(path, written.span))
    });
    Some(Body::Cluster(ClusterDecl { api, sealing_cert }))
}

pub(super) fn host(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let address = r.req_string(cx, "address", "address=\"10.0.0.20\"")?;
    if let Err(p) = check::address(&address.value) {
        bad(cx, codes::BAD_ADDRESS, address.span, "not an address", p);
    }
    Some(Body::Host(HostDecl { address }))
}

pub(super) fn fetch(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let url = r.req_string(cx, "url", "url=\"https://example.org/file\"");
    let hash = r.string(cx, "hash").and_then(|h| match parse_hash(&h.value) {
        Ok(fixed) => Some(Spanned::new(fixed, h.span)),
        Err(message) => {
            let help = "write `sha256:` or `blake3:` and 64 hex digits, or leave `hash` out and run `hlb lock` to pin it in hlb.lock";
            bad(cx, codes::BAD_HASH, h.span, "not a hash", (message, Some(help.into())));
            None
        }
    });
    let executable = r.bool(cx, "executable").is_some_and(|b| b.value);
    let url = url?;
    // `file:///…` names a local file: as pure as any download, because the
    // bytes are pinned by hash (a mirror copy or a vendored tarball).
    let local = url
        .value
        .strip_prefix("file:///")
        .is_some_and(|p| !p.is_empty());
    if !local && let Err(p) = check::url(&url.value, &["https", "http"]) {
        bad(cx, codes::BAD_URL, url.span, "not a download URL", p);
    }
    Some(Body::Fetch(FetchDecl {
        url,
        hash,
        executable,
    }))
}

pub(super) fn file(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let content = content(cx, r, "file", false);
    let interpolate = interpolate(cx, r, content.as_ref());
    let mode_written = r.prop("mode").is_some();
    let mut mode = mode(cx, r);
    if !mode_written && matches!(content, Some(Content::Secret(_))) {
        mode.value = DEFAULT_SECRET_MODE;
    }
    let target = reference(cx, r, "target", RefRole::FileTarget);
    let path = r.string(cx, "path");
    if let Some(p) = &path
        && let Err(problem) = check::destination(&p.value)
    {
        bad(
            cx,
            codes::BAD_DESTINATION,
            p.span,
            "not a destination path",
            problem,
        );
    }
    match (r.prop("target").is_some(), r.prop("path").is_some()) {
        (true, false) => r.missing(cx, "path", "path=\"/etc/motd\""),
        (false, true) => r.missing(cx, "target", "target=\"edge\""),
        _ => {}
    }
    Some(Body::File(FileDecl {
        content: content?,
        interpolate,
        mode,
        mode_written,
        secret_refs: Vec::new(),
        target,
        path,
    }))
}

pub(super) fn manifest(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    if let Some(e) = present(r, "secret")
        && let Some(key) = e.name()
    {
        cx.error(
            Diagnostic::new(codes::UNKNOWN_PROPERTY, "`manifest` has no property `secret`")
                .at(cx.span(key.span()))
                .label("manifests are public")
                .help("a manifest is stored and applied in clear: declare a `sealed-secret` for the cluster instead"),
        );
    }
    let content = content(cx, r, "manifest", true);
    let interpolate = interpolate(cx, r, content.as_ref());
    let target = if r.prop("target").is_none() {
        r.missing(cx, "target", "target=\"home\"");
        None
    } else {
        reference(cx, r, "target", RefRole::ManifestTarget)
    };
    let namespace = r
        .string(cx, "namespace")
        .filter(|ns| match check::namespace(&ns.value) {
            Ok(()) => true,
            Err(p) => {
                bad(cx, codes::BAD_NAMESPACE, ns.span, "not a namespace", p);
                false
            }
        });
    let after = after(cx, r);
    Some(Body::Manifest(ManifestDecl {
        content: content?,
        interpolate,
        target: target?,
        namespace,
        after,
    }))
}

pub(super) fn secret(
    cx: &mut Cx,
    r: &mut NodeReader,
    name: Option<&Spanned<String>>,
) -> Option<Body> {
    if let Some(e) = present(r, "file")
        && let Some(key) = e.name()
    {
        cx.error(
            Diagnostic::new(codes::UNKNOWN_PROPERTY, "`secret` has no property `file`")
                .at(cx.span(key.span()))
                .label("secrets are found by name")
                .help("a secret lives at `<secrets-dir>/NAME.age` with its tag `NAME.tag` (`secrets-dir` in the `lab` node, `secrets` by default): remove `file`"),
        );
    }
    let name = name?;
    if let Err(e) = hlb_secrets::SecretName::new(&name.value) {
        cx.error(
            Diagnostic::new(
                codes::INVALID_NAME,
                format!("`{}` cannot be a secret name: {e}", name.value),
            )
            .at(name.span)
            .label("invalid secret name")
            .help("secret files are `NAME.age` and `NAME.tag`: choose a name that does not end in `.age` or `.tag`"),
        );
        return None;
    }
    if RESERVED_SECRETS.contains(&name.value.as_str()) {
        cx.error(
            Diagnostic::new(
                codes::INVALID_NAME,
                format!("`{}` is reserved for the lab key", name.value),
            )
            .at(name.span)
            .label("not a secret a recipe may use")
            .help("the lab key makes and checks every tag; it is never delivered anywhere: choose another name"),
        );
        return None;
    }
    let dir = cx.params.secrets_dir.clone()?;
    let in_dir = |ext: &str| RelPath::new(&format!("{dir}/{}.{ext}", name.value)).ok();
    Some(Body::Secret(SecretDecl {
        age: in_dir("age")?,
        tag: in_dir("tag")?,
    }))
}

/// [`FixedHash::parse`], with messages that say what is wrong with the digits.
fn parse_hash(s: &str) -> Result<FixedHash, String> {
    if let Some((algorithm @ ("sha256" | "blake3"), digits)) = s.split_once(':') {
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("`{c}` is not a hex digit"));
        }
        if digits.len() != 64 {
            return Err(format!(
                "a {algorithm} hash has 64 hex digits, this one has {}",
                digits.len()
            ));
        }
    } else if !s.contains(':') && s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{s}` has no algorithm: write `sha256:{s}` (or `blake3:`)"
        ));
    }
    FixedHash::parse(s)
}

/// `after="a"` and/or `after "a" "b"` children, in source order.
fn after(cx: &mut Cx, r: &mut NodeReader) -> Vec<Ref> {
    let children = r.children(cx, &["after"]);
    after_from(cx, r, &children)
}
