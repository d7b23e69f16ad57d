//! One reader per kind of declaration.
//!
//! A reader takes a top-level node and a [`Cx`], asks a [`NodeReader`] for
//! the properties its kind has, checks their values, and builds the kind's
//! [`Body`]. It returns `None` only when something required is missing or
//! unusable; optional values that are bad are reported and defaulted, so
//! later checks still see the declaration. References are read as names
//! here and resolved once every declaration is known (`resolve.rs`).

use kdl::{KdlNode, KdlValue};

use super::check;
use super::codes;
use super::cx::{Cx, FileUse};
use super::reader::{NodeReader, repr, wrong_type};
use super::suggest::did_you_mean;
use crate::decl::{
    Body, ClusterDecl, Content, Decl, FetchDecl, FileDecl, HostDecl, Kind, ManifestDecl, Ref,
    RefRole, SecretDecl, Spanned,
};
use crate::diag::{Diagnostic, Span};
use crate::drv::FixedHash;
use crate::io::RelPath;

/// The default permission bits of a `file`.
pub const DEFAULT_MODE: u32 = 0o644;

/// The default permission bits of a secret-bearing `file`.
pub const DEFAULT_SECRET_MODE: u32 = 0o600;

/// Secret names that name no value a recipe may use: the lab key opens
/// every tag, and a recipe that could deliver it would defeat them.
const RESERVED_SECRETS: &[&str] = &[hlb_secrets::dir::LAB_KEY_NAME];

/// A top-level declaration node, read as far as it could be.
pub(crate) struct ReadNode {
    pub kind: Kind,
    /// `None` when the name is missing or invalid (already reported).
    pub name: Option<Spanned<String>>,
    /// The name as written when it is an invalid string: references to it
    /// are not reported as dangling on top of the invalid name.
    pub invalid_name: Option<String>,
    /// `None` when the body could not be read (already reported).
    pub decl: Option<Decl>,
}

/// Names a top-level node may have besides the kinds.
const OTHER_TOP: &[&str] = &["import", "lab"];

/// Read one top-level node that is neither `import` nor `lab`.
pub(crate) fn read_node(cx: &mut Cx, node: &KdlNode) -> Option<ReadNode> {
    let node_name = node.name().value();
    let Some(kind) = Kind::from_node_name(node_name) else {
        unknown_node(cx, node);
        return None;
    };
    let mut r = NodeReader::new(cx, node);
    let name = r.name(cx);
    let body = match kind {
        Kind::Cluster => cluster(cx, &mut r),
        Kind::Host => host(cx, &mut r),
        Kind::Fetch => fetch(cx, &mut r),
        Kind::File => file(cx, &mut r),
        Kind::Manifest => manifest(cx, &mut r),
        Kind::Secret => secret(cx, &mut r, name.as_ref()),
        Kind::SealedSecret => super::sealed::sealed_secret(cx, &mut r),
        Kind::TalosCluster => super::talos::talos_cluster(cx, &mut r),
        Kind::Lxc => super::lxc::lxc(cx, &mut r, name.as_ref()),
    };
    r.finish(cx);
    let decl = match (&name, body) {
        (Some(name), Some(body)) => Some(Decl {
            kind,
            name: name.clone(),
            span: cx.span(node.span()),
            body,
        }),
        _ => None,
    };
    let invalid_name = match (&name, node.entries().iter().find(|e| e.name().is_none())) {
        (None, Some(e)) => e.value().as_string().map(str::to_string),
        _ => None,
    };
    Some(ReadNode {
        kind,
        name,
        invalid_name,
        decl,
    })
}

fn unknown_node(cx: &mut Cx, node: &KdlNode) {
    let name = node.name().value();
    let known: Vec<&str> = Kind::ALL
        .iter()
        .map(Kind::as_str)
        .chain(OTHER_TOP.iter().copied())
        .collect();
    let help = match name {
        "param" | "deploy-recipient" => format!("`{name}` belongs inside the `lab` node"),
        "after" => {
            "`after` belongs inside a `manifest` node, or write `after=\"name\"` on it".to_string()
        }
        _ => did_you_mean(name, known.iter().copied()).unwrap_or_else(|| {
            format!(
                "the top level takes `import`, `lab` and declarations: {}",
                super::reader::list(&Kind::ALL.iter().map(Kind::as_str).collect::<Vec<_>>())
            )
        }),
    };
    cx.error(
        Diagnostic::new(codes::UNKNOWN_NODE, format!("unknown node `{name}`"))
            .at(cx.span(node.name().span()))
            .label("not a kind of declaration")
            .help(help),
    );
}

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

fn cluster(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
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

fn host(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let address = r.req_string(cx, "address", "address=\"10.0.0.20\"")?;
    if let Err(p) = check::address(&address.value) {
        bad(cx, codes::BAD_ADDRESS, address.span, "not an address", p);
    }
    Some(Body::Host(HostDecl { address }))
}

fn fetch(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
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

fn file(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
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

fn manifest(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
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

fn secret(cx: &mut Cx, r: &mut NodeReader, name: Option<&Spanned<String>>) -> Option<Body> {
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

/// `after="a"` and/or `after "a" "b"` children, in source order.
fn after(cx: &mut Cx, r: &mut NodeReader) -> Vec<Ref> {
    let children = r.children(cx, &["after"]);
    after_from(cx, r, &children)
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
