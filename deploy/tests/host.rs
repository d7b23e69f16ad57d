//! The conformance suite against the real host target: two sshd hosts in
//! network namespaces this test makes, reached with the system ssh client.
//!
//! Addresses (docs/deploy.md, "Test networks"): this binary uses
//! 10.200.160.0/24 … 10.200.191.0/24, one /24 per world (a bridge at .1,
//! hosts at .10 and .11), picked by a per-process counter, so the worlds
//! of parallel test threads never share a subnet. Nothing else is
//! contacted. Every bridge, veth, namespace, mount and sshd is removed
//! when the world is dropped.
//!
//! The namespaces share this machine's filesystem, so each host gets its
//! own generation root and files directory under the world's temp dir.
//! Needs root, `ip` and `/usr/sbin/sshd` (`.ci/run` installs them); as
//! another user the tests say so and pass without running.

mod conformance;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use conformance::World;
use hlb_cache::Store;
use hlb_cache::generation::contract::{self, SshAccess, TargetSpec};
use hlb_deploy::host::ssh::SshOptions;
use hlb_deploy::host::{HostConnect, HostOptions};
use hlb_deploy::{Connect, Target, TargetError};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Routes each host's targets to a host connector with that host's own
/// generation root (the namespaces share one filesystem).
struct PerHost {
    by_address: BTreeMap<String, HostConnect>,
}

impl Connect for PerHost {
    fn connect(
        &self,
        name: &str,
        target: &contract::Target,
    ) -> Result<Box<dyn Target>, TargetError> {
        let TargetSpec::Host(h) = &target.spec else {
            return Err(TargetError::Unsupported {
                kind: target.spec.kind(),
            });
        };
        match self.by_address.get(&h.access.address) {
            Some(c) => c.connect(name, target),
            None => Err(TargetError::Other(format!(
                "{} is not a host of this test",
                h.access.address
            ))),
        }
    }
}

struct Netns {
    dir: tempfile::TempDir,
    store: Store,
    subnet: u32,
    bridge: String,
    namespaces: Vec<String>,
    keys: Vec<String>,
    mounts: std::sync::Mutex<Vec<PathBuf>>,
    connect: Option<PerHost>,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn quiet(args: &[&str]) {
    let _ = Command::new(args[0]).args(&args[1..]).output();
}

fn usable() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: the host target tests need root (network namespaces, sshd)");
        return false;
    }
    assert!(
        Path::new("/usr/sbin/sshd").exists(),
        "/usr/sbin/sshd is missing: apt-get install openssh-server (.ci/run does)"
    );
    true
}

impl Netns {
    fn address(&self, i: usize) -> String {
        format!("10.200.{}.{}", self.subnet, 10 + i)
    }

    fn host_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("h{i}"))
    }

    fn new() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id() % 100_000;
        let subnet = 160 + n % 32;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut w = Netns {
            store,
            subnet,
            bridge: format!("hdb{pid}x{n}"),
            namespaces: vec![],
            keys: vec![],
            mounts: Default::default(),
            connect: None,
            dir,
        };
        let d = w.dir.path().to_path_buf();
        sh(&["ip", "link", "add", &w.bridge, "type", "bridge"]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("10.200.{subnet}.1/24"),
            "dev",
            &w.bridge,
        ]);
        sh(&["ip", "link", "set", &w.bridge, "up"]);
        let client = d.join("client_key");
        sh(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            client.to_str().unwrap(),
        ]);
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut by_address = BTreeMap::new();
        for i in 0..2 {
            let ns = format!("hlbd-{pid}-{n}-{i}");
            let veth = format!("hd{pid}x{n}v{i}");
            sh(&["ip", "netns", "add", &ns]);
            w.namespaces.push(ns.clone());
            sh(&[
                "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            sh(&["ip", "link", "set", &veth, "master", &w.bridge]);
            sh(&["ip", "link", "set", &veth, "up"]);
            let addr = w.address(i);
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            let h = w.host_dir(i);
            std::fs::create_dir_all(h.join("root")).unwrap();
            std::fs::create_dir_all(h.join("files")).unwrap();
            let key = h.join("host_key");
            sh(&[
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                key.to_str().unwrap(),
            ]);
            std::fs::copy(d.join("client_key.pub"), h.join("authorized_keys")).unwrap();
            let config = format!(
                "ListenAddress {addr}\nPort 22\nHostKey {key}\nAuthorizedKeysFile {ak}\n\
                 PidFile {pid}\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nStrictModes no\nPermitRootLogin prohibit-password\n",
                key = key.display(),
                ak = h.join("authorized_keys").display(),
                pid = h.join("sshd.pid").display(),
            );
            std::fs::write(h.join("sshd_config"), config).unwrap();
            // Only the network namespace: `ip netns exec` would also give
            // sshd a mount namespace of its own, hiding the tmpfs a case
            // mounts later (a full disk).
            sh(&[
                "nsenter",
                &format!("--net=/run/netns/{ns}"),
                "/usr/sbin/sshd",
                "-f",
                h.join("sshd_config").to_str().unwrap(),
            ]);
            let host_key = std::fs::read_to_string(h.join("host_key.pub")).unwrap();
            w.keys.push(
                host_key
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            wait_for(&addr);
            by_address.insert(
                addr,
                HostConnect::new(
                    w.store.clone(),
                    HostOptions {
                        root: h.join("root").display().to_string(),
                        ssh: SshOptions {
                            config: Some("/dev/null".into()),
                            identity: Some(client.clone()),
                            connect_timeout: Some(Duration::from_secs(3)),
                            program: None,
                        },
                        health_timeout: Duration::from_millis(500),
                    },
                ),
            );
        }
        w.connect = Some(PerHost { by_address });
        w
    }
}

fn wait_for(addr: &str) {
    let start = Instant::now();
    let sock = format!("{addr}:22").parse().unwrap();
    while TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "sshd on {addr} did not answer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Close the ssh masters before their servers go.
        self.connect = None;
        for i in 0..self.namespaces.len() {
            if let Ok(pid) = std::fs::read_to_string(self.host_dir(i).join("sshd.pid"))
                && let Ok(pid) = pid.trim().parse::<i32>()
            {
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        for m in self.mounts.lock().unwrap().iter() {
            quiet(&["umount", "-l", m.to_str().unwrap()]);
        }
        for ns in &self.namespaces {
            // Whatever still runs in the namespace (sessions of a master
            // that outlived its test) would keep it alive.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).lines() {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                        }
                    }
                }
            }
            quiet(&["ip", "netns", "del", ns]);
        }
        quiet(&["ip", "link", "del", &self.bridge]);
    }
}

impl World for Netns {
    fn connect(&self) -> &dyn Connect {
        self.connect.as_ref().unwrap()
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state/deploy/conformance")
    }
    fn host(&self, i: usize) -> SshAccess {
        SshAccess {
            address: self.address(i),
            port: 22,
            user: "root".into(),
            host_key: Some(self.keys[i].clone()),
        }
    }
    fn unreachable(&self) -> SshAccess {
        // The host is there, sshd is not on this port: refused at once.
        SshAccess {
            port: 2,
            ..self.host(1)
        }
    }
    fn files_dir(&self, i: usize) -> String {
        self.host_dir(i).join("files").display().to_string()
    }
    fn read(&self, _: usize, path: &str) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }
    fn write(&self, _: usize, path: &str, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
    }
    fn fill_disk(&self, i: usize) {
        let root = self.host_dir(i).join("root");
        sh(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "hlb-deploy-test",
            root.to_str().unwrap(),
        ]);
        self.mounts.lock().unwrap().push(root);
    }
    fn open_port(&self) -> u16 {
        22
    }
    fn closed_port(&self) -> u16 {
        9
    }
}

/// A world, or `None` when this machine cannot make one (not root).
fn world() -> Option<Netns> {
    usable().then(Netns::new)
}

macro_rules! host_conformance {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                if let Some(w) = world() {
                    conformance::$case(&w);
                }
            }
        )*
    };
}

host_conformance!(
    switch_then_nothing_then_back,
    health_fails_after_activation,
    a_step_fails_mid_stage,
    unreachable_at_plan_changes_nothing,
    crash_at_every_journal_step,
    two_switches_at_once,
    drift_is_found_and_overwritten,
);
