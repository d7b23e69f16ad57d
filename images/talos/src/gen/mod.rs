//! Machine configs, byte for byte as Talos's generator writes them.
//!
//! Why this exists: hlb replaces `talosctl gen config`; its output must be
//! exactly Talos's (the golden vectors under
//! `fixtures/talos/examples/gen-config-golden/` are what Talos itself holds
//! its generator to). The generator builds a [`Yaml`] tree per document, in
//! the field order of Talos's Go structs (omitting what Go's `omitempty`
//! omits), and writes it with the shared go-yaml v3 emitter
//! ([`Style::TALOS`]). Talos's doc comments are never emitted.
//!
//! Two layouts:
//! - [`classic`]: contracts v1.12 and v1.13 — one `v1alpha1` document
//!   carrying machine and cluster settings (secrets as base64 of PEM), then
//!   `RegistryMirrorConfig` documents and a `HostnameConfig`;
//! - [`multidoc`]: contract v1.14 — a slim `v1alpha1` document and one
//!   document per concern (`KubeletConfig`, `KubeAPIServerCAConfig`, …),
//!   certificates and keys in those as plain PEM.
//!
//! Invariants: a pure function of its input (no clock, no randomness);
//! map keys Go marshals from maps (sysctls, labels) come out in go-yaml's
//! sorted order; everything else in struct order.

pub mod classic;
mod k8s;
pub mod multidoc;

use std::collections::{BTreeMap, BTreeSet};

use hlb_images::yaml::{Style, Yaml, emit_documents};

use crate::bundle::SecretsBundle;

/// The Talos version contract (shared with [`crate::schema`]).
pub use crate::schema::Contract;

/// Read a contract from a Talos version (`v1.13`, `1.13`, `v1.13.9`,
/// `v1.14.0-rc.1`), with an error naming the supported ones.
pub fn parse_contract(s: &str) -> Result<Contract, GenError> {
    Contract::parse(s).ok_or_else(|| GenError::Contract(s.to_string()))
}

/// Which machine config to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    ControlPlane,
    Worker,
}

impl Role {
    /// The `machine.type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "controlplane",
            Role::Worker => "worker",
        }
    }
}

/// The generator's options, as `talosctl gen config` flags set them.
/// `Default` is talosctl's behaviour with no flags except that install disk
/// and image are empty (hlb's recipes name them explicitly).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenOptions {
    /// `--additional-sans`: into `machine.certSANs` and the API server's SANs.
    pub additional_sans: Vec<String>,
    /// `config.WithAllowSchedulingOnControlPlanes`.
    pub allow_scheduling_on_control_planes: bool,
    /// `--dns-domain`; `None` is `cluster.local`.
    pub dns_domain: Option<String>,
    /// `--install-disk`; empty writes none.
    pub install_disk: String,
    /// `--install-image`; empty writes none.
    pub install_image: String,
    /// Extra kernel arguments of the installer (dropped by the v1.14 layout, as Talos does).
    pub install_extra_kernel_args: Vec<String>,
    /// `--local-api-server-port`.
    pub local_api_server_port: Option<u16>,
    /// Kernel parameters (Go map: written sorted).
    pub sysctls: BTreeMap<String, String>,
    /// A custom CNI manifest URL (replaces flannel).
    pub custom_cni_url: Option<String>,
    /// `--registry-mirror NAME=URL`: mirror endpoints per registry, one
    /// `RegistryMirrorConfig` document each, sorted by registry.
    pub registry_mirrors: BTreeMap<String, Vec<String>>,
    /// `config.WithRegistryCACert`: a PEM CA per registry endpoint host
    /// (`RegistryTLSConfig.ca`).
    pub registry_ca_certs: BTreeMap<String, String>,
    /// `config.WithRegistryInsecureSkipVerify`: endpoint hosts whose TLS
    /// certificate is not verified (`RegistryTLSConfig.insecureSkipVerify`).
    pub registry_insecure: BTreeSet<String>,
    /// Pod CIDRs; empty is `10.244.0.0/16`.
    pub pod_subnets: Vec<String>,
    /// Service CIDRs; empty is `10.96.0.0/12`.
    pub service_subnets: Vec<String>,
}

/// Everything a machine config is generated from.
#[derive(Clone, Debug)]
pub struct GenInput<'a> {
    pub bundle: &'a SecretsBundle,
    pub cluster_name: String,
    /// The control-plane endpoint URL (`https://host:6443`).
    pub endpoint: String,
    /// Kubernetes version, with or without a leading `v` (`1.28.0`).
    pub kubernetes_version: String,
    pub contract: Contract,
    pub options: GenOptions,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("unsupported Talos version contract `{0}` (supported: v1.12, v1.13, v1.14)")]
    Contract(String),
    #[error("cluster name is empty")]
    ClusterName,
    #[error("control-plane endpoint `{endpoint}`: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("Kubernetes version `{0}` is not of the form MAJOR.MINOR.PATCH")]
    KubernetesVersion(String),
    #[error("registry mirror for `{0}` has no endpoint")]
    RegistryMirror(String),
    #[error("the bootstrap token in the secrets bundle is not of the form ID.SECRET")]
    BootstrapToken,
}

/// What generators need, checked once.
pub(crate) struct Checked<'a> {
    pub input: &'a GenInput<'a>,
    pub k8s_version: String,
    pub dns_domain: String,
    pub pod_subnets: Vec<String>,
    pub service_subnets: Vec<String>,
}

fn check<'a>(input: &'a GenInput<'a>) -> Result<Checked<'a>, GenError> {
    if input.cluster_name.is_empty() {
        return Err(GenError::ClusterName);
    }
    check_endpoint(&input.endpoint)?;
    let v = input
        .kubernetes_version
        .strip_prefix('v')
        .unwrap_or(&input.kubernetes_version);
    let parts: Vec<&str> = v.split('-').next().unwrap_or_default().split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(GenError::KubernetesVersion(
            input.kubernetes_version.clone(),
        ));
    }
    if !input.bundle.secrets.bootstrap_token.contains('.') {
        return Err(GenError::BootstrapToken);
    }
    for (name, endpoints) in &input.options.registry_mirrors {
        if endpoints.is_empty() {
            return Err(GenError::RegistryMirror(name.clone()));
        }
    }
    let or = |v: &Vec<String>, d: &str| {
        if v.is_empty() {
            vec![d.to_string()]
        } else {
            v.clone()
        }
    };
    Ok(Checked {
        input,
        k8s_version: v.to_string(),
        dns_domain: input
            .options
            .dns_domain
            .clone()
            .unwrap_or_else(|| "cluster.local".to_string()),
        pod_subnets: or(&input.options.pod_subnets, "10.244.0.0/16"),
        service_subnets: or(&input.options.service_subnets, "10.96.0.0/12"),
    })
}

/// The endpoint must be an absolute `https://` URL with a host.
fn check_endpoint(endpoint: &str) -> Result<(), GenError> {
    let err = |reason: &str| GenError::Endpoint {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    };
    let rest = endpoint
        .strip_prefix("https://")
        .ok_or_else(|| err("must be an https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(err("has no host"));
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && !authority.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err(err("has an invalid port"));
    }
    if endpoint.chars().any(char::is_whitespace) {
        return Err(err("contains whitespace"));
    }
    Ok(())
}

/// The documents of the machine config for `role`, in Talos's order.
pub fn generate(input: &GenInput<'_>, role: Role) -> Result<Vec<Yaml>, GenError> {
    let c = check(input)?;
    Ok(match input.contract {
        Contract::V1_12 | Contract::V1_13 => classic::documents(&c, role),
        Contract::V1_14 => multidoc::documents(&c, role),
    })
}

/// Write documents as Talos does (go-yaml v3, 4 spaces, `---` between).
pub fn render(docs: &[Yaml]) -> String {
    emit_documents(docs, &Style::TALOS)
}

/// [`generate`] then [`render`]: the machine config file's bytes.
pub fn generate_config(input: &GenInput<'_>, role: Role) -> Result<String, GenError> {
    Ok(render(&generate(input, role)?))
}

/// The `RegistryMirrorConfig` then `RegistryTLSConfig` documents (both
/// layouts), each kind sorted by name as Talos sorts them.
pub(crate) fn registry_docs(c: &Checked<'_>) -> Vec<Yaml> {
    let o = &c.input.options;
    let mut docs = registry_mirror_docs(c);
    let hosts: BTreeSet<&String> = o
        .registry_ca_certs
        .keys()
        .chain(o.registry_insecure.iter())
        .collect();
    for host in hosts {
        let mut rest = vec![("name", Yaml::str(host.as_str()))];
        if let Some(ca) = o.registry_ca_certs.get(host) {
            rest.push(("ca", Yaml::str(ca)));
        }
        if o.registry_insecure.contains(host) {
            rest.push(("insecureSkipVerify", Yaml::Bool(true)));
        }
        docs.push(doc("RegistryTLSConfig", rest));
    }
    docs
}

fn registry_mirror_docs(c: &Checked<'_>) -> Vec<Yaml> {
    c.input
        .options
        .registry_mirrors
        .iter()
        .map(|(name, endpoints)| {
            Yaml::map([
                ("apiVersion", Yaml::str("v1alpha1")),
                ("kind", Yaml::str("RegistryMirrorConfig")),
                ("name", Yaml::str(name)),
                (
                    "endpoints",
                    Yaml::seq(endpoints.iter().map(|u| Yaml::map([("url", u.as_str())]))),
                ),
            ])
        })
        .collect()
}

/// A `key: value` string map as Go marshals a `map[string]string`: keys sorted.
pub(crate) fn go_string_map<'s>(entries: impl IntoIterator<Item = (&'s str, &'s str)>) -> Yaml {
    let mut m = Yaml::map(entries);
    if let Yaml::Map(items) = &mut m {
        items.sort_by(|(a, _), (b, _)| {
            hlb_images::yaml::sort::go_key_cmp(&a.value, &b.value, hlb_images::yaml::Flavor::V3)
        });
    }
    m
}

/// A typed document header (`apiVersion: v1alpha1`, `kind: KIND`).
pub(crate) fn doc(kind: &str, rest: impl IntoIterator<Item = (&'static str, Yaml)>) -> Yaml {
    let mut entries = vec![
        ("apiVersion", Yaml::str("v1alpha1")),
        ("kind", Yaml::str(kind)),
    ];
    entries.extend(rest);
    Yaml::map(entries)
}
