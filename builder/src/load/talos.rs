//! The `talos-cluster` reader: a Talos Linux cluster and its nodes.
//!
//! Settings are child nodes with one value (`endpoint "https://…"`), as in
//! talosctl's and talhelper's configs; nodes are `node "NAME" role=…`
//! children with their own settings. Everything Talos would reject about
//! the values is reported here, at the value, so a typo fails at load time
//! and not when a machine refuses its config: supported contract, version
//! forms, https endpoint, valid and non-overlapping CIDRs (pods, services,
//! node subnets), at least one control plane, unique node names and
//! addresses, a VIP inside every control plane's subnet (the network
//! checks are in `talos_network`).
//!
//! Patch files are recipe files (read, hashed, and checked to be UTF-8
//! here); what they say is checked when the configs are built, by Talos's
//! own patch rules.

use std::collections::BTreeMap;

use kdl::{KdlNode, KdlValue};

use super::check;
use super::codes;
use super::cx::{Cx, FileUse};
use super::net::parse_utc;
use super::reader::{NodeReader, check_name, repr, wrong_type};
use super::talos_network::check_network;
use super::values::{
    Once, arg, bad, choice, cidr, ip, label_value, qualified_name, ref_arg, setting,
};
use crate::decl::{
    Body, PatchSource, RefRole, Spanned, TalosClusterDecl, TalosCni, TalosNode, TalosPatch,
    TalosRole, TalosSchematic,
};
use crate::diag::Diagnostic;
use crate::io::RelPath;

/// The link a node's address goes on when `link=` is not written.
pub const DEFAULT_LINK: &str = "eth0";

const SETTINGS: &[&str] = &[
    "talos-version",
    "kubernetes-version",
    "endpoint",
    "vip",
    "secrets",
    "pod-cidr",
    "service-cidr",
    "cni",
    "kube-proxy",
    "install-disk",
    "admin-cert-valid-from",
    "schematic",
    "patch",
    "node",
];

const NODE_SETTINGS: &[&str] = &[
    "address",
    "nameserver",
    "install-disk",
    "label",
    "taint",
    "patch",
];

/// A patch file: a recipe file read as text.
fn patch_path(cx: &mut Cx, written: &Spanned<String>) -> Option<Spanned<RelPath>> {
    let path = cx.resolve(&written.value, written.span)?;
    cx.uses.push(FileUse {
        path: path.clone(),
        span: written.span,
        text: true,
        interpolate: false,
    });
    Some(Spanned::new(path, written.span))
}

/// `patch "FILE"` or `patch text="…"`: exactly one.
fn read_patch(cx: &mut Cx, c: &mut NodeReader, example: &str) -> Option<PatchSource> {
    let text_key = c
        .prop("text")
        .and_then(|e| e.name())
        .map(|n| cx.span(n.span()));
    let Some(key) = text_key else {
        let written = arg(cx, c, example)?;
        return patch_path(cx, &written).map(PatchSource::File);
    };
    if let Some(e) = c.next_arg() {
        cx.error(
            Diagnostic::new(
                codes::CONFLICTING_PROPERTIES,
                "a patch is a file or a `text`, not both",
            )
            .at(cx.value_span(e))
            .label("a file")
            .note(key, "and a text")
            .help("keep the file, or the inline `text`"),
        );
        return None;
    }
    c.text(cx, "text").map(PatchSource::Text)
}

/// `v1.13`, `v1.13.2` or `v1.14.0-rc.1` of a supported contract.
fn talos_version(cx: &mut Cx, v: &Spanned<String>) -> bool {
    let problem = match v.value.strip_prefix('v') {
        None => Some((
            format!("`{}` is not a Talos version", v.value),
            format!("Talos versions start with `v`: `v{}`", v.value),
        )),
        Some(rest) => {
            let core = rest.split_once('-').map_or(rest, |(c, _)| c);
            let parts: Vec<&str> = core.split('.').collect();
            let numeric = parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !numeric || !(2..=3).contains(&parts.len()) {
                Some((
                    format!("`{}` is not a Talos version", v.value),
                    "write a contract like `v1.13` or a release like `v1.13.2`".to_string(),
                ))
            } else if !matches!((parts[0], parts[1]), ("1", "12" | "13" | "14")) {
                Some((
                    format!("Talos {} is not a supported version contract", v.value),
                    "hlb generates configs for the v1.12, v1.13 and v1.14 contracts".to_string(),
                ))
            } else {
                None
            }
        }
    };
    if let Some((message, help)) = problem {
        cx.error(
            Diagnostic::new(codes::BAD_VERSION, message)
                .at(v.span)
                .label("not a supported Talos version")
                .help(help),
        );
        return false;
    }
    true
}

fn kubernetes_version(cx: &mut Cx, v: &Spanned<String>) {
    let core = v.value.strip_prefix('v').unwrap_or(&v.value);
    let parts: Vec<&str> = core.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        cx.error(
            Diagnostic::new(
                codes::BAD_VERSION,
                format!("`{}` is not a Kubernetes version", v.value),
            )
            .at(v.span)
            .label("not MAJOR.MINOR.PATCH")
            .help("write a release like `1.33.4`"),
        );
    }
}

fn install_disk(cx: &mut Cx, v: &Spanned<String>) {
    if let Err(p) = check::destination(&v.value) {
        bad(cx, codes::BAD_DESTINATION, v.span, "not a disk path", p);
    }
}

pub(super) fn talos_cluster(cx: &mut Cx, r: &mut NodeReader) -> Option<Body> {
    let children = r.children(cx, SETTINGS);
    let mut once = Once {
        seen: BTreeMap::new(),
    };
    let mut talos_version_ = None;
    let mut k8s = None;
    let mut endpoint = None;
    let mut vip = None;
    let mut secrets = None;
    let mut pod_cidr = None;
    let mut service_cidr = None;
    let mut cni = Some(Spanned::new(TalosCni::Flannel, r.header(cx)));
    let mut kube_proxy = true;
    let mut disk = None;
    let mut valid_from = None;
    let mut schematic = None;
    let mut patches = Vec::new();
    let mut nodes = Vec::new();
    let mut ok = true;
    for &child in &children {
        let name = child.name().value();
        if !matches!(name, "patch" | "node") && !once.first(cx, child) {
            continue;
        }
        match name {
            "talos-version" => {
                talos_version_ = setting(cx, child, "talos-version \"v1.13\"");
                if let Some(v) = &talos_version_ {
                    ok &= talos_version(cx, v);
                }
            }
            "kubernetes-version" => {
                k8s = setting(cx, child, "kubernetes-version \"1.33.4\"");
                if let Some(v) = &k8s {
                    kubernetes_version(cx, v);
                }
            }
            "endpoint" => {
                endpoint = setting(cx, child, "endpoint \"https://10.0.0.10:6443\"");
                if let Some(e) = &endpoint
                    && let Err(p) = check::url(&e.value, &["https"])
                {
                    bad(cx, codes::BAD_URL, e.span, "not an https URL", p);
                }
            }
            "vip" => vip = setting(cx, child, "vip \"10.0.0.10\""),
            "secrets" => {
                let mut c = NodeReader::new(cx, child);
                secrets = ref_arg(
                    cx,
                    &mut c,
                    RefRole::Secret,
                    "a secret name",
                    "secrets \"talos-home\"",
                );
                c.finish(cx);
            }
            "pod-cidr" => pod_cidr = setting(cx, child, "pod-cidr \"10.244.0.0/16\""),
            "service-cidr" => service_cidr = setting(cx, child, "service-cidr \"10.96.0.0/12\""),
            "cni" => {
                cni = setting(cx, child, "cni \"none\"").and_then(|v| {
                    choice(cx, &v, "CNI", TalosCni::ALL, TalosCni::as_str)
                        .map(|c| Spanned::new(c, v.span))
                });
                ok &= cni.is_some();
            }
            "kube-proxy" => {
                let mut c = NodeReader::new(cx, child);
                match c.next_arg() {
                    None => c.missing_arg(cx, "a boolean", "kube-proxy #false"),
                    Some(e) => match e.value() {
                        KdlValue::Bool(b) => kube_proxy = *b,
                        _ => {
                            let span = cx.value_span(e);
                            cx.error(wrong_type(
                                e,
                                span,
                                "the value of `kube-proxy`",
                                "a boolean",
                                Some("write `kube-proxy #false` or `kube-proxy #true`".into()),
                            ));
                        }
                    },
                }
                c.finish(cx);
            }
            "install-disk" => {
                disk = setting(cx, child, "install-disk \"/dev/sda\"");
                if let Some(d) = &disk {
                    install_disk(cx, d);
                }
            }
            "admin-cert-valid-from" => {
                let v = setting(cx, child, "admin-cert-valid-from \"2026-01-01T00:00:00Z\"");
                valid_from = v.and_then(|v| match parse_utc(&v.value) {
                    Some(t) => Some(Spanned::new(t, v.span)),
                    None => {
                        cx.error(
                            Diagnostic::new(
                                codes::BAD_TIME,
                                format!("`{}` is not a UTC time", v.value),
                            )
                            .at(v.span)
                            .label("not YYYY-MM-DDTHH:MM:SSZ")
                            .help("write the start of the admin certificate's validity in UTC, like `2026-01-01T00:00:00Z`"),
                        );
                        None
                    }
                });
            }
            "schematic" => schematic = read_schematic(cx, child),
            "patch" => {
                let mut c = NodeReader::new(cx, child);
                let source = read_patch(cx, &mut c, "patch \"patches/common.yaml\"");
                let role = c.string(cx, "role").and_then(|v| {
                    choice(cx, &v, "node role", TalosRole::ALL, TalosRole::as_str)
                        .map(|r| Spanned::new(r, v.span))
                });
                c.finish(cx);
                if let Some(source) = source {
                    patches.push(TalosPatch { source, role });
                }
            }
            _ => {
                if let Some(n) = read_node(cx, child) {
                    nodes.push(n);
                } else {
                    ok = false;
                }
            }
        }
    }
    let header = r.header(cx);
    let kind = r.kind();
    let require = |cx: &mut Cx, present: bool, key: &str, example: &str| {
        if !present {
            cx.error(
                Diagnostic::new(codes::MISSING_VALUE, format!("`{kind}` needs `{key}`"))
                    .at(header)
                    .label(format!("`{key}` is missing"))
                    .help(format!("add `{example}` to its block")),
            );
        }
    };
    let has = |n: &str| once.seen.contains_key(n);
    require(
        cx,
        has("talos-version"),
        "talos-version",
        "talos-version \"v1.13\"",
    );
    require(
        cx,
        has("kubernetes-version"),
        "kubernetes-version",
        "kubernetes-version \"1.33.4\"",
    );
    require(
        cx,
        has("endpoint"),
        "endpoint",
        "endpoint \"https://10.0.0.10:6443\"",
    );
    require(cx, has("secrets"), "secrets", "secrets \"talos-home\"");
    require(
        cx,
        has("admin-cert-valid-from"),
        "admin-cert-valid-from",
        "admin-cert-valid-from \"2026-01-01T00:00:00Z\"",
    );
    if ok
        && !nodes
            .iter()
            .any(|n| n.role.value == TalosRole::ControlPlane)
    {
        cx.error(
            Diagnostic::new(
                codes::NO_CONTROL_PLANE,
                format!("`{kind}` has no control-plane node"),
            )
            .at(header)
            .label("no `node … role=\"controlplane\"`")
            .help("a Talos cluster needs at least one: add `node \"cp1\" role=\"controlplane\" { address \"10.0.0.11/24\" }`"),
        );
    }
    check_network(
        cx,
        &nodes,
        vip.as_ref(),
        pod_cidr.as_ref(),
        service_cidr.as_ref(),
    );
    if let (Some(s), Some(v)) = (&schematic, &talos_version_)
        && v.value
            .split('-')
            .next()
            .is_some_and(|c| c.split('.').count() == 2)
    {
        let s: &TalosSchematic = s;
        cx.error(
            Diagnostic::new(
                codes::BAD_VERSION,
                format!(
                    "the installer image needs a Talos release, not the contract `{}`",
                    v.value
                ),
            )
            .at(v.span)
            .label("a contract, not a release")
            .note(
                s.span,
                "the schematic's installer image is tagged with the release",
            )
            .help(format!("write the release, like `{}.0`", v.value)),
        );
    }
    if !ok {
        return None;
    }
    Some(Body::TalosCluster(Box::new(TalosClusterDecl {
        talos_version: talos_version_?,
        kubernetes_version: k8s?,
        endpoint: endpoint?,
        vip,
        secrets: secrets?,
        pod_cidr,
        service_cidr,
        cni: cni?,
        kube_proxy,
        install_disk: disk,
        schematic,
        admin_cert_valid_from: valid_from?,
        patches,
        nodes,
    })))
}

fn read_schematic(cx: &mut Cx, child: &KdlNode) -> Option<TalosSchematic> {
    let mut c = NodeReader::new(cx, child);
    let items = c.children(cx, &["extension", "extra-kernel-arg"]);
    let mut s = TalosSchematic {
        extensions: Vec::new(),
        extra_kernel_args: Vec::new(),
        span: cx.span(child.span()),
    };
    for item in items {
        if item.name().value() == "extension" {
            if let Some(v) = setting(cx, item, "extension \"siderolabs/qemu-guest-agent\"") {
                s.extensions.push(v);
            }
        } else if let Some(v) = setting(cx, item, "extra-kernel-arg \"net.ifnames=0\"") {
            s.extra_kernel_args.push(v);
        }
    }
    c.finish(cx);
    Some(s)
}

fn read_node(cx: &mut Cx, child: &KdlNode) -> Option<TalosNode> {
    let mut c = NodeReader::new(cx, child);
    let name = match c.next_arg() {
        None => {
            c.missing_arg(cx, "a host name", "node \"cp1\" role=\"controlplane\"");
            None
        }
        Some(e) => {
            let span = cx.value_span(e);
            match e.value() {
                KdlValue::String(s) => {
                    check_name(cx, s, span).then(|| Spanned::new(s.clone(), span))
                }
                _ => {
                    cx.error(wrong_type(
                        e,
                        span,
                        "the name of `node`",
                        "a string",
                        Some(format!("write the name in quotes: `node \"{}\"`", repr(e))),
                    ));
                    None
                }
            }
        }
    };
    let role = if c.prop("role").is_none() {
        c.missing(cx, "role", "role=\"controlplane\"");
        None
    } else {
        c.string(cx, "role").and_then(|v| {
            choice(cx, &v, "node role", TalosRole::ALL, TalosRole::as_str)
                .map(|r| Spanned::new(r, v.span))
        })
    };
    let children = c.children(cx, NODE_SETTINGS);
    let mut once = Once {
        seen: BTreeMap::new(),
    };
    let mut address = None;
    let mut gateway = None;
    let mut link = None;
    let mut nameservers = Vec::new();
    let mut disk = None;
    let mut labels = BTreeMap::new();
    let mut taints = BTreeMap::new();
    let mut patches = Vec::new();
    for &n in &children {
        let what = n.name().value();
        if matches!(what, "address" | "install-disk") && !once.first(cx, n) {
            continue;
        }
        match what {
            "address" => {
                let mut a = NodeReader::new(cx, n);
                address = arg(cx, &mut a, "address \"10.0.0.11/24\" gateway=\"10.0.0.1\"");
                gateway = a.string(cx, "gateway");
                link = a.string(cx, "link");
                a.finish(cx);
                if let Some(g) = &gateway {
                    ip(cx, g, "a gateway address");
                }
            }
            "nameserver" => {
                let mut a = NodeReader::new(cx, n);
                for e in a.rest_args() {
                    let span = cx.value_span(e);
                    if let KdlValue::String(s) = e.value()
                        && let Ok(v) = cx.interpolate(s, span)
                    {
                        let v = Spanned::new(v, span);
                        if ip(cx, &v, "a nameserver address").is_some() {
                            nameservers.push(v);
                        }
                    } else if !matches!(e.value(), KdlValue::String(_)) {
                        cx.error(wrong_type(e, span, "a nameserver", "a string", None));
                    }
                }
                a.finish(cx);
            }
            "install-disk" => {
                disk = setting(cx, n, "install-disk \"/dev/sda\"");
                if let Some(d) = &disk {
                    install_disk(cx, d);
                }
            }
            "label" | "taint" => {
                let mut a = NodeReader::new(cx, n);
                let example = if what == "label" {
                    "label \"topology.kubernetes.io/zone\" \"rack1\""
                } else {
                    "taint \"dedicated\" \"infra:NoSchedule\""
                };
                let key = arg(cx, &mut a, example);
                let value = arg(cx, &mut a, example);
                a.finish(cx);
                let (Some(key), Some(value)) = (key, value) else {
                    continue;
                };
                let problem = qualified_name(&key.value)
                    .map(|p| (key.span, p))
                    .or_else(|| {
                        let v = if what == "taint" {
                            taint_value(&value.value)
                        } else {
                            label_value(&value.value)
                        };
                        v.map(|p| (value.span, p))
                    });
                if let Some((span, (message, help))) = problem {
                    cx.error(
                        Diagnostic::new(codes::BAD_KEY, message)
                            .at(span)
                            .label(format!("not a valid {what}"))
                            .help(help),
                    );
                    continue;
                }
                let map = if what == "label" {
                    &mut labels
                } else {
                    &mut taints
                };
                if let Some(first) = map.get(&key.value) {
                    let first: &Spanned<String> = first;
                    cx.error(
                        Diagnostic::new(
                            codes::DUPLICATE_KEY,
                            format!("`{what}` key `{}` is given twice", key.value),
                        )
                        .at(key.span)
                        .label("given again here")
                        .note(first.span, "first given here")
                        .help("keep one of them"),
                    );
                    continue;
                }
                map.insert(key.value, value);
            }
            _ => {
                let mut a = NodeReader::new(cx, n);
                let source = read_patch(cx, &mut a, "patch \"patches/cp1.yaml\"");
                a.finish(cx);
                patches.extend(source);
            }
        }
    }
    if !once.seen.contains_key("address") {
        c.missing_arg(
            cx,
            "an `address` child",
            "node \"cp1\" role=\"controlplane\" { address \"10.0.0.11/24\" gateway=\"10.0.0.1\" }",
        );
    }
    let span = cx.span(child.span());
    c.finish(cx);
    let address = address?;
    cidr(cx, &address, "an address with its prefix length")?;
    let link = link.unwrap_or_else(|| Spanned::new(DEFAULT_LINK.to_string(), address.span));
    Some(TalosNode {
        name: name?,
        role: role?,
        address,
        gateway,
        link,
        nameservers,
        install_disk: disk,
        labels,
        taints,
        patches,
        span,
    })
}

/// A taint's `value:Effect` (or `Effect`).
fn taint_value(v: &str) -> Option<(String, String)> {
    let (value, effect) = v.rsplit_once(':').unwrap_or(("", v));
    let effect_ok = matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute");
    if effect_ok && label_value(value).is_none() {
        return None;
    }
    Some((
        format!("`{v}` is not a taint"),
        "write `value:Effect` or `Effect`, the effect one of `NoSchedule`, `PreferNoSchedule` and `NoExecute`: `infra:NoSchedule`".into(),
    ))
}
