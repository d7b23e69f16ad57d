//! Booting a built rootfs in real LXC (addresses: design D18), with
//! guards that remove every container, bridge and directory the test made,
//! also when it panics.
//!
//! Each test gets its own bridge `hlb-br<hex>` with a random 10.200.X.0/24
//! subnet (the host is .1, the container .2) that no interface on the
//! machine uses yet.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn random() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0) as u64;
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A bridge the test made; deleted on drop.
pub struct Bridge {
    pub name: String,
    pub subnet: u8,
}

impl Bridge {
    pub fn new() -> Bridge {
        let used = run_ok(Command::new("ip").args(["-4", "-o", "addr", "show"]));
        let mut last_error = String::from("every 10.200.x subnet tried is in use");
        for attempt in 0..50 {
            let r = random().wrapping_add(attempt);
            let subnet = (r % 250 + 1) as u8;
            if used.contains(&format!("10.200.{subnet}.")) {
                continue;
            }
            let name = format!("hlb-br{:06x}", (r >> 8) & 0xff_ffff);
            let out = run(Command::new("ip").args(["link", "add", &name, "type", "bridge"]));
            if !out.status.success() {
                last_error = format!(
                    "ip link add {name} type bridge: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                continue;
            }
            let bridge = Bridge { name, subnet };
            run_ok(Command::new("ip").args([
                "addr",
                "add",
                &format!("10.200.{subnet}.1/24"),
                "dev",
                &bridge.name,
            ]));
            run_ok(Command::new("ip").args(["link", "set", &bridge.name, "up"]));
            return bridge;
        }
        panic!("cannot make a test bridge: {last_error}");
    }

    pub fn container_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 200, self.subnet, 2)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
    }
}

/// How the container maps ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Privileged,
    /// Container root is host uid/gid 100000 (65536 ids), the rootfs is
    /// extracted shifted, as Proxmox does for unprivileged containers.
    Unprivileged,
}

pub const SHIFT: u32 = 100_000;

/// A container the test made; stopped (killed) on drop, its directory
/// removed. Never `lxc-destroy`d (see the notes' gotcha).
pub struct Container {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl Container {
    fn lxcpath(&self) -> &Path {
        self.dir.path()
    }

    /// Extracts `archive` (a rootfs tar.zst) and starts the container on
    /// `bridge`.
    pub fn boot(archive: &Path, bridge: &Bridge, mode: Mode) -> Container {
        Container::boot_with(archive, bridge, mode, true)
    }

    /// [`Container::boot`]; with `lxc_address` false, LXC leaves eth0
    /// unconfigured and the template's own network config must set it.
    pub fn boot_with(archive: &Path, bridge: &Bridge, mode: Mode, lxc_address: bool) -> Container {
        let dir = tempfile::Builder::new()
            .prefix("hlb-lxc-")
            .tempdir_in("/tmp")
            .expect("temp dir for the container");
        // Unprivileged: the container's root must be able to traverse.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod container dir");
        let name = format!("hlb-ct{:06x}", random() & 0xff_ffff);
        let container = Container { dir, name };
        let rootfs = container.lxcpath().join(&container.name).join("rootfs");
        std::fs::create_dir_all(&rootfs).expect("create rootfs dir");
        run_ok(
            Command::new("tar")
                .arg("--zstd")
                .arg("-xpf")
                .arg(archive)
                .arg("-C")
                .arg(&rootfs)
                .args(["--numeric-owner", "--exclude=./dev/*"]),
        );
        let mut config = format!(
            "lxc.include = /usr/share/lxc/config/common.conf\n\
             lxc.uts.name = {name}\n\
             lxc.rootfs.path = dir:{rootfs}\n\
             lxc.apparmor.profile = unconfined\n\
             lxc.net.0.type = veth\n\
             lxc.net.0.link = {bridge}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.name = eth0\n",
            name = container.name,
            rootfs = rootfs.display(),
            bridge = bridge.name,
        );
        if lxc_address {
            config.push_str(&format!(
                "lxc.net.0.ipv4.address = {}/24\n",
                bridge.container_ip()
            ));
        }
        if mode == Mode::Unprivileged {
            shift_ids(&rootfs, SHIFT);
            config.push_str(&format!(
                "lxc.include = /usr/share/lxc/config/userns.conf\n\
                 lxc.idmap = u 0 {SHIFT} 65536\n\
                 lxc.idmap = g 0 {SHIFT} 65536\n"
            ));
        }
        std::fs::write(
            container.lxcpath().join(&container.name).join("config"),
            config,
        )
        .expect("write lxc config");
        let log = container.lxcpath().join("lxc.log");
        let out = run(container
            .lxc("lxc-start")
            .args(["-d", "-l", "INFO", "-o"])
            .arg(&log));
        if !out.status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("WARN"))
                .rev()
                .take(30)
                .collect();
            panic!(
                "lxc-start {mode:?} failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        run_ok(
            container
                .lxc("lxc-wait")
                .args(["-s", "RUNNING", "-t", "20"]),
        );
        container
    }

    fn lxc(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.arg("-P").arg(self.lxcpath()).arg("-n").arg(&self.name);
        c
    }

    /// Runs a command inside, with a clean environment.
    pub fn attach(&self, args: &[&str]) -> Output {
        let mut c = self.lxc("lxc-attach");
        c.arg("--clear-env").arg("--").args(args);
        run(&mut c)
    }

    pub fn sh(&self, script: &str) -> String {
        let out = self.attach(&["/bin/sh", "-c", script]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `systemctl is-system-running --wait`, retried until systemd
    /// answers with a final state (the bus may not be up at first).
    pub fn system_state(&self, timeout: Duration) -> String {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            // `--wait` blocks while units start; `timeout` bounds one try.
            let out = self.attach(&["timeout", "20", "systemctl", "is-system-running", "--wait"]);
            last = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if matches!(
                last.as_str(),
                "running" | "degraded" | "maintenance" | "stopping"
            ) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("systemd gave no final state within {timeout:?} (last: {last:?})");
    }

    /// The health check a deployer runs: polls until systemd and every
    /// unit in `units` have settled. `Ok(())` when the system is `running`
    /// and every unit is `active`; `Err(state)` as soon as the system is
    /// `degraded` (a unit failed), or `Err("UNIT STATE, result RESULT")`
    /// as soon as a declared unit is not active and its last run did not
    /// succeed (a unit that restarts forever never reaches `failed`), or
    /// when `timeout` passes first.
    pub fn health(&self, units: &[&str], timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        let first = self.system_state(timeout);
        let mut last = first;
        while start.elapsed() < timeout {
            let state = self.attach(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
            if state == "degraded" {
                return Err(state);
            }
            let mut all = state == "running";
            for unit in units {
                let out = self.attach(&["systemctl", "is-active", unit]);
                let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if s != "active" {
                    // A unit restarting after a failure never reaches
                    // `failed` when it restarts forever: its last result
                    // says it could not start.
                    let result = self.sh(&format!("systemctl show -p Result --value {unit}"));
                    if result != "success" && !result.is_empty() {
                        return Err(format!("{unit} {s}, result {result}"));
                    }
                }
                all &= s == "active";
                last = format!("{state}, {unit} {s}");
            }
            if all {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("not settled within {timeout:?}: {last}"))
    }

    /// For failure messages: failed units and the journal's tail.
    pub fn diagnostics(&self) -> String {
        self.sh("systemctl --failed --no-pager --no-legend; journalctl -b --no-pager -p warning | tail -n 40")
    }

    pub fn rootfs(&self) -> PathBuf {
        self.lxcpath().join(&self.name).join("rootfs")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.lxc("lxc-stop").arg("-k").output();
    }
}

/// Shifts every owner in `root` by `by` (lchown, no symlink following),
/// as an unprivileged Proxmox container's rootfs is stored.
fn shift_ids(root: &Path, by: u32) {
    use std::os::unix::fs::MetadataExt;
    fn walk(p: &Path, by: u32) {
        let meta = std::fs::symlink_metadata(p).expect("stat rootfs entry");
        let mode = meta.mode();
        std::os::unix::fs::lchown(p, Some(meta.uid() + by), Some(meta.gid() + by))
            .unwrap_or_else(|e| panic!("lchown {}: {e}", p.display()));
        if !meta.file_type().is_symlink() {
            // chown clears setuid/setgid bits: put them back.
            std::fs::set_permissions(
                p,
                std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
            )
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(p).expect("read rootfs dir") {
                walk(&e.expect("rootfs dir entry").path(), by);
            }
        }
    }
    walk(root, by);
}

/// Whether `ip` has this address up: a UDP datagram to a closed port is
/// answered with ICMP port unreachable, which Linux reports on a connected
/// socket as `ConnectionRefused`.
pub fn answers_icmp(ip: Ipv4Addr) -> bool {
    let Ok(socket) = UdpSocket::bind("0.0.0.0:0") else {
        return false;
    };
    if socket.connect((ip, 9)).is_err() {
        return false;
    }
    let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = socket.send(b"probe");
    let mut buf = [0u8; 16];
    matches!(socket.recv(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// Sends one DNS query for `name` (type A) and returns the answers'
/// IPv4 addresses, or the error.
pub fn dns_query(server: Ipv4Addr, name: &str) -> std::io::Result<Vec<Ipv4Addr>> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let id = (random() & 0xffff) as u16;
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    socket.send_to(&q, (server, 53))?;
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf)?;
    let r = &buf[..n];
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    if n < 12 || r[..2] != id.to_be_bytes() {
        return Err(bad("short answer or wrong id"));
    }
    let rcode = r[3] & 0x0f;
    if rcode != 0 {
        return Err(bad(&format!("rcode {rcode}")));
    }
    let answers = u16::from_be_bytes([r[6], r[7]]);
    let mut pos = q.len();
    let mut out = Vec::new();
    for _ in 0..answers {
        // name: a pointer or labels
        while pos < n {
            let len = r[pos] as usize;
            if len == 0 {
                pos += 1;
                break;
            }
            if len & 0xc0 == 0xc0 {
                pos += 2;
                break;
            }
            pos += len + 1;
        }
        if pos + 10 > n {
            return Err(bad("truncated answer"));
        }
        let rtype = u16::from_be_bytes([r[pos], r[pos + 1]]);
        let rdlen = u16::from_be_bytes([r[pos + 8], r[pos + 9]]) as usize;
        pos += 10;
        if rtype == 1 && rdlen == 4 && pos + 4 <= n {
            out.push(Ipv4Addr::new(r[pos], r[pos + 1], r[pos + 2], r[pos + 3]));
        }
        pos += rdlen;
    }
    Ok(out)
}

/// Ensures `root:SHIFT:65536` in `/etc/subuid` and `/etc/subgid` (what
/// newuidmap checks when LXC maps an unprivileged container's ids, and
/// what Proxmox hosts carry); removes the lines it added on drop.
pub struct SubIds {
    added: Vec<&'static str>,
}

const SUBID_LINE: &str = "root:100000:65536";

impl SubIds {
    pub fn ensure() -> SubIds {
        let mut added = Vec::new();
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if text.lines().any(|l| l.trim() == SUBID_LINE) {
                continue;
            }
            let mut new = text.clone();
            if !new.is_empty() && !new.ends_with('\n') {
                new.push('\n');
            }
            new.push_str(SUBID_LINE);
            new.push('\n');
            write_replace(file, &new);
            added.push(file);
        }
        SubIds { added }
    }
}

fn write_replace(file: &str, text: &str) {
    let tmp = format!("{file}.hlb-test-{}", std::process::id());
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {tmp}: {e}"));
    std::fs::rename(&tmp, file).unwrap_or_else(|e| panic!("rename {tmp} to {file}: {e}"));
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for file in &self.added {
            if let Ok(text) = std::fs::read_to_string(file) {
                let kept: String = text
                    .lines()
                    .filter(|l| l.trim() != SUBID_LINE)
                    .map(|l| format!("{l}\n"))
                    .collect();
                write_replace(file, &kept);
            }
        }
    }
}
