//! Planning an `lxc` container: its `debian` lock request, the
//! `lxc-template` derivation (with the `.deb` fetches the lock pins), one
//! secret `file` derivation per secret delivered at activation, and the
//! `lxc/<name>` target that tells the deployer what goes where.
//!
//! The `lxc-template` contract is `hlb-lxc`'s (its compiler module); this
//! module lowers the recipe onto it:
//! - `packages` and `deb:<name>` inputs from the lock ([`super::lxc`]);
//! - `files`: the recipe's files in source order (text inline; recipe
//!   sources as source roles `file:N`, interpolated ones as `text`, since
//!   interpolation is a pure function of the recipe; downloads as input
//!   roles `file:N`), then the unit files and drop-ins hlb writes for
//!   `service` declarations;
//! - `archives` (`unpack`) with input roles `archive:N`; `activation_files`
//!   (the delivered secrets' paths and owners, so the compiler checks the
//!   owners exist; no secret value or name).
//!
//! Where each parameter was written is recorded in [`Plan::spans`], so a
//! compiler error at `files[2].owner` points at the recipe's `file` line.
//!
//! Invariants: the template derivation is public (`secret: false`) and its
//! params never name a secret; everything is keyed by `BTreeMap` or kept in
//! source order, so the id depends only on what the recipe says.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::Delivery;
use super::lxc::{LockedDebError, pinned_debs, template_packages};
use super::{Planner, diag, string_list, target_name};
use crate::decl::{
    Content, Decl, Kind, LXC_BASE_PACKAGES, Lab, LxcDecl, LxcService, ProbeKind, package_name,
};
use crate::diag::Span;
use crate::drv::{Derivation, Value};
use crate::interp;
use crate::kinds;
use hlb_cache::generation::TargetSpec;
use hlb_cache::generation::contract::{
    LxcSpec, Network, Probe, Resources, SecretDelivery, Service, TemplateRef,
};

/// The zstd level of templates: zstd's own default, as Proxmox's vzdump and
/// mmdebstrap use. Level 19 makes a 220 MB root filesystem 20% smaller but
/// takes 100 times longer (150 s against 1.5 s, measured), and every
/// change to a container rebuilds its template.
pub const TEMPLATE_ZSTD_LEVEL: i64 = 3;

/// The `debian` lock request of a container: what `hlb lock` resolves and
/// what its entry must have been resolved for.
pub fn debian_request(l: &LxcDecl) -> serde_json::Value {
    let packages: BTreeSet<&str> = LXC_BASE_PACKAGES
        .iter()
        .copied()
        .chain(l.packages.iter().map(|p| p.value.as_str()))
        .collect();
    let mut request = json!({
        "mirror": l.debian.mirror.value,
        "suites": l.debian.suites,
        "components": l.debian.components,
        "architecture": l.debian.architecture.value,
        "packages": packages,
        "essential": true,
        "required": true,
    });
    if let Some(m) = &l.debian.security_mirror {
        request["security_mirror"] = json!(m.value);
    }
    request
}

/// The `debian` requests of every container of the lab, by container name.
pub(super) fn debian_requests(lab: &Lab) -> impl Iterator<Item = (&str, serde_json::Value)> {
    lab.decls.iter().filter_map(|d| match &d.body {
        crate::decl::Body::Lxc(l) => Some((d.name.value.as_str(), debian_request(l))),
        _ => None,
    })
}

/// The name of the secret `file` derivation delivering `secret` to
/// `container`.
pub fn delivered_secret_name(container: &str, secret: &str) -> String {
    format!("{container}-secret-{secret}")
}

/// systemd's quoting for a value in double quotes (`Environment="K=V"`):
/// backslash and quote escaped, `%` doubled (specifiers).
fn systemd_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `[Service]` lines a declaration sets besides `ExecStart`.
fn service_lines(s: &LxcService, out: &mut String) {
    if let Some(u) = &s.user {
        out.push_str(&format!("User={}\n", u.value));
    }
    if let Some(g) = &s.group {
        out.push_str(&format!("Group={}\n", g.value));
    }
    if let Some(w) = &s.working_directory {
        out.push_str(&format!("WorkingDirectory={}\n", w.value));
    }
    for (k, v) in &s.environment {
        out.push_str(&format!(
            "Environment={}\n",
            systemd_quoted(&format!("{k}={}", v.value))
        ));
    }
}

/// The unit file hlb writes for a `service` with `exec`, or the drop-in
/// for a packaged unit whose user, group, directory or environment the
/// recipe sets: `(path, text)`.
pub fn unit_file(s: &LxcService) -> Option<(String, String)> {
    let unit = &s.unit.value;
    if let Some(exec) = &s.exec {
        let stem = unit.strip_suffix(".service").unwrap_or(unit);
        let description = s
            .description
            .as_ref()
            .map_or_else(|| format!("{stem} (managed by hlb)"), |d| d.value.clone());
        let mut text = format!(
            "[Unit]\nDescription={description}\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nExecStart={}\n",
            exec.value
        );
        service_lines(s, &mut text);
        text.push_str("Restart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n");
        return Some((format!("/etc/systemd/system/{unit}"), text));
    }
    let mut lines = String::new();
    service_lines(s, &mut lines);
    (!lines.is_empty()).then(|| {
        (
            format!("/etc/systemd/system/{unit}.d/hlb.conf"),
            format!("[Service]\n{lines}"),
        )
    })
}

fn mode_value(m: u32) -> Value {
    Value::Int(i64::from(m))
}

impl Planner<'_> {
    pub(super) fn lxc(&mut self, d: &Decl, l: &LxcDecl) {
        let (Some(version), Some(fetch_version)) = (
            self.version(kinds::LXC_TEMPLATE, d.span),
            self.version(kinds::FETCH, d.span),
        ) else {
            return;
        };
        let name = d.name.value.as_str();
        let request = debian_request(l);
        let debs = match pinned_debs(self.lock, name, &request) {
            Ok(debs) => debs,
            Err(e) => {
                let (code, help) = match &e {
                    LockedDebError::Missing(_) | LockedDebError::Stale(_) => (
                        "E0512",
                        "run `hlb lock` to resolve the container's packages into hlb.lock",
                    ),
                    _ => (
                        "E0513",
                        "hlb.lock was edited by hand or merged badly: run `hlb lock` to write the entry again",
                    ),
                };
                self.errors.push(diag(
                    code,
                    l.debian.span,
                    format!("container `{name}`: {e}"),
                    Some(help.into()),
                ));
                return;
            }
        };
        let Some((packages, mut inputs, fetches)) = template_packages(&debs, fetch_version) else {
            return;
        };
        for f in fetches {
            self.drvs.insert(f.id(), f);
        }
        let mut spans: BTreeMap<String, Span> = BTreeMap::new();
        spans.insert(String::new(), d.name.span);
        spans.insert("packages".into(), l.debian.span);
        let written: BTreeMap<&str, Span> = l
            .packages
            .iter()
            .map(|p| (package_name(&p.value), p.span))
            .collect();
        for (i, deb) in debs.iter().enumerate() {
            if let Some(span) = written.get(deb.name.as_str()) {
                spans.insert(format!("packages[{i}]"), *span);
            }
        }
        let mut sources = BTreeMap::new();
        let mut files = Vec::new();
        for f in &l.files {
            let at = files.len();
            spans.insert(format!("files[{at}]"), f.span);
            spans.insert(format!("files[{at}].owner"), f.owner.span);
            spans.insert(format!("files[{at}].group"), f.group.span);
            let mut item = Value::map()
                .with("path", f.path.value.as_str())
                .with("mode", mode_value(f.mode.value))
                .with("owner", f.owner.value.as_str())
                .with("group", f.group.value.as_str());
            let role = format!("file:{at}");
            match &f.content {
                Content::Text(t) => item = item.with("text", t.value.as_str()),
                Content::Source(p) => {
                    let Some(file) = self.lab.files.get(&p.value) else {
                        continue;
                    };
                    if f.interpolate {
                        let text = std::str::from_utf8(&file.bytes).ok().and_then(|t| {
                            interp::interpolate(t, &|n| self.lab.param(n).map(str::to_string)).ok()
                        });
                        let Some(text) = text else {
                            self.errors.push(diag(
                                "E0503",
                                p.span,
                                format!("{} cannot be interpolated", p.value),
                                Some(
                                    "drop interpolate=#true to deliver the bytes unchanged".into(),
                                ),
                            ));
                            continue;
                        };
                        item = item.with("text", text);
                    } else {
                        self.sources.insert(file.digest, file.bytes.clone());
                        sources.insert(role.clone(), file.digest);
                        item = item.with("source", role.as_str());
                    }
                }
                Content::Fetch(r) => {
                    let Some(id) = self.by_name.get(&r.name).copied() else {
                        continue;
                    };
                    inputs.insert(role.clone(), id);
                    item = item.with("source", role.as_str());
                }
                // The loader refuses secrets in templates.
                Content::Secret(_) => continue,
            }
            files.push(item);
        }
        let mut services = Vec::new();
        for (i, s) in l.services.iter().enumerate() {
            spans.insert(format!("services[{i}]"), s.unit.span);
            services.push(Value::from(s.unit.value.as_str()));
            if let Some((path, text)) = unit_file(s) {
                let at = files.len();
                spans.insert(format!("files[{at}]"), s.span);
                if let Some(u) = &s.user {
                    spans.insert(format!("files[{at}].owner"), u.span);
                }
                files.push(
                    Value::map()
                        .with("path", path)
                        .with("mode", mode_value(0o644))
                        .with("owner", "root")
                        .with("group", "root")
                        .with("text", text),
                );
            }
        }
        let mut groups = Vec::new();
        for (i, g) in l.groups.iter().enumerate() {
            spans.insert(format!("groups[{i}]"), g.span);
            let mut v = Value::map().with("name", g.name.value.as_str());
            if let Some(gid) = g.gid {
                v = v.with("gid", i64::from(gid));
            }
            groups.push(v);
        }
        let mut users = Vec::new();
        for (i, u) in l.users.iter().enumerate() {
            spans.insert(format!("users[{i}]"), u.span);
            let mut v = Value::map().with("name", u.name.value.as_str());
            if let Some(uid) = u.uid {
                v = v.with("uid", i64::from(uid));
            }
            if let Some(g) = &u.group {
                v = v.with("group", g.value.as_str());
            }
            if !u.groups.is_empty() {
                v = v.with("groups", string_list(&u.groups));
            }
            if let Some(h) = &u.home {
                v = v.with("home", h.value.as_str());
            }
            if let Some(s) = &u.shell {
                v = v.with("shell", s.value.as_str());
            }
            users.push(v);
        }
        let mut archives = Vec::new();
        for (i, a) in l.archives.iter().enumerate() {
            let Some(id) = self.by_name.get(&a.fetch.name).copied() else {
                continue;
            };
            spans.insert(format!("archives[{i}]"), a.span);
            spans.insert(format!("archives[{i}].owner"), a.owner.span);
            spans.insert(format!("archives[{i}].group"), a.group.span);
            for (j, inc) in a.include.iter().enumerate() {
                spans.insert(format!("archives[{i}].include[{j}]"), inc.span);
            }
            let role = format!("archive:{i}");
            inputs.insert(role.clone(), id);
            let mut v = Value::map()
                .with("source", role)
                .with("name", a.fetch.name.as_str())
                .with("to", a.to.value.as_str())
                .with("strip_components", i64::from(a.strip_components))
                .with("owner", a.owner.value.as_str())
                .with("group", a.group.value.as_str());
            if !a.include.is_empty() {
                v = v.with("include", string_list(&a.include));
            }
            archives.push(v);
        }
        let mut activation = Vec::new();
        for (i, s) in l.secrets.iter().enumerate() {
            spans.insert(format!("activation_files[{i}]"), s.span);
            spans.insert(format!("activation_files[{i}].path"), s.path.span);
            spans.insert(format!("activation_files[{i}].owner"), s.owner.span);
            spans.insert(format!("activation_files[{i}].group"), s.group.span);
            activation.push(
                Value::map()
                    .with("path", s.path.value.as_str())
                    .with("owner", s.owner.value.as_str())
                    .with("group", s.group.value.as_str())
                    .with("mode", mode_value(s.mode.value)),
            );
        }
        let network = l.network.as_ref().map_or(Value::Null, |n| {
            let mut v = Value::map()
                .with("interface", n.interface.value.as_str())
                .with("address", n.address.value.as_str())
                .with("dns", string_list(&n.nameservers));
            if let Some(g) = &n.gateway {
                v = v.with("gateway", g.value.as_str());
            }
            v
        });
        let mut params = Value::map()
            .with("hostname", l.hostname.value.as_str())
            .with("architecture", l.debian.architecture.value.as_str())
            .with("packages", packages)
            .with("groups", Value::List(groups))
            .with("users", Value::List(users))
            .with("files", Value::List(files))
            .with("services", Value::List(services))
            .with("network", network)
            .with("zstd_level", TEMPLATE_ZSTD_LEVEL);
        // Omitted when empty, so a container without them keeps the
        // contract's first shape (and its ids).
        if !archives.is_empty() {
            params = params.with("archives", Value::List(archives));
        }
        if !activation.is_empty() {
            params = params.with("activation_files", Value::List(activation));
        }
        let drv = Derivation {
            kind: kinds::LXC_TEMPLATE.into(),
            name: name.to_string(),
            builder_version: version,
            params,
            inputs,
            sources,
            fixed_output: None,
            secret: false,
        };
        let id = self.add(d, drv);
        self.spans.insert(id, spans);
        let target = target_name(Kind::Lxc, name);
        let spec = TargetSpec::Lxc(container_spec(name, l));
        self.artifact(target.clone(), name, id, Delivery::Spec(Box::new(spec)));
        self.delivered_secrets(d, l, &target);
    }

    /// One secret `file` derivation per `secret` of the container, listed
    /// in its target with where and how the deployer delivers it.
    fn delivered_secrets(&mut self, d: &Decl, l: &LxcDecl, target: &str) {
        if l.secrets.is_empty() {
            return;
        }
        let Some(version) = self.version(kinds::FILE, d.span) else {
            return;
        };
        for s in &l.secrets {
            let secret = s.secret.name.as_str();
            let name = delivered_secret_name(&d.name.value, secret);
            let Some(drv) = self.secret_file(&name, secret, s.secret.span, version) else {
                continue;
            };
            let id = drv.id();
            self.drvs.insert(id, drv);
            let delivery = Delivery::Secret(SecretDelivery {
                artifact: name.clone(),
                secret: secret.to_string(),
                path: s.path.value.clone(),
                mode: format!("{:04o}", s.mode.value),
                owner: s.owner.value.clone(),
                group: s.group.value.clone(),
            });
            self.artifact(target.to_string(), &name, id, delivery);
        }
    }
}

impl Planner<'_> {
    /// A secret `file` derivation whose content is secret `secret`, as a
    /// top-level `file … secret=` would have it: what a container's
    /// delivered secret and a Talos cluster's bundle artifact are. `None`
    /// when the secret's tag is missing (reported).
    pub(super) fn secret_file(
        &mut self,
        name: &str,
        secret: &str,
        span: crate::diag::Span,
        version: u32,
    ) -> Option<Derivation> {
        let mut sources = BTreeMap::new();
        self.tag_sources(&[secret], span, &mut sources)?;
        Some(Derivation {
            kind: kinds::FILE.into(),
            name: name.to_string(),
            builder_version: version,
            params: Value::map()
                .with("secret_content", secret)
                .with("interpolate", false)
                .with("secrets", vec![secret]),
            inputs: BTreeMap::new(),
            sources,
            fixed_output: None,
            secret: true,
        })
    }
}

/// What the deployer needs of a container besides its template's bytes:
/// the host name, the network, the services to check (and as whom they
/// run), the probes, and which files of the template are what. Secrets
/// are added as their artifacts are planned; resources are the contract's
/// defaults until recipes can set them.
fn container_spec(artifact: &str, l: &LxcDecl) -> LxcSpec {
    LxcSpec {
        hostname: l.hostname.value.clone(),
        template: TemplateRef {
            artifact: artifact.to_string(),
            rootfs: "rootfs.tar.zst".into(),
            sbom: "sbom.cdx.json".into(),
            release: l.debian.release.value.clone(),
            architecture: l.debian.architecture.value.clone(),
        },
        resources: Resources::default(),
        network: l.network.as_ref().map(|n| Network {
            interface: n.interface.value.clone(),
            address: n.address.value.clone(),
            gateway: n.gateway.as_ref().map(|g| g.value.clone()),
            nameservers: n.nameservers.iter().map(|s| s.value.clone()).collect(),
        }),
        services: l
            .services
            .iter()
            .map(|s| Service {
                unit: s.unit.value.clone(),
                user: s.user.as_ref().map(|u| u.value.clone()),
            })
            .collect(),
        probes: l
            .probes
            .iter()
            .map(|p| match &p.kind {
                ProbeKind::Tcp => Probe::Tcp { port: p.port },
                ProbeKind::Http { path } => Probe::Http {
                    port: p.port,
                    path: path.clone(),
                },
                ProbeKind::Dns { name } => Probe::Dns {
                    port: p.port,
                    name: name.clone(),
                },
            })
            .collect(),
        secrets: Vec::new(),
        proxmox: None,
    }
}
