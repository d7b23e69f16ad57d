//! Containers end to end, through the `hlb` binary: recipes → `hlb lock`
//! (the machine's apt sources, resolved at test time: the mirror moves on)
//! → `hlb build` → the template booted in real LXC, privileged and
//! unprivileged, checked from the host the way a deployer would, from what
//! the generation says (services, probes, delivered secrets). And bad
//! input: an error at the recipe line, nothing half-built, no generation.
//!
//! Needs root, `lxc`, `zstd`, `iproute2`, `uidmap` and the machine's Debian
//! mirror (`.ci/run` installs them).

mod common;
#[path = "../images/lxc/tests/common/lxc.rs"]
#[allow(dead_code)]
mod lxc;

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use lxc::{Bridge, Container, Mode, dns_query};
use serde_json::Value;

/// One boot at a time: the machine has two cores.
static BOOT: Mutex<()> = Mutex::new(());

/// The generation `hash` of a world's store, as the deployer reads it.
fn generation(world: &World, hash: &str) -> Value {
    let entries = world.store().join("entries");
    let dir = std::fs::read_dir(&entries)
        .expect("store entries")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with(hash) && n.contains("-generation-")
        })
        .unwrap_or_else(|| panic!("generation {hash} is not in the store"));
    serde_json::from_slice(&std::fs::read(dir.join("out")).expect("generation")).expect("json")
}

/// The store output of artifact `id`.
fn output(world: &World, id: &str) -> PathBuf {
    let entries = world.store().join("entries");
    std::fs::read_dir(&entries)
        .expect("store entries")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .starts_with(id)
        })
        .unwrap_or_else(|| panic!("{id} is not in the store"))
        .join("out")
}

/// Every store entry's name.
fn entry_names(world: &World) -> Vec<String> {
    match std::fs::read_dir(world.store().join("entries")) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Polls a probe from the generation until it answers (a booted container
/// may take a moment to listen).
fn probe(ip: Ipv4Addr, p: &Value) -> Result<(), String> {
    let port = p["port"].as_u64().expect("port") as u16;
    let mut last = String::new();
    for _ in 0..40 {
        let r = match p["type"].as_str() {
            Some("dns") => {
                let name = p["name"].as_str().expect("name");
                dns_query(ip, name)
                    .map_err(|e| e.to_string())
                    .and_then(|a| {
                        if a.is_empty() {
                            Err(format!("no answer for {name}"))
                        } else {
                            Ok(())
                        }
                    })
            }
            Some("tcp") => TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(1))
                .map(drop)
                .map_err(|e| e.to_string()),
            other => panic!("probe type {other:?}"),
        };
        match r {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(last)
}

/// The example lab, its network moved onto `bridge` (its own parameters
/// say where the DNS container lives), locked and built. Returns the
/// generation hash.
fn build_example_lab(world: &World, bridge: &Bridge) -> (PathBuf, String) {
    let recipes = world.copy_recipes(&repo_root().join("recipes"));
    let _ = std::fs::remove_file(recipes.join("hlb.lock"));
    let subnet = format!("10.200.{}", bridge.subnet);
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).expect("lab.kdl");
    let moved = lab
        .replace(
            "param \"lan-cidr\" \"10.0.0.0/24\"",
            &format!("param \"lan-cidr\" \"{subnet}.0/24\""),
        )
        .replace(
            "param \"gateway-ip\" \"10.0.0.1\"",
            &format!("param \"gateway-ip\" \"{subnet}.1\""),
        )
        .replace(
            "param \"dns-ip\" \"10.0.0.53\"",
            &format!("param \"dns-ip\" \"{}\"", bridge.container_ip()),
        );
    assert_eq!(moved.matches(&subnet).count(), 3, "three parameters moved");
    std::fs::write(recipes.join("lab.kdl"), moved).expect("write lab.kdl");
    ok(&world.run(&recipes, &["lock"]));
    ok(&world.run(&recipes, &["lock", "--check"]));
    let hash = ok(&world.run(&recipes, &["build"])).trim().to_string();
    (recipes, hash)
}

fn boot_example_lab_dns(mode: Mode) -> (World, PathBuf) {
    let world = World::demo();
    let bridge = Bridge::new();
    let (recipes, hash) = build_example_lab(&world, &bridge);
    let g = generation(&world, &hash);
    let dns = &g["targets"]["lxc/dns"]["artifacts"]["dns"];
    assert_eq!(dns["kind"], "lxc-template", "{g:#}");
    // What the deployer reads: the container's spec in the generation.
    let meta = &g["targets"]["lxc/dns"]["spec"];
    assert_eq!(meta["kind"], "lxc");
    assert_eq!(meta["template"]["artifact"], "dns");
    assert_eq!(
        meta["network"]["address"],
        format!("{}/24", bridge.container_ip())
    );
    let archive = output(&world, dns["id"].as_str().expect("id")).join("rootfs.tar.zst");

    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let _subids = (mode == Mode::Unprivileged).then(lxc::SubIds::ensure);
    // The template configures its own address (systemd-networkd).
    let ct = Container::boot_with(&archive, &bridge, mode, false);
    let units: Vec<&str> = meta["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["unit"].as_str().expect("unit"))
        .collect();
    assert_eq!(units, ["dnsdist.service"]);
    let health = ct.health(&units, Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{mode:?}: {}", ct.diagnostics());
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
    assert_eq!(ct.sh("cat /etc/hostname"), "dns");
    let user = ct.sh("stat -c %U /proc/$(systemctl show -p MainPID --value dnsdist.service)");
    assert_eq!(user, "_dnsdist", "dnsdist drops to its package's user");
    // The probes the generation lists, from the host through the veth.
    let probes = meta["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 2);
    for p in probes {
        probe(bridge.container_ip(), p)
            .unwrap_or_else(|e| panic!("{mode:?}: probe {p} failed: {e}\n{}", ct.diagnostics()));
    }
    // The lab's own names come from its parameters.
    let gitea = dns_query(bridge.container_ip(), "gitea.home.example.org").expect("query");
    assert_eq!(gitea, [Ipv4Addr::new(10, 0, 0, 30)]);
    (world, recipes)
}

#[test]
fn example_lab_dns_container_boots_privileged_and_answers() {
    let (world, recipes) = boot_example_lab_dns(Mode::Privileged);
    // A parameter the container's config uses: the next generation's
    // template differs in that one file, and `hlb diff` shows how.
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).expect("lab.kdl");
    std::fs::write(
        recipes.join("lab.kdl"),
        lab.replace("\"10.0.0.30\"", "\"10.0.0.31\""),
    )
    .expect("write");
    ok(&world.run(&recipes, &["build"]));
    let diff = ok(&world.run(&recipes, &["diff"]));
    assert!(diff.contains("lxc/dns:\n  changed  dns\n"), "{diff}");
    assert!(
        diff.contains("files: 1 changed, 0 added, 0 removed"),
        "{diff}"
    );
    assert!(diff.contains("~ /etc/dnsdist/dnsdist.conf"), "{diff}");
    assert!(
        diff.contains("-  [\"gitea.home.example.org.\"] = \"10.0.0.30\",")
            && diff.contains("+  [\"gitea.home.example.org.\"] = \"10.0.0.31\","),
        "{diff}"
    );
}

#[test]
fn example_lab_dns_container_boots_unprivileged_and_answers() {
    let _ = boot_example_lab_dns(Mode::Unprivileged);
}

/// A recipes directory with `lab.kdl` and the example lab's secrets (so
/// secret references resolve and the demo identity opens them).
fn lab_with(world: &World, kdl: &str) -> PathBuf {
    let recipes = world.path().join("recipes");
    copy_dir(
        &repo_root().join("recipes/secrets"),
        &recipes.join("secrets"),
    );
    std::fs::write(recipes.join("lab.kdl"), kdl).expect("write lab.kdl");
    recipes
}

const LAB_HEAD: &str = r#"lab "t" {
    // The demo identity's: secret artifacts are sealed to it.
    deploy-recipient "age15wgzsvz2e6g5v7zu8jk2g3gfl9dydwl2zu9r2m38l38ee9cr6c4sq7nc9e"
}
secret "gitea-internal-token"
"#;

/// A `.tar.gz` release as upstream projects ship them: a top directory,
/// an executable, a licence, ids of the machine that made it.
fn release_tarball(dir: &Path) -> PathBuf {
    let path = dir.join("hello-1.0-linux-amd64.tar.gz");
    let file = std::fs::File::create(&path).expect("create tarball");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, mode: u32, body: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_uid(1001);
        h.set_gid(1001);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, name, body).expect("append");
    };
    add(
        "hello-1.0/bin/hello",
        0o755,
        b"#!/bin/sh\n# A service from a release tarball: stays up, as its user.\nexec sleep infinity\n",
    );
    add("hello-1.0/LICENSE", 0o644, b"Public domain.\n");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
    path
}

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a hash")
        .to_string()
}

/// A service from a release tarball (`unpack`), as a unit hlb writes
/// (`exec`), running as a user the recipe declares, with a secret
/// delivered at activation: the generation says where the secret goes and
/// the template holds none of it.
#[test]
fn a_release_tarball_service_runs_as_its_user() {
    let world = World::demo();
    let bridge = Bridge::new();
    let tarball = release_tarball(world.path());
    let kdl = format!(
        r#"{LAB_HEAD}
fetch "hello-release" url="file://{tar}" hash="sha256:{hash}"

lxc "hello" {{
    debian "bookworm"
    user "hello" home="/var/lib/hello"
    unpack "hello-release" to="/opt/hello" strip-components=1 include="bin"
    service "hello" exec="/opt/hello/bin/hello" user="hello" {{
        env "GREETING" "hi there"
    }}
    file "/etc/hello.conf" text="greeting = hi\n" owner="hello" mode=0o640
    secret "gitea-internal-token" path="/run/secrets/hello/token" owner="hello"
    address "{ip}/24" gateway="10.200.{subnet}.1"
}}
"#,
        tar = tarball.display(),
        hash = sha256_hex(&tarball),
        ip = bridge.container_ip(),
        subnet = bridge.subnet,
    );
    let recipes = lab_with(&world, &kdl);
    ok(&world.run(&recipes, &["lock"]));
    let hash = ok(&world.run(&recipes, &["build"])).trim().to_string();
    let g = generation(&world, &hash);
    let target = &g["targets"]["lxc/hello"];
    let secret = &target["artifacts"]["hello-secret-gitea-internal-token"];
    assert_eq!(secret["secret"], true, "{target:#}");
    // Delivered at activation: listed in the container's spec, not baked in.
    let delivery = target["spec"]["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .find(|s| s["artifact"] == "hello-secret-gitea-internal-token")
        .unwrap_or_else(|| panic!("{target:#}"));
    assert_eq!(delivery["path"], "/run/secrets/hello/token");
    assert_eq!(delivery["owner"], "hello");
    assert_eq!(delivery["mode"], "0400");
    assert_eq!(delivery["secret"], "gitea-internal-token");
    let sealed = std::fs::read(output(&world, secret["id"].as_str().expect("id"))).expect("secret");
    assert!(
        sealed.starts_with(b"age-encryption.org/v1"),
        "a delivered secret is stored sealed"
    );
    let template = output(
        &world,
        target["artifacts"]["hello"]["id"].as_str().expect("id"),
    );
    let sbom = std::fs::read_to_string(template.join("sbom.cdx.json")).expect("sbom");
    assert!(
        sbom.contains("hello-release"),
        "the SBOM lists the unpacked download"
    );

    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let ct = Container::boot_with(
        &template.join("rootfs.tar.zst"),
        &bridge,
        Mode::Privileged,
        false,
    );
    let health = ct.health(&["hello.service"], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{}", ct.diagnostics());
    let pid = ct.sh("systemctl show -p MainPID --value hello.service");
    assert_eq!(ct.sh(&format!("stat -c %U /proc/{pid}")), "hello");
    assert!(
        ct.sh(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"))
            .contains("GREETING=hi there"),
        "the unit's environment"
    );
    // Unpacked: only what `include` named, owned by root, not by the
    // tarball's builder (uid 1001).
    assert_eq!(ct.sh("ls /opt/hello"), "bin");
    assert_eq!(ct.sh("stat -c '%U %a' /opt/hello/bin/hello"), "root 755");
    assert_eq!(ct.sh("stat -c '%U %a' /etc/hello.conf"), "hello 640");
    // The secret's directory waits for the deployer, owned by its reader;
    // the secret itself is nowhere in the template.
    assert_eq!(ct.sh("stat -c %U /run/secrets/hello"), "hello");
    assert_eq!(ct.sh("test -e /run/secrets/hello/token; echo $?"), "1");
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
}

/// Packages that cannot be installed are reported by `hlb lock` at the
/// package the recipe wrote, every container at once, and the lock is not
/// written.
#[test]
fn unresolvable_packages_are_reported_at_the_recipe() {
    let world = World::new();
    let recipes = lab_with(
        &world,
        &format!(
            r#"{LAB_HEAD}
lxc "typo" {{
    debian "bookworm"
    packages "dnsdist" "dnsdits"
}}
lxc "too-new" {{
    debian "bookworm"
    packages "dnsdist (>= 99)"
}}
lxc "clash" {{
    debian "bookworm"
    packages "postfix" "exim4-daemon-light"
}}
"#
        ),
    );
    // Packages that cannot be installed are the recipes' to fix: exit 3.
    let o = world.run(&recipes, &["lock"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    for (at, what) in [
        ("lab.kdl:9:24", "dnsdits"),
        ("lab.kdl:13:14", "dnsdist"),
        ("lab.kdl:17:14", "postfix"),
    ] {
        assert!(err.contains(at), "{what} reported at {at}:\n{err}");
    }
    assert_eq!(err.matches("error[E0514]").count(), 3, "{err}");
    assert!(
        err.contains("container `clash`") && err.contains("conflict"),
        "{err}"
    );
    assert!(!recipes.join("hlb.lock").exists(), "no lock was written");
}

/// An owner the template does not have fails the build at the recipe
/// line that named it; a `.deb` whose bytes are not the pinned ones fails
/// naming it. Either way: no template in the store, no generation, a
/// store that verifies.
#[test]
fn bad_build_inputs_fail_at_the_recipe_and_leave_nothing() {
    let world = World::new();
    let recipes = lab_with(
        &world,
        &format!(
            r#"{LAB_HEAD}
lxc "app" {{
    debian "bookworm"
    file "/etc/app.conf" text="x = 1\n" owner="nobody"
    file "/etc/app.d/secret.conf" text="y = 2\n" owner="appuser"
}}
"#
        ),
    );
    ok(&world.run(&recipes, &["lock"]));
    let o = world.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[E0520]"), "{err}");
    assert!(
        err.contains("lab.kdl:10:"),
        "points at the file line:\n{err}"
    );
    assert!(err.contains("appuser"), "{err}");
    let failed = |world: &World| {
        assert!(
            !entry_names(world).iter().any(|n| n.ends_with("-app")),
            "no template entry: {:?}",
            entry_names(world)
        );
        assert!(
            stdout(&world.run(&recipes, &["generations"]))
                .trim()
                .is_empty(),
            "no generation"
        );
        ok(&world.run(&recipes, &["store", "verify"]));
    };
    failed(&world);

    // Fix the owner, then pin a .deb to bytes it does not have.
    let lab = std::fs::read_to_string(recipes.join("lab.kdl")).expect("lab.kdl");
    std::fs::write(
        recipes.join("lab.kdl"),
        lab.replace("owner=\"appuser\"", "owner=\"root\""),
    )
    .expect("write");
    let lock_path = recipes.join("hlb.lock");
    let mut lock: Value =
        serde_json::from_slice(&std::fs::read(&lock_path).expect("lock")).expect("json");
    let packages = lock["debian"]["app"]["packages"]
        .as_array_mut()
        .expect("packages");
    let victim = packages
        .iter_mut()
        .find(|p| p["name"] == "hostname")
        .expect("hostname is required");
    victim["sha256"] = Value::String("00".repeat(32));
    std::fs::write(
        &lock_path,
        serde_json::to_string_pretty(&lock).expect("json"),
    )
    .expect("write");
    let o = world.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("deb-hostname_"), "names the .deb:\n{err}");
    failed(&world);
}
