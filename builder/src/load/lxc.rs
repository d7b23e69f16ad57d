//! The `lxc` reader: a container template from pinned Debian packages, and
//! what the deployer needs to run it.
//!
//! Settings are child nodes, as in `talos-cluster`: `debian "bookworm"`,
//! `packages "a" "b"`, `file "/etc/x" source=…`, `user "NAME"`,
//! `service "UNIT"`, `secret "NAME" path="/run/…"`, `address "…/24"`.
//! What can be checked without the packages is checked here, at the value:
//! paths are absolute and clean (and outside the kernel's and systemd's
//! filesystems), names of packages, units, users and groups follow their
//! rules, a path, user, group, unit or secret is declared once, addresses
//! parse and the gateway is on the subnet, a template carries no secret.
//! Whether an owner or a unit exists is known only once the packages are
//! unpacked: the `lxc-template` compiler decides, and the planner records
//! where each parameter was written so its error points back here.

use std::collections::BTreeMap;

use kdl::{KdlNode, KdlValue};

use super::check;
use super::codes;
use super::cx::Cx;
use super::lxc_items::{file, group, secret, service, unpack, user};
use super::lxc_net::{Address, address, probe};
use super::reader::{NodeReader, repr, wrong_type};
use super::values::{Once, arg, bad, ip, setting};
use crate::decl::{
    Body, DebianBase, LxcArchive, LxcDecl, LxcFile, LxcGroup, LxcNetwork, LxcProbe, LxcSecret,
    LxcService, LxcUser, Spanned,
};
use crate::diag::{Diagnostic, Span};

const SETTINGS: &[&str] = &[
    "hostname",
    "debian",
    "packages",
    "group",
    "user",
    "file",
    "unpack",
    "service",
    "secret",
    "address",
    "nameserver",
    "probe",
];

/// The single-valued settings.
const ONCE: &[&str] = &["hostname", "debian", "address"];

/// The interface a container's address goes on when not written.
pub const DEFAULT_INTERFACE: &str = "eth0";

/// Releases without `-updates` and `-security` suites.
const ROLLING: &[&str] = &["sid", "unstable", "experimental"];

pub(super) fn lxc(cx: &mut Cx, r: &mut NodeReader, name: Option<&Spanned<String>>) -> Option<Body> {
    let children = r.children(cx, SETTINGS);
    let mut once = Once {
        seen: BTreeMap::new(),
    };
    let mut l = Parts::default();
    for &child in &children {
        let setting_name = child.name().value();
        if ONCE.contains(&setting_name) && !once.first(cx, child) {
            continue;
        }
        match setting_name {
            "hostname" => {
                l.hostname = setting(cx, child, "hostname \"dns\"");
                if let Some(h) = &l.hostname {
                    hostname(cx, h);
                }
            }
            "debian" => l.debian = debian(cx, child),
            "packages" => packages(cx, child, &mut l.packages),
            "group" => l.groups.extend(group(cx, child)),
            "user" => l.users.extend(user(cx, child)),
            "file" => l.files.extend(file(cx, child)),
            "unpack" => l.archives.extend(unpack(cx, child)),
            "service" => l.services.extend(service(cx, child)),
            "secret" => l.secrets.extend(secret(cx, child)),
            "address" => l.address = address(cx, child),
            "nameserver" => {
                if let Some(ns) = setting(cx, child, "nameserver \"10.0.0.1\"")
                    && ip(cx, &ns, "an IP address").is_some()
                {
                    l.nameservers.push(ns);
                }
            }
            _ => l.probes.extend(probe(cx, child)),
        }
    }
    let header = r.header(cx);
    if !once.seen.contains_key("debian") {
        cx.error(
            Diagnostic::new(codes::MISSING_VALUE, "`lxc` needs `debian`")
                .at(header)
                .label("`debian` is missing")
                .help("add `debian \"bookworm\"` to its block: the release its packages come from"),
        );
    }
    duplicates(cx, &l);
    if let (None, Some(first)) = (&l.address, l.nameservers.first()) {
        cx.error(
            Diagnostic::new(
                codes::MISSING_VALUE,
                "`nameserver` needs a static `address`",
            )
            .at(first.span)
            .label("no `address` in this container")
            .help("add `address \"10.0.0.53/24\" gateway=\"10.0.0.1\"`, or remove the nameservers"),
        );
    }
    let hostname = match l.hostname {
        Some(h) => h,
        None => {
            let name = name?;
            Spanned::new(name.value.clone(), name.span)
        }
    };
    let network = l.address.map(|(address, span)| LxcNetwork {
        interface: address
            .1
            .unwrap_or_else(|| Spanned::new(DEFAULT_INTERFACE.into(), span)),
        address: address.0,
        gateway: address.2,
        nameservers: l.nameservers,
    });
    Some(Body::Lxc(Box::new(LxcDecl {
        hostname,
        debian: l.debian?,
        packages: l.packages,
        groups: l.groups,
        users: l.users,
        files: l.files,
        archives: l.archives,
        services: l.services,
        secrets: l.secrets,
        network,
        probes: l.probes,
    })))
}

/// The children read so far.
#[derive(Default)]
struct Parts {
    hostname: Option<Spanned<String>>,
    debian: Option<DebianBase>,
    packages: Vec<Spanned<String>>,
    groups: Vec<LxcGroup>,
    users: Vec<LxcUser>,
    files: Vec<LxcFile>,
    archives: Vec<LxcArchive>,
    services: Vec<LxcService>,
    secrets: Vec<LxcSecret>,
    /// (address, interface, gateway) and the `address` node.
    address: Option<(Address, Span)>,
    nameservers: Vec<Spanned<String>>,
    probes: Vec<LxcProbe>,
}

/// A DNS label: what `/etc/hostname` may hold.
fn hostname(cx: &mut Cx, h: &Spanned<String>) {
    if !check::is_dns_label(&h.value) {
        bad(
            cx,
            codes::BAD_ADDRESS,
            h.span,
            "not a host name",
            (
                format!("`{}` is not a host name", h.value),
                Some(
                    "a host name is one DNS label: lowercase letters, digits and `-`, at most 63"
                        .into(),
                ),
            ),
        );
    }
}

/// `debian "bookworm" mirror=… security-mirror=… updates=… security=…
/// components=… architecture=…`.
fn debian(cx: &mut Cx, child: &KdlNode) -> Option<DebianBase> {
    let mut c = NodeReader::new(cx, child);
    let release = arg(cx, &mut c, "debian \"bookworm\"");
    let mirror = c.string(cx, "mirror");
    let security_mirror = c.string(cx, "security-mirror");
    let updates = c.bool(cx, "updates");
    let security = c.bool(cx, "security");
    let components = c.string(cx, "components");
    let architecture = c.string(cx, "architecture");
    c.finish(cx);
    let span = cx.span(child.span());
    let release = release?;
    let codename = !release.value.is_empty()
        && release.value.len() <= 32
        && release.value.bytes().all(|b| b.is_ascii_lowercase());
    if !codename {
        let help = if release
            .value
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        {
            "write the codename: `bookworm` is Debian 12, `trixie` Debian 13".to_string()
        } else {
            "write a release codename like `bookworm`; suites follow from it".to_string()
        };
        bad(
            cx,
            codes::BAD_RELEASE,
            release.span,
            "not a codename",
            (
                format!("`{}` is not a Debian release codename", release.value),
                Some(help),
            ),
        );
        return None;
    }
    let rolling = ROLLING.contains(&release.value.as_str());
    let mut suites = vec![release.value.clone()];
    for (flag, suffix) in [(&updates, "updates"), (&security, "security")] {
        let on = flag.as_ref().is_none_or(|f| f.value);
        if rolling {
            if let Some(f) = flag.as_ref().filter(|f| f.value) {
                bad(
                    cx,
                    codes::BAD_RELEASE,
                    f.span,
                    "no such suite",
                    (
                        format!("{} has no `-{suffix}` suite", release.value),
                        Some(format!("remove `{suffix}=#true`")),
                    ),
                );
            }
        } else if on {
            suites.push(format!("{}-{suffix}", release.value));
        }
    }
    let mirror = mirror.unwrap_or_else(|| Spanned::new("system".into(), span));
    let mut ok = mirror_value(cx, &mirror, "mirror");
    if let Some(m) = &security_mirror {
        ok &= mirror_value(cx, m, "security-mirror");
    }
    let wants_security = suites.iter().any(|s| s.ends_with("-security"));
    if ok && mirror.value != "system" && wants_security && security_mirror.is_none() {
        cx.error(
            Diagnostic::new(
                codes::MISSING_VALUE,
                "the `-security` suite is in another archive than `mirror`",
            )
            .at(mirror.span)
            .label("used for the release and `-updates`")
            .help("add `security-mirror=\"…/debian-security\"` (the same snapshot's security archive), or `security=#false`"),
        );
        ok = false;
    }
    let security_mirror = security_mirror.filter(|_| wants_security);
    let components = match components {
        None => vec!["main".to_string()],
        Some(c) => {
            let list: Vec<String> = c.value.split_whitespace().map(str::to_string).collect();
            let good = !list.is_empty()
                && list.iter().all(|x| {
                    x.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !good {
                bad(
                    cx,
                    codes::BAD_RELEASE,
                    c.span,
                    "not archive components",
                    (
                        format!("`{}` is not a list of archive components", c.value),
                        Some(
                            "write them separated by spaces: `components=\"main contrib\"`".into(),
                        ),
                    ),
                );
                ok = false;
            }
            list
        }
    };
    let architecture = architecture.unwrap_or_else(|| Spanned::new("amd64".into(), span));
    if architecture.value.is_empty()
        || !architecture
            .value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bad(
            cx,
            codes::BAD_RELEASE,
            architecture.span,
            "not a dpkg architecture",
            (
                format!("`{}` is not a dpkg architecture", architecture.value),
                Some("write one like `amd64` or `arm64`".into()),
            ),
        );
        ok = false;
    }
    ok.then_some(DebianBase {
        release,
        mirror,
        security_mirror,
        suites,
        components,
        architecture,
        span,
    })
}

/// `system`, or an `http(s)://` or `file:///` URI of an archive root.
fn mirror_value(cx: &mut Cx, m: &Spanned<String>, key: &str) -> bool {
    if m.value == "system"
        || m.value
            .strip_prefix("file:///")
            .is_some_and(|p| !p.is_empty())
    {
        return true;
    }
    if let Err((message, _)) = check::url(&m.value, &["http", "https"]) {
        bad(
            cx,
            codes::BAD_RELEASE,
            m.span,
            "not a mirror",
            (
                format!("`{key}` is not `system` or an archive URI: {message}"),
                Some(format!(
                    "write `{key}=\"system\"` to use the machine's apt sources, or the archive's root URI (a snapshot pins it)"
                )),
            ),
        );
        return false;
    }
    true
}

/// `packages "a" "b (>= 1.2)"`: one or more requests.
fn packages(cx: &mut Cx, child: &KdlNode, out: &mut Vec<Spanned<String>>) {
    let mut c = NodeReader::new(cx, child);
    let args = c.rest_args();
    if args.is_empty() {
        c.missing_arg(cx, "at least one package", "packages \"dnsdist\"");
    }
    for e in args {
        let span = cx.value_span(e);
        let KdlValue::String(s) = e.value() else {
            let help = format!("write the package in quotes: `\"{}\"`", repr(e));
            cx.error(wrong_type(e, span, "a package", "a string", Some(help)));
            continue;
        };
        let Ok(s) = cx.interpolate(s, span) else {
            continue;
        };
        match package_request(&s) {
            Ok(()) => out.push(Spanned::new(s, span)),
            Err(p) => bad(cx, codes::BAD_PACKAGE, span, "not a package request", p),
        }
    }
    c.finish(cx);
}

/// `name` or `name (op version)`, as Debian writes relations.
pub(crate) fn package_request(s: &str) -> Result<(), check::Problem> {
    let (name, constraint) = match s.split_once('(') {
        None => (s.trim(), None),
        Some((n, rest)) => (n.trim(), Some(rest)),
    };
    let name_ok = name.len() >= 2
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if !name_ok {
        let help = if name.contains(['|', ',']) {
            "write one package per string; alternatives are for packages' own dependencies"
        } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
            "Debian package names are lowercase"
        } else {
            "package names use lowercase letters, digits, `+`, `-` and `.`"
        };
        return Err((
            format!("`{s}` is not a Debian package name"),
            Some(help.into()),
        ));
    }
    let Some(rest) = constraint else {
        return Ok(());
    };
    let inner = rest.strip_suffix(')').map(str::trim);
    let parsed = inner.and_then(|i| {
        ["<<", "<=", ">=", ">>", "="]
            .iter()
            .find_map(|op| i.strip_prefix(op).map(|v| v.trim()))
    });
    match parsed {
        Some(v)
            if !v.is_empty()
                && v.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.~:".contains(&b)) =>
        {
            Ok(())
        }
        _ => Err((
            format!("`{s}` has a malformed version constraint"),
            Some(format!(
                "write `{name} (>= 1.2.3)`; the operators are `<<`, `<=`, `=`, `>=` and `>>`"
            )),
        )),
    }
}

/// A file path, unit, user, group, secret or secret path declared twice.
fn duplicates(cx: &mut Cx, l: &Parts) {
    let report = |cx: &mut Cx, what: &str, key: &str, again: Span, first: Span| {
        cx.error(
            Diagnostic::new(
                codes::DUPLICATE_KEY,
                format!("{what} `{key}` is declared twice"),
            )
            .at(again)
            .label("declared again here")
            .note(first, "first declared here")
            .help("keep one of them"),
        );
    };
    let check = |cx: &mut Cx, what: &str, items: Vec<(&str, Span)>| {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for (k, s) in items {
            match seen.get(k) {
                Some(first) => report(cx, what, k, s, *first),
                None => {
                    seen.insert(k, s);
                }
            }
        }
    };
    // Files and delivered secrets share the container's file system.
    let paths: Vec<(&str, Span)> = l
        .files
        .iter()
        .map(|f| (f.path.value.as_str(), f.path.span))
        .chain(
            l.secrets
                .iter()
                .map(|s| (s.path.value.as_str(), s.path.span)),
        )
        .collect();
    check(cx, "path", paths);
    check(
        cx,
        "user",
        l.users
            .iter()
            .map(|u| (u.name.value.as_str(), u.name.span))
            .collect(),
    );
    check(
        cx,
        "group",
        l.groups
            .iter()
            .map(|g| (g.name.value.as_str(), g.name.span))
            .collect(),
    );
    check(
        cx,
        "service",
        l.services
            .iter()
            .map(|s| (s.unit.value.as_str(), s.unit.span))
            .collect(),
    );
    check(
        cx,
        "secret",
        l.secrets
            .iter()
            .map(|s| (s.secret.name.as_str(), s.secret.span))
            .collect(),
    );
    check(
        cx,
        "unpack of",
        l.archives
            .iter()
            .map(|a| (a.fetch.name.as_str(), a.fetch.span))
            .collect(),
    );
    check(
        cx,
        "package",
        l.packages
            .iter()
            .map(|p| (p.value.as_str(), p.span))
            .collect(),
    );
}
