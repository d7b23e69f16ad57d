//! The `lxc` children that declare things inside the template: groups,
//! users, files, unpacked downloads, services and delivered secrets, each
//! checked as far as it can be without the packages.

use std::collections::BTreeMap;

use kdl::KdlNode;

use super::check;
use super::codes;
use super::content::{content, interpolate, mode};
use super::cx::Cx;
use super::reader::NodeReader;
use super::values::{arg, bad, int, present, ref_arg, words};
use crate::decl::{
    Content, LxcArchive, LxcFile, LxcGroup, LxcSecret, LxcService, LxcUser, RefRole, Spanned,
};
use crate::diag::{Diagnostic, Span};

/// The mode of a delivered secret when `mode=` is not written.
pub const DEFAULT_SECRET_FILE_MODE: u32 = 0o400;

/// Where no file of a template may go: the kernel's and systemd's
/// filesystems, mounted over the template at boot.
pub(super) const HIDDEN_AT_BOOT: &[&str] = &["/proc", "/sys", "/dev", "/run", "/tmp"];

/// A user or group name as Debian's adduser accepts it (system names may
/// start with `_`).
fn account_name(cx: &mut Cx, v: &Spanned<String>, what: &str) -> bool {
    let b = v.value.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 32
        && b.first()
            .is_some_and(|c| c.is_ascii_lowercase() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-".contains(c));
    if !ok {
        bad(
            cx,
            codes::BAD_ACCOUNT,
            v.span,
            &format!("not a {what} name"),
            (
                format!("`{}` is not a valid {what} name", v.value),
                Some(format!(
                    "{what} names start with a lowercase letter or `_` and use lowercase letters, digits, `_` and `-` (at most 32)"
                )),
            ),
        );
    }
    ok
}

/// The ids adduser gives system accounts are at most 999; ids from 1000
/// are for people, and 65534 is `nobody`.
const MAX_ID: u32 = 65533;

pub(super) fn group(cx: &mut Cx, child: &KdlNode) -> Option<LxcGroup> {
    let mut c = NodeReader::new(cx, child);
    let name = arg(cx, &mut c, "group \"media\"");
    let gid = int(cx, &mut c, "gid", MAX_ID, codes::BAD_ACCOUNT);
    c.finish(cx);
    let name = name?;
    account_name(cx, &name, "group").then(|| LxcGroup {
        name,
        gid,
        span: cx.span(child.span()),
    })
}

pub(super) fn user(cx: &mut Cx, child: &KdlNode) -> Option<LxcUser> {
    let mut c = NodeReader::new(cx, child);
    let name = arg(cx, &mut c, "user \"traefik\"");
    let uid = int(cx, &mut c, "uid", MAX_ID, codes::BAD_ACCOUNT);
    let group = c.string(cx, "group");
    let groups = c.string(cx, "groups");
    let home = c.string(cx, "home");
    let shell = c.string(cx, "shell");
    c.finish(cx);
    let name = name?;
    let mut ok = account_name(cx, &name, "user");
    if let Some(g) = &group {
        ok &= account_name(cx, g, "group");
    }
    let mut extra = Vec::new();
    if let Some(g) = &groups {
        for v in words(g) {
            ok &= account_name(cx, &v, "group");
            extra.push(v);
        }
    }
    for p in [&home, &shell].into_iter().flatten() {
        if let Err(problem) = check::destination(&p.value) {
            bad(
                cx,
                codes::BAD_DESTINATION,
                p.span,
                "not an absolute path",
                problem,
            );
            ok = false;
        }
    }
    ok.then(|| LxcUser {
        name,
        uid,
        group,
        groups: extra,
        home,
        shell,
        span: cx.span(child.span()),
    })
}

/// A clean absolute path in the template, outside what is mounted over it.
fn template_path(cx: &mut Cx, p: &Spanned<String>, what: &str) -> bool {
    if let Err(problem) = check::destination(&p.value) {
        bad(
            cx,
            codes::BAD_DESTINATION,
            p.span,
            &format!("not {what}"),
            problem,
        );
        return false;
    }
    if let Some(mount) = HIDDEN_AT_BOOT
        .iter()
        .find(|m| p.value == **m || p.value.starts_with(&format!("{m}/")))
    {
        let help = if *mount == "/run" {
            "secrets go to /run at activation: declare `secret \"NAME\" path=\"/run/…\"`; anything else belongs under /etc, /usr or /var".to_string()
        } else {
            format!(
                "{mount} is mounted over the template at boot; put the file under /etc, /usr or /var"
            )
        };
        bad(
            cx,
            codes::BAD_DESTINATION,
            p.span,
            "hidden at boot",
            (
                format!(
                    "`{}` would be hidden: {mount} is not part of a template",
                    p.value
                ),
                Some(help),
            ),
        );
        return false;
    }
    true
}

/// Owner and group of a file (`root` when not written).
fn owner_group(
    cx: &mut Cx,
    c: &mut NodeReader,
    span: Span,
) -> Option<(Spanned<String>, Spanned<String>)> {
    let owner = c.string(cx, "owner");
    let group = c.string(cx, "group");
    let mut ok = true;
    if let Some(o) = &owner {
        ok &= account_name(cx, o, "user");
    }
    if let Some(g) = &group {
        ok &= account_name(cx, g, "group");
    }
    ok.then(|| {
        (
            owner.unwrap_or_else(|| Spanned::new("root".into(), span)),
            group.unwrap_or_else(|| Spanned::new("root".into(), span)),
        )
    })
}

/// `file "/etc/x" text=…|source=…|fetch=… [interpolate] [mode] [owner] [group]`.
pub(super) fn file(cx: &mut Cx, child: &KdlNode) -> Option<LxcFile> {
    let mut c = NodeReader::new(cx, child);
    let path = arg(cx, &mut c, "file \"/etc/motd\" text=\"…\"");
    let content_ = content(cx, &mut c, "file", false);
    let interpolate_ = interpolate(cx, &mut c, content_.as_ref());
    let mode_ = mode(cx, &mut c);
    let span = cx.span(child.span());
    let owners = owner_group(cx, &mut c, span);
    c.finish(cx);
    if let Some(Content::Secret(r)) = &content_ {
        cx.error(
            Diagnostic::new(
                codes::SECRET_IN_TEMPLATE,
                format!("a template cannot carry secret `{}`", r.name),
            )
            .at(r.span)
            .label("baked into a public template")
            .help(format!(
                "templates are public (they sit on Proxmox storage): declare `secret \"{}\" path=\"/run/secrets/{}\"` and the deployer delivers it at activation",
                r.name, r.name
            )),
        );
        return None;
    }
    if let (true, Some(Content::Fetch(r))) = (interpolate_, &content_) {
        cx.error(
            Diagnostic::new(
                codes::CONFLICTING_PROPERTIES,
                "`interpolate` applies to recipe files, not downloads, in a template",
            )
            .at(r.span)
            .label("a download")
            .help("interpolate a `source` file of the recipes, or deliver the download as it is"),
        );
        return None;
    }
    let path = path?;
    let good = template_path(cx, &path, "a file path");
    let (owner, group) = owners?;
    (good).then_some(LxcFile {
        path,
        content: content_?,
        interpolate: interpolate_,
        mode: mode_,
        owner,
        group,
        span,
    })
}

/// `unpack "FETCH" to="/dir" [strip-components=N] [include="a b"] [owner] [group]`.
pub(super) fn unpack(cx: &mut Cx, child: &KdlNode) -> Option<LxcArchive> {
    let mut c = NodeReader::new(cx, child);
    let fetch = ref_arg(
        cx,
        &mut c,
        RefRole::Unpack,
        "a download's name",
        "unpack \"traefik-release\" to=\"/usr/local/bin\"",
    );
    let to = if c.prop("to").is_some() {
        c.string(cx, "to")
    } else {
        c.missing(cx, "to", "to=\"/usr/local/bin\"");
        None
    };
    let strip = int(cx, &mut c, "strip-components", 64, codes::BAD_DESTINATION).unwrap_or(0);
    let include = c.string(cx, "include");
    let span = cx.span(child.span());
    let owners = owner_group(cx, &mut c, span);
    c.finish(cx);
    let to = to?;
    let mut ok = template_path(cx, &to, "a directory");
    let mut paths = Vec::new();
    if let Some(inc) = &include {
        for part in words(inc) {
            let clean =
                !part.starts_with('/') && part.split('/').all(|x| !matches!(x, "" | "." | ".."));
            if !clean {
                bad(
                    cx,
                    codes::BAD_DESTINATION,
                    part.span,
                    "not a path in the archive",
                    (
                        format!("`{}` is not a clean relative path", part.value),
                        Some("name members as the archive lists them after `strip-components`, like `traefik` or `bin/tool`".into()),
                    ),
                );
                ok = false;
            }
            paths.push(part);
        }
    }
    let (owner, group) = owners?;
    ok.then_some(LxcArchive {
        fetch: fetch?,
        to,
        strip_components: strip,
        include: paths,
        owner,
        group,
        span,
    })
}

const UNIT_SUFFIXES: &[&str] = &[
    ".service", ".socket", ".timer", ".path", ".target", ".mount",
];

/// `service "UNIT" [exec=… description=… user=… group=… working-directory=…] { env "K" "V" }`.
pub(super) fn service(cx: &mut Cx, child: &KdlNode) -> Option<LxcService> {
    let mut c = NodeReader::new(cx, child);
    let unit = arg(cx, &mut c, "service \"dnsdist\"");
    let exec = c.string(cx, "exec");
    let description = c.string(cx, "description");
    let user = c.string(cx, "user");
    let group = c.string(cx, "group");
    let wd = c.string(cx, "working-directory");
    let envs = c.children(cx, &["env"]);
    c.finish(cx);
    let mut ok = true;
    let mut environment = BTreeMap::new();
    for e in envs {
        let mut ec = NodeReader::new(cx, e);
        let key = arg(cx, &mut ec, "env \"TZ\" \"Europe/Berlin\"");
        let value = arg(cx, &mut ec, "env \"TZ\" \"Europe/Berlin\"");
        ec.finish(cx);
        let (Some(key), Some(value)) = (key, value) else {
            ok = false;
            continue;
        };
        let good = key
            .value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !good {
            bad(
                cx,
                codes::BAD_KEY,
                key.span,
                "not a variable name",
                (
                    format!("`{}` is not an environment variable name", key.value),
                    Some("use letters, digits and `_`, not starting with a digit".into()),
                ),
            );
            ok = false;
            continue;
        }
        if value.value.contains(['\n', '\0']) {
            bad(
                cx,
                codes::BAD_KEY,
                value.span,
                "multi-line value",
                ("an environment value cannot span lines".to_string(), None),
            );
            ok = false;
            continue;
        }
        if let Some(first) = environment
            .get(&key.value)
            .map(|v: &Spanned<String>| v.span)
        {
            cx.error(
                Diagnostic::new(
                    codes::DUPLICATE_KEY,
                    format!("`env \"{}\"` is given twice", key.value),
                )
                .at(key.span)
                .label("given again here")
                .note(first, "first given here")
                .help("keep one of them"),
            );
            ok = false;
            continue;
        }
        environment.insert(key.value, value);
    }
    let unit = unit?;
    let unit_name = if UNIT_SUFFIXES.iter().any(|s| unit.value.ends_with(s)) {
        unit.value.clone()
    } else {
        format!("{}.service", unit.value)
    };
    let stem = UNIT_SUFFIXES
        .iter()
        .find_map(|s| unit_name.strip_suffix(s))
        .unwrap_or_default();
    let unit_ok = !stem.is_empty()
        && unit_name.len() <= 255
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.@-\\".contains(&b));
    if !unit_ok {
        bad(
            cx,
            codes::BAD_UNIT,
            unit.span,
            "not a unit name",
            (
                format!("`{}` is not a systemd unit name", unit.value),
                Some("write the unit as systemctl names it: `dnsdist` or `dnsdist.service`".into()),
            ),
        );
        ok = false;
    }
    if let Some(e) = &exec {
        if !unit_name.ends_with(".service") {
            bad(
                cx,
                codes::CONFLICTING_PROPERTIES,
                e.span,
                "only for services",
                (
                    format!("`exec` makes a service, but `{unit_name}` is not one"),
                    Some("name the unit without a suffix or with `.service`".into()),
                ),
            );
            ok = false;
        }
        if !e.value.starts_with('/') {
            let first = e.value.split_whitespace().next().unwrap_or_default();
            bad(
                cx,
                codes::BAD_DESTINATION,
                e.span,
                "not an absolute command",
                (
                    format!("`exec` must start with an absolute path, found `{first}`"),
                    Some(format!("write the full path, like `/usr/bin/{first}`")),
                ),
            );
            ok = false;
        }
        if e.value.contains('\n') {
            bad(
                cx,
                codes::BAD_DESTINATION,
                e.span,
                "multi-line command",
                ("`exec` is one command line".to_string(), None),
            );
            ok = false;
        }
    } else if let Some(d) = &description {
        bad(
            cx,
            codes::CONFLICTING_PROPERTIES,
            d.span,
            "only with `exec`",
            (
                "`description` describes a unit hlb writes (with `exec`)".to_string(),
                Some("the package's unit keeps its own description: remove it".into()),
            ),
        );
        ok = false;
    }
    for (v, what) in [(&user, "user"), (&group, "group")] {
        if let Some(v) = v {
            ok &= account_name(cx, v, what);
        }
    }
    if let Some(w) = &wd
        && let Err(problem) = check::destination(&w.value)
    {
        bad(
            cx,
            codes::BAD_DESTINATION,
            w.span,
            "not an absolute path",
            problem,
        );
        ok = false;
    }
    ok.then(|| LxcService {
        unit: Spanned::new(unit_name, unit.span),
        exec,
        description,
        user,
        group,
        working_directory: wd,
        environment,
        span: cx.span(child.span()),
    })
}

/// `secret "NAME" path="/run/…" [owner] [group] [mode]`.
pub(super) fn secret(cx: &mut Cx, child: &KdlNode) -> Option<LxcSecret> {
    let mut c = NodeReader::new(cx, child);
    let name = ref_arg(
        cx,
        &mut c,
        RefRole::Secret,
        "a secret's name",
        "secret \"db-password\" path=\"/run/secrets/db-password\"",
    );
    let path = if c.prop("path").is_some() {
        c.string(cx, "path")
    } else {
        c.missing(cx, "path", "path=\"/run/secrets/NAME\"");
        None
    };
    let mode_written = present(&mut c, "mode").is_some();
    let mut mode_ = mode(cx, &mut c);
    if !mode_written {
        mode_.value = DEFAULT_SECRET_FILE_MODE;
    }
    let span = cx.span(child.span());
    let owners = owner_group(cx, &mut c, span);
    c.finish(cx);
    let path = path?;
    let mut ok = true;
    if let Err(problem) = check::destination(&path.value) {
        bad(
            cx,
            codes::BAD_DESTINATION,
            path.span,
            "not a file path",
            problem,
        );
        ok = false;
    } else if !path.value.starts_with("/run/") {
        bad(
            cx,
            codes::BAD_DESTINATION,
            path.span,
            "not on tmpfs",
            (
                format!(
                    "`{}` is not under /run: secrets are delivered to tmpfs, never to disk",
                    path.value
                ),
                Some(format!(
                    "write a path under /run, like `/run/secrets/{}`, and point the service's configuration there",
                    path.value.rsplit('/').next().unwrap_or("NAME")
                )),
            ),
        );
        ok = false;
    }
    let (owner, group) = owners?;
    ok.then_some(LxcSecret {
        secret: name?,
        path,
        owner,
        group,
        mode: mode_,
        span,
    })
}
