//! Planning: from an evaluated lab to the derivation graph and the layout of
//! its generation.
//!
//! The planner decides what each declaration's derivation hashes: only what
//! can change the output. A file that interpolates `${domain}` hashes the
//! value of `domain` and no other parameter, so changing an unrelated
//! parameter rebuilds nothing. Everything is keyed by `BTreeMap`, so the plan
//! is independent of declaration and file order.
//!
//! Planning is pure: it reads the `Lab` (whose files were read and hashed by
//! the loader) and the lock, never the network or the store.
//!
//! Secrets: a derivation that may reveal secret `NAME` hashes the digest of
//! `NAME.tag` as its source `tag:NAME`, never plaintext or ciphertext, so
//! planning needs no identity. A secret-bearing `file` (content `secret=`, or
//! an interpolated source that uses `${secret.NAME}`) is a secret derivation
//! (`drv.secret`) with `"secrets"` listing what it may reveal; a
//! `sealed-secret` is public (its output is ciphertext for the cluster's
//! controller) and hashes the sealing certificate as source `cert`.
//! Derivations without secrets are encoded exactly as before secrets
//! existed.

use std::collections::{BTreeMap, BTreeSet};

use hlb_cache::generation::contract::{
    ClusterObject, ClusterSpec, Credentials, FileDelivery, HostSpec, SshAccess, apply_order,
};
use hlb_cache::generation::{Artifact, Generation, Target, TargetSpec};
use serde_json::json;

use crate::decl::{
    Body, Content, Decl, FetchDecl, FileDecl, Kind, Lab, ManifestDecl, RefRole, SealedSecretDecl,
};

mod container;
mod lxc;
mod talos;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::drv::{Derivation, DrvId, Value};
use crate::graph::Graph;
use crate::interp;
use crate::kinds;
use crate::lock::{Lock, LockRequests};
use crate::sched::{Outcome, SourceBytes};
pub use container::{debian_request, delivered_secret_name, unit_file};
pub use lxc::{
    DEBIAN_SECTION, LockedDeb, LockedDebError, deb_drv_name, deb_fetch_derivation, locked_debs,
    pinned_debs, template_packages,
};
pub use talos::{
    ADMIN_CERT_VALID_SECONDS, cluster_target, node_artifact, node_target, talosconfig_artifact,
};

/// Compiler versions, by derivation kind (the scheduler's registry answers it).
pub type Versions<'a> = &'a dyn Fn(&str) -> Option<u32>;

/// The generation's target for artifacts that belong to no machine.
pub const LAB_TARGET: &str = "lab";

/// One target as the generation will list it: its artifacts' derivations
/// and the typed spec its deployer reads (`hlb_cache::generation::contract`).
#[derive(Debug, Clone)]
pub struct PlannedTarget {
    /// Artifact name → derivation.
    pub artifacts: BTreeMap<String, DrvId>,
    pub after: BTreeSet<String>,
    pub spec: TargetSpec,
}

/// What the planner tells a target about one of its artifacts.
pub(crate) enum Delivery {
    /// Nothing to deliver (the `lab` target, a Talos cluster's talosconfig).
    Keep,
    /// A file placed on a host (or kept with a cluster).
    File(FileDelivery),
    /// Applied to a cluster.
    Object(ClusterObject),
    /// The target's whole spec comes with this artifact (a container's
    /// template, a Talos node's config).
    Spec(Box<TargetSpec>),
    /// A container secret delivered at activation.
    Secret(hlb_cache::generation::contract::SecretDelivery),
}

#[derive(Debug)]
pub struct Plan {
    pub lab: String,
    pub graph: Graph,
    /// The derivation of each declaration that has one, by declaration name.
    pub by_name: BTreeMap<String, DrvId>,
    pub sources: SourceBytes,
    /// Target name → its artifacts and spec.
    pub targets: BTreeMap<String, PlannedTarget>,
    /// Where the parameters of a derivation were written, by parameter
    /// path (`files[2].owner`; `""` for the declaration itself), for
    /// derivations whose compiler reports errors at a parameter
    /// ([`crate::BuildError::InvalidAt`]). Not hashed: moving a line
    /// changes no id.
    pub spans: BTreeMap<DrvId, BTreeMap<String, Span>>,
}

impl Plan {
    /// Every derivation a generation needs directly.
    pub fn roots(&self) -> Vec<DrvId> {
        let set: BTreeSet<DrvId> = self
            .targets
            .values()
            .flat_map(|t| t.artifacts.values().copied())
            .collect();
        set.into_iter().collect()
    }

    /// Where the recipe wrote parameter `at` of derivation `id`: the most
    /// specific recorded path that `at` is, or lies under.
    pub fn locate(&self, id: &DrvId, at: &str) -> Option<Span> {
        let spans = self.spans.get(id)?;
        let mut path = at;
        loop {
            if let Some(span) = spans.get(path) {
                return Some(*span);
            }
            if path.is_empty() {
                return None;
            }
            path = match path.rfind(['.', '[']) {
                Some(i) => &path[..i],
                None => "",
            };
        }
    }

    /// Name of the target a declaration's artifact lands in.
    pub fn target_of(&self, name: &str) -> Option<&str> {
        self.targets
            .iter()
            .find(|(_, t)| t.artifacts.contains_key(name))
            .map(|(t, _)| t.as_str())
    }

    /// The generation manifest, once everything in `roots()` is built.
    pub fn generation(&self, outcome: &Outcome) -> Option<Generation> {
        let mut targets = BTreeMap::new();
        for (target, t) in &self.targets {
            let mut artifacts = BTreeMap::new();
            for (name, id) in &t.artifacts {
                let entry = outcome.outputs.get(id)?;
                let drv = self.graph.get(id)?;
                artifacts.insert(
                    name.clone(),
                    Artifact {
                        id: *id,
                        name: drv.name.clone(),
                        kind: drv.kind.clone(),
                        // A secret artifact's stored bytes are age ciphertext,
                        // which differs between stores; its plaintext is a pure
                        // function of its derivation (whose id hashes the
                        // secrets' tags), so the id stands for its content.
                        content: if drv.secret { *id } else { entry.content_hash },
                        secret: drv.secret,
                    },
                );
            }
            targets.insert(
                target.clone(),
                Target {
                    artifacts,
                    after: t.after.iter().cloned().collect(),
                    spec: t.spec.clone(),
                },
            );
        }
        Some(Generation {
            lab: self.lab.clone(),
            targets,
            v1_hash: None,
        })
    }
}

/// What `hlb lock` must resolve for this lab: every fetch without a pinned
/// hash in the recipe.
pub fn lock_requests(lab: &Lab) -> LockRequests {
    let mut sections: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    for d in &lab.decls {
        if let Body::Fetch(f) = &d.body
            && f.hash.is_none()
        {
            sections
                .entry("fetch".to_string())
                .or_default()
                .insert(f.url.value.clone(), json!({}));
        }
    }
    for (name, request) in container::debian_requests(lab) {
        sections
            .entry(DEBIAN_SECTION.to_string())
            .or_default()
            .insert(name.to_string(), request);
    }
    LockRequests(sections)
}

/// What the cluster applies: its default namespace and the declarations it
/// is applied after.
fn apply_object(
    artifact: &str,
    namespace: Option<&crate::decl::Spanned<String>>,
    after: &[crate::decl::Ref],
) -> ClusterObject {
    let after: BTreeSet<String> = after.iter().map(|r| r.name.clone()).collect();
    ClusterObject {
        artifact: artifact.to_string(),
        namespace: namespace.map(|ns| ns.value.clone()),
        after: after.into_iter().collect(),
    }
}

/// Recipe strings as a parameter list, in source order.
fn string_list(v: &[crate::decl::Spanned<String>]) -> Value {
    Value::List(v.iter().map(|x| Value::from(x.value.as_str())).collect())
}

/// A map of recipe strings as a parameter map.
fn strings(m: &BTreeMap<String, crate::decl::Spanned<String>>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.value.as_str())))
            .collect(),
    )
}

fn target_name(kind: Kind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

fn diag(code: &'static str, span: Span, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        code,
        message,
        span: Some(span),
        label: None,
        notes: Vec::new(),
        help,
    }
}

struct Planner<'a> {
    lab: &'a Lab,
    lock: &'a Lock,
    versions: Versions<'a>,
    drvs: BTreeMap<DrvId, Derivation>,
    by_name: BTreeMap<String, DrvId>,
    sources: SourceBytes,
    targets: BTreeMap<String, PlannedTarget>,
    spans: BTreeMap<DrvId, BTreeMap<String, Span>>,
    errors: Vec<Diagnostic>,
}

/// Plan the lab. All problems are reported together.
pub fn plan(lab: &Lab, lock: &Lock, versions: Versions<'_>) -> Result<Plan, Diagnostics> {
    let mut p = Planner {
        lab,
        lock,
        versions,
        drvs: BTreeMap::new(),
        by_name: BTreeMap::new(),
        sources: BTreeMap::new(),
        targets: BTreeMap::new(),
        spans: BTreeMap::new(),
        errors: Vec::new(),
    };
    // Fetches first: files and manifests take them as inputs.
    for d in &lab.decls {
        if let Body::Fetch(f) = &d.body {
            p.fetch(d, f);
        }
    }
    let mut used_fetches = BTreeSet::new();
    for d in &lab.decls {
        // Whatever takes a download as an input (`fetch=`, `unpack`).
        used_fetches.extend(
            d.body
                .refs()
                .into_iter()
                .filter(|(role, _)| matches!(role, RefRole::Fetch | RefRole::Unpack))
                .map(|(_, r)| r.name.clone()),
        );
        match &d.body {
            Body::File(f) => p.file(d, f),
            Body::Manifest(m) => p.manifest(d, m),
            Body::SealedSecret(s) => p.sealed_secret(d, s),
            Body::TalosCluster(t) => {
                let _ = p.talos_cluster(d, t);
            }
            Body::Lxc(l) => p.lxc(d, l),
            // Targets are not artifacts; a secret is an input of what uses it.
            Body::Cluster(_) | Body::Host(_) | Body::Secret(_) | Body::Fetch(_) => {}
        }
    }
    // A fetch nothing consumes is still part of the lab: keep it in the generation.
    for d in &lab.decls {
        if matches!(d.body, Body::Fetch(_))
            && !used_fetches.contains(&d.name.value)
            && let Some(id) = p.by_name.get(&d.name.value).copied()
        {
            p.artifact(LAB_TARGET.to_string(), &d.name.value, id, Delivery::Keep);
        }
    }
    p.finish_targets();
    if !p.errors.is_empty() {
        p.errors
            .sort_by_key(|d| d.span.map(|s| (s.file.0, s.offset)));
        return Err(Diagnostics(p.errors));
    }
    let graph = Graph::new(p.drvs).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            code: "E0599",
            message: format!("internal error while planning: {e}"),
            span: None,
            label: None,
            notes: Vec::new(),
            help: Some("this is a bug in hlb; please report it".into()),
        }])
    })?;
    Ok(Plan {
        lab: lab.name.value.clone(),
        graph,
        by_name: p.by_name,
        sources: p.sources,
        targets: p.targets,
        spans: p.spans,
    })
}

impl Planner<'_> {
    fn version(&mut self, kind: &str, span: Span) -> Option<u32> {
        let v = (self.versions)(kind);
        if v.is_none() {
            self.errors.push(diag(
                "E0501",
                span,
                format!("this hlb has no compiler for `{kind}`"),
                None,
            ));
        }
        v
    }

    fn add(&mut self, decl: &Decl, drv: Derivation) -> DrvId {
        let id = drv.id();
        self.drvs.insert(id, drv);
        self.by_name.insert(decl.name.value.clone(), id);
        id
    }

    /// List artifact `name` in `target` with what its deployer does with
    /// it. A target's spec is made by its first artifact: from the
    /// declaration the target is named after (`host/NAME`, `cluster/NAME`)
    /// or from a [`Delivery::Spec`].
    fn artifact(&mut self, target: String, name: &str, id: DrvId, delivery: Delivery) {
        if !self.targets.contains_key(&target) {
            let spec = match &delivery {
                Delivery::Spec(spec) => (**spec).clone(),
                _ => self.declared_spec(&target),
            };
            self.targets.insert(
                target.clone(),
                PlannedTarget {
                    artifacts: BTreeMap::new(),
                    after: BTreeSet::new(),
                    spec,
                },
            );
        }
        let Some(t) = self.targets.get_mut(&target) else {
            return;
        };
        t.artifacts.insert(name.to_string(), id);
        match (delivery, &mut t.spec) {
            (Delivery::File(f), TargetSpec::Host(h)) => h.files.push(f),
            (Delivery::File(f), TargetSpec::Cluster(c)) => c.files.push(f),
            (Delivery::Object(o), TargetSpec::Cluster(c)) => c.objects.push(o),
            (Delivery::Secret(s), TargetSpec::Lxc(l)) => l.secrets.push(s),
            (Delivery::Spec(spec), current) => *current = *spec,
            // Files without a target, talosconfigs: kept, not delivered.
            (Delivery::Keep | Delivery::File(_), _) => {}
            (Delivery::Object(_) | Delivery::Secret(_), _) => {
                // The loader only lets manifests target clusters and
                // secrets belong to containers; anything else is a bug.
                self.errors.push(Diagnostic::new(
                    "E0599",
                    format!("internal error: target {target} cannot receive artifact {name}"),
                ));
            }
        }
    }

    /// The spec of a target named after a declaration, before any
    /// artifact filled it.
    fn declared_spec(&self, target: &str) -> TargetSpec {
        let decl = |name: &str| self.lab.decls.iter().find(|d| d.name.value == name);
        if let Some(name) = target.strip_prefix("host/")
            && let Some(Body::Host(h)) = decl(name).map(|d| &d.body)
        {
            return TargetSpec::Host(HostSpec {
                access: SshAccess {
                    address: h.address.value.clone(),
                    port: 22,
                    user: "root".into(),
                    host_key: None,
                },
                files: Vec::new(),
                services: Vec::new(),
                probes: Vec::new(),
            });
        }
        if let Some(name) = target.strip_prefix("cluster/")
            && let Some(Body::Cluster(c)) = decl(name).map(|d| &d.body)
        {
            return TargetSpec::Cluster(ClusterSpec {
                api: c.api.value.clone(),
                credentials: Credentials::Operator,
                objects: Vec::new(),
                files: Vec::new(),
            });
        }
        TargetSpec::Lab
    }

    /// Lists in the orders the contract promises.
    fn finish_targets(&mut self) {
        for t in self.targets.values_mut() {
            match &mut t.spec {
                TargetSpec::Host(h) => h.files.sort_by(|a, b| a.path.cmp(&b.path)),
                TargetSpec::Cluster(c) => {
                    c.files.sort_by(|a, b| a.path.cmp(&b.path));
                    c.objects = apply_order(std::mem::take(&mut c.objects));
                }
                TargetSpec::Lxc(l) => l.secrets.sort_by(|a, b| a.path.cmp(&b.path)),
                TargetSpec::TalosNode(_) | TargetSpec::Lab => {}
            }
        }
    }

    fn fetch(&mut self, d: &Decl, f: &FetchDecl) {
        let Some(version) = self.version(kinds::FETCH, d.span) else {
            return;
        };
        let hash = match &f.hash {
            Some(h) => h.value.clone(),
            None => match self.lock.fetch_hash(&f.url.value) {
                Some(h) => h,
                None => {
                    self.errors.push(diag(
                        "E0502",
                        f.url.span,
                        format!("`{}` has no hash and hlb.lock has no pin for this URL", d.name.value),
                        Some("run `hlb lock` to pin it, or add hash=\"sha256:…\" (`hlb prefetch URL` prints it)".into()),
                    ));
                    return;
                }
            },
        };
        let drv = Derivation {
            kind: kinds::FETCH.into(),
            name: d.name.value.clone(),
            builder_version: version,
            params: Value::map()
                .with("url", f.url.value.as_str())
                .with("executable", f.executable),
            inputs: BTreeMap::new(),
            sources: BTreeMap::new(),
            fixed_output: Some(hash),
            secret: false,
        };
        self.add(d, drv);
    }

    /// Content of a file or manifest: sets `text`, `sources` or `inputs`,
    /// and the parameters the content refers to when it is interpolated.
    fn content(
        &mut self,
        content: &Content,
        interpolate: bool,
        params: &mut Value,
        drv_sources: &mut BTreeMap<String, hlb_cache::Digest>,
        drv_inputs: &mut BTreeMap<String, DrvId>,
    ) -> Option<()> {
        match content {
            Content::Text(t) => {
                // Recipe strings are interpolated by the loader already.
                *params = params
                    .clone()
                    .with("text", t.value.as_str())
                    .with("interpolate", false);
                return Some(());
            }
            Content::Source(path) => {
                let file = self.lab.files.get(&path.value)?;
                self.sources.insert(file.digest, file.bytes.clone());
                drv_sources.insert("src".into(), file.digest);
                *params = params.clone().with("source_name", path.value.to_string());
                if interpolate {
                    let Ok(text) = std::str::from_utf8(&file.bytes) else {
                        self.errors.push(diag(
                            "E0503",
                            path.span,
                            format!(
                                "{} is not UTF-8 text, so it cannot be interpolated",
                                path.value
                            ),
                            Some("drop interpolate=#true to deliver the bytes unchanged".into()),
                        ));
                        return None;
                    };
                    let mut used = BTreeMap::new();
                    let mut ok = true;
                    // `${secret.NAME}` is the file's secret input (the
                    // loader resolved it), not a parameter.
                    for name in interp::references(text)
                        .into_iter()
                        .filter(|n| !n.starts_with("secret."))
                    {
                        match self.lab.param(name) {
                            Some(v) => {
                                used.insert(name.to_string(), Value::from(v));
                            }
                            None => {
                                ok = false;
                                let offset = text.find(&format!("${{{name}}}")).unwrap_or(0);
                                let line = text[..offset].matches('\n').count() + 1;
                                let col = text[..offset]
                                    .rsplit('\n')
                                    .next()
                                    .map_or(0, |l| l.chars().count())
                                    + 1;
                                self.errors.push(diag(
                                    "E0504",
                                    path.span,
                                    format!("{}:{line}:{col} refers to unknown parameter `{name}`", path.value),
                                    Some(format!(
                                        "declare it with `param \"{name}\" \"…\"` in the lab, or write `$${{{name}}}` for a literal `${{{name}}}`"
                                    )),
                                ));
                            }
                        }
                    }
                    if !ok {
                        return None;
                    }
                    *params = params.clone().with("params", Value::Map(used));
                }
            }
            Content::Secret(r) => {
                // The whole plaintext, unchanged: no text, no source.
                *params = params
                    .clone()
                    .with("secret_content", r.name.as_str())
                    .with("interpolate", false);
                return Some(());
            }
            Content::Fetch(r) => {
                let id = *self.by_name.get(&r.name)?;
                drv_inputs.insert("src".into(), id);
                *params = params.clone().with("source_name", r.name.as_str());
                if interpolate {
                    // The fetched text is unknown until it is built: hash every parameter.
                    let all: BTreeMap<String, Value> = self
                        .lab
                        .params
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.value.as_str())))
                        .chain([(
                            "lab.name".to_string(),
                            Value::from(self.lab.name.value.as_str()),
                        )])
                        .collect();
                    *params = params.clone().with("params", Value::Map(all));
                }
            }
        }
        *params = params.clone().with("interpolate", interpolate);
        Some(())
    }

    fn file(&mut self, d: &Decl, f: &FileDecl) {
        let Some(version) = self.version(kinds::FILE, d.span) else {
            return;
        };
        let mut params = Value::map();
        let (mut sources, mut inputs) = (BTreeMap::new(), BTreeMap::new());
        if self
            .content(
                &f.content,
                f.interpolate,
                &mut params,
                &mut sources,
                &mut inputs,
            )
            .is_none()
        {
            return;
        }
        let secrets: Vec<&str> = f.secrets().into_iter().collect();
        if !secrets.is_empty() {
            if self.tag_sources(&secrets, d.span, &mut sources).is_none() {
                return;
            }
            params = params.with("secrets", secrets.clone());
        }
        let drv = Derivation {
            kind: kinds::FILE.into(),
            name: d.name.value.clone(),
            builder_version: version,
            params,
            inputs,
            sources,
            fixed_output: None,
            secret: !secrets.is_empty(),
        };
        let id = self.add(d, drv);
        let target = f
            .target
            .as_ref()
            .map_or(LAB_TARGET.to_string(), |t| target_name(t.kind, &t.name));
        // The loader requires a path exactly when there is a target.
        let delivery = match &f.path {
            Some(p) => Delivery::File(FileDelivery {
                artifact: d.name.value.clone(),
                path: p.value.clone(),
                mode: format!("{:04o}", f.mode.value),
                owner: "root".into(),
                group: "root".into(),
            }),
            None => Delivery::Keep,
        };
        self.artifact(target, &d.name.value, id, delivery);
    }

    /// Add source `tag:NAME` (the digest of `NAME.tag`) for each secret.
    fn tag_sources(
        &mut self,
        names: &[&str],
        span: Span,
        sources: &mut BTreeMap<String, hlb_cache::Digest>,
    ) -> Option<()> {
        let mut ok = true;
        for name in names {
            match self.lab.secret_tag(name) {
                Some(tag) => {
                    self.sources.insert(tag.digest, tag.bytes.clone());
                    sources.insert(format!("tag:{name}"), tag.digest);
                }
                None => {
                    ok = false;
                    self.errors.push(diag(
                        "E0505",
                        span,
                        format!("secret `{name}` has no tag in the loaded lab"),
                        Some(format!(
                            "declare it with `secret \"{name}\"` and run `hlb secret set {name}`"
                        )),
                    ));
                }
            }
        }
        ok.then_some(())
    }

    fn sealed_secret(&mut self, d: &Decl, s: &SealedSecretDecl) {
        let Some(version) = self.version(kinds::SEALED_SECRET, d.span) else {
            return;
        };
        let cert = match self.lab.get(&s.target.name).map(|c| &c.body) {
            Some(Body::Cluster(c)) => c
                .sealing_cert
                .as_ref()
                .and_then(|p| self.lab.file(&p.value)),
            _ => None,
        };
        let Some(cert) = cert else {
            self.errors.push(diag(
                "E0506",
                s.target.span,
                format!(
                    "cluster `{}` has no sealing certificate to seal `{}` to",
                    s.target.name, d.name.value
                ),
                Some("run `hlb secret sealing-key init` and add `sealing-cert=\"secrets/sealing-key.crt\"` to the cluster".into()),
            ));
            return;
        };
        let mut sources = BTreeMap::new();
        self.sources.insert(cert.digest, cert.bytes.clone());
        sources.insert("cert".to_string(), cert.digest);
        let names: BTreeSet<&str> = s.data.values().map(|r| r.name.as_str()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        if self.tag_sources(&names, d.span, &mut sources).is_none() {
            return;
        }
        let params = Value::map()
            .with("name", d.name.value.as_str())
            .with("namespace", s.namespace.as_ref().map(|n| n.value.clone()))
            .with("scope", s.scope.value.as_str())
            .with("type", s.secret_type.value.as_str())
            .with("labels", strings(&s.labels))
            .with("annotations", strings(&s.annotations))
            .with(
                "data",
                Value::Map(
                    s.data
                        .iter()
                        .map(|(k, r)| (k.clone(), Value::from(r.name.as_str())))
                        .collect(),
                ),
            );
        let drv = Derivation {
            kind: kinds::SEALED_SECRET.into(),
            name: d.name.value.clone(),
            builder_version: version,
            params,
            inputs: BTreeMap::new(),
            sources,
            fixed_output: None,
            // Ciphertext only the controller opens: safe to publish.
            secret: false,
        };
        self.applied(d, drv, &s.target, s.namespace.as_ref(), &s.after);
    }

    fn manifest(&mut self, d: &Decl, m: &ManifestDecl) {
        let Some(version) = self.version(kinds::MANIFEST, d.span) else {
            return;
        };
        let mut params =
            Value::map().with("namespace", m.namespace.as_ref().map(|n| n.value.clone()));
        let (mut sources, mut inputs) = (BTreeMap::new(), BTreeMap::new());
        if self
            .content(
                &m.content,
                m.interpolate,
                &mut params,
                &mut sources,
                &mut inputs,
            )
            .is_none()
        {
            return;
        }
        if params.get("source_name").is_none() {
            params = params.with("source_name", format!("manifest {}", d.name.value));
        }
        let drv = Derivation {
            kind: kinds::MANIFEST.into(),
            name: d.name.value.clone(),
            builder_version: version,
            params,
            inputs,
            sources,
            fixed_output: None,
            secret: false,
        };
        self.applied(d, drv, &m.target, m.namespace.as_ref(), &m.after);
    }

    /// Add the derivation of something the cluster applies (a manifest, a
    /// SealedSecret) and list it in the cluster's target with its
    /// namespace/after meta.
    fn applied(
        &mut self,
        d: &Decl,
        drv: Derivation,
        target: &crate::decl::Ref,
        namespace: Option<&crate::decl::Spanned<String>>,
        after: &[crate::decl::Ref],
    ) {
        let id = self.add(d, drv);
        self.artifact(
            target_name(target.kind, &target.name),
            &d.name.value,
            id,
            Delivery::Object(apply_object(&d.name.value, namespace, after)),
        );
    }
}
