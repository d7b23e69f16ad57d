//! The `lxc` children about the network: the static `address` (with its
//! gateway, checked to be on the subnet) and the `probe`s the deployer
//! runs against the container.

use kdl::KdlNode;

use super::check;
use super::codes;
use super::cx::Cx;
use super::reader::NodeReader;
use super::values::{arg, bad, choice, cidr, int, ip};
use crate::decl::{LxcProbe, ProbeKind, Spanned};
use crate::diag::{Diagnostic, Span};

/// A container's static address as written: the address with its prefix
/// length, the gateway and the interface.
pub(super) type Address = (
    Spanned<String>,
    Option<Spanned<String>>,
    Option<Spanned<String>>,
);

/// `address "10.0.0.53/24" [gateway="10.0.0.1"] [interface="eth0"]`.
pub(super) fn address(cx: &mut Cx, child: &KdlNode) -> Option<(Address, Span)> {
    let mut c = NodeReader::new(cx, child);
    let address = arg(cx, &mut c, "address \"10.0.0.53/24\" gateway=\"10.0.0.1\"");
    let gateway = c.string(cx, "gateway");
    let interface = c.string(cx, "interface");
    c.finish(cx);
    let address = address?;
    let net = cidr(cx, &address, "an address with its prefix length");
    let gw = gateway.as_ref().and_then(|g| ip(cx, g, "an IP address"));
    if let (Some(net), Some(gw), Some(g)) = (net, gw, &gateway) {
        let on_subnet = net.contains(gw);
        if !on_subnet || gw == net.ip {
            let message = if on_subnet {
                format!("the gateway `{}` is the container's own address", g.value)
            } else {
                format!(
                    "the gateway `{}` is outside the container's network {}",
                    g.value,
                    net.network_string()
                )
            };
            cx.error(
                Diagnostic::new(codes::BAD_ADDRESS, message)
                    .at(g.span)
                    .label("not a router on this network")
                    .note(address.span, "the container's address")
                    .help("the gateway is a router on the container's own network, like `10.0.0.1` for `10.0.0.53/24`"),
            );
            return None;
        }
    }
    if let Some(i) = &interface {
        let ok = !i.value.is_empty()
            && i.value.len() <= 15
            && i.value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !ok {
            bad(
                cx,
                codes::BAD_ADDRESS,
                i.span,
                "not an interface name",
                (
                    format!("`{}` is not a network interface name", i.value),
                    Some("interface names have at most 15 letters, digits, `-`, `_` or `.`, like `eth0`".into()),
                ),
            );
            return None;
        }
    }
    if net.is_none() || (gateway.is_some() && gw.is_none()) {
        return None;
    }
    Some(((address, interface, gateway), cx.span(child.span())))
}

#[derive(Clone, Copy)]
enum ProbeType {
    Tcp,
    Http,
    Dns,
}

impl ProbeType {
    const ALL: &'static [ProbeType] = &[ProbeType::Tcp, ProbeType::Http, ProbeType::Dns];
    fn as_str(&self) -> &'static str {
        match self {
            ProbeType::Tcp => "tcp",
            ProbeType::Http => "http",
            ProbeType::Dns => "dns",
        }
    }
}

/// `probe "tcp" port=…`, `probe "http" port=… path=…`, `probe "dns" port=… name=…`.
pub(super) fn probe(cx: &mut Cx, child: &KdlNode) -> Option<LxcProbe> {
    let mut c = NodeReader::new(cx, child);
    let kind = arg(cx, &mut c, "probe \"tcp\" port=443");
    let port = int(cx, &mut c, "port", 65535, codes::BAD_PORT);
    let path = c.string(cx, "path");
    let name = c.string(cx, "name");
    c.finish(cx);
    let span = cx.span(child.span());
    let kind = kind.and_then(|k| {
        choice(cx, &k, "probe", ProbeType::ALL, ProbeType::as_str).map(|t| Spanned::new(t, k.span))
    })?;
    let port_written = child
        .entries()
        .iter()
        .any(|e| e.name().is_some_and(|n| n.value() == "port"));
    let port = match (port, kind.value) {
        (Some(0), _) => {
            bad(
                cx,
                codes::BAD_PORT,
                span,
                "port 0",
                (
                    "port 0 cannot be probed".into(),
                    Some("write the port the service listens on".into()),
                ),
            );
            return None;
        }
        (Some(p), _) => p as u16,
        (None, _) if port_written => return None,
        (None, ProbeType::Http) => 80,
        (None, ProbeType::Dns) => 53,
        (None, ProbeType::Tcp) => {
            cx.error(
                Diagnostic::new(codes::MISSING_VALUE, "a `tcp` probe needs `port`")
                    .at(span)
                    .label("`port` is missing")
                    .help("add `port=443`: the port the service listens on"),
            );
            return None;
        }
    };
    let misplaced = |cx: &mut Cx, v: &Option<Spanned<String>>, key: &str, wants: &str| {
        if let Some(v) = v {
            bad(
                cx,
                codes::CONFLICTING_PROPERTIES,
                v.span,
                &format!("only for {wants} probes"),
                (
                    format!(
                        "`{key}` does not apply to a `{}` probe",
                        kind.value.as_str()
                    ),
                    Some(format!("remove `{key}`")),
                ),
            );
        }
    };
    let kind = match kind.value {
        ProbeType::Tcp => {
            misplaced(cx, &path, "path", "`http`");
            misplaced(cx, &name, "name", "`dns`");
            ProbeKind::Tcp
        }
        ProbeType::Http => {
            misplaced(cx, &name, "name", "`dns`");
            let path = path.map_or_else(|| "/".to_string(), |p| p.value);
            if !path.starts_with('/') || path.contains(char::is_whitespace) {
                bad(
                    cx,
                    codes::BAD_URL,
                    span,
                    "not a URL path",
                    (
                        format!("`{path}` is not a URL path"),
                        Some("write it like `/healthz`".into()),
                    ),
                );
                return None;
            }
            ProbeKind::Http { path }
        }
        ProbeType::Dns => {
            misplaced(cx, &path, "path", "`http`");
            let Some(n) = name else {
                cx.error(
                    Diagnostic::new(codes::MISSING_VALUE, "a `dns` probe needs `name`")
                        .at(span)
                        .label("`name` is missing")
                        .help("add `name=\"home.example.org\"`: a name the server must answer"),
                );
                return None;
            };
            if let Err(m) = check::hostname_or_ip(&n.value) {
                bad(cx, codes::BAD_ADDRESS, n.span, "not a DNS name", (m, None));
                return None;
            }
            ProbeKind::Dns { name: n.value }
        }
    };
    Some(LxcProbe { kind, port, span })
}
