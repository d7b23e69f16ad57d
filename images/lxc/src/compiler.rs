//! The `lxc-template` derivation kind: [`assemble`] as a build step.
//!
//! A planner lowers a container recipe and its `debian` lock entry into one
//! derivation; this module turns that derivation back into `.deb` inputs
//! and a [`ContainerSpec`], assembles, and writes the output directory
//! ([`crate::ROOTFS_FILE`] and [`crate::SBOM_FILE`]).
//!
//! The derivation, version 3 (1 lacked the read-only-`/sys` unit
//! [`crate::system::SYS_READONLY_UNIT`], so templates with their own
//! network config got no address in unprivileged containers; 2's network
//! file left IPv6 link-local addressing and router solicitation on, so
//! `systemd-networkd-wait-online` held boot back about 12 s until router
//! discovery timed out, and a template without `network` kept
//! wait-online enabled when a service brought networkd; the params are
//! the same):
//! - inputs: one per package, by role `deb:<name>`, each a `fetch`
//!   derivation whose output is the single `.deb` file; plus the roles
//!   that `files[].source` and `archives[].source` name (the planner uses
//!   `file:N` and `archive:N`);
//! - params (a map):
//!   - `hostname` (string), `architecture` (string);
//!   - `packages`: list of `{name, sha256}`, in the lock's order; exactly
//!     the `deb:` inputs, each `.deb` checked against its `sha256`;
//!   - `users`: list of `{name, uid?, group?, groups?, home?, shell?}`;
//!   - `groups`: list of `{name, gid?}`;
//!   - `files`: list of `{path, mode, owner, group}` with either `text`
//!     (inline content) or `source` (a role: a recipe source, or an input
//!     that is a single file); unit files and drop-ins are ordinary files,
//!     and are in place before `services` are enabled;
//!   - `services`: list of unit names to enable, from their `[Install]`
//!     sections, whether a package ships the unit or `files` declares it;
//!   - `masked` (optional): units to mask, default
//!     [`crate::spec::CONTAINER_MASKED_UNITS`];
//!   - `network`: `{interface, address, gateway?, dns}` or null;
//!   - `archives` (optional list, default empty): downloads unpacked into
//!     the rootfs after the packages and accounts, before `files` (see
//!     [`crate::tarball`] for the rules), each
//!     `{source, name, to, strip_components?, include?, owner?, group?}`:
//!     `source` a role as in `files` (a fetch output: one file, a tar
//!     plain or compressed with gzip, xz, zstd or bzip2, told apart by its
//!     first bytes); `name` the fetch declaration's (messages, SBOM); `to`
//!     an absolute directory, not `/` (created 0755 root when missing);
//!     `strip_components` (int, default 0) as GNU tar's; `include`
//!     (strings) paths after stripping, each of which must match a member;
//!     `owner` and `group` (default `root`) of every unpacked entry. Each
//!     download is an SBOM component (type `file`, its SHA-256); the dpkg
//!     database does not list its files;
//!   - `activation_files` (optional list, default empty): files the
//!     deployer writes at activation, `{path, owner, group, mode}`: `path`
//!     absolute, normalized and under `/run/`, owner and group existing in
//!     the template. Nothing of them is in the template but
//!     [`crate::activation::TMPFILES_PATH`], a `tmpfiles.d` line per parent
//!     directory (`d DIR 0750 OWNER GROUP -`);
//!   - `source_date_epoch` (optional int): the archive mtime, default 0;
//!   - `zstd_level` (optional int): default
//!     [`hlb_cache::archive::DEFAULT_ZSTD_LEVEL`].
//!
//! Errors: a problem at one parameter is [`BuildError::InvalidAt`], whose
//! `at` is the parameter's path in the params without `params.`
//! (`hostname`, `files[2]`, `files[2].owner`, `files[2].group`,
//! `files[2].source`, `users[1]`, `groups[0]`, `services[3]`, `masked[0]`,
//! `network`, `packages[4]` (wrong SHA-256, a `.deb` that cannot be
//! unpacked, a package given twice, and a file conflict at the package
//! unpacked second), `archives[0]` (format, members, collisions),
//! `archives[0].to`, `archives[0].include[1]`, `archives[0].owner`,
//! `archives[0].group`, `archives[0].source`, `activation_files[1].path`,
//! `activation_files[1].owner`, `activation_files[1].group`, any malformed
//! field by its path, and a `secret` key by its path), so the CLI can point
//! at the recipe line that wrote it. Messages name the template and stand
//! on their own. Problems of no one parameter (base-passwd missing, a
//! package's own sysusers file, a stray `deb:` input) are
//! [`BuildError::Invalid`].
//!
//! Invariants: templates are public artifacts and carry no secrets
//! (design D6), so a secret derivation, or a `secret`/`secrets` key
//! anywhere in the params, is refused before anything is read. Unknown
//! keys are refused too, so a typo cannot silently drop a declaration. The
//! output depends only on the params and the input bytes (no clock, no
//! host files): the same derivation gives the same bytes everywhere.
//! Params without `archives` and `activation_files` give the bytes they
//! gave before these existed (at the same version).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hlb_builder::{BuildCx, BuildError, Compiler, Value};
use hlb_cache::archive::{ArchiveOptions, DEFAULT_ZSTD_LEVEL};

use crate::assemble::{AssembleError, DebInput, assemble};
use crate::spec::{
    ActivationFileSpec, ArchiveSpec, CONTAINER_MASKED_UNITS, ContainerSpec, FileSpec, GroupSpec,
    NetworkSpec, UserSpec,
};

/// Role prefix of the `.deb` inputs.
pub const DEB_ROLE_PREFIX: &str = "deb:";

/// Builds `lxc-template` derivations (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct LxcTemplateCompiler;

impl Compiler for LxcTemplateCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::LXC_TEMPLATE
    }

    fn version(&self) -> u32 {
        // 2: every template carries `SYS_READONLY_UNIT`, enabled.
        // 3: the network file is IPv4 only (no IPv6 link-local, no router
        // advertisements) and online once its IPv4 address is; without
        // `network`, wait-online is enabled only when declared.
        3
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let name = &cx.drv.name;
        if cx.drv.secret {
            return Err(invalid(
                name,
                "a template is a public artifact and cannot be secret; deliver secrets at activation",
            ));
        }
        if let Some(at) = find_secret(&cx.drv.params, "") {
            return Err(invalid_at(
                name,
                at.clone(),
                &format!(
                    "params.{at}: templates carry no secrets; declare them in the container \
                     recipe, the deployer delivers them at activation"
                ),
            ));
        }
        let params = TemplateParams::read(name, &cx.drv.params)?;
        let spec = params.spec(cx)?;
        let debs = read_debs(cx, &params.packages)?;
        let inputs: Vec<DebInput<'_>> = debs
            .iter()
            .map(|d| DebInput {
                origin: &d.origin,
                bytes: &d.bytes,
                sha256: &d.sha256,
            })
            .collect();
        let rootfs = assemble(&inputs, &spec).map_err(|e| assemble_error(name, e))?;
        std::fs::create_dir(cx.out).map_err(|e| BuildError::io("create directory", cx.out, e))?;
        if let Err(e) = rootfs.write_outputs(cx.out, params.archive) {
            // Leave nothing half-written where the output goes.
            let _ = std::fs::remove_dir_all(cx.out);
            return Err(assemble_error(name, e));
        }
        Ok(())
    }
}

fn invalid(name: &str, msg: &str) -> BuildError {
    BuildError::Invalid(format!("lxc-template {name}: {msg}"))
}

/// A user-input error at parameter `at` (its path in the params, without
/// `params.`): the CLI points it at the recipe text that wrote it.
fn invalid_at(name: &str, at: impl Into<String>, msg: &str) -> BuildError {
    BuildError::InvalidAt {
        at: at.into(),
        message: format!("lxc-template {name}: {msg}"),
    }
}

fn assemble_error(name: &str, e: AssembleError) -> BuildError {
    match e {
        AssembleError::Output { path, source } => BuildError::Io {
            op: "write",
            path,
            source,
        },
        AssembleError::At { at, error } => invalid_at(name, at, &error.to_string()),
        other => invalid(name, &other.to_string()),
    }
}

/// `key` under the params path `at` (`""` is the params map itself).
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// The first `secret`/`secrets` key in `v`, as a path under `at`
/// (`files[0].secret` under `""`).
fn find_secret(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Map(m) => m.iter().find_map(|(k, v)| {
            let here = join(at, k);
            if k == "secret" || k == "secrets" {
                Some(here)
            } else {
                find_secret(v, &here)
            }
        }),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_secret(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// One locked package: the `deb:<name>` input and its pinned hash.
struct Package {
    name: String,
    sha256: String,
}

/// A file declaration before its content is read.
enum Content {
    Text(String),
    Source(String),
}

struct FileParam {
    path: String,
    mode: u32,
    owner: String,
    group: String,
    content: Content,
}

/// An `archives` item before its bytes are read.
struct ArchiveParam {
    source: String,
    name: String,
    to: String,
    strip_components: u32,
    include: Option<Vec<String>>,
    owner: String,
    group: String,
}

struct TemplateParams {
    hostname: String,
    architecture: String,
    packages: Vec<Package>,
    users: Vec<UserSpec>,
    groups: Vec<GroupSpec>,
    files: Vec<FileParam>,
    services: Vec<String>,
    masked: Vec<String>,
    network: Option<NetworkSpec>,
    archives: Vec<ArchiveParam>,
    activation_files: Vec<ActivationFileSpec>,
    archive: ArchiveOptions,
}

/// A reader over one params map that names the field in every error (as
/// `InvalidAt`, at its path) and refuses keys it was not asked about.
struct Fields<'a> {
    drv: &'a str,
    /// Path of this map in the params (`""` for the params themselves,
    /// `files[2]`).
    at: String,
    map: &'a BTreeMap<String, Value>,
    seen: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(drv: &'a str, at: String, v: &'a Value) -> Result<Fields<'a>, BuildError> {
        match v {
            Value::Map(map) => Ok(Fields {
                drv,
                at,
                map,
                seen: BTreeSet::new(),
            }),
            _ if at.is_empty() => Err(invalid(drv, "params: expected a map")),
            _ => Err(invalid_at(
                drv,
                at.clone(),
                &format!("params.{at}: expected a map"),
            )),
        }
    }

    /// An error at `key` of this map.
    fn err(&self, key: &str, what: &str) -> BuildError {
        let at = join(&self.at, key);
        invalid_at(self.drv, at.clone(), &format!("params.{at}: {what}"))
    }

    fn opt(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.insert(key);
        self.map.get(key).filter(|v| !matches!(v, Value::Null))
    }

    fn str(&mut self, key: &'static str) -> Result<String, BuildError> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(key, "missing (expected a string)"))
    }

    fn opt_str(&mut self, key: &'static str) -> Result<Option<String>, BuildError> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(key, "expected a string")),
        }
    }

    fn opt_int(&mut self, key: &'static str, max: i64) -> Result<Option<i64>, BuildError> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Int(i)) if (0..=max).contains(i) => Ok(Some(*i)),
            Some(_) => Err(self.err(key, &format!("expected an integer from 0 to {max}"))),
        }
    }

    fn list(&mut self, key: &'static str) -> Result<&'a [Value], BuildError> {
        match self.opt(key) {
            None => Ok(&[]),
            Some(Value::List(items)) => Ok(items),
            Some(_) => Err(self.err(key, "expected a list")),
        }
    }

    fn strings(&mut self, key: &'static str) -> Result<Vec<String>, BuildError> {
        let items = self.list(key)?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Str(s) => Ok(s.clone()),
                _ => Err(self.err(&format!("{key}[{i}]"), "expected a string")),
            })
            .collect()
    }

    fn maps(&mut self, key: &'static str) -> Result<Vec<Fields<'a>>, BuildError> {
        let drv = self.drv;
        let at = self.at.clone();
        self.list(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| Fields::new(drv, format!("{}[{i}]", join(&at, key)), v))
            .collect()
    }

    /// Refuses keys no reader asked for.
    fn done(self) -> Result<(), BuildError> {
        match self.map.keys().find(|k| !self.seen.contains(k.as_str())) {
            Some(k) => Err(self.err(k, "unknown parameter")),
            None => Ok(()),
        }
    }
}

impl TemplateParams {
    fn read(drv: &str, params: &Value) -> Result<TemplateParams, BuildError> {
        let mut f = Fields::new(drv, String::new(), params)?;
        let hostname = f.str("hostname")?;
        let architecture = f.str("architecture")?;
        let mut packages = Vec::new();
        for mut p in f.maps("packages")? {
            packages.push(Package {
                name: p.str("name")?,
                sha256: p.str("sha256")?,
            });
            p.done()?;
        }
        if packages.is_empty() {
            return Err(f.err("packages", "empty: a template needs its package set"));
        }
        let mut groups = Vec::new();
        for mut g in f.maps("groups")? {
            groups.push(GroupSpec {
                name: g.str("name")?,
                gid: g.opt_int("gid", u32::MAX.into())?.map(|i| i as u32),
            });
            g.done()?;
        }
        let mut users = Vec::new();
        for mut u in f.maps("users")? {
            users.push(UserSpec {
                name: u.str("name")?,
                uid: u.opt_int("uid", u32::MAX.into())?.map(|i| i as u32),
                group: u.opt_str("group")?,
                extra_groups: u.strings("groups")?,
                home: u.opt_str("home")?,
                shell: u.opt_str("shell")?,
            });
            u.done()?;
        }
        let mut files = Vec::new();
        for mut file in f.maps("files")? {
            let path = file.str("path")?;
            let mode = file.opt_int("mode", 0o7777)?.ok_or_else(|| {
                file.err("mode", "missing (expected an integer such as 420 for 0644)")
            })? as u32;
            let owner = file.str("owner")?;
            let group = file.str("group")?;
            let content = match (file.opt_str("text")?, file.opt_str("source")?) {
                (Some(t), None) => Content::Text(t),
                (None, Some(s)) => Content::Source(s),
                _ => return Err(file.err("text", "give exactly one of `text` and `source`")),
            };
            file.done()?;
            files.push(FileParam {
                path,
                mode,
                owner,
                group,
                content,
            });
        }
        let services = f.strings("services")?;
        let masked = match f.opt("masked") {
            None => CONTAINER_MASKED_UNITS.map(str::to_owned).to_vec(),
            Some(_) => f.strings("masked")?,
        };
        let network = match f.opt("network") {
            None => None,
            Some(v) => {
                let mut n = Fields::new(drv, "network".to_owned(), v)?;
                let spec = NetworkSpec {
                    interface: n.str("interface")?,
                    address: n.str("address")?,
                    gateway: n.opt_str("gateway")?,
                    dns: n.strings("dns")?,
                };
                n.done()?;
                Some(spec)
            }
        };
        let mut archives = Vec::new();
        for mut a in f.maps("archives")? {
            let include = match a.opt("include") {
                None => None,
                Some(_) => Some(a.strings("include")?),
            };
            archives.push(ArchiveParam {
                source: a.str("source")?,
                name: a.str("name")?,
                to: a.str("to")?,
                strip_components: a.opt_int("strip_components", u32::MAX.into())?.unwrap_or(0)
                    as u32,
                include,
                owner: a.opt_str("owner")?.unwrap_or_else(|| "root".to_owned()),
                group: a.opt_str("group")?.unwrap_or_else(|| "root".to_owned()),
            });
            a.done()?;
        }
        let mut activation_files = Vec::new();
        for mut a in f.maps("activation_files")? {
            let path = a.str("path")?;
            let owner = a.str("owner")?;
            let group = a.str("group")?;
            let mode = a.opt_int("mode", 0o7777)?.ok_or_else(|| {
                a.err("mode", "missing (expected an integer such as 256 for 0400)")
            })? as u32;
            a.done()?;
            activation_files.push(ActivationFileSpec {
                path,
                owner,
                group,
                mode,
            });
        }
        let mtime = f.opt_int("source_date_epoch", i64::MAX)?.unwrap_or(0) as u64;
        let zstd_level = f
            .opt_int("zstd_level", 22)?
            .map_or(DEFAULT_ZSTD_LEVEL, |l| l as i32);
        f.done()?;
        Ok(TemplateParams {
            hostname,
            architecture,
            packages,
            users,
            groups,
            files,
            services,
            masked,
            network,
            archives,
            activation_files,
            archive: ArchiveOptions { mtime, zstd_level },
        })
    }

    /// The spec, with file contents read from the derivation's sources or
    /// single-file inputs.
    fn spec(&self, cx: &BuildCx<'_>) -> Result<ContainerSpec, BuildError> {
        let name = &cx.drv.name;
        let mut files = Vec::with_capacity(self.files.len());
        for (i, f) in self.files.iter().enumerate() {
            let content = match &f.content {
                Content::Text(t) => t.as_bytes().to_vec(),
                Content::Source(role) => read_role(cx, role).map_err(|e| match e {
                    RoleError::Missing => invalid_at(
                        name,
                        format!("files[{i}].source"),
                        &format!("file {}: no source or input `{role}`", f.path),
                    ),
                    RoleError::Io(e) => e,
                })?,
            };
            files.push(FileSpec {
                path: f.path.clone(),
                content,
                mode: f.mode,
                owner: f.owner.clone(),
                group: f.group.clone(),
            });
        }
        let mut archives = Vec::with_capacity(self.archives.len());
        for (i, a) in self.archives.iter().enumerate() {
            let bytes = read_role(cx, &a.source).map_err(|e| match e {
                RoleError::Missing => invalid_at(
                    name,
                    format!("archives[{i}].source"),
                    &format!("archive {}: no source or input `{}`", a.name, a.source),
                ),
                RoleError::Io(e) => e,
            })?;
            archives.push(ArchiveSpec {
                name: a.name.clone(),
                bytes,
                to: a.to.clone(),
                strip_components: a.strip_components,
                include: a.include.clone(),
                owner: a.owner.clone(),
                group: a.group.clone(),
            });
        }
        Ok(ContainerSpec {
            hostname: self.hostname.clone(),
            architecture: self.architecture.clone(),
            groups: self.groups.clone(),
            users: self.users.clone(),
            files,
            services: self.services.clone(),
            masked: self.masked.clone(),
            network: self.network.clone(),
            archives,
            activation_files: self.activation_files.clone(),
        })
    }
}

enum RoleError {
    Missing,
    Io(BuildError),
}

fn read_role(cx: &BuildCx<'_>, role: &str) -> Result<Vec<u8>, RoleError> {
    if let Some(bytes) = cx.sources.get(role) {
        return Ok(bytes.to_vec());
    }
    let path = cx.inputs.get(role).ok_or(RoleError::Missing)?;
    read_file(path).map_err(RoleError::Io)
}

fn read_file(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|e| BuildError::io("read", path, e))
}

struct Deb {
    origin: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// The `.deb` of every package, in the params' order. The `deb:` inputs
/// must be exactly the packages: a stray one would be built and ignored.
fn read_debs(cx: &BuildCx<'_>, packages: &[Package]) -> Result<Vec<Deb>, BuildError> {
    let name = &cx.drv.name;
    let mut wanted = BTreeSet::new();
    for (i, p) in packages.iter().enumerate() {
        if !wanted.insert(format!("{DEB_ROLE_PREFIX}{}", p.name)) {
            return Err(invalid_at(
                name,
                format!("packages[{i}]"),
                &format!("params.packages names package {} twice", p.name),
            ));
        }
    }
    let have: BTreeSet<&String> = cx
        .inputs
        .keys()
        .filter(|r| r.starts_with(DEB_ROLE_PREFIX))
        .collect();
    if let Some(extra) = have.iter().find(|r| !wanted.contains(r.as_str())) {
        return Err(invalid(
            name,
            &format!("input `{extra}` is not in params.packages"),
        ));
    }
    packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let role = format!("{DEB_ROLE_PREFIX}{}", p.name);
            let path = cx.inputs.get(&role).ok_or_else(|| {
                invalid_at(
                    name,
                    format!("packages[{i}]"),
                    &format!("package {} has no input `{role}`", p.name),
                )
            })?;
            Ok(Deb {
                origin: format!("{role} ({})", path.display()),
                bytes: read_file(path)?,
                sha256: p.sha256.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        Value::map()
            .with("hostname", "t")
            .with("architecture", "amd64")
            .with(
                "packages",
                Value::List(vec![
                    Value::map().with("name", "base-files").with("sha256", "00"),
                ]),
            )
    }

    #[test]
    fn params_lower_onto_the_spec_defaults() {
        let p = TemplateParams::read("t", &base()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.archive.mtime, 0);
        assert_eq!(p.archive.zstd_level, DEFAULT_ZSTD_LEVEL);
        assert_eq!(p.masked, CONTAINER_MASKED_UNITS.map(str::to_owned).to_vec());
        assert!(p.network.is_none() && p.users.is_empty());
        let p = TemplateParams::read(
            "t",
            &base()
                .with("source_date_epoch", 1_700_000_000i64)
                .with("network", Value::Null),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.archive.mtime, 1_700_000_000);
    }

    #[test]
    fn bad_params_name_the_field() {
        let file = Value::map()
            .with("path", "/a")
            .with("mode", 0o644i64)
            .with("owner", "root")
            .with("group", "root");
        let archive = Value::map()
            .with("source", "archive:0")
            .with("name", "rel")
            .with("to", "/opt/rel");
        let cases = [
            (
                base().with("hostnme", "x"),
                "hostnme",
                "params.hostnme: unknown parameter",
            ),
            (
                base().with("hostname", 3i64),
                "hostname",
                "params.hostname: expected a string",
            ),
            (
                base().with("files", Value::List(vec![file.clone(), file.clone()])),
                "files[0].text",
                "params.files[0].text: give exactly one of `text` and `source`",
            ),
            (
                base().with("packages", Value::List(vec![])),
                "packages",
                "params.packages: empty",
            ),
            (
                base().with("network", Value::map().with("interface", "eth0")),
                "network.address",
                "params.network.address: missing",
            ),
            (
                base().with(
                    "services",
                    Value::List(vec!["a.service".into(), 3i64.into()]),
                ),
                "services[1]",
                "params.services[1]: expected a string",
            ),
            (
                base().with("users", Value::List(vec![Value::from("app")])),
                "users[0]",
                "params.users[0]: expected a map",
            ),
            (
                base().with(
                    "archives",
                    Value::List(vec![archive.clone().with("strip_components", -1i64)]),
                ),
                "archives[0].strip_components",
                "params.archives[0].strip_components: expected an integer",
            ),
            (
                base().with(
                    "archives",
                    Value::List(vec![
                        archive
                            .clone()
                            .with("include", Value::List(vec!["bin".into(), 1i64.into()])),
                    ]),
                ),
                "archives[0].include[1]",
                "params.archives[0].include[1]: expected a string",
            ),
            (
                base().with(
                    "archives",
                    Value::List(vec![archive.clone().with("mode", 0o755i64)]),
                ),
                "archives[0].mode",
                "params.archives[0].mode: unknown parameter",
            ),
            (
                base().with(
                    "activation_files",
                    Value::List(vec![
                        Value::map()
                            .with("path", "/run/x/y")
                            .with("owner", "root")
                            .with("group", "root"),
                    ]),
                ),
                "activation_files[0].mode",
                "params.activation_files[0].mode: missing",
            ),
        ];
        for (params, at, wanted) in cases {
            let e = TemplateParams::read("t", &params).err().expect("refused");
            let BuildError::InvalidAt { at: got, message } = &e else {
                panic!("{e:?} is not located");
            };
            assert_eq!(got, at, "{message}");
            assert!(message.starts_with("lxc-template t: "), "{message}");
            assert!(message.contains(wanted), "{message} lacks {wanted}");
        }
        let e = TemplateParams::read("t", &Value::from("x"))
            .err()
            .expect("refused");
        assert!(matches!(e, BuildError::Invalid(_)), "{e:?}");
    }

    #[test]
    fn archives_and_activation_files_lower_onto_the_spec() {
        let p = TemplateParams::read(
            "t",
            &base()
                .with(
                    "archives",
                    Value::List(vec![
                        Value::map()
                            .with("source", "archive:0")
                            .with("name", "rel")
                            .with("to", "/opt/rel"),
                        Value::map()
                            .with("source", "archive:1")
                            .with("name", "other")
                            .with("to", "/usr/local/bin")
                            .with("strip_components", 1i64)
                            .with("include", Value::List(vec!["bin".into()]))
                            .with("owner", "app")
                            .with("group", "app"),
                    ]),
                )
                .with(
                    "activation_files",
                    Value::List(vec![
                        Value::map()
                            .with("path", "/run/secrets/app/token")
                            .with("owner", "app")
                            .with("group", "app")
                            .with("mode", 0o400i64),
                    ]),
                ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = &p.archives[0];
        assert_eq!(
            (
                a.strip_components,
                &a.include,
                a.owner.as_str(),
                a.group.as_str()
            ),
            (0, &None, "root", "root")
        );
        let b = &p.archives[1];
        assert_eq!(
            (b.strip_components, &b.include, b.owner.as_str()),
            (1, &Some(vec!["bin".to_owned()]), "app")
        );
        assert_eq!(
            p.activation_files,
            [ActivationFileSpec {
                path: "/run/secrets/app/token".into(),
                owner: "app".into(),
                group: "app".into(),
                mode: 0o400,
            }]
        );
    }

    #[test]
    fn secrets_are_found_at_any_depth() {
        assert_eq!(find_secret(&base(), ""), None);
        let v = base().with(
            "files",
            Value::List(vec![Value::map().with("secret", "db-password")]),
        );
        assert_eq!(find_secret(&v, "").as_deref(), Some("files[0].secret"));
    }
}
