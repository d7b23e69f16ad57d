//! The network checks of a `talos-cluster`: unique node names and
//! addresses, valid and non-overlapping pod, service and node networks, a
//! VIP inside every control plane's subnet. Talos would refuse each of
//! these on the machine; here they are recipe errors at the value.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::codes;
use super::cx::Cx;
use super::net::Cidr;
use super::values::{cidr, ip};
use crate::decl::{Spanned, TalosNode, TalosRole};
use crate::diag::{Diagnostic, Span};

/// Talos's defaults, checked for overlaps like written ones.
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

/// Duplicate names and addresses, overlapping networks, the VIP's subnet.
pub(super) fn check_network(
    cx: &mut Cx,
    nodes: &[TalosNode],
    vip: Option<&Spanned<String>>,
    pod: Option<&Spanned<String>>,
    service: Option<&Spanned<String>>,
) {
    let mut names: BTreeMap<&str, Span> = BTreeMap::new();
    let mut ips: BTreeMap<IpAddr, Span> = BTreeMap::new();
    for n in nodes {
        if let Some(first) = names.insert(&n.name.value, n.name.span) {
            cx.error(
                Diagnostic::new(
                    codes::DUPLICATE_NODE,
                    format!("node `{}` is declared twice", n.name.value),
                )
                .at(n.name.span)
                .label("declared again here")
                .note(first, "first declared here")
                .help("node names are host names: each node needs its own"),
            );
            names.insert(&n.name.value, first);
        }
        if let Ok(c) = Cidr::parse(&n.address.value)
            && let Some(first) = ips.insert(c.ip, n.address.span)
        {
            cx.error(
                Diagnostic::new(
                    codes::DUPLICATE_ADDRESS,
                    format!("address {} is given to two nodes", c.ip),
                )
                .at(n.address.span)
                .label("given again here")
                .note(first, "first given here")
                .help("each node needs its own address"),
            );
            ips.insert(c.ip, first);
        }
    }
    let pod_c = match pod {
        Some(p) => cidr(cx, p, "a pod network").map(|c| (c, p.span, "pod CIDR")),
        None => Cidr::parse(DEFAULT_POD_CIDR)
            .ok()
            .map(|c| (c, Span::new(cx.file, 0, 0), "default pod CIDR")),
    };
    let svc_c = match service {
        Some(s) => cidr(cx, s, "a service network").map(|c| (c, s.span, "service CIDR")),
        None => Cidr::parse(DEFAULT_SERVICE_CIDR)
            .ok()
            .map(|c| (c, Span::new(cx.file, 0, 0), "default service CIDR")),
    };
    let written = |s: Span| s.len > 0;
    if let (Some((p, ps, _)), Some((s, ss, _))) = (pod_c, svc_c)
        && p.overlaps(&s)
    {
        let (at, other, what) = if written(ss) {
            (ss, ps, "pod")
        } else {
            (ps, ss, "service")
        };
        let mut d = Diagnostic::new(
            codes::OVERLAPPING_CIDRS,
            format!(
                "the pod CIDR {} and the service CIDR {} overlap",
                p.network_string(),
                s.network_string()
            ),
        )
        .at(at)
        .label("overlaps")
        .help("pods and services need separate address ranges");
        if written(other) {
            d = d.note(other, format!("the {what} CIDR"));
        }
        cx.error(d);
    }
    let mut reported_subnets = Vec::new();
    for n in nodes {
        let Ok(net) = Cidr::parse(&n.address.value) else {
            continue;
        };
        if reported_subnets.contains(&net.network_string()) {
            continue;
        }
        for (c, span, what) in [pod_c, svc_c].into_iter().flatten() {
            if net.overlaps(&c) {
                reported_subnets.push(net.network_string());
                let mut d = Diagnostic::new(
                    codes::OVERLAPPING_CIDRS,
                    format!(
                        "node `{}`'s subnet {} overlaps the {what} {}",
                        n.name.value,
                        net.network_string(),
                        c.network_string()
                    ),
                )
                .at(n.address.span)
                .label("overlaps")
                .help(if written(span) {
                    "the cluster's pod and service networks must not contain node addresses"
                } else {
                    "the cluster's pod and service networks must not contain node addresses: set `pod-cidr`/`service-cidr` to ranges the nodes do not use"
                });
                if written(span) {
                    d = d.note(span, format!("the {what}"));
                }
                cx.error(d);
                break;
            }
        }
    }
    let Some(vip) = vip else { return };
    let Some(vip_ip) = ip(cx, vip, "an IP address") else {
        return;
    };
    if let Some(first) = ips.get(&vip_ip) {
        cx.error(
            Diagnostic::new(
                codes::DUPLICATE_ADDRESS,
                format!("the VIP {vip_ip} is also a node's address"),
            )
            .at(vip.span)
            .label("in use")
            .note(*first, "given to a node here")
            .help("the VIP is shared by the control planes and must be an address no node has"),
        );
        return;
    }
    for n in nodes
        .iter()
        .filter(|n| n.role.value == TalosRole::ControlPlane)
    {
        let Ok(net) = Cidr::parse(&n.address.value) else {
            continue;
        };
        if !net.contains(vip_ip) {
            cx.error(
                Diagnostic::new(
                    codes::VIP_OUTSIDE_SUBNET,
                    format!(
                        "the VIP {vip_ip} is outside control plane `{}`'s subnet {}",
                        n.name.value,
                        net.network_string()
                    ),
                )
                .at(vip.span)
                .label("not reachable on the node's link")
                .note(n.address.span, "the node's address")
                .help("a layer-2 VIP moves between control planes on one subnet: pick a free address inside it"),
            );
        }
    }
}
