//! The `talos-config` and `talosconfig` compilers: a `talos-cluster`
//! recipe's machine configs and admin client config.
//!
//! Why patches: a node's own settings (host name, static address, VIP,
//! nameservers, labels and taints, CNI none, kube-proxy off) are not
//! generator options in Talos; talosctl users write them as config patches.
//! hlb does the same: [`node_patches`] writes them as strategic-merge
//! patches, applied by [`crate::patch`] before the recipe's own patches
//! (cluster, role, node), so Talos's merge rules — held to Talos's vectors —
//! decide the result, and a recipe patch can still override anything. The
//! result must validate against Talos's schema ([`crate::schema`]); a
//! violation fails the build, naming the node and the JSON path. The whole
//! node pipeline is [`node_config`], which `hlb` also runs at plan time with
//! a placeholder bundle, so a patch Talos would refuse is a recipe error
//! with a position before anything is built.
//!
//! Secrets: both outputs carry private keys. The bundle is revealed only
//! under the name the derivation declares (`secrets`), and only when its
//! tag is a source (`tag:NAME`), so the id covers it. Outputs are sealed
//! for the store (`SecretSource::seal_for_store`); plaintext never touches
//! disk. The admin certificate's key and serial come from a seed derived
//! from the lab key and the derivation id, its validity from the recipe:
//! rebuilding gives the same plaintext, and nothing reads the clock.
//!
//! The derivation contract is the planner's (`hlb_builder::plan`, module
//! `talos`).

use std::collections::BTreeMap;

use hlb_builder::{BuildCx, BuildError, Compiler, Value};
use hlb_images::yaml::{Node, Style, Yaml, emit};
use hlb_secrets::Plaintext;
use serde_json::json;

use crate::bundle::{AdminCertRequest, SecretsBundle, TalosconfigInput};
use crate::r#gen::{self as r#gen, Contract, GenInput, GenOptions, Role};
use crate::schematic::{Schematic, installer_image};
use crate::{patch, schema};

/// Domain separation of the admin certificate seed.
const ADMIN_SEED_DOMAIN: &[u8] = b"hlb-talos-admin-cert-v1";

/// All compilers of this module.
pub fn compilers() -> Vec<Box<dyn Compiler>> {
    vec![Box::new(TalosConfigCompiler), Box::new(TalosconfigCompiler)]
}

/// Builds one node's machine config (kind `talos-config`).
pub struct TalosConfigCompiler;

/// Builds the admin's talosconfig (kind `talosconfig`).
pub struct TalosconfigCompiler;

/// A derivation's parameters and its name (for messages).
#[derive(Clone, Copy)]
pub struct Params<'a> {
    pub name: &'a str,
    pub params: &'a Value,
}

impl<'a> Params<'a> {
    fn of(cx: &'a BuildCx<'_>) -> Params<'a> {
        Params {
            name: &cx.drv.name,
            params: &cx.drv.params,
        }
    }
}

fn internal(cx: Params<'_>, what: impl std::fmt::Display) -> BuildError {
    BuildError::Internal(format!("derivation {}: {what}", cx.name))
}

fn get<'c>(cx: Params<'c>, key: &str) -> Option<&'c Value> {
    cx.params.get(key).filter(|v| !matches!(v, Value::Null))
}

fn str_param<'c>(cx: Params<'c>, key: &str) -> Result<&'c str, BuildError> {
    get(cx, key)
        .and_then(Value::as_str)
        .ok_or_else(|| internal(cx, format!("parameter `{key}` should be a string")))
}

fn opt_str<'c>(
    cx: Params<'c>,
    v: Option<&'c Value>,
    key: &str,
) -> Result<Option<&'c str>, BuildError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(internal(
            cx,
            format!("parameter `{key}` should be a string or null"),
        )),
    }
}

fn str_list<'c>(
    cx: Params<'c>,
    v: Option<&'c Value>,
    key: &str,
) -> Result<Vec<&'c str>, BuildError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::List(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| internal(cx, format!("`{key}` should list strings")))
            })
            .collect(),
        Some(_) => Err(internal(cx, format!("parameter `{key}` should be a list"))),
    }
}

fn str_map<'c>(
    cx: Params<'c>,
    v: Option<&'c Value>,
    key: &str,
) -> Result<BTreeMap<&'c str, &'c str>, BuildError> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.as_str(), v))
                    .ok_or_else(|| internal(cx, format!("`{key}` should map to strings")))
            })
            .collect(),
        Some(_) => Err(internal(cx, format!("parameter `{key}` should be a map"))),
    }
}

/// The secrets bundle, revealed under the declared name only.
fn reveal_bundle(cx: &BuildCx<'_>) -> Result<SecretsBundle, BuildError> {
    if !cx.drv.secret {
        return Err(internal(
            Params::of(cx),
            "its output carries private keys, so the derivation must be secret",
        ));
    }
    let name = str_param(Params::of(cx), "secrets")?;
    if !cx.sources.contains_key(&format!("tag:{name}")) {
        return Err(internal(
            Params::of(cx),
            format!(
                "declares bundle `{name}` but has no source `tag:{name}`: its id would not cover the secret"
            ),
        ));
    }
    let plaintext = cx.secrets.reveal(name)?;
    let text = std::str::from_utf8(plaintext.expose()).map_err(|_| {
        BuildError::Invalid(format!(
            "secret `{name}` is not a Talos secrets bundle: not UTF-8 text"
        ))
    })?;
    SecretsBundle::parse(text).map_err(|e| {
        BuildError::Invalid(format!(
            "secret `{name}` is not a valid Talos secrets bundle: {e} (make one with `hlb talos secrets init`)"
        ))
    })
}

fn seal_and_write(cx: &BuildCx<'_>, text: String) -> Result<(), BuildError> {
    let plaintext = Plaintext::from(text);
    let sealed = cx.secrets.seal_for_store(&plaintext)?;
    drop(plaintext);
    hlb_cache::fsx::write_atomic(cx.out, &sealed).map_err(|e| BuildError::Io {
        op: e.op,
        path: e.path,
        source: e.source,
    })
}

/// A node's own settings, as the planner passes them.
#[derive(Debug, Default)]
pub struct NodeSettings<'a> {
    pub hostname: Option<&'a str>,
    /// `IP/PREFIX`.
    pub address: Option<&'a str>,
    pub gateway: Option<&'a str>,
    pub link: &'a str,
    pub nameservers: Vec<&'a str>,
    pub labels: BTreeMap<&'a str, &'a str>,
    pub taints: BTreeMap<&'a str, &'a str>,
    pub vip: Option<&'a str>,
    pub cni_none: bool,
    pub kube_proxy_off: bool,
}

fn has_doc(config: &str, kind: &str) -> bool {
    config.contains(&format!("\nkind: {kind}\n"))
}

fn doc(kind: &str, mut body: serde_json::Map<String, serde_json::Value>) -> String {
    let mut m = serde_json::Map::new();
    m.insert("apiVersion".into(), json!("v1alpha1"));
    m.insert("kind".into(), json!(kind));
    m.append(&mut body);
    serde_json::Value::Object(m).to_string()
}

fn delete_doc(kind: &str) -> String {
    doc(
        kind,
        [("$patch".to_string(), json!("delete"))]
            .into_iter()
            .collect(),
    )
}

/// The node's `LinkConfig` document (static address and default route), in
/// Talos's encoding, to append to a generated config.
///
/// Why not a patch like the rest: the patch engine's type table treats
/// `meta.Addr` (a route's `gateway`) as a struct, so merging a route fails;
/// appended as a document, the config re-encodes and later patches merge
/// into it as Talos would. (Once the engine reads `meta.Addr` as a scalar,
/// this can become a patch.)
pub fn link_document(s: &NodeSettings<'_>) -> Option<String> {
    let address = s.address?;
    let mut fields = vec![
        ("apiVersion", Yaml::str("v1alpha1")),
        ("kind", Yaml::str("LinkConfig")),
        ("name", Yaml::str(s.link)),
        (
            "addresses",
            Yaml::Seq(vec![Node::new(Yaml::map([(
                "address",
                Yaml::str(address),
            )]))]),
        ),
    ];
    if let Some(g) = s.gateway {
        fields.push((
            "routes",
            Yaml::Seq(vec![Node::new(Yaml::map([("gateway", Yaml::str(g))]))]),
        ));
    }
    Some(emit(&Yaml::map(fields), &Style::TALOS))
}

/// `config` with the node's nameservers: in the generator's
/// `ResolverConfig` when there is one (v1.14), else in a new document.
///
/// Why text: as for [`link_document`], a nameserver's `address` is a
/// `meta.Addr`, which the patch engine cannot merge yet. `nameservers` is the
/// first field after `kind` in Talos's encoding, so inserting it there gives
/// the bytes Talos would write.
pub fn with_nameservers(config: &str, nameservers: &[&str]) -> String {
    if nameservers.is_empty() {
        return config.to_string();
    }
    let list = Yaml::Seq(
        nameservers
            .iter()
            .map(|n| Node::new(Yaml::map([("address", Yaml::str(*n))])))
            .collect(),
    );
    let field = emit(&Yaml::map([("nameservers", list)]), &Style::TALOS);
    let marker = "\nkind: ResolverConfig\n";
    match config.find(marker) {
        Some(at) => {
            let at = at + marker.len();
            format!("{}{field}{}", &config[..at], &config[at..])
        }
        None => {
            let doc = emit(
                &Yaml::map([
                    ("apiVersion", Yaml::str("v1alpha1")),
                    ("kind", Yaml::str("ResolverConfig")),
                ]),
                &Style::TALOS,
            );
            format!("{config}---\n{doc}{field}")
        }
    }
}

/// The strategic-merge patches (JSON text, which is YAML) that give a
/// generated `config` of `contract` the node's own settings, in order.
pub fn node_patches(contract: Contract, config: &str, s: &NodeSettings<'_>) -> Vec<String> {
    let multidoc = contract == Contract::V1_14;
    let mut out = Vec::new();
    if let Some(h) = s.hostname {
        // `auto` conflicts with a fixed name: replace the document.
        if has_doc(config, "HostnameConfig") {
            out.push(delete_doc("HostnameConfig"));
        }
        out.push(doc(
            "HostnameConfig",
            [("hostname".to_string(), json!(h))].into_iter().collect(),
        ));
    }
    if let Some(vip) = s.vip {
        out.push(doc(
            "Layer2VIPConfig",
            [
                ("name".to_string(), json!(vip)),
                ("link".to_string(), json!(s.link)),
            ]
            .into_iter()
            .collect(),
        ));
    }
    if !s.labels.is_empty() || !s.taints.is_empty() {
        if multidoc {
            let mut body = serde_json::Map::new();
            if !s.labels.is_empty() {
                body.insert("labels".into(), json!(s.labels));
            }
            if !s.taints.is_empty() {
                body.insert("taints".into(), json!(s.taints));
            }
            out.push(doc("KubeNodeConfig", body));
        } else {
            let mut machine = serde_json::Map::new();
            if !s.labels.is_empty() {
                machine.insert("nodeLabels".into(), json!(s.labels));
            }
            if !s.taints.is_empty() {
                machine.insert("nodeTaints".into(), json!(s.taints));
            }
            out.push(json!({ "machine": machine }).to_string());
        }
    }
    if s.cni_none {
        if multidoc {
            if has_doc(config, "KubeFlannelCNIConfig") {
                out.push(delete_doc("KubeFlannelCNIConfig"));
            }
        } else {
            out.push(json!({"cluster": {"network": {"cni": {"name": "none"}}}}).to_string());
        }
    }
    if s.kube_proxy_off {
        if multidoc {
            if has_doc(config, "KubeProxyConfig") {
                out.push(doc(
                    "KubeProxyConfig",
                    [("enabled".to_string(), json!(false))]
                        .into_iter()
                        .collect(),
                ));
            }
        } else {
            out.push(json!({"cluster": {"proxy": {"disabled": true}}}).to_string());
        }
    }
    out
}

impl Compiler for TalosConfigCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::TALOS_CONFIG
    }

    fn check(
        &self,
        lab: &hlb_builder::decl::Lab,
        plan: &hlb_builder::plan::Plan,
    ) -> hlb_builder::diag::Diagnostics {
        crate::check::check(lab, plan)
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let p = Params::of(cx);
        let roles = str_list(p, get(p, "patches"), "patches")?;
        let names = str_list(p, get(p, "patch_names"), "patch_names")?;
        let mut texts = Vec::with_capacity(roles.len());
        for (i, role) in roles.iter().enumerate() {
            let name = names.get(i).copied().unwrap_or(role);
            let bytes = cx.source(role)?;
            let text = std::str::from_utf8(bytes).map_err(|_| {
                BuildError::Invalid(format!("{}: patch {name} is not UTF-8 text", node_who(p)))
            })?;
            texts.push(text);
        }
        let bundle = reveal_bundle(cx)?;
        let config = node_config(p, &bundle, &texts).map_err(|e| match e {
            NodeProblem::Build(e) => e,
            NodeProblem::Patch {
                who,
                patch_index,
                message,
            } => {
                let name = names.get(patch_index).copied().unwrap_or("?");
                BuildError::Invalid(format!("{who}: patch {name}: {message}"))
            }
            NodeProblem::Schema { who, error, .. } => {
                BuildError::Invalid(format!("{who}: {error}"))
            }
        })?;
        seal_and_write(cx, config)
    }
}

/// Why a node's machine config cannot be made from its derivation.
#[derive(Debug, thiserror::Error)]
pub enum NodeProblem {
    /// The parameters are wrong, or the generator refused them.
    #[error(transparent)]
    Build(BuildError),
    /// Recipe patch `patch_index` (0-based, in the derivation's `patches`
    /// order) does not apply: `message` is Talos's.
    #[error("{who}: patch {patch_index}: {message}")]
    Patch {
        who: String,
        patch_index: usize,
        message: String,
    },
    /// The patched config does not validate; `patch_index` is the first
    /// recipe patch after which it stops validating (`None`: it never did,
    /// or the failure cannot be pinned on one patch).
    #[error("{who}: {error}")]
    Schema {
        who: String,
        patch_index: Option<usize>,
        error: schema::SchemaError,
    },
}

fn node_who(p: Params<'_>) -> String {
    let node = get(p, "node");
    let hostname = node
        .and_then(|n| n.get("hostname"))
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    let cluster = get(p, "cluster").and_then(Value::as_str).unwrap_or("?");
    format!("talos-cluster {cluster} node {hostname}")
}

/// A node's machine config (`talos-config` parameters `p`) from `bundle`,
/// with the recipe's patch texts (in `patches` order) applied, validated
/// against Talos's schema. The compiler builds with this; `hlb` calls it with
/// a placeholder bundle at plan time to report patch problems as recipe
/// errors (a bundle's structure, not its keys, decides whether a patch
/// applies).
pub fn node_config(
    p: Params<'_>,
    bundle: &SecretsBundle,
    patches: &[&str],
) -> Result<String, NodeProblem> {
    let talos_version = str_param(p, "talos_version").map_err(NodeProblem::Build)?;
    let contract = r#gen::parse_contract(talos_version)
        .map_err(|e| NodeProblem::Build(BuildError::Invalid(e.to_string())))?;
    let config = base_config(p, bundle, contract).map_err(NodeProblem::Build)?;
    let who = node_who(p);
    let mut config = config;
    for (i, text) in patches.iter().enumerate() {
        config = patch::apply_patch_texts(&config, &[text]).map_err(|e| NodeProblem::Patch {
            who: who.clone(),
            patch_index: i,
            message: e.to_string(),
        })?;
    }
    if let Err(error) = schema::validate_config(contract, &config) {
        // Pin the violation on the first patch after which the config stops
        // validating (only on failure: validation is the slow part).
        let patch_index = first_invalid(contract, p, bundle, patches);
        return Err(NodeProblem::Schema {
            who,
            patch_index,
            error,
        });
    }
    Ok(config)
}

fn first_invalid(
    contract: Contract,
    p: Params<'_>,
    bundle: &SecretsBundle,
    patches: &[&str],
) -> Option<usize> {
    let mut config = base_config(p, bundle, contract).ok()?;
    if schema::validate_config(contract, &config).is_err() {
        return None;
    }
    for (i, text) in patches.iter().enumerate() {
        config = patch::apply_patch_texts(&config, &[text]).ok()?;
        if schema::validate_config(contract, &config).is_err() {
            return Some(i);
        }
    }
    None
}

/// The generated config with hlb's own node settings, before recipe patches.
fn base_config(
    cx: Params<'_>,
    bundle: &SecretsBundle,
    contract: Contract,
) -> Result<String, BuildError> {
    let talos_version = str_param(cx, "talos_version")?;
    let role = match str_param(cx, "role")? {
        "controlplane" => Role::ControlPlane,
        "worker" => Role::Worker,
        other => return Err(internal(cx, format!("unknown role `{other}`"))),
    };
    let node = get(cx, "node");
    let field = |k: &str| node.and_then(|n| n.get(k));
    let hostname = opt_str(cx, field("hostname"), "node.hostname")?;
    let who = node_who(cx);
    let install_image = match get(cx, "schematic") {
        None => String::new(),
        Some(s) => {
            let schematic = Schematic {
                customization: crate::schematic::Customization {
                    official_extensions: str_list(cx, s.get("extensions"), "schematic.extensions")?
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    extra_kernel_args: str_list(
                        cx,
                        s.get("extra_kernel_args"),
                        "schematic.extra_kernel_args",
                    )?
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                    ..Default::default()
                },
                ..Default::default()
            };
            installer_image(&schematic.id(), talos_version)
        }
    };
    let input = GenInput {
        bundle,
        cluster_name: str_param(cx, "cluster")?.to_string(),
        endpoint: str_param(cx, "endpoint")?.to_string(),
        kubernetes_version: str_param(cx, "kubernetes_version")?.to_string(),
        contract,
        options: GenOptions {
            install_disk: opt_str(cx, get(cx, "install_disk"), "install_disk")?
                .unwrap_or_default()
                .to_string(),
            install_image,
            pod_subnets: opt_str(cx, get(cx, "pod_cidr"), "pod_cidr")?
                .into_iter()
                .map(str::to_string)
                .collect(),
            service_subnets: opt_str(cx, get(cx, "service_cidr"), "service_cidr")?
                .into_iter()
                .map(str::to_string)
                .collect(),
            ..GenOptions::default()
        },
    };
    let config = r#gen::generate_config(&input, role)
        .map_err(|e| BuildError::Invalid(format!("{who}: {e}")))?;
    let settings = NodeSettings {
        hostname,
        address: opt_str(cx, field("address"), "node.address")?,
        gateway: opt_str(cx, field("gateway"), "node.gateway")?,
        link: opt_str(cx, field("link"), "node.link")?.unwrap_or("eth0"),
        nameservers: str_list(cx, field("nameservers"), "node.nameservers")?,
        labels: str_map(cx, field("labels"), "node.labels")?,
        taints: str_map(cx, field("taints"), "node.taints")?,
        vip: opt_str(cx, get(cx, "vip"), "vip")?,
        cni_none: get(cx, "cni").and_then(Value::as_str) == Some("none"),
        kube_proxy_off: get(cx, "kube_proxy").and_then(Value::as_bool) == Some(false),
    };
    let config = match link_document(&settings) {
        Some(link) => format!("{config}---\n{link}"),
        None => config,
    };
    let config = with_nameservers(&config, &settings.nameservers);
    let own = node_patches(contract, &config, &settings);
    patch::apply_patch_texts(&config, &own)
        .map_err(|e| BuildError::Internal(format!("{who}: hlb's node settings do not apply: {e}")))
}

impl Compiler for TalosconfigCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::TALOSCONFIG
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let p = Params::of(cx);
        let int = |key: &str| {
            get(p, key)
                .and_then(Value::as_int)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| {
                    internal(
                        p,
                        format!("parameter `{key}` should be a non-negative integer"),
                    )
                })
        };
        let not_before = int("valid_from")?;
        let validity = int("valid_seconds")?;
        let mut seed_input = Vec::with_capacity(ADMIN_SEED_DOMAIN.len() + 33);
        seed_input.extend_from_slice(ADMIN_SEED_DOMAIN);
        seed_input.push(0);
        seed_input.extend_from_slice(&cx.id.0);
        let seed = zeroize::Zeroizing::new(cx.secrets.lab_key()?.prf(&seed_input));
        let bundle = reveal_bundle(cx)?;
        let input = TalosconfigInput {
            context: str_param(p, "cluster")?.to_string(),
            endpoints: str_list(p, get(p, "endpoints"), "endpoints")?
                .into_iter()
                .map(str::to_string)
                .collect(),
            nodes: str_list(p, get(p, "nodes"), "nodes")?
                .into_iter()
                .map(str::to_string)
                .collect(),
            cert: AdminCertRequest {
                roles: vec!["os:admin".to_string()],
                not_before,
                not_after: not_before.saturating_add(validity),
                seed: *seed,
            },
        };
        let text = bundle
            .talosconfig(&input)
            .map_err(|e| BuildError::Invalid(format!("talosconfig of {}: {e}", input.context)))?;
        seal_and_write(cx, text)
    }
}
