//! One host's SSH connection: the system `ssh` client, multiplexed over a
//! master connection in a private control directory, so every command
//! after the first costs one round trip.
//!
//! Host keys are never trusted on first use: a key pinned in the recipe is
//! the only key accepted (a known_hosts file of our own); without one, the
//! user's known_hosts decides (`StrictHostKeyChecking=yes`). `BatchMode`
//! keeps ssh from ever prompting.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hlb_cache::fsx;
use hlb_cache::generation::contract::SshAccess;

use crate::error::TargetError;
use crate::host::commands::remote_command;

/// How the deployer logs in, beyond what the generation says.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// `-F`: an ssh config file (`None`: the user's own).
    pub config: Option<PathBuf>,
    /// `-i` with `IdentitiesOnly` (`None`: agent and config decide).
    pub identity: Option<PathBuf>,
    /// How long a connection may take to open.
    pub connect_timeout: Option<Duration>,
    /// The `ssh` program (`None`: `ssh` on PATH).
    pub program: Option<PathBuf>,
}

/// What a remote command printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct Ssh {
    access: SshAccess,
    opts: SshOptions,
    control: PathBuf,
    /// Whether the master connection is up (opened by the first command).
    open: std::sync::Mutex<bool>,
}

/// The arguments before the destination: pure, so the whole ssh command
/// line is tested exactly. `master`: the one process that logs in and
/// holds the connection (it runs `true`, then stays in the background
/// 120 s after its last use; a `-N` master refuses mux sessions);
/// otherwise a command sent through it, which never opens a master of its
/// own (a backgrounded master would hold the command's output pipes).
pub fn ssh_args(
    access: &SshAccess,
    opts: &SshOptions,
    control_dir: &Path,
    known_hosts: Option<&Path>,
    master: bool,
) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut o = |k: &str, v: String| {
        a.push("-o".into());
        a.push(format!("{k}={v}"));
    };
    o("BatchMode", "yes".into());
    o("ControlMaster", if master { "yes" } else { "no" }.into());
    o("ControlPath", format!("{}/%C", control_dir.display()));
    if master {
        o("ControlPersist", "120".into());
    }
    o(
        "ConnectTimeout",
        opts.connect_timeout
            .unwrap_or(Duration::from_secs(10))
            .as_secs()
            .max(1)
            .to_string(),
    );
    o("ServerAliveInterval", "5".into());
    o("ServerAliveCountMax", "3".into());
    o("StrictHostKeyChecking", "yes".into());
    if let Some(kh) = known_hosts {
        o("UserKnownHostsFile", kh.display().to_string());
        o("GlobalKnownHostsFile", "/dev/null".into());
    }
    if let Some(id) = &opts.identity {
        o("IdentitiesOnly", "yes".into());
        a.push("-i".into());
        a.push(id.display().to_string());
    }
    if let Some(c) = &opts.config {
        a.insert(0, c.display().to_string());
        a.insert(0, "-F".into());
    }
    a.push("-p".into());
    a.push(access.port.to_string());
    a.push("-l".into());
    a.push(access.user.clone());
    a
}

/// The known_hosts line pinning `key` for the access's address and port.
pub fn known_hosts_line(access: &SshAccess, key: &str) -> String {
    if access.port == 22 {
        format!("{} {}\n", access.address, key.trim())
    } else {
        format!("[{}]:{} {}\n", access.address, access.port, key.trim())
    }
}

impl Ssh {
    /// No connection yet: the first command opens the master.
    pub fn new(access: &SshAccess, opts: &SshOptions) -> Result<Ssh, TargetError> {
        // Short, private and ours: unix socket paths are limited to ~100
        // bytes, and the control socket grants the session to whoever can
        // reach it.
        let control =
            std::env::temp_dir().join(format!("hlb-ssh-{}-{}", std::process::id(), next_id()));
        fsx::create_dir_all(&control).map_err(TargetError::Io)?;
        fsx::set_mode(&control, 0o700).map_err(TargetError::Io)?;
        if let Some(key) = &access.host_key {
            fsx::write_atomic(
                &control.join("known_hosts"),
                known_hosts_line(access, key).as_bytes(),
            )
            .map_err(TargetError::Io)?;
        }
        Ok(Ssh {
            access: access.clone(),
            opts: opts.clone(),
            control,
            open: std::sync::Mutex::new(false),
        })
    }

    /// Log in once: the master runs `true` and then persists in the
    /// background; its stdout is null and its stderr a file, so nothing
    /// waits on a pipe it holds.
    fn master(&self) -> Result<(), TargetError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if *open {
            return Ok(());
        }
        let log = self.control.join("master.log");
        let unreachable =
            |cause: Box<dyn std::error::Error + Send + Sync>| TargetError::Unreachable {
                address: self.access.address.clone(),
                cause,
            };
        let err = fsx::create(&log).map_err(TargetError::Io)?;
        let status = self
            .command(true)
            .arg("--")
            .arg(&self.access.address)
            .arg("true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .status()
            .map_err(|e| unreachable(Box::new(e)))?;
        if !status.success() {
            let text = fsx::read_to_string(&log).unwrap_or_default();
            return Err(unreachable(text.trim().to_string().into()));
        }
        *open = true;
        Ok(())
    }

    fn command(&self, master: bool) -> Command {
        let kh = self.control.join("known_hosts");
        let pinned = self.access.host_key.is_some().then_some(kh.as_path());
        let mut c = Command::new(
            self.opts
                .program
                .clone()
                .unwrap_or_else(|| PathBuf::from("ssh")),
        );
        c.args(ssh_args(
            &self.access,
            &self.opts,
            &self.control,
            pinned,
            master,
        ));
        c
    }

    /// Run `argv` on the machine, feeding `stdin`. Exit 255 is ssh's own
    /// failure (cannot connect, key refused): [`TargetError::Unreachable`].
    pub fn run(&self, argv: &[String], stdin: Option<&[u8]>) -> Result<Output, TargetError> {
        self.master()?;
        let mut c = self.command(false);
        c.arg("--")
            .arg(&self.access.address)
            .arg(remote_command(argv));
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let unreachable = |e: std::io::Error| TargetError::Unreachable {
            address: self.access.address.clone(),
            cause: Box::new(e),
        };
        let mut child = c.spawn().map_err(unreachable)?;
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take();
            // The writer thread keeps a large stdin from deadlocking
            // against output we have not read yet.
            let bytes = bytes.to_vec();
            let writer = std::thread::spawn(move || {
                if let Some(p) = pipe.as_mut() {
                    let _ = p.write_all(&bytes);
                }
            });
            let out = child.wait_with_output().map_err(unreachable)?;
            let _ = writer.join();
            return self.finish(argv, out);
        }
        let out = child.wait_with_output().map_err(unreachable)?;
        self.finish(argv, out)
    }

    fn finish(&self, argv: &[String], out: std::process::Output) -> Result<Output, TargetError> {
        let o = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if o.code == 255 {
            // The master may have gone (server restarted, network lost):
            // the next command logs in again.
            *self.open.lock().unwrap_or_else(|p| p.into_inner()) = false;
            return Err(TargetError::Unreachable {
                address: self.access.address.clone(),
                cause: o.stderr.trim().to_string().into(),
            });
        }
        let _ = argv;
        Ok(o)
    }

    /// Run and require exit 0.
    pub fn ok(&self, argv: &[String], stdin: Option<&[u8]>) -> Result<Output, TargetError> {
        let o = self.run(argv, stdin)?;
        if o.code != 0 {
            return Err(TargetError::Remote {
                program: argv.first().cloned().unwrap_or_default(),
                status: format!("exit status {}", o.code),
                stderr: o.stderr.trim().to_string(),
            });
        }
        Ok(o)
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        // Close the master (if one was opened) and the control directory.
        if !*self.open.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = fsx::remove_any(&self.control);
            return;
        }
        let _ = self
            .command(false)
            .args(["-O", "exit", "--", &self.access.address])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = fsx::remove_any(&self.control);
    }
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(port: u16, key: Option<&str>) -> SshAccess {
        SshAccess {
            address: "10.200.7.2".into(),
            port,
            user: "root".into(),
            host_key: key.map(str::to_string),
        }
    }

    #[test]
    fn the_ssh_command_line_is_exact() {
        let opts = SshOptions {
            config: Some("/dev/null".into()),
            identity: Some("/k/id".into()),
            connect_timeout: Some(Duration::from_secs(3)),
            program: None,
        };
        let a = ssh_args(
            &access(2222, Some("ssh-ed25519 AAAA")),
            &opts,
            Path::new("/tmp/c"),
            Some(Path::new("/tmp/c/known_hosts")),
            true,
        );
        let want: Vec<String> = [
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPath=/tmp/c/%C",
            "-o",
            "ControlPersist=120",
            "-o",
            "ConnectTimeout=3",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UserKnownHostsFile=/tmp/c/known_hosts",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
            "/k/id",
            "-p",
            "2222",
            "-l",
            "root",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(a, want);
        let cmd = ssh_args(
            &access(22, None),
            &SshOptions::default(),
            Path::new("/tmp/c"),
            None,
            false,
        );
        assert_eq!(
            cmd.join(" "),
            "-o BatchMode=yes -o ControlMaster=no -o ControlPath=/tmp/c/%C \
             -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \
             -o StrictHostKeyChecking=yes -p 22 -l root"
        );
    }

    #[test]
    fn pinned_keys_name_the_port_when_it_is_not_22() {
        assert_eq!(
            known_hosts_line(&access(22, None), "ssh-ed25519 AAAA\n"),
            "10.200.7.2 ssh-ed25519 AAAA\n"
        );
        assert_eq!(
            known_hosts_line(&access(2222, None), "ssh-ed25519 AAAA"),
            "[10.200.7.2]:2222 ssh-ed25519 AAAA\n"
        );
    }
}
