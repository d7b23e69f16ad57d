//! Names and references across the whole lab.
//!
//! Names are unique across all kinds (they become store names and target
//! names), except that secrets have a namespace of their own: a secret names
//! a value, not an artifact, and the file that delivers it is naturally
//! called the same. Only `secret=`/`${secret.…}` references look there. Every reference must name a declaration of a kind its role allows;
//! resolving it records that kind in the [`Ref`]. References that order or
//! feed declarations (`after`, `fetch=`) must not form a cycle.
//!
//! Everything here is linear in the number of declarations and references
//! (map lookups, one depth-first search), except suggestions for misspelled
//! names, which are bounded by [`MAX_SUGGESTIONS`].

use std::collections::{BTreeMap, BTreeSet};

use super::codes;
use super::state::Loader;
use super::suggest::did_you_mean;
use crate::decl::{Decl, Kind, RefRole};
use crate::diag::{Diagnostic, Span};

/// A name some top-level node declares, whether or not its body was usable.
pub(crate) struct Declared {
    pub name: String,
    pub kind: Kind,
    pub span: Span,
}

/// After this many "did you mean" searches, stop searching: each scans all
/// names, and a lab with thousands of broken references needs no more hints.
const MAX_SUGGESTIONS: usize = 64;

/// The declarations by namespace (`true`: secrets) and name.
pub(crate) type Index<'a> = BTreeMap<(bool, &'a str), &'a Declared>;

/// Report duplicate names; the map from name to the first declaration.
pub(crate) fn index_names<'a>(ld: &mut Loader, declared: &'a [Declared]) -> Index<'a> {
    let mut index: Index = BTreeMap::new();
    for d in declared {
        let key = (d.kind == Kind::Secret, d.name.as_str());
        if let Some(first) = index.get(&key) {
            let same = if first.kind == d.kind {
                format!("another `{}`", d.kind)
            } else {
                format!("a `{}` and a `{}`", first.kind, d.kind)
            };
            ld.diags.push(
                Diagnostic::new(
                    codes::DUPLICATE_NAME,
                    format!("the name `{}` is declared twice ({same})", d.name),
                )
                .at(d.span)
                .label("declared again here")
                .note(first.span, "first declared here")
                .help(if key.0 {
                    "secret names are unique: rename one of them"
                } else {
                    "names are unique across all kinds but secrets: rename one of them"
                }),
            );
        } else {
            index.insert(key, d);
        }
    }
    index
}

/// Resolve every reference of `decls`; report dangling ones and ones of the
/// wrong kind. `check_dangling` is false when some recipe file could not be
/// read, as the missing declaration may be in it; references to names that
/// were declared but invalid (already reported) are not reported again.
pub(crate) fn resolve_refs(
    ld: &mut Loader,
    decls: &mut [Decl],
    index: &Index,
    invalid_names: &BTreeSet<String>,
    check_dangling: bool,
) {
    let mut suggestions = 0;
    for decl in decls.iter_mut() {
        let referrer = decl.name.value.clone();
        for (role, r) in decl.body.refs_mut() {
            let cx = RefCx {
                index,
                invalid_names,
                check_dangling,
            };
            resolve_one(ld, &cx, &referrer, role, r, &mut suggestions);
        }
    }
}

/// What resolving one reference needs to know about the whole lab.
pub(crate) struct RefCx<'a, 'd> {
    pub index: &'a Index<'d>,
    pub invalid_names: &'a BTreeSet<String>,
    pub check_dangling: bool,
}

/// Resolve one reference made by `referrer`: record the kind it names, or
/// report it as dangling or of the wrong kind. Whether it resolved.
pub(crate) fn resolve_one(
    ld: &mut Loader,
    cx: &RefCx,
    referrer: &str,
    role: RefRole,
    r: &mut crate::decl::Ref,
    suggestions: &mut usize,
) -> bool {
    let allowed = role.allowed();
    let secret = role == RefRole::Secret;
    // Not in its own namespace but in the other: the wrong kind, not dangling.
    let found = cx
        .index
        .get(&(secret, r.name.as_str()))
        .or_else(|| cx.index.get(&(!secret, r.name.as_str())));
    let Some(target) = found else {
        if !cx.check_dangling || cx.invalid_names.contains(&r.name) {
            return false;
        }
        let help = if *suggestions < MAX_SUGGESTIONS {
            *suggestions += 1;
            let candidates = cx
                .index
                .iter()
                .filter(|((space, _), d)| *space == secret && allowed.contains(&d.kind))
                .map(|(_, d)| d)
                .map(|d| d.name.as_str());
            did_you_mean(&r.name, candidates)
        } else {
            None
        };
        let help = help.unwrap_or_else(|| {
            format!(
                "declare it, e.g. `{} \"{}\" …`, or fix the name",
                allowed[0], r.name
            )
        });
        ld.diags.push(
            Diagnostic::new(
                codes::DANGLING_REFERENCE,
                format!(
                    "`{}` refers to `{}`, which is not declared",
                    referrer, r.name
                ),
            )
            .at(r.span)
            .label(format!("no {} of this name", kinds_bare(allowed)))
            .help(help),
        );
        return false;
    };
    if allowed.contains(&target.kind) {
        r.kind = target.kind;
        return true;
    }
    ld.diags.push(
        Diagnostic::new(
            codes::WRONG_KIND,
            format!(
                "`{}` must name {}, but `{}` is a `{}`",
                role.property(),
                kinds_phrase(allowed),
                r.name,
                target.kind
            ),
        )
        .at(r.span)
        .label(format!("a `{}`", target.kind))
        .note(target.span, format!("`{}` is declared here", r.name))
        .help(role_help(role)),
    );
    false
}

/// "`cluster` or `host`"; "`a`, `b` or `c`".
fn kinds_bare(kinds: &[Kind]) -> String {
    either(kinds.iter().map(|k| format!("`{k}`")).collect())
}

/// "a `cluster` or a `host`".
fn kinds_phrase(kinds: &[Kind]) -> String {
    either(kinds.iter().map(|k| format!("a `{k}`")).collect())
}

fn either(mut items: Vec<String>) -> String {
    match items.pop() {
        Some(last) if !items.is_empty() => format!("{} or {last}", items.join(", ")),
        Some(last) => last,
        None => String::new(),
    }
}

fn role_help(role: RefRole) -> &'static str {
    match role {
        RefRole::FileTarget => "a file is delivered to a `host` or a `cluster`",
        RefRole::ManifestTarget => "manifests are applied to a `cluster`",
        RefRole::SealedSecretTarget => "a sealed-secret is sealed for, and applied to, a `cluster`",
        RefRole::Fetch => "`fetch=` takes the name of a `fetch` declaration",
        RefRole::Unpack => {
            "`unpack` takes the name of a `fetch` declaration: the archive to unpack"
        }
        RefRole::After => {
            "`after` orders deployment after a `manifest`, a `file` or a `sealed-secret`"
        }
        RefRole::Secret => {
            "name a `secret` declaration: `secret \"NAME\"` reads `<secrets-dir>/NAME.tag`"
        }
    }
}

/// Report every cycle through dependency references (`after`, `fetch=`),
/// each at the reference that closes it. `decls` is sorted by name and its
/// references are resolved.
pub(crate) fn check_cycles(ld: &mut Loader, decls: &[Decl]) {
    // Dependencies never name secrets.
    let position = |name: &str| crate::decl::position(decls, name, false);
    // edges[i]: (target index, span of the reference, role)
    let edges: Vec<Vec<(usize, Span, RefRole)>> = decls
        .iter()
        .map(|d| {
            d.body
                .refs()
                .into_iter()
                .filter(|(role, _)| role.is_dependency())
                .filter_map(|(role, r)| Some((position(&r.name)?, r.span, role)))
                .collect()
        })
        .collect();
    let n = decls.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut depth = vec![usize::MAX; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        depth[start] = 0;
        while let Some(top) = stack.last_mut() {
            let (at, next) = (top.0, top.1);
            let Some(&(to, span, role)) = edges[at].get(next) else {
                state[at] = 2;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match state[to] {
                0 => {
                    state[to] = 1;
                    depth[to] = stack.len();
                    stack.push((to, 0));
                }
                1 => {
                    let members = &stack[depth[to]..];
                    let mut names: Vec<&str> = members
                        .iter()
                        .map(|&(i, _)| decls[i].name.value.as_str())
                        .collect();
                    names.push(&decls[to].name.value);
                    let mut d = Diagnostic::new(
                        codes::DEPENDENCY_CYCLE,
                        format!("dependency cycle: {}", names.join(" → ")),
                    )
                    .at(span)
                    .label(format!(
                        "{}, closing the cycle",
                        edge_text(role, &decls[at].name, &decls[to].name)
                    ))
                    .help("remove one of these `after` or `fetch=` references");
                    for &(i, next) in &members[..members.len() - 1] {
                        let (via, via_span, via_role) = edges[i][next - 1];
                        d = d.note(
                            via_span,
                            edge_text(via_role, &decls[i].name, &decls[via].name),
                        );
                    }
                    ld.diags.push(d);
                }
                _ => {}
            }
        }
    }
}

fn edge_text(role: RefRole, from: &str, to: &str) -> String {
    match role {
        RefRole::Fetch => format!("`{from}` uses the download `{to}`"),
        RefRole::Unpack => format!("`{from}` unpacks the download `{to}`"),
        _ => format!("`{from}` comes after `{to}`"),
    }
}
