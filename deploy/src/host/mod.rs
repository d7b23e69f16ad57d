//! The host target: a machine reached over SSH, delivered NixOS-style.
//!
//! - **stage** sends every file of the generation in one tar stream into
//!   `R/gens/<hex>.partial`, with its mode and owner, plus a manifest of
//!   content hashes, then renames it to `R/gens/<hex>`: a generation
//!   directory exists only when complete. Nothing the machine reads
//!   changes.
//! - **activate** makes each delivered path a symlink through
//!   `R/current/files/<key>` (new paths only; their links dangle until the
//!   swap), records the active generation as `R/previous`, renames a new
//!   `R/current` symlink over the old one (the moment every file changes at
//!   once), removes the links of paths the generation no longer has, and
//!   reloads or restarts the services whose files changed.
//! - **health** runs the generation's probes with a deadline: tcp and http
//!   from the deployer to the host's address, dns over UDP, a unit with
//!   `systemctl is-active` on the machine.
//! - **confirm** deletes generation directories other than the current and
//!   the previous one.
//! - **rollback** re-stages the recorded generation if the machine no
//!   longer has it and activates it; to nothing, it removes our links and
//!   `R/current`.
//! - **drift**: the content hash (SHA-256, which every machine can compute
//!   with `sha256sum`) of each delivered path against the active manifest.
//!
//! Layout and commands: [`commands`]; the SSH connection: [`ssh`].
//! Secret files are not delivered yet (they must go straight to their
//! destination, never into a generation directory): a generation with one
//! is refused at plan time.

pub mod commands;
pub mod ssh;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hlb_cache::generation::contract::{self, HostSpec, OnChange, Probe, TargetSpec};
use hlb_cache::{Digest, Store};

use crate::error::TargetError;
use crate::memory::read_artifact;
use crate::target::{
    Change, Connect, Desired, Drift, Target, TargetPlan, TargetStatus, probe_name,
};
use commands as cmd;
use ssh::{Ssh, SshOptions};

/// Where and how the host target works, beyond the generation.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// `R`, the directory on the machine that holds generations.
    pub root: String,
    pub ssh: SshOptions,
    /// How long probes keep trying before health fails.
    pub health_timeout: Duration,
}

impl Default for HostOptions {
    fn default() -> HostOptions {
        HostOptions {
            root: "/var/lib/hlb/deploy".into(),
            ssh: SshOptions::default(),
            health_timeout: Duration::from_secs(30),
        }
    }
}

/// Makes host targets (and refuses other kinds, which later deployers
/// handle).
/// One SSH master connection per access, shared by every switch this
/// value makes targets for, so a rollback or the next switch does not log
/// in again.
#[derive(Clone)]
pub struct HostConnect {
    store: Store,
    options: HostOptions,
    connections: Arc<Mutex<BTreeMap<String, Arc<Ssh>>>>,
}

impl HostConnect {
    pub fn new(store: Store, options: HostOptions) -> HostConnect {
        HostConnect {
            store,
            options,
            connections: Arc::default(),
        }
    }

    fn ssh(&self, access: &contract::SshAccess) -> Result<Arc<Ssh>, TargetError> {
        let key = format!(
            "{}@{}:{} {}",
            access.user,
            access.address,
            access.port,
            access.host_key.as_deref().unwrap_or("-")
        );
        let mut c = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = c.get(&key) {
            return Ok(s.clone());
        }
        let s = Arc::new(Ssh::new(access, &self.options.ssh)?);
        c.insert(key, s.clone());
        Ok(s)
    }
}

impl Connect for HostConnect {
    fn connect(
        &self,
        _name: &str,
        target: &contract::Target,
    ) -> Result<Box<dyn Target>, TargetError> {
        match &target.spec {
            TargetSpec::Host(h) => Ok(Box::new(HostTarget {
                ssh: self.ssh(&h.access)?,
                address: h.access.address.clone(),
                store: self.store.clone(),
                opts: self.options.clone(),
            })),
            other => Err(TargetError::Unsupported { kind: other.kind() }),
        }
    }
}

pub struct HostTarget {
    ssh: Arc<Ssh>,
    address: String,
    store: Store,
    opts: HostOptions,
}

fn spec<'a>(d: &Desired<'a>) -> Result<&'a HostSpec, TargetError> {
    match &d.target.spec {
        TargetSpec::Host(h) => Ok(h),
        other => Err(TargetError::Unsupported { kind: other.kind() }),
    }
}

/// What the machine has: the active manifest, and per path its type, link
/// and content hash.
struct Seen {
    manifest: Option<cmd::Manifest>,
    kinds: BTreeMap<String, (String, String)>,
    hashes: BTreeMap<String, String>,
}

impl HostTarget {
    fn root(&self) -> &str {
        &self.opts.root
    }

    /// The files of `d`: (path, content, mode, owner, group), checked.
    fn files(&self, d: &Desired<'_>) -> Result<Vec<StagedFile>, TargetError> {
        let spec = spec(d)?;
        let mut out = Vec::new();
        for f in &spec.files {
            if let Some(why) = cmd::path_problem(&f.path) {
                return Err(TargetError::Other(format!("path `{}` {why}", f.path)));
            }
            if d.target
                .artifacts
                .get(&f.artifact)
                .is_some_and(|a| a.secret)
            {
                return Err(TargetError::Other(format!(
                    "`{}` holds secret artifact `{}`; secret files on hosts are not delivered yet",
                    f.path, f.artifact
                )));
            }
            let bytes = read_artifact(&self.store, d, &f.artifact)?;
            out.push(StagedFile {
                sha: cmd::sha256_hex(&bytes),
                bytes,
                path: f.path.clone(),
                artifact: f.artifact.clone(),
                mode: u32::from_str_radix(&f.mode, 8).unwrap_or(0o644),
                owner: f.owner.clone(),
                group: f.group.clone(),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// What the machine has at the active manifest's paths and `extra`;
    /// content hashes only when `hash` (plan and status need them,
    /// activation does not: one round trip less).
    fn look(&self, extra: &[&str], hash: bool) -> Result<Seen, TargetError> {
        let m = self.ssh.run(&cmd::read_manifest(self.root()), None)?;
        let manifest = if m.code == 0 {
            cmd::parse_manifest(&m.stdout)
        } else {
            None
        };
        let mut paths: BTreeSet<&str> = extra.iter().copied().collect();
        if let Some(m) = &manifest {
            paths.extend(m.files.iter().map(|(p, _)| p.as_str()));
        }
        let paths: Vec<&str> = paths.into_iter().collect();
        let (mut kinds, mut hashes) = (BTreeMap::new(), BTreeMap::new());
        if !paths.is_empty() {
            // Missing paths make both exit 1; what exists is still printed.
            let k = self.ssh.run(&cmd::inspect(&paths), None)?;
            kinds.extend(cmd::parse_inspect(&k.stdout));
            if hash {
                let h = self.ssh.run(&cmd::hash_files(&paths), None)?;
                hashes.extend(cmd::parse_hashes(&h.stdout));
            }
        }
        Ok(Seen {
            manifest,
            kinds,
            hashes,
        })
    }

    fn drift(&self, seen: &Seen) -> Vec<Drift> {
        let Some(m) = &seen.manifest else {
            return vec![];
        };
        let mut out = Vec::new();
        for (path, sha) in &m.files {
            let ours = seen.kinds.get(path).is_some_and(|(ty, link)| {
                ty == "l" && *link == cmd::link_target(self.root(), path)
            });
            let how = match seen.hashes.get(path) {
                _ if !seen.kinds.contains_key(path) => Some("missing"),
                _ if !ours => Some("replaced"),
                Some(h) if h == sha => None,
                _ => Some("changed"),
            };
            if let Some(how) = how {
                out.push(Drift {
                    what: path.clone(),
                    how,
                });
            }
        }
        out
    }

    fn stage_files(&self, generation: Digest, files: &[StagedFile]) -> Result<(), TargetError> {
        let root = self.root().to_string();
        let dir = cmd::gen_dir(&root, &generation);
        let partial = cmd::partial_dir(&root, &generation);
        // Already staged (a repeated step, or a rollback target kept on
        // the machine): only files changed by hand there are replaced, each
        // by a rename, since the directory may be the active one.
        let staged = self
            .ssh
            .run(&cmd::is_staged(&root, &generation), None)?
            .code
            == 0;
        let mut damaged = Vec::new();
        if staged {
            let keys: Vec<String> = files
                .iter()
                .map(|f| format!("{dir}/files/{}", cmd::key(&f.path)))
                .collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let have: BTreeMap<String, String> = if refs.is_empty() {
                BTreeMap::new()
            } else {
                let out = self.ssh.run(&cmd::hash_files(&refs), None)?;
                cmd::parse_hashes(&out.stdout).into_iter().collect()
            };
            damaged = files
                .iter()
                .zip(&keys)
                .filter(|(f, k)| have.get(*k) != Some(&f.sha))
                .map(|(f, _)| cmd::key(&f.path))
                .collect();
            if damaged.is_empty() {
                return Ok(());
            }
        }
        let tar = stage_archive(&root, generation, files)
            .map_err(|e| TargetError::Other(e.to_string()))?;
        self.ssh.ok(&cmd::unpack(), Some(&tar))?;
        if !staged {
            return self.ssh.ok(&cmd::rename(&partial, &dir), None).map(drop);
        }
        for key in damaged {
            self.ssh.ok(
                &cmd::rename(
                    &format!("{partial}/files/{key}"),
                    &format!("{dir}/files/{key}"),
                ),
                None,
            )?;
        }
        self.ssh.ok(&cmd::remove_trees(&[&partial]), None).map(drop)
    }

    /// Make `generation` (staged) the active one; `files` are its files.
    fn activate_files(
        &self,
        generation: Digest,
        files: &[StagedFile],
        services: &[contract::ServiceAction],
    ) -> Result<(), TargetError> {
        let root = self.root().to_string();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let dir = cmd::gen_dir(&root, &generation);
        let mut looked = paths.clone();
        looked.push(&dir);
        let seen = self.look(&looked, false)?;
        if !seen.kinds.contains_key(&dir) {
            return Err(TargetError::Other(format!(
                "generation {} is not staged on {}",
                generation.short(),
                self.address
            )));
        }
        // New links first: they point through `current`, so they show the
        // new content only once `current` is swapped.
        let parents: BTreeSet<&str> = paths
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
            .filter(|d| !d.is_empty())
            .collect();
        if !parents.is_empty() {
            let parents: Vec<&str> = parents.into_iter().collect();
            self.ssh.ok(&cmd::mkdir_p(&parents), None)?;
        }
        for p in &paths {
            let want = cmd::link_target(&root, p);
            if seen
                .kinds
                .get(*p)
                .is_some_and(|(ty, link)| ty == "l" && *link == want)
            {
                continue;
            }
            let tmp = format!("{p}.hlb-new");
            self.ssh.ok(&cmd::symlink(&want, &tmp), None)?;
            self.ssh.ok(&cmd::rename(&tmp, p), None)?;
        }
        let old = seen.manifest.as_ref().map(|m| m.generation);
        if old != Some(generation) {
            if let Some(old) = old {
                let prev = format!("{root}/previous.new");
                self.ssh
                    .ok(&cmd::symlink(&format!("gens/{}", old.hex()), &prev), None)?;
                self.ssh
                    .ok(&cmd::rename(&prev, &format!("{root}/previous")), None)?;
            }
            let cur = format!("{root}/current.new");
            self.ssh.ok(
                &cmd::symlink(&format!("gens/{}", generation.hex()), &cur),
                None,
            )?;
            self.ssh
                .ok(&cmd::rename(&cur, &format!("{root}/current")), None)?;
        }
        // Paths the generation no longer has: only links that are ours.
        let keep: BTreeSet<&str> = paths.iter().copied().collect();
        let gone: Vec<&str> = seen
            .manifest
            .iter()
            .flat_map(|m| m.files.iter().map(|(p, _)| p.as_str()))
            .filter(|p| !keep.contains(p))
            .filter(|p| {
                seen.kinds
                    .get(*p)
                    .is_some_and(|(ty, link)| ty == "l" && *link == cmd::link_target(&root, p))
            })
            .collect();
        if !gone.is_empty() {
            self.ssh.ok(&cmd::remove_files(&gone), None)?;
        }
        let before: BTreeMap<&str, &str> = seen
            .manifest
            .iter()
            .flat_map(|m| m.files.iter().map(|(p, s)| (p.as_str(), s.as_str())))
            .collect();
        let changed: BTreeSet<&str> = files
            .iter()
            .filter(|f| before.get(f.path.as_str()) != Some(&f.sha.as_str()))
            .map(|f| f.artifact.as_str())
            .collect();
        for argv in service_actions(services, &changed) {
            self.ssh.ok(&argv, None)?;
        }
        Ok(())
    }
}

/// The `systemctl` commands for services whose files changed, in the
/// recipe's order.
pub fn service_actions(
    services: &[contract::ServiceAction],
    changed: &BTreeSet<&str>,
) -> Vec<Vec<String>> {
    services
        .iter()
        .filter(|s| s.files.iter().any(|f| changed.contains(f.as_str())))
        .map(|s| {
            let verb = match s.on_change {
                OnChange::Reload => "reload",
                OnChange::Restart => "restart",
            };
            cmd::systemctl(verb, &s.unit)
        })
        .collect()
}

struct StagedFile {
    path: String,
    artifact: String,
    bytes: Vec<u8>,
    sha: String,
    mode: u32,
    owner: String,
    group: String,
}

/// The tar stream `stage` sends: `R/gens/<hex>.partial/` (relative to
/// `/`) with `files/<key>` and `manifest`, fixed times and numeric ids 0
/// (names decide ownership).
fn stage_archive(root: &str, generation: Digest, files: &[StagedFile]) -> std::io::Result<Vec<u8>> {
    let top = cmd::partial_dir(root, &generation)
        .trim_start_matches('/')
        .to_string();
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, std::io::empty())
    };
    dir(&mut b, &format!("{top}/"))?;
    dir(&mut b, &format!("{top}/files/"))?;
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(f.mode);
        h.set_size(f.bytes.len() as u64);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username(&f.owner)?;
        h.set_groupname(&f.group)?;
        h.set_cksum();
        b.append_data(
            &mut h,
            format!("{top}/files/{}", cmd::key(&f.path)),
            f.bytes.as_slice(),
        )?;
    }
    let listing: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.path.clone(), f.sha.clone()))
        .collect();
    let manifest = cmd::manifest(&generation, &listing);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(manifest.len() as u64);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, format!("{top}/manifest"), manifest.as_bytes())?;
    b.into_inner()
}

impl Target for HostTarget {
    fn plan(&self, d: Desired<'_>) -> Result<TargetPlan, TargetError> {
        let files = self.files(&d)?;
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let seen = self.look(&paths, true)?;
        let mut changes = Vec::new();
        for f in &files {
            match seen.hashes.get(&f.path) {
                None => changes.push(Change::Add {
                    what: f.path.clone(),
                }),
                Some(h) if *h != f.sha => changes.push(Change::Modify {
                    what: f.path.clone(),
                }),
                Some(_) => {}
            }
        }
        let want: BTreeSet<&str> = paths.iter().copied().collect();
        if let Some(m) = &seen.manifest {
            for (p, _) in m.files.iter().filter(|(p, _)| !want.contains(p.as_str())) {
                changes.push(Change::Remove { what: p.clone() });
            }
        }
        let changed: BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Add { what } | Change::Modify { what } => files
                    .iter()
                    .find(|f| f.path == *what)
                    .map(|f| f.artifact.as_str()),
                _ => None,
            })
            .collect();
        for s in &spec(&d)?.services {
            if s.files.iter().any(|f| changed.contains(f.as_str())) {
                changes.push(match s.on_change {
                    OnChange::Reload => Change::Reload {
                        unit: s.unit.clone(),
                    },
                    OnChange::Restart => Change::Restart {
                        unit: s.unit.clone(),
                    },
                });
            }
        }
        Ok(TargetPlan {
            running: seen.manifest.as_ref().map(|m| m.generation),
            drift: self.drift(&seen),
            changes,
        })
    }

    fn stage(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let files = self.files(&d)?;
        self.stage_files(d.generation, &files)
    }

    fn activate(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let files = self.files(&d)?;
        self.activate_files(d.generation, &files, &spec(&d)?.services)
    }

    fn health(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let spec = spec(&d)?;
        let deadline = Instant::now() + self.opts.health_timeout;
        for p in &spec.probes {
            loop {
                let r = self.probe(&spec.access.address, p);
                match r {
                    Ok(()) => break,
                    Err(detail) if Instant::now() >= deadline => {
                        return Err(TargetError::Probe {
                            probe: probe_name(p),
                            detail,
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        Ok(())
    }

    fn confirm(&self, d: Desired<'_>) -> Result<(), TargetError> {
        let root = self.root().to_string();
        // Exit 1 when there is no `R/previous` yet; the rest is listed.
        let listed = self.ssh.run(&cmd::list_gens(&root), None)?;
        if listed.code > 1 {
            return Err(TargetError::Remote {
                program: "find".into(),
                status: format!("exit status {}", listed.code),
                stderr: listed.stderr.trim().to_string(),
            });
        }
        let (gens, previous) = cmd::parse_gens(&listed.stdout);
        let mut keep: BTreeSet<String> = [d.generation.hex()].into();
        keep.extend(previous);
        let old: Vec<String> = gens
            .iter()
            .filter(|n| !keep.contains(*n))
            .map(|n| format!("{}/{n}", cmd::gens(&root)))
            .collect();
        if !old.is_empty() {
            let old: Vec<&str> = old.iter().map(String::as_str).collect();
            self.ssh.ok(&cmd::remove_trees(&old), None)?;
        }
        Ok(())
    }

    fn rollback(&self, to: Option<Desired<'_>>) -> Result<(), TargetError> {
        match to {
            Some(d) => {
                let files = self.files(&d)?;
                self.stage_files(d.generation, &files)?;
                self.activate_files(d.generation, &files, &spec(&d)?.services)
            }
            None => {
                let root = self.root().to_string();
                let seen = self.look(&[], false)?;
                let ours: Vec<&str> = seen
                    .manifest
                    .iter()
                    .flat_map(|m| m.files.iter().map(|(p, _)| p.as_str()))
                    .filter(|p| {
                        seen.kinds.get(*p).is_some_and(|(ty, link)| {
                            ty == "l" && *link == cmd::link_target(&root, p)
                        })
                    })
                    .collect();
                if !ours.is_empty() {
                    self.ssh.ok(&cmd::remove_files(&ours), None)?;
                }
                self.ssh
                    .ok(&cmd::remove_files(&[&format!("{root}/current")]), None)?;
                Ok(())
            }
        }
    }

    fn status(&self, _: Option<Desired<'_>>) -> Result<TargetStatus, TargetError> {
        let seen = self.look(&[], true)?;
        let prev = self.ssh.run(&cmd::read_previous(self.root()), None)?;
        let previous = (prev.code == 0)
            .then(|| Digest::from_hex(prev.stdout.trim().trim_start_matches("gens/")).ok())
            .flatten();
        Ok(TargetStatus {
            running: seen.manifest.as_ref().map(|m| m.generation),
            previous,
            drift: self.drift(&seen),
        })
    }
}

impl HostTarget {
    fn probe(&self, address: &str, p: &Probe) -> Result<(), String> {
        let timeout = Duration::from_secs(2);
        match p {
            Probe::Tcp { port } => connect(address, *port, timeout).map(drop),
            Probe::Http { port, path } => {
                let mut s = connect(address, *port, timeout)?;
                let req = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
                s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).map_err(|e| e.to_string())?;
                let line = String::from_utf8_lossy(&buf[..n]);
                match line.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok()) {
                    Some(code) if (200..400).contains(&code) => Ok(()),
                    Some(code) => Err(format!("answered {code}")),
                    None => Err("not an HTTP answer".into()),
                }
            }
            Probe::Dns { port, name } => dns_query(address, *port, name, timeout),
            Probe::Unit { unit } => {
                let o = self
                    .ssh
                    .run(&cmd::unit_active(unit), None)
                    .map_err(|e| crate::report::chain(&e))?;
                if o.code == 0 {
                    Ok(())
                } else {
                    Err(format!("{unit} is not active"))
                }
            }
        }
    }
}

fn connect(address: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addr = (address, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{address} has no address"))?;
    let s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// One A query for `name`; any answer with our id counts (the server is
/// up and answering), as a resolver health check should.
fn dns_query(address: &str, port: u16, name: &str, timeout: Duration) -> Result<(), String> {
    let mut q = vec![0x68, 0x6c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let sock = UdpSocket::bind(("0.0.0.0", 0)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    sock.connect((address, port)).map_err(|e| e.to_string())?;
    sock.send(&q).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).map_err(|e| e.to_string())?;
    if n >= 4 && buf[0..2] == q[0..2] && buf[2] & 0x80 != 0 {
        Ok(())
    } else {
        Err("no DNS answer".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlb_cache::generation::contract::ServiceAction;

    #[test]
    fn services_follow_their_changed_files_in_recipe_order() {
        let svc = |unit: &str, on: OnChange, files: &[&str]| ServiceAction {
            unit: unit.into(),
            on_change: on,
            files: files.iter().map(|s| s.to_string()).collect(),
        };
        let services = [
            svc("b.service", OnChange::Restart, &["b.conf"]),
            svc("a.service", OnChange::Reload, &["a.conf", "shared"]),
            svc("c.service", OnChange::Reload, &["c.conf"]),
        ];
        let changed: BTreeSet<&str> = ["shared", "b.conf"].into();
        assert_eq!(
            service_actions(&services, &changed),
            vec![
                cmd::systemctl("restart", "b.service"),
                cmd::systemctl("reload", "a.service"),
            ]
        );
    }

    #[test]
    fn the_stage_archive_holds_files_by_key_and_the_manifest() {
        let g = Digest([7; 32]);
        let f = StagedFile {
            path: "/etc/app.conf".into(),
            artifact: "app.conf".into(),
            bytes: b"x=1\n".to_vec(),
            sha: cmd::sha256_hex(b"x=1\n"),
            mode: 0o640,
            owner: "root".into(),
            group: "adm".into(),
        };
        let tar = stage_archive("/r", g, std::slice::from_ref(&f)).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, String)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.groupname().unwrap().unwrap_or("").to_string(),
                )
            })
            .collect();
        let top = format!("r/gens/{}.partial", g.hex());
        assert_eq!(
            entries,
            vec![
                (format!("{top}/"), 0o755, String::new()),
                (format!("{top}/files/"), 0o755, String::new()),
                (
                    format!("{top}/files/{}", cmd::key("/etc/app.conf")),
                    0o640,
                    "adm".into()
                ),
                (format!("{top}/manifest"), 0o644, String::new()),
            ]
        );
    }
}
