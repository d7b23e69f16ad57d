//! Helpers for tests that run the real `hlb` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn hlb_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hlb")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An isolated hlb world: its own HOME, store, state and temp directory.
pub struct World {
    pub dir: tempfile::TempDir,
    /// Passed as HLB_AGE_IDENTITY, when set.
    pub identity: Option<PathBuf>,
}

impl World {
    pub fn new() -> World {
        World {
            dir: tempfile::tempdir().expect("tempdir"),
            identity: None,
        }
    }

    /// A world whose operator holds the example lab's demo identity.
    pub fn demo() -> World {
        World {
            identity: Some(repo_root().join("demo/age-identity.txt")),
            ..World::new()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    /// A copy of a recipes tree inside the world, so tests may edit it.
    pub fn copy_recipes(&self, from: &Path) -> PathBuf {
        let to = self.path().join("recipes");
        copy_dir(from, &to);
        to
    }

    /// A copy of the example lab without its containers, for tests that
    /// must not depend on the Debian mirror: a container's packages are
    /// pinned by `hlb lock` against the mirror as it is that day (the mirror
    /// moves on, so no lock is committed), and its build output lists
    /// package versions. Drops every import of a file that declares an
    /// `lxc`; `tests/lxc.rs` and `tests/repro.rs` build the whole lab.
    pub fn copy_example_lab_offline(&self) -> PathBuf {
        let to = self.copy_recipes(&repo_root().join("recipes"));
        let _ = std::fs::remove_file(to.join("hlb.lock"));
        let entry = to.join("lab.kdl");
        let lab = std::fs::read_to_string(&entry).expect("lab.kdl");
        let kept: Vec<&str> = lab
            .lines()
            .filter(|line| {
                let Some(file) = line
                    .trim()
                    .strip_prefix("import \"")
                    .and_then(|r| r.strip_suffix('"'))
                else {
                    return true;
                };
                let text = std::fs::read_to_string(to.join(file)).expect("imported file");
                !text.lines().any(|l| l.trim_start().starts_with("lxc \""))
            })
            .collect();
        assert!(
            kept.len() < lab.lines().count(),
            "the example lab has a container"
        );
        std::fs::write(&entry, kept.join("\n") + "\n").expect("write lab.kdl");
        to
    }

    /// `hlb ARGS` with HOME, XDG dirs and TMPDIR pointed into the world.
    pub fn cmd(&self, recipes: &Path) -> Command {
        let mut c = Command::new(hlb_bin());
        let home = self.path().join("home");
        let tmp = self.path().join("tmp");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&tmp).expect("tmp");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("HLB_STORE", self.store())
            .env("HLB_STATE", self.state())
            .env("HLB_RECIPES", recipes)
            .env("NO_COLOR", "1");
        if let Some(id) = &self.identity {
            c.env("HLB_AGE_IDENTITY", id);
        }
        c
    }

    pub fn run(&self, recipes: &Path, args: &[&str]) -> Output {
        self.cmd(recipes).args(args).output().expect("run hlb")
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .expect("read_dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert success, showing stderr when not.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "hlb failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Every regular file under `root`, relative path → bytes, sorted.
pub fn tree_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let p = e.path();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let rel = p
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// Write an `hlb.lock` into `recipes` (the whole example lab) that pins
/// made-up packages for the DNS container, resolved for exactly its
/// request: the lab then plans (`show`, `why-depends`, `graph`) without the
/// Debian mirror. Building the container from it fails (the packages do
/// not exist). `dnsdist` and `libc6` are among them.
pub fn write_made_up_lock(recipes: &Path) {
    let io = hlb_builder::io::FsIo::new(recipes.to_path_buf());
    let lab = hlb_builder::load::load(&io, &hlb_builder::io::RelPath::new("lab.kdl").unwrap())
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    let dns = lab
        .get("dns")
        .expect("the example lab has the dns container");
    let hlb_builder::decl::Body::Lxc(l) = &dns.body else {
        panic!("dns is a container")
    };
    let package = |name: &str, version: &str| {
        serde_json::json!({
            "name": name,
            "version": version,
            "architecture": "amd64",
            "url": format!("https://deb.debian.org/debian/pool/main/{name}_{version}_amd64.deb"),
            "sha256": "0".repeat(64),
            "size": 1,
        })
    };
    let mut packages = vec![
        package("dnsdist", "1.7.3-2"),
        package("libc6", "2.36-9+deb12u14"),
    ];
    for i in 0..10 {
        packages.push(package(&format!("libmadeup{i}"), "1.0-1"));
    }
    let lock = serde_json::json!({
        "version": 1,
        "debian": {
            "dns": {
                "request": hlb_builder::plan::debian_request(l),
                "packages": packages,
            }
        }
    });
    std::fs::write(
        recipes.join("hlb.lock"),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();
}
