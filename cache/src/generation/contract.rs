//! The deploy contract: what each kind of target receives from a generation.
//!
//! The planner (`hlb-builder`) writes these types and the deployer
//! (`hlb-deploy`) reads them; nothing else defines what a target gets. A
//! generation must be enough to deploy or roll back on its own (design
//! D14): every target carries how it is reached (address, user, pinned host
//! key; API URL and CA; which secret artifacts hold its credentials).
//! Credentials that expire, such as client certificates, are never frozen
//! here: a target names the secret artifact they are minted from at deploy
//! time ([`Credentials`]).
//!
//! Invariants, checked by [`crate::generation::Generation::validate`]:
//! every artifact a spec names is one of its target's artifacts; modes are
//! four octal digits; numbers are integers (the canonical JSON hashes no
//! floats). Lists keep the planner's order where order means something
//! (cluster objects are in apply order, services and probes as the recipe
//! wrote them); everything else is sorted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Digest;

/// One artifact delivered to a target: a store entry and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Derivation id of the store entry holding it.
    pub id: Digest,
    /// Artifact name; equals its key in the target's map.
    pub name: String,
    /// The derivation kind that built it (`hlb_builder::kinds`).
    pub kind: String,
    /// Content hash of the entry's output; for a secret artifact, its
    /// derivation id (the stored ciphertext differs between stores).
    pub content: Digest,
    /// Whether the entry is age-encrypted to the lab's deploy recipients.
    pub secret: bool,
}

/// One target of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Every artifact the target receives, by name.
    pub artifacts: BTreeMap<String, Artifact>,
    /// Targets that must be healthy before this one is switched (a Talos
    /// node before the cluster it runs), by target name. Sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// What the deployer does with the artifacts.
    pub spec: TargetSpec,
}

/// Per kind of target, everything its deployer needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TargetSpec {
    /// A machine reached over SSH (`host` recipes).
    Host(HostSpec),
    /// An LXC container built from a template (`lxc` recipes).
    Lxc(LxcSpec),
    /// One Talos node of a `talos-cluster`.
    TalosNode(TalosNodeSpec),
    /// A Kubernetes cluster applied by server-side apply (`cluster`
    /// recipes).
    Cluster(ClusterSpec),
    /// Artifacts that belong to no machine (files without a target, a
    /// Talos cluster's talosconfig and credentials): kept, never delivered.
    Lab,
}

impl TargetSpec {
    /// The kind's name as the generation spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSpec::Host(_) => "host",
            TargetSpec::Lxc(_) => "lxc",
            TargetSpec::TalosNode(_) => "talos-node",
            TargetSpec::Cluster(_) => "cluster",
            TargetSpec::Lab => "lab",
        }
    }

    /// What the spec says about delivering `artifact`, as JSON (for
    /// `hlb diff` and `hlb show`): the file, object or secret entry that
    /// names it; for the artifact a whole spec comes with (a container's
    /// template, a node's config), the spec itself; `None` when the spec
    /// does not name it (kept, not delivered).
    pub fn delivery(&self, artifact: &str) -> Option<serde_json::Value> {
        let v = |x: &dyn erased::Json| x.json();
        match self {
            TargetSpec::Host(h) => h
                .files
                .iter()
                .find(|f| f.artifact == artifact)
                .map(|f| v(f)),
            TargetSpec::Cluster(c) => c
                .objects
                .iter()
                .find(|o| o.artifact == artifact)
                .map(|o| v(o))
                .or_else(|| {
                    c.files
                        .iter()
                        .find(|f| f.artifact == artifact)
                        .map(|f| v(f))
                }),
            TargetSpec::Lxc(l) if l.template.artifact == artifact => {
                let mut whole = l.clone();
                whole.secrets.clear();
                Some(v(&whole))
            }
            TargetSpec::Lxc(l) => l
                .secrets
                .iter()
                .find(|s| s.artifact == artifact)
                .map(|s| v(s)),
            TargetSpec::TalosNode(n) if n.config == artifact => Some(v(n)),
            TargetSpec::TalosNode(_) | TargetSpec::Lab => None,
        }
    }

    /// Every artifact name the spec refers to, for validation.
    pub fn artifact_refs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match self {
            TargetSpec::Host(h) => out.extend(h.files.iter().map(|f| f.artifact.as_str())),
            TargetSpec::Lxc(l) => {
                out.push(&l.template.artifact);
                out.extend(l.secrets.iter().map(|s| s.artifact.as_str()));
            }
            TargetSpec::TalosNode(n) => {
                out.push(&n.config);
            }
            TargetSpec::Cluster(c) => {
                out.extend(c.objects.iter().map(|o| o.artifact.as_str()));
                out.extend(c.files.iter().map(|f| f.artifact.as_str()));
            }
            TargetSpec::Lab => {}
        }
        out
    }
}

/// How to log in to a machine over SSH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshAccess {
    /// Address or DNS name.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// The host's public key (`ssh-ed25519 AAAA…`), pinned in the recipe;
    /// `None`: the deployer takes it from the user's known_hosts and never
    /// trusts on first use in unattended runs.
    pub host_key: Option<String>,
}

/// A file placed on a machine. The artifact's bytes are the content; where
/// it goes and as whom are delivery data, not part of the derivation
/// (design D12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDelivery {
    /// The artifact holding the content.
    pub artifact: String,
    /// Absolute destination path.
    pub path: String,
    /// Four octal digits (`0640`).
    pub mode: String,
    pub owner: String,
    pub group: String,
}

/// What happens to a service when files it reads change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnChange {
    Reload,
    Restart,
}

/// A systemd unit the deployer reloads or restarts when its files change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAction {
    pub unit: String,
    pub on_change: OnChange,
    /// The artifacts whose change triggers it. Sorted.
    pub files: Vec<String>,
}

/// A `host`: files delivered over SSH, services reloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub access: SshAccess,
    /// Sorted by path.
    pub files: Vec<FileDelivery>,
    pub services: Vec<ServiceAction>,
    /// Health checks after activation.
    pub probes: Vec<Probe>,
}

/// Which artifact is the container template and which of its files are what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// The `lxc-template` artifact.
    pub artifact: String,
    /// The root filesystem archive inside it (Proxmox's `vztmpl`).
    pub rootfs: String,
    /// The CycloneDX SBOM inside it.
    pub sbom: String,
    pub release: String,
    pub architecture: String,
}

/// What a container gets from its host. The recipe cannot set these yet;
/// the planner writes the documented defaults (`docs/store.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub cores: u32,
    pub memory_mib: u32,
    pub swap_mib: u32,
    pub rootfs_gib: u32,
    /// Unprivileged (Proxmox's default) unless the recipe says otherwise.
    pub unprivileged: bool,
    /// Started when its host boots.
    pub onboot: bool,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            cores: 1,
            memory_mib: 512,
            swap_mib: 512,
            rootfs_gib: 4,
            unprivileged: true,
            onboot: true,
        }
    }
}

/// A static IPv4 configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub interface: String,
    /// `ADDRESS/PREFIX`.
    pub address: String,
    pub gateway: Option<String>,
    pub nameservers: Vec<String>,
}

/// A systemd unit the container runs (enabled in the template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub unit: String,
    /// The user it runs as, when the recipe says.
    pub user: Option<String>,
}

/// A health check run against a target after activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Probe {
    /// A TCP connection is accepted.
    Tcp { port: u16 },
    /// `GET path` answers 2xx or 3xx.
    Http { port: u16, path: String },
    /// A DNS query for `name` is answered.
    Dns { port: u16, name: String },
    /// A systemd unit is active.
    Unit { unit: String },
}

/// A secret delivered at activation, never baked into a template (design
/// D6): the artifact is a secret store entry, decrypted only at delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDelivery {
    /// The secret artifact (age-encrypted in the store).
    pub artifact: String,
    /// The secret's name in the recipes, for messages (never its value).
    pub secret: String,
    /// Absolute path under `/run` (a tmpfs).
    pub path: String,
    pub mode: String,
    pub owner: String,
    pub group: String,
}

/// How hlb reaches the Proxmox node a container or VM lives on. Recipes
/// cannot declare one yet (the Proxmox target adds it); until then
/// [`LxcSpec::proxmox`] is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxmoxAccess {
    /// `https://HOST:8006/api2/json`.
    pub api: String,
    pub node: String,
    /// The secret artifact holding the API token.
    pub token: String,
    /// The server certificate's SHA-256 fingerprint, or a CA artifact.
    pub fingerprint: Option<String>,
    pub ca: Option<String>,
}

/// An `lxc` container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LxcSpec {
    pub hostname: String,
    pub template: TemplateRef,
    pub resources: Resources,
    pub network: Option<Network>,
    pub services: Vec<Service>,
    pub probes: Vec<Probe>,
    /// Sorted by path.
    pub secrets: Vec<SecretDelivery>,
    pub proxmox: Option<ProxmoxAccess>,
}

/// Where credentials come from. Each names secret artifacts in the store,
/// so a rollback needs nothing else; client certificates minted from them
/// are made at deploy time and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Credentials {
    /// A Talos secrets bundle (`talosctl gen secrets` format) in the secret
    /// artifact `bundle` of target `target`: the deployer mints an admin
    /// client certificate for the Talos API (`os:admin`) or a Kubernetes
    /// admin certificate from its CAs.
    TalosBundle { target: String, bundle: String },
    /// No credentials declared: the deployer uses the operator's own
    /// configuration (kubeconfig, SSH agent) and says so in the plan.
    Operator,
}

/// Talos node roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TalosRole {
    Controlplane,
    Worker,
}

/// Which Talos installer a node runs: the image is
/// `hlb_talos::schematic::installer_image(schematic_id, talos_version)`,
/// where the schematic id is computed from `extensions` and
/// `extra_kernel_args` (none: Talos's default image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installer {
    pub talos_version: String,
    pub schematic: Option<Schematic>,
    pub disk: Option<String>,
}

/// An Image Factory schematic as the recipe declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schematic {
    pub extensions: Vec<String>,
    pub extra_kernel_args: Vec<String>,
}

/// One Talos node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosNodeSpec {
    pub cluster: String,
    pub node: String,
    pub hostname: String,
    pub role: TalosRole,
    /// The node's address (apid listens on port 50000).
    pub address: String,
    /// The machine-config artifact (secret).
    pub config: String,
    pub installer: Installer,
    pub kubernetes_version: String,
    pub credentials: Credentials,
}

/// Something the cluster applies: a manifest or a SealedSecret (later, a
/// Helm release's rendered manifests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterObject {
    pub artifact: String,
    /// The namespace for objects that name none.
    pub namespace: Option<String>,
    /// Objects applied (and healthy) before this one. Sorted.
    pub after: Vec<String>,
}

/// A Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The API server URL.
    pub api: String,
    /// The Talos cluster this cluster is, when the recipes declare it: its
    /// CA and admin credentials come from that cluster's bundle.
    pub credentials: Credentials,
    /// In apply order: every object after those it is declared `after`,
    /// otherwise by name.
    pub objects: Vec<ClusterObject>,
    /// Files declared with the cluster as their target (kept with the
    /// cluster's generation; no cluster target delivers files).
    pub files: Vec<FileDelivery>,
}

mod erased {
    /// Serialize any contract type to JSON (plain data: cannot fail).
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// `objects` in apply order: a stable topological order of the `after`
/// edges, ties broken by name. Edges to objects outside the list are
/// ignored (they belong to another target); a cycle (refused by the
/// loader) leaves the remaining objects in name order at the end.
pub fn apply_order(mut objects: Vec<ClusterObject>) -> Vec<ClusterObject> {
    objects.sort_by(|a, b| a.artifact.cmp(&b.artifact));
    let names: std::collections::BTreeSet<String> =
        objects.iter().map(|o| o.artifact.clone()).collect();
    let mut placed = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(objects.len());
    while !objects.is_empty() {
        let ready = objects.iter().position(|o| {
            o.after
                .iter()
                .all(|a| placed.contains(a) || !names.contains(a))
        });
        let next = objects.remove(ready.unwrap_or(0));
        placed.insert(next.artifact.clone());
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, after: &[&str]) -> ClusterObject {
        ClusterObject {
            artifact: name.into(),
            namespace: None,
            after: after.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn apply_order_puts_dependencies_first_then_names() {
        let order = apply_order(vec![
            obj("gateway", &["issuer"]),
            obj("issuer", &["namespaces"]),
            obj("monitoring", &["namespaces"]),
            obj("namespaces", &[]),
            obj("elsewhere", &["not-here"]),
        ]);
        let names: Vec<&str> = order.iter().map(|o| o.artifact.as_str()).collect();
        assert_eq!(
            names,
            ["elsewhere", "namespaces", "issuer", "gateway", "monitoring"]
        );
    }

    #[test]
    fn specs_serialize_with_their_kind() {
        let spec = TargetSpec::Host(HostSpec {
            access: SshAccess {
                address: "10.200.0.2".into(),
                port: 22,
                user: "root".into(),
                host_key: None,
            },
            files: vec![],
            services: vec![],
            probes: vec![Probe::Tcp { port: 22 }],
        });
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v["kind"], "host");
        assert_eq!(v["probes"][0]["type"], "tcp");
        assert_eq!(serde_json::from_value::<TargetSpec>(v).unwrap(), spec);
        let lab = serde_json::to_value(TargetSpec::Lab).unwrap();
        assert_eq!(lab, serde_json::json!({"kind": "lab"}));
    }
}
