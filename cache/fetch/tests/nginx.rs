//! A real nginx as an HTTP mirror, by hash and by name.
//!
//! The test writes its own nginx configuration (loopback only, a temporary
//! root, logs and pid inside the temporary directory, in the foreground) and
//! kills nginx when done. nginx is a hard requirement: CI installs the
//! Debian package `nginx-light`; without it this test fails rather than
//! silently passing.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hlb_fetch::Mirror;
use support::*;

/// Kills and reaps nginx when dropped, even if the test panics.
struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> PathBuf {
    let candidates = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nginx not found (looked in {candidates:?}): this test needs a real nginx; \
                 install the Debian package nginx-light (CI installs it)"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(root: &Path, work: &Path) -> Nginx {
    let bin = nginx_binary();
    let port = free_port();
    let w = work.display();
    let conf = format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         pid {w}/nginx.pid;\n\
         error_log {w}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
         \x20 access_log {w}/access.log;\n\
         \x20 client_body_temp_path {w}/body;\n\
         \x20 proxy_temp_path {w}/proxy;\n\
         \x20 fastcgi_temp_path {w}/fastcgi;\n\
         \x20 uwsgi_temp_path {w}/uwsgi;\n\
         \x20 scgi_temp_path {w}/scgi;\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{port};\n\
         \x20   root {root};\n\
         \x20 }}\n\
         }}\n",
        root = root.display()
    );
    let conf_path = work.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(&bin)
        .arg("-p")
        .arg(work)
        .arg("-e")
        .arg(work.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut nginx = Nginx { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = nginx.child.try_wait() {
            let log = std::fs::read_to_string(work.join("error.log")).unwrap_or_default();
            panic!("nginx exited with {status} before listening:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on 127.0.0.1:{port} within 10s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nginx.port = port;
    nginx
}

#[test]
fn nginx_mirror_serves_by_hash_and_by_name() {
    let by_hash = payload(200_000);
    let by_name = payload(50_000).into_iter().rev().collect::<Vec<u8>>();
    let h1 = sha256(&by_hash);
    let h2 = sha256(&by_name);

    let root = tempfile::tempdir().unwrap();
    put(
        root.path(),
        &format!("mirror/sha256/{}", hex::encode(&h1.bytes)),
        &by_hash,
    );
    put(root.path(), "mirror/tool-2.0.tar.gz", &by_name);
    let work = tempfile::tempdir().unwrap();
    let nginx = start_nginx(root.path(), work.path());

    // Upstream exists and serves the right bytes, so a fetch from it would
    // succeed: the zero-request assertion below is what proves the mirror won.
    let upstream = TestServer::start(&[
        ("/rel/tool-1.0.tar.gz", Reply::Ok(by_hash.clone())),
        ("/rel/tool-2.0.tar.gz", Reply::Ok(by_name.clone())),
    ]);
    let mirror = Mirror::parse(&format!("http://127.0.0.1:{}/mirror/", nginx.port)).unwrap();
    let (f, _) = fetcher_with(fast_options(vec![mirror]));
    let out = tempfile::tempdir().unwrap();

    let got = f
        .fetch_to(
            &upstream.url("/rel/tool-1.0.tar.gz"),
            &h1,
            &out.path().join("a"),
        )
        .unwrap();
    assert!(got.from_mirror);
    assert!(got.source.contains("/mirror/sha256/"), "{got:?}");
    assert_eq!(std::fs::read(out.path().join("a")).unwrap(), by_hash);

    let got = f
        .fetch_to(
            &upstream.url("/rel/tool-2.0.tar.gz"),
            &h2,
            &out.path().join("b"),
        )
        .unwrap();
    assert!(got.from_mirror);
    assert!(got.source.ends_with("/mirror/tool-2.0.tar.gz"), "{got:?}");
    assert_eq!(std::fs::read(out.path().join("b")).unwrap(), by_name);

    assert!(
        upstream.requests().is_empty(),
        "upstream saw {:?}",
        upstream.requests()
    );
    let log = std::fs::read_to_string(work.path().join("access.log")).unwrap();
    assert!(
        log.contains(&format!("GET /mirror/sha256/{} ", hex::encode(&h1.bytes))),
        "{log}"
    );
    assert!(log.contains("GET /mirror/tool-2.0.tar.gz "), "{log}");
}
