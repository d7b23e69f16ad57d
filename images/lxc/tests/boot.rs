//! Templates hlb built, booted in real LXC: systemd must reach `running`,
//! the declared service must be active as its declared user and answer on
//! the network through the veth (dnsdist a DNS query, nginx an HTTP GET of
//! a file the spec put there, busybox's httpd from a release tarball
//! behind a unit the spec declared as a file), and a service that cannot
//! start must be caught by the same health check. Needs root, `lxc`,
//! `tar`, `zstd`, `iproute2` and (unprivileged) `uidmap`.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::lxc::{Bridge, Container, Mode, answers_icmp, dns_query};
use hlb_lxc::{ActivationFileSpec, ArchiveSpec, ContainerSpec, FileSpec, NetworkSpec};

/// One boot at a time: the machine has two cores.
static BOOT: Mutex<()> = Mutex::new(());

fn dnsdist_debs() -> &'static [common::Deb] {
    static DEBS: std::sync::OnceLock<Vec<common::Deb>> = std::sync::OnceLock::new();
    DEBS.get_or_init(|| common::download(&common::closure(&["dnsdist"])))
}

fn boot_dnsdist(mode: Mode) {
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let rootfs = common::build(
        dnsdist_debs(),
        &common::dnsdist_spec("dns1", common::DNSDIST_CONF),
    );
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let _subids = (mode == Mode::Unprivileged).then(common::lxc::SubIds::ensure);
    let bridge = Bridge::new();
    let ct = Container::boot(&archive, &bridge, mode);
    let health = ct.health(&["dnsdist.service"], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{mode:?}: {}", ct.diagnostics());
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
    let user = ct.sh("stat -c %U /proc/$(systemctl show -p MainPID --value dnsdist.service)");
    assert_eq!(user, "_dnsdist");
    // From the host, through the bridge and the veth.
    let mut answer = Err(std::io::Error::other("not asked"));
    for _ in 0..20 {
        answer = dns_query(bridge.container_ip(), "anything.example");
        if answer.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let answer = answer.unwrap_or_else(|e| panic!("DNS query: {e}; {}", ct.diagnostics()));
    assert_eq!(answer, [std::net::Ipv4Addr::new(192, 0, 2, 1)]);
}

#[test]
fn dnsdist_template_boots_privileged_and_answers_dns() {
    boot_dnsdist(Mode::Privileged);
}

#[test]
fn dnsdist_template_boots_unprivileged_and_answers_dns() {
    boot_dnsdist(Mode::Unprivileged);
}

#[test]
fn a_service_that_cannot_start_shows_as_degraded() {
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let rootfs = common::build(
        dnsdist_debs(),
        &common::dnsdist_spec("dns-broken", "this is not lua (\n"),
    );
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let bridge = Bridge::new();
    let ct = Container::boot(&archive, &bridge, Mode::Privileged);
    let health = ct.health(&["dnsdist.service"], Duration::from_secs(60));
    let err = health.expect_err("a broken service is not healthy");
    assert!(
        err == "degraded"
            || err.starts_with("dnsdist.service ") && err.ends_with("result exit-code"),
        "{err}: {}",
        ct.diagnostics()
    );
    // dnsdist's unit restarts forever, so it never reaches `failed`; it is
    // not active, and its restarts are counted.
    let active = ct.attach(&["systemctl", "is-active", "dnsdist.service"]);
    assert!(!active.status.success(), "{}", ct.diagnostics());
    assert!(dns_query(bridge.container_ip(), "anything.example").is_err());
}

/// The template's own systemd-networkd config sets the address (LXC leaves
/// eth0 bare). Unprivileged, LXC mounts `/sys` writable, and networkd
/// would wait for a udev that does not run: the template's read-only-/sys
/// unit is what lets it configure the link.
fn boot_minimal_with_its_own_network_config(mode: Mode) {
    let debs = common::download(&common::closure(&[]));
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let bridge = Bridge::new();
    let mut spec = ContainerSpec::new("min1");
    spec.network = Some(NetworkSpec {
        interface: "eth0".to_owned(),
        address: format!("{}/24", bridge.container_ip()),
        gateway: Some(format!("10.200.{}.1", bridge.subnet)),
        dns: vec![format!("10.200.{}.1", bridge.subnet)],
    });
    let rootfs = common::build(&debs, &spec);
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    // Nothing answers before the container exists.
    assert!(!answers_icmp(bridge.container_ip()));
    let _subids = (mode == Mode::Unprivileged).then(common::lxc::SubIds::ensure);
    let ct = Container::boot_with(&archive, &bridge, mode, false);
    let health = ct.health(&["systemd-networkd.service"], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{mode:?}: {}", ct.diagnostics());
    assert_eq!(ct.sh("hostname"), "min1");
    assert_eq!(
        ct.sh("findmnt -n -o OPTIONS /sys | cut -d, -f1"),
        "ro",
        "{mode:?}"
    );
    let mut up = false;
    for _ in 0..20 {
        up = answers_icmp(bridge.container_ip());
        if up {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        up,
        "{mode:?}: eth0 configured by systemd-networkd: {}\n{}",
        ct.sh("networkctl --no-pager"),
        ct.diagnostics()
    );
}

#[test]
fn minimal_systemd_template_boots_with_its_own_network_config() {
    boot_minimal_with_its_own_network_config(Mode::Privileged);
}

#[test]
fn minimal_template_configures_its_own_network_unprivileged() {
    boot_minimal_with_its_own_network_config(Mode::Unprivileged);
}

/// The DNS container as the example lab declares it: dnsdist behind a
/// static IPv4 address the template's own systemd-networkd file sets. The
/// link is IPv4 only, so networkd has it `configured` once the address
/// is up: systemd reaches `running` with wait-online done and successful
/// (with networkd's IPv6 defaults it held `running` back until router
/// discovery gave up), the link has no IPv6 address, and dnsdist answers
/// through it.
#[test]
fn an_ipv4_only_container_is_online_once_its_address_is_up() {
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let bridge = Bridge::new();
    let mut spec = common::dnsdist_spec("dns-v4", common::DNSDIST_CONF);
    spec.network = Some(NetworkSpec {
        interface: "eth0".to_owned(),
        address: format!("{}/24", bridge.container_ip()),
        gateway: Some(format!("10.200.{}.1", bridge.subnet)),
        dns: vec!["127.0.0.1".to_owned()],
    });
    let rootfs = common::build(dnsdist_debs(), &spec);
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let ct = Container::boot_with(&archive, &bridge, Mode::Privileged, false);
    let wait_online = "systemd-networkd-wait-online.service";
    let health = ct.health(&["dnsdist.service", wait_online], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{}", ct.diagnostics());
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
    for (property, expected) in [("ActiveState", "active"), ("Result", "success")] {
        let got = ct.sh(&format!(
            "systemctl show -p {property} --value {wait_online}"
        ));
        assert_eq!(
            got,
            expected,
            "{wait_online} {property}: {}",
            ct.diagnostics()
        );
    }
    assert_eq!(ct.sh("systemctl is-active network-online.target"), "active");
    let link = ct.sh("networkctl list --no-pager --no-legend eth0");
    let link: Vec<&str> = link.split_whitespace().skip(1).collect();
    assert_eq!(link, ["eth0", "ether", "routable", "configured"]);
    // IPv4 only: no link-local IPv6 address (networkd's default), nothing
    // for router advertisements to add to.
    let inet6 = ct.sh("cat /proc/net/if_inet6");
    assert!(
        !inet6.lines().any(|l| l.ends_with(" eth0")),
        "eth0 has IPv6 addresses: {inet6}"
    );
    let mut answer = Err(std::io::Error::other("not asked"));
    for _ in 0..20 {
        answer = dns_query(bridge.container_ip(), "anything.example");
        if answer.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let answer = answer.unwrap_or_else(|e| panic!("DNS query: {e}; {}", ct.diagnostics()));
    assert_eq!(answer, [std::net::Ipv4Addr::new(192, 0, 2, 1)]);
}

/// Without a network of its own (LXC sets the address), a container
/// whose services bring systemd-networkd has no link for it to manage:
/// wait-online, which would wait for one until its timeout (dnsdist pulls
/// in `network-online.target`) and fail, is not enabled, and the
/// container is `running`, not `degraded`.
#[test]
fn networkd_without_a_network_of_its_own_does_not_wait_online() {
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let mut spec = common::dnsdist_spec("nonet1", common::DNSDIST_CONF);
    spec.services.push("systemd-networkd.service".to_owned());
    let rootfs = common::build(dnsdist_debs(), &spec);
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let bridge = Bridge::new();
    let ct = Container::boot(&archive, &bridge, Mode::Privileged);
    let health = ct.health(
        &["dnsdist.service", "systemd-networkd.service"],
        Duration::from_secs(60),
    );
    assert_eq!(health, Ok(()), "{}", ct.diagnostics());
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
    assert_eq!(
        ct.sh("systemctl is-enabled systemd-networkd-wait-online.service"),
        "disabled"
    );
    assert_eq!(ct.sh("systemctl is-active network-online.target"), "active");
    assert!(answers_icmp(bridge.container_ip()), "LXC's address is up");
}

/// GET `/` from `ip:port`; the response's status line and body.
fn http_get(ip: std::net::Ipv4Addr, port: u16) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    Ok((status, body.to_owned()))
}

#[test]
fn nginx_template_serves_the_file_the_recipe_put_there() {
    let debs = common::download(&common::closure(&["nginx"]));
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let page = "hello from an hlb template\n";
    let mut spec = ContainerSpec::new("web1");
    spec.services = vec!["nginx.service".to_owned()];
    spec.files = vec![
        FileSpec::root(
            "/etc/nginx/sites-enabled/site.conf",
            0o644,
            "server {\n  listen 80 default_server;\n  root /srv/www;\n  location / { }\n}\n",
        ),
        FileSpec::root("/srv/www/index.html", 0o644, page),
    ];
    let rootfs = common::build(&debs, &spec);
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let bridge = Bridge::new();
    let ct = Container::boot(&archive, &bridge, Mode::Privileged);
    let health = ct.health(&["nginx.service"], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{}", ct.diagnostics());
    // The master runs as root, the workers as www-data (base-passwd's).
    let users = ct.sh(
        "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = nginx ] && stat -c %U $p; done | sort -u",
    );
    assert_eq!(users, "root\nwww-data");
    let mut got = Err(std::io::Error::other("not asked"));
    for _ in 0..20 {
        got = http_get(bridge.container_ip(), 80);
        if got.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let (status, body) = got.unwrap_or_else(|e| panic!("GET: {e}; {}", ct.diagnostics()));
    assert!(status.ends_with(" 200 OK"), "{status}");
    assert_eq!(body, page);
}

/// busybox-static's binary from the mirror, repackaged as upstream
/// projects ship releases: a `.tar.xz` with a top directory, the binary
/// (with the ids of the machine that made it), `httpd` as a hard link to
/// it (busybox runs the applet its name says), and a README.
fn busybox_release() -> Vec<u8> {
    use hlb_debian::resolve::{Request, ResolveOptions, resolve};
    use std::io::{Read, Write};
    let a = common::archive();
    let resolved = resolve(
        &a.universe,
        &[Request::name("busybox-static")],
        ResolveOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .packages;
    let wanted: Vec<_> = resolved
        .into_iter()
        .filter(|p| p.name == "busybox-static")
        .collect();
    let deb = common::download(&wanted).remove(0);
    let reader = hlb_debian::deb::DebReader::new(&deb.bytes[..], &deb.origin)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut data = reader.into_data().unwrap_or_else(|e| panic!("{e}"));
    let mut binary = None;
    for entry in data.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        if entry.path == std::path::Path::new("bin/busybox") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            binary = Some(bytes);
        }
    }
    let binary = binary.expect("busybox-static ships bin/busybox");
    let mut tar = tar::Builder::new(Vec::new());
    let header = |kind, mode| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(mode);
        h.set_uid(1001);
        h.set_gid(1001);
        h.set_mtime(1_700_000_000);
        h
    };
    let mut h = header(tar::EntryType::Directory, 0o755);
    tar.append_data(&mut h, "busybox-1.35/", &[][..]).unwrap();
    let mut h = header(tar::EntryType::Regular, 0o755);
    h.set_size(binary.len() as u64);
    tar.append_data(&mut h, "busybox-1.35/bin/busybox", &binary[..])
        .unwrap();
    let mut h = header(tar::EntryType::Link, 0o755);
    tar.append_link(&mut h, "busybox-1.35/bin/httpd", "busybox-1.35/bin/busybox")
        .unwrap();
    let readme = b"busybox, repackaged by a test\n";
    let mut h = header(tar::EntryType::Regular, 0o644);
    h.set_size(readme.len() as u64);
    tar.append_data(&mut h, "busybox-1.35/README", &readme[..])
        .unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar.into_inner().unwrap()).unwrap();
    xz.finish().unwrap()
}

/// A service whose unit the spec declares as a file, running a binary
/// from a release tarball (`archives`) as a base-passwd user, with a
/// secret's directory made for it at boot (`activation_files`): enabled,
/// `running`, answering HTTP from the host.
#[test]
fn a_unit_declared_as_a_file_serves_from_a_release_tarball() {
    let debs = common::download(&common::closure(&[]));
    let release = busybox_release();
    let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    let page = "served by busybox from a release tarball\n";
    let mut spec = ContainerSpec::new("www1");
    spec.archives = vec![ArchiveSpec {
        strip_components: 1,
        include: Some(vec!["bin".to_owned()]),
        ..ArchiveSpec::new("busybox-release", release.clone(), "/opt/busybox")
    }];
    spec.files = vec![
        FileSpec::root(
            "/etc/systemd/system/www.service",
            0o644,
            "[Unit]\nDescription=busybox httpd from a release tarball\n\n\
             [Service]\nExecStart=/opt/busybox/bin/httpd -f -p 8080 -h /srv/www\n\
             User=www-data\nGroup=www-data\nRestart=on-failure\n\n\
             [Install]\nWantedBy=multi-user.target\n",
        ),
        FileSpec::root("/srv/www/index.html", 0o644, page),
    ];
    spec.services = vec!["www.service".to_owned()];
    spec.activation_files = vec![ActivationFileSpec {
        path: "/run/secrets/www/token".to_owned(),
        owner: "www-data".to_owned(),
        group: "www-data".to_owned(),
        mode: 0o400,
    }];
    let rootfs = common::build(&debs, &spec);
    let sbom = rootfs.sbom_json();
    assert!(
        sbom.contains(&hlb_debian::Sha256::of(&release).to_string()),
        "the SBOM lists the download"
    );
    let work = tempfile::tempdir().unwrap();
    let archive = common::write_archive(&rootfs, work.path());
    let bridge = Bridge::new();
    let ct = Container::boot(&archive, &bridge, Mode::Privileged);
    let health = ct.health(&["www.service"], Duration::from_secs(60));
    assert_eq!(health, Ok(()), "{}", ct.diagnostics());
    assert_eq!(ct.sh("systemctl is-system-running"), "running");
    assert_eq!(ct.sh("systemctl is-enabled www.service"), "enabled");
    let pid = ct.sh("systemctl show -p MainPID --value www.service");
    assert_eq!(ct.sh(&format!("stat -c %U /proc/{pid}")), "www-data");
    // Only `bin`, stripped of the top directory, root's (not 1001's); the
    // hard link is a file of its own.
    assert_eq!(ct.sh("ls /opt/busybox"), "bin");
    assert_eq!(
        ct.sh("stat -c '%U %a %h' /opt/busybox/bin/httpd"),
        "root 755 1"
    );
    // The secret's directory, waiting for the deployer; no secret.
    assert_eq!(
        ct.sh("stat -c '%U %G %a' /run/secrets/www"),
        "www-data www-data 750"
    );
    assert_eq!(ct.sh("ls -A /run/secrets/www"), "");
    let mut got = Err(std::io::Error::other("not asked"));
    for _ in 0..20 {
        got = http_get(bridge.container_ip(), 8080);
        if got.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let (status, body) = got.unwrap_or_else(|e| panic!("GET: {e}; {}", ct.diagnostics()));
    assert!(status.ends_with(" 200 OK"), "{status}");
    assert_eq!(body, page);
}
