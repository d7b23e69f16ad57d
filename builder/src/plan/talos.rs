//! Planning a `talos-cluster`: one machine-config derivation per node and
//! one talosconfig derivation for the admin.
//!
//! Both are secret (`drv.secret`): machine configs carry the cluster's
//! private keys, the talosconfig an admin client key. Each hashes the tag of
//! the bundle secret (source `tag:NAME`, parameter `secrets`), never its
//! plaintext, so planning needs no identity.
//!
//! The derivation contract, which the `talos-config` and `talosconfig`
//! compilers (in `hlb-talos`) read:
//!
//! `talos-config` parameters: `cluster`, `talos_version`,
//! `kubernetes_version`, `endpoint`, `role`, `secrets` (the bundle's secret
//! name), `install_disk` (string or null), `schematic` (null or
//! `{extensions, extra_kernel_args}`), `pod_cidr`/`service_cidr` (string or
//! null: Talos's defaults), `cni` (`flannel`|`none`), `kube_proxy` (bool),
//! `vip` (string or null; control planes only), `node`
//! (`{hostname, address, gateway, link, nameservers, labels, taints}`),
//! `patches` (source roles `patch:N` in the order they apply: cluster, then
//! role, then node) and `patch_names` (their recipe paths, or `inline patch
//! at FILE:LINE:COL`, for messages).
//! Sources: `patch:N`, `tag:NAME`.
//!
//! `talosconfig` parameters: `cluster` (the context name), `endpoints`
//! (control-plane addresses), `nodes` (every node's address), `secrets`,
//! `valid_from` (seconds since the epoch, from `admin-cert-valid-from`),
//! `valid_seconds`. Sources: `tag:NAME`.
//!
//! Names: the talosconfig derivation is the cluster's (`by_name[CLUSTER]`,
//! derivation `CLUSTER-talosconfig`); node derivations are
//! `CLUSTER-NODE`, also in `by_name` unless a declaration has that name.
//!
//! Targets: `talos/<cluster>/<node>` holds the node's machine config
//! (artifact `CLUSTER-NODE`) with a `talos-node` spec (address, role,
//! installer, and where its credentials are minted from);
//! `talos/<cluster>` keeps the talosconfig (artifact `CLUSTER-talosconfig`)
//! and the secrets bundle (artifact `CLUSTER-secrets-bundle`, a secret
//! `file` of the bundle secret), from which the deployer mints short-lived
//! admin certificates. An artifact is named as its derivation, as
//! generations require.

use std::collections::BTreeMap;

use super::Delivery;
use super::{Planner, diag, string_list, strings};
use crate::decl::{Decl, PatchSource, Spanned, TalosClusterDecl, TalosRole};
use crate::drv::{Derivation, Value};
use crate::kinds;
use hlb_cache::generation::TargetSpec;
use hlb_cache::generation::contract::{self, Credentials, Installer, Schematic, TalosNodeSpec};

/// The name of a node's machine-config derivation (and artifact).
pub fn node_artifact(cluster: &str, node: &str) -> String {
    format!("{cluster}-{node}")
}

/// The name of the cluster's talosconfig derivation (and artifact).
pub fn talosconfig_artifact(cluster: &str) -> String {
    format!("{cluster}-talosconfig")
}
/// The name of the cluster's secrets-bundle artifact (a secret `file`).
pub fn bundle_artifact(cluster: &str) -> String {
    format!("{cluster}-secrets-bundle")
}

/// How long the admin certificate is valid: one year (365 days), as Talos.
pub const ADMIN_CERT_VALID_SECONDS: i64 = 365 * 24 * 3600;

/// The target of a cluster's shared artifacts.
pub fn cluster_target(cluster: &str) -> String {
    format!("talos/{cluster}")
}

/// The target of one node.
pub fn node_target(cluster: &str, node: &str) -> String {
    format!("talos/{cluster}/{node}")
}

fn opt(v: &Option<Spanned<String>>) -> Value {
    v.as_ref().map(|s| s.value.clone()).into()
}

impl Planner<'_> {
    /// A patch as a source: its name for messages, and its digest.
    fn patch_source(&mut self, p: &PatchSource) -> Option<(String, hlb_cache::Digest)> {
        let p = match p {
            PatchSource::File(p) => p,
            PatchSource::Text(t) => {
                let bytes: std::sync::Arc<[u8]> = t.value.as_bytes().into();
                let digest = hlb_cache::Digest::of(&bytes);
                self.sources.insert(digest, bytes);
                let name = format!("inline patch at {}", self.lab.sources.location(t.span));
                return Some((name, digest));
            }
        };
        match self.lab.files.get(&p.value) {
            Some(file) => {
                self.sources.insert(file.digest, file.bytes.clone());
                Some((p.value.to_string(), file.digest))
            }
            None => {
                self.errors.push(diag(
                    "E0507",
                    p.span,
                    format!("patch `{}` was not read by the loader", p.value),
                    Some("this is a bug in hlb; please report it".into()),
                ));
                None
            }
        }
    }

    pub(super) fn talos_cluster(&mut self, d: &Decl, t: &TalosClusterDecl) -> Option<()> {
        let (Some(config_version), Some(tc_version)) = (
            self.version(kinds::TALOS_CONFIG, d.span),
            self.version(kinds::TALOSCONFIG, d.span),
        ) else {
            return None;
        };
        let cluster = d.name.value.as_str();
        let secret = t.secrets.name.as_str();
        let mut tag = BTreeMap::new();
        self.tag_sources(&[secret], t.secrets.span, &mut tag)?;
        // Patch files, each once as a source.
        let mut cluster_patches = Vec::new();
        for p in &t.patches {
            let (name, digest) = self.patch_source(&p.source)?;
            cluster_patches.push((p, name, digest));
        }
        let mut node_patches = Vec::new();
        for n in &t.nodes {
            let mut these = Vec::new();
            for p in &n.patches {
                these.push(self.patch_source(p)?);
            }
            node_patches.push(these);
        }
        let schematic = t.schematic.as_ref().map_or(Value::Null, |s| {
            Value::map()
                .with("extensions", string_list(&s.extensions))
                .with("extra_kernel_args", string_list(&s.extra_kernel_args))
        });
        let common = Value::map()
            .with("cluster", cluster)
            .with("talos_version", t.talos_version.value.as_str())
            .with("kubernetes_version", t.kubernetes_version.value.as_str())
            .with("endpoint", t.endpoint.value.as_str())
            .with("secrets", secret)
            .with("schematic", schematic)
            .with("pod_cidr", opt(&t.pod_cidr))
            .with("service_cidr", opt(&t.service_cidr))
            .with("cni", t.cni.value.as_str())
            .with("kube_proxy", t.kube_proxy);
        for (n, own) in t.nodes.iter().zip(node_patches) {
            let mut sources = tag.clone();
            let mut roles = Vec::new();
            let mut names = Vec::new();
            let applicable =
                cluster_patches
                    .iter()
                    .filter(|(p, _, _)| p.role.is_none())
                    .chain(cluster_patches.iter().filter(|(p, _, _)| {
                        p.role.as_ref().is_some_and(|r| r.value == n.role.value)
                    }))
                    .map(|(_, name, digest)| (name.clone(), *digest))
                    .chain(own);
            for (i, (path, digest)) in applicable.enumerate() {
                let role = format!("patch:{i}");
                sources.insert(role.clone(), digest);
                roles.push(Value::from(role));
                names.push(Value::from(path));
            }
            let node = Value::map()
                .with("hostname", n.name.value.as_str())
                .with("address", n.address.value.as_str())
                .with("gateway", opt(&n.gateway))
                .with("link", n.link.value.as_str())
                .with(
                    "nameservers",
                    Value::List(
                        n.nameservers
                            .iter()
                            .map(|s| Value::from(s.value.as_str()))
                            .collect(),
                    ),
                )
                .with("labels", strings(&n.labels))
                .with("taints", strings(&n.taints));
            let vip = match n.role.value {
                TalosRole::ControlPlane => opt(&t.vip),
                TalosRole::Worker => Value::Null,
            };
            let params = common
                .clone()
                .with("role", n.role.value.as_str())
                .with(
                    "install_disk",
                    opt(if n.install_disk.is_some() {
                        &n.install_disk
                    } else {
                        &t.install_disk
                    }),
                )
                .with("vip", vip)
                .with("node", node)
                .with("patches", Value::List(roles))
                .with("patch_names", Value::List(names));
            let drv = Derivation {
                kind: kinds::TALOS_CONFIG.into(),
                name: node_artifact(cluster, &n.name.value),
                builder_version: config_version,
                params,
                inputs: BTreeMap::new(),
                sources,
                fixed_output: None,
                secret: true,
            };
            let id = drv.id();
            // Named for `hlb show home-cp1`; a declaration of that name
            // (planned later: it sorts after the cluster) takes precedence.
            self.by_name.entry(drv.name.clone()).or_insert(id);
            self.drvs.insert(id, drv);
            let spec = TalosNodeSpec {
                cluster: cluster.to_string(),
                node: n.name.value.clone(),
                hostname: n.name.value.clone(),
                role: match n.role.value {
                    TalosRole::ControlPlane => contract::TalosRole::Controlplane,
                    TalosRole::Worker => contract::TalosRole::Worker,
                },
                address: n.ip().to_string(),
                config: node_artifact(cluster, &n.name.value),
                installer: Installer {
                    talos_version: t.talos_version.value.clone(),
                    schematic: t.schematic.as_ref().map(|s| Schematic {
                        extensions: s.extensions.iter().map(|e| e.value.clone()).collect(),
                        extra_kernel_args: s
                            .extra_kernel_args
                            .iter()
                            .map(|e| e.value.clone())
                            .collect(),
                    }),
                    disk: n
                        .install_disk
                        .as_ref()
                        .or(t.install_disk.as_ref())
                        .map(|d| d.value.clone()),
                },
                kubernetes_version: t.kubernetes_version.value.clone(),
                credentials: Credentials::TalosBundle {
                    target: cluster_target(cluster),
                    bundle: bundle_artifact(cluster),
                },
            };
            self.artifact(
                node_target(cluster, &n.name.value),
                &node_artifact(cluster, &n.name.value),
                id,
                Delivery::Spec(Box::new(TargetSpec::TalosNode(spec))),
            );
        }
        let ips = |filter: fn(&TalosRole) -> bool| {
            Value::List(
                t.nodes
                    .iter()
                    .filter(|n| filter(&n.role.value))
                    .map(|n| Value::from(n.ip()))
                    .collect(),
            )
        };
        let valid_from = i64::try_from(t.admin_cert_valid_from.value).unwrap_or(i64::MAX);
        let params = Value::map()
            .with("cluster", cluster)
            .with("endpoints", ips(|r| *r == TalosRole::ControlPlane))
            .with("nodes", ips(|_| true))
            .with("secrets", secret)
            .with("valid_from", valid_from)
            .with("valid_seconds", ADMIN_CERT_VALID_SECONDS);
        let drv = Derivation {
            kind: kinds::TALOSCONFIG.into(),
            name: talosconfig_artifact(cluster),
            builder_version: tc_version,
            params,
            inputs: BTreeMap::new(),
            sources: tag,
            fixed_output: None,
            secret: true,
        };
        let id = self.add(d, drv);
        self.artifact(
            cluster_target(cluster),
            &talosconfig_artifact(cluster),
            id,
            Delivery::Keep,
        );
        self.bundle(d, cluster, secret)
    }

    /// The cluster's secrets bundle as a secret artifact of the cluster's
    /// target, so a deploy (or a rollback, from the store alone) can mint
    /// short-lived admin certificates without the recipes (design D14).
    fn bundle(&mut self, d: &Decl, cluster: &str, secret: &str) -> Option<()> {
        let version = self.version(kinds::FILE, d.span)?;
        let drv = self.secret_file(&bundle_artifact(cluster), secret, d.span, version)?;
        let id = drv.id();
        self.by_name.entry(drv.name.clone()).or_insert(id);
        self.drvs.insert(id, drv);
        self.artifact(
            cluster_target(cluster),
            &bundle_artifact(cluster),
            id,
            Delivery::Keep,
        );
        Some(())
    }
}
