//! Dispatch: a top-level node's name chooses its kind's reader.
//!
//! This module only maps keywords to readers (`basic` for the small
//! kinds, `sealed`, `talos`, `lxc`) and reports unknown top-level nodes;
//! the readers themselves, and the value readers they share (`values`,
//! `content`), live elsewhere.

use kdl::KdlNode;

use super::cx::Cx;
use super::reader::{NodeReader, list};
use super::suggest::did_you_mean;
use super::{basic, codes, lxc, sealed, talos};
use crate::decl::{Decl, Kind, Spanned};
use crate::diag::Diagnostic;

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
        Kind::Cluster => basic::cluster(cx, &mut r),
        Kind::Host => basic::host(cx, &mut r),
        Kind::Fetch => basic::fetch(cx, &mut r),
        Kind::File => basic::file(cx, &mut r),
        Kind::Manifest => basic::manifest(cx, &mut r),
        Kind::Secret => basic::secret(cx, &mut r, name.as_ref()),
        Kind::SealedSecret => sealed::sealed_secret(cx, &mut r),
        Kind::TalosCluster => talos::talos_cluster(cx, &mut r),
        Kind::Lxc => lxc::lxc(cx, &mut r, name.as_ref()),
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
                list(&Kind::ALL.iter().map(Kind::as_str).collect::<Vec<_>>())
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
