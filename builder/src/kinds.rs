//! Every artifact kind hlb builds, in one table.
//!
//! A kind is a derivation kind: the string in [`crate::Derivation::kind`]
//! that picks the compiler building it. Each kind has exactly one name
//! constant here; the planner writes it into derivations, its compiler
//! answers it from [`crate::Compiler::kind`], and nothing else spells it.
//! [`KINDS`] says, per kind, which recipe declaration plans it, which
//! planner module does, and which crate compiles it, so that adding a kind
//! (the recipe: `docs/compilers.md`, "How to add a kind") touches one
//! obvious set of places. The `hlb` crate's registry test checks that the
//! compilers it registers are exactly these kinds.

/// A file: text or an interpolated recipe file (public or secret-bearing).
pub const FILE: &str = "file";
/// A Kubernetes manifest, parsed, validated and normalized.
pub const MANIFEST: &str = "manifest";
/// A Kubernetes Secret sealed for the cluster's sealed-secrets controller.
pub const SEALED_SECRET: &str = "sealed-secret";
/// A download pinned by hash (fixed output).
pub const FETCH: &str = "fetch";
/// One Talos node's machine config (secret-bearing).
pub const TALOS_CONFIG: &str = "talos-config";
/// A Talos cluster's admin talosconfig (secret-bearing).
pub const TALOSCONFIG: &str = "talosconfig";
/// An LXC container template (root filesystem and SBOM) from pinned .debs.
pub const LXC_TEMPLATE: &str = "lxc-template";

/// Where a kind comes from and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The derivation kind.
    pub name: &'static str,
    /// The recipe declarations (KDL node names) whose planning yields it.
    pub declared_by: &'static [&'static str],
    /// The planner module that writes its derivations.
    pub planner: &'static str,
    /// The crate (and module) whose compiler builds it.
    pub compiler: &'static str,
    /// Whether the compiler checks the plan before anything is built
    /// ([`crate::Compiler::check`]).
    pub plan_check: bool,
}

/// Every kind, in the order `docs/compilers.md` lists them.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        name: FILE,
        declared_by: &["file", "host", "lxc"],
        planner: "hlb_builder::plan (files), plan::container (container files)",
        compiler: "hlb_images::file",
        plan_check: false,
    },
    KindInfo {
        name: MANIFEST,
        declared_by: &["manifest"],
        planner: "hlb_builder::plan",
        compiler: "hlb_images::manifest",
        plan_check: false,
    },
    KindInfo {
        name: SEALED_SECRET,
        declared_by: &["sealed-secret"],
        planner: "hlb_builder::plan",
        compiler: "hlb_images::sealed_secret",
        plan_check: false,
    },
    KindInfo {
        name: FETCH,
        declared_by: &["fetch", "lxc"],
        planner: "hlb_builder::plan (fetch), plan::lxc (locked .debs)",
        compiler: "hlb::fetch_compiler (through hlb_fetch)",
        plan_check: false,
    },
    KindInfo {
        name: TALOS_CONFIG,
        declared_by: &["talos-cluster"],
        planner: "hlb_builder::plan::talos",
        compiler: "hlb_talos::compiler",
        plan_check: true,
    },
    KindInfo {
        name: TALOSCONFIG,
        declared_by: &["talos-cluster"],
        planner: "hlb_builder::plan::talos",
        compiler: "hlb_talos::compiler",
        plan_check: false,
    },
    KindInfo {
        name: LXC_TEMPLATE,
        declared_by: &["lxc"],
        planner: "hlb_builder::plan::container",
        compiler: "hlb_lxc::compiler",
        plan_check: false,
    },
];

/// The table entry of `kind`.
pub fn info(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_store_safe() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KINDS {
            assert!(seen.insert(k.name), "{} twice", k.name);
            assert!(
                k.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                k.name
            );
            assert_eq!(info(k.name), Some(k));
        }
        assert_eq!(info("helm-release"), None);
    }
}
