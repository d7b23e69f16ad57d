//! The loader's last stage for secrets, once every declaration and recipe
//! file is known.
//!
//! - Each `secret` must have `<secrets-dir>/NAME.age` (checked to exist,
//!   never kept) and a well-formed `NAME.tag` for that very name, which joins
//!   [`Lab::files`](crate::decl::Lab::files): ids hash the tag, so evaluation
//!   never needs an identity and never sees plaintext or ciphertext.
//! - `${secret.NAME}` in an interpolated `source` file of a `file` is a
//!   reference like any other (dangling, wrong kind, did-you-mean), spanned
//!   inside that file; it makes the file secret-bearing (mode 0600 unless
//!   written). In a manifest it is an error: manifests are public.
//! - A `sealed-secret` must target a cluster with a `sealing-cert`, and that
//!   file must be a PEM certificate (and, above all, not a private key).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::codes;
use super::content::DEFAULT_SECRET_MODE;
use super::cx::is_secret_ref;
use super::resolve::{RefCx, resolve_one};
use super::state::Loader;
use crate::decl::{Body, Content, Decl, Kind, RecipeFile, Ref, RefRole};
use crate::diag::{Diagnostic, Span};
use crate::interp;
use crate::io::RelPath;

/// Run every check above; add the tags to `files`.
pub(crate) fn check(
    ld: &mut Loader,
    decls: &mut [Decl],
    refs: &RefCx,
    files: &mut BTreeMap<RelPath, RecipeFile>,
) {
    for d in decls.iter() {
        if let Body::Secret(s) = &d.body {
            read_secret(ld, d, &s.age, &s.tag, files);
        }
    }
    check_certificates(ld, decls, files);
    check_sealed_targets(ld, decls);
    file_secret_refs(ld, decls, refs, files);
    template_secret_refs(ld, decls, files);
}

/// `${secret.NAME}` in an interpolated file of an `lxc` template: refused,
/// since a template is public (design D6); the secret is delivered at
/// activation instead.
fn template_secret_refs(ld: &mut Loader, decls: &[Decl], files: &BTreeMap<RelPath, RecipeFile>) {
    let mut reported: BTreeSet<RelPath> = BTreeSet::new();
    for d in decls {
        let Body::Lxc(l) = &d.body else { continue };
        for f in &l.files {
            let (Content::Source(path), true) = (&f.content, f.interpolate) else {
                continue;
            };
            if !reported.insert(path.value.clone()) {
                continue;
            }
            for r in secret_refs_in(ld, &path.value, files) {
                ld.diags.push(
                    Diagnostic::new(
                        codes::SECRET_IN_TEMPLATE,
                        format!(
                            "container `{}` would bake secret `{}` into its template",
                            d.name.value, r.name
                        ),
                    )
                    .at(r.span)
                    .label("templates are public")
                    .note(path.span, "interpolated into the template here")
                    .help(format!(
                        "declare `secret \"{}\" path=\"/run/secrets/{}\"` in the container and read it from there: the deployer delivers it at activation",
                        r.name, r.name
                    )),
                );
            }
        }
    }
}

fn read_secret(
    ld: &mut Loader,
    d: &Decl,
    age: &RelPath,
    tag: &RelPath,
    files: &mut BTreeMap<RelPath, RecipeFile>,
) {
    let name = &d.name.value;
    let span = d.name.span;
    // Only existence matters: the ciphertext is dropped at once.
    let age_exists = match ld.io.read(age) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            let diag = ld.io_diagnostic(&e, age, "secret file").at(span);
            ld.diags.push(diag);
            return;
        }
    };
    let tag_bytes = match ld.io.read(tag) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            let diag = ld.io_diagnostic(&e, tag, "tag file").at(span);
            ld.diags.push(diag);
            return;
        }
    };
    let set = format!("run `hlb secret set {name}` (or `hlb secret retag`)");
    match (age_exists, tag_bytes) {
        (false, tag) => {
            let (message, help) = if tag.is_some() {
                (
                    format!("secret `{name}` has a tag but no encrypted file `{age}`"),
                    format!("restore `{age}` (from git), or run `hlb secret set {name}`"),
                )
            } else {
                (
                    format!("secret `{name}` has no encrypted file `{age}`"),
                    format!(
                        "run `hlb secret set {name}` to create it, or check the name and the lab's `secrets-dir`"
                    ),
                )
            };
            ld.diags.push(
                Diagnostic::new(codes::SECRET_MISSING, message)
                    .at(span)
                    .label("no such secret")
                    .help(help),
            );
        }
        (true, None) => ld.diags.push(
            Diagnostic::new(
                codes::SECRET_UNTAGGED,
                format!("secret `{name}` has no tag file `{tag}`"),
            )
            .at(span)
            .label("not tagged")
            .help(set),
        ),
        (true, Some(bytes)) => {
            let problem = match std::str::from_utf8(&bytes) {
                Err(_) => Some(format!("{tag}: not UTF-8 text")),
                Ok(text) => match hlb_secrets::Tag::parse(Path::new(tag.as_str()), text) {
                    Err(e) => Some(e.to_string()),
                    Ok(t) if t.name().as_str() != name => Some(format!(
                        "{tag} is the tag of secret `{}`, not of `{name}`",
                        t.name().as_str()
                    )),
                    Ok(_) => None,
                },
            };
            match problem {
                Some(message) => ld.diags.push(
                    Diagnostic::new(codes::BAD_TAG, message)
                        .at(span)
                        .label("unusable tag")
                        .help(set),
                ),
                None => {
                    files.insert(tag.clone(), RecipeFile::new(Arc::from(bytes)));
                }
            }
        }
    }
}

fn check_certificates(ld: &mut Loader, decls: &[Decl], files: &BTreeMap<RelPath, RecipeFile>) {
    let mut seen = BTreeSet::new();
    for d in decls {
        let Body::Cluster(c) = &d.body else { continue };
        let Some(cert) = &c.sealing_cert else {
            continue;
        };
        let Some(file) = files.get(&cert.value) else {
            continue; // unreadable: reported already
        };
        if !seen.insert(&cert.value) {
            continue;
        }
        let text = String::from_utf8_lossy(&file.bytes);
        let problem = if text.contains("PRIVATE KEY-----") {
            Some((
                format!("`{}` holds a private key in clear", cert.value),
                "never commit the controller's private key: keep it as an hlb secret (`hlb secret sealing-key init` does), and point `sealing-cert` at the certificate".to_string(),
            ))
        } else if !text.contains("-----BEGIN CERTIFICATE-----") {
            Some((
                format!("`{}` is not a PEM certificate", cert.value),
                "name the controller's certificate (`-----BEGIN CERTIFICATE-----`, from `kubeseal --fetch-cert` or `hlb secret sealing-key init`)".to_string(),
            ))
        } else {
            None
        };
        if let Some((message, help)) = problem {
            ld.diags.push(
                Diagnostic::new(codes::BAD_CERTIFICATE, message)
                    .at(cert.span)
                    .label("not a certificate")
                    .help(help),
            );
        }
    }
}

fn check_sealed_targets(ld: &mut Loader, decls: &[Decl]) {
    let get = |name: &str| crate::decl::position(decls, name, false).map(|i| &decls[i]);
    for d in decls {
        let Body::SealedSecret(s) = &d.body else {
            continue;
        };
        if s.target.kind != Kind::Cluster {
            continue;
        }
        let Some(cluster) = get(&s.target.name) else {
            continue;
        };
        let Body::Cluster(c) = &cluster.body else {
            continue;
        };
        if c.sealing_cert.is_none() {
            ld.diags.push(
                Diagnostic::new(
                    codes::NO_SEALING_CERT,
                    format!(
                        "`{}` is sealed for cluster `{}`, which has no `sealing-cert`",
                        d.name.value, s.target.name
                    ),
                )
                .at(s.target.span)
                .label("no certificate to seal to")
                .note(cluster.name.span, "declared here without `sealing-cert`")
                .help("run `hlb secret sealing-key init` and add `sealing-cert=\"secrets/sealing-key.crt\"` to the cluster, or point it at the controller's certificate (`kubeseal --fetch-cert`)"),
            );
        }
    }
}

/// `${secret.NAME}` references of the interpolated sources of files and
/// manifests.
fn file_secret_refs(
    ld: &mut Loader,
    decls: &mut [Decl],
    refs: &RefCx,
    files: &BTreeMap<RelPath, RecipeFile>,
) {
    // Per path: the references found, each reported once however many
    // declarations read the file.
    let mut found: BTreeMap<RelPath, Vec<Ref>> = BTreeMap::new();
    let mut reported_public: BTreeSet<RelPath> = BTreeSet::new();
    let mut suggestions = 0;
    for d in decls.iter_mut() {
        let referrer = d.name.value.clone();
        let (content, interpolate, manifest) = match &d.body {
            Body::File(f) => (&f.content, f.interpolate, false),
            Body::Manifest(m) => (&m.content, m.interpolate, true),
            _ => continue,
        };
        let Content::Source(path) = content else {
            continue;
        };
        if !interpolate {
            continue;
        }
        let (path, used_at) = (path.value.clone(), path.span);
        let first_use = !found.contains_key(&path);
        if first_use {
            let refs_here = secret_refs_in(ld, &path, files);
            found.insert(path.clone(), refs_here);
        }
        let here = found.get(&path).cloned().unwrap_or_default();
        if here.is_empty() {
            continue;
        }
        if manifest {
            if reported_public.insert(path.clone()) {
                for r in &here {
                    ld.diags.push(
                        Diagnostic::new(
                            codes::SECRET_IN_PUBLIC_TEXT,
                            format!("manifest `{referrer}` would carry secret `{}` in clear", r.name),
                        )
                        .at(r.span)
                        .label("manifests are public")
                        .note(used_at, "interpolated into a manifest here")
                        .help("a manifest is stored and applied in clear: declare a `sealed-secret` and refer to the Secret it makes"),
                    );
                }
            }
            continue;
        }
        let Body::File(f) = &mut d.body else {
            continue;
        };
        let mut resolved = Vec::with_capacity(here.len());
        for mut r in here {
            let before = ld.diags.len();
            let ok = if first_use {
                resolve_one(
                    ld,
                    refs,
                    &referrer,
                    RefRole::Secret,
                    &mut r,
                    &mut suggestions,
                )
            } else {
                refs.index.contains_key(&(true, r.name.as_str()))
            };
            for diag in &mut ld.diags[before..] {
                diag.notes.push((
                    used_at,
                    "interpolated because of `interpolate=#true`".into(),
                ));
            }
            if ok {
                r.kind = Kind::Secret;
                resolved.push(r);
            }
        }
        f.secret_refs = resolved;
        if !f.mode_written && f.is_secret() {
            f.mode.value = DEFAULT_SECRET_MODE;
        }
    }
}

/// The distinct `${secret.NAME}` references of a recipe file, each spanned
/// at the first place its name is written in the file.
fn secret_refs_in(
    ld: &mut Loader,
    path: &RelPath,
    files: &BTreeMap<RelPath, RecipeFile>,
) -> Vec<Ref> {
    let Some(file) = files.get(path) else {
        return Vec::new();
    };
    let Ok(text) = std::str::from_utf8(&file.bytes) else {
        return Vec::new(); // reported by the UTF-8 check
    };
    let names: Vec<&str> = interp::references(text)
        .into_iter()
        .filter(|n| is_secret_ref(n))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let id = match ld.sources.find(path) {
        Some(id) => id,
        None => ld.sources.add(path.clone(), Arc::from(text)),
    };
    names
        .into_iter()
        .map(|full| {
            let name = &full["secret.".len()..];
            let offset = text
                .find(&format!("${{{full}}}"))
                .map_or_else(|| text.find(full).unwrap_or(0), |at| at + 2);
            Ref {
                kind: Kind::Secret,
                name: name.to_string(),
                span: Span::new(id, offset, full.len()),
            }
        })
        .collect()
}
