//! Test helpers: an HTTP/1.1 server on 127.0.0.1:0 with injected faults, and
//! a fetcher tuned for fast tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hlb_cache::FixedHash;
use hlb_fetch::{FetchEvent, FetchOptions, Fetcher, Mirror};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// This status, empty body.
    Status(u16),
    /// Announces the full length, sends `after` bytes, closes the connection.
    DropMidBody { body: Vec<u8>, after: usize },
    /// Waits before sending anything.
    Slow { delay: Duration, body: Vec<u8> },
    /// The n-th request gets the n-th reply; the last one repeats.
    Sequence(Vec<Reply>),
}

struct State {
    routes: BTreeMap<String, Reply>,
    hits: BTreeMap<String, usize>,
    requests: Vec<String>,
    auth: Vec<String>,
}

/// A test HTTP server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    rt: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start(routes: &[(&str, Reply)]) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test server runtime");
        let state = Arc::new(Mutex::new(State {
            routes: routes
                .iter()
                .map(|(p, r)| (p.to_string(), r.clone()))
                .collect(),
            hits: BTreeMap::new(),
            requests: Vec::new(),
            auth: Vec::new(),
        }));
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let st = state.clone();
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, st.clone()));
            }
        });
        TestServer { addr, state, rt }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Every request line's path, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Every `Authorization` header value received, in arrival order.
    pub fn auth_headers(&self) -> Vec<String> {
        self.state.lock().unwrap().auth.clone()
    }

    pub fn set_route(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), reply);
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let reply = {
        let mut st = state.lock().unwrap();
        st.requests.push(path.clone());
        for line in text.lines() {
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("authorization")
            {
                st.auth.push(value.trim().to_string());
            }
        }
        let n = {
            let h = st.hits.entry(path.clone()).or_insert(0);
            *h += 1;
            *h
        };
        match st.routes.get(&path) {
            None => Reply::Status(404),
            Some(Reply::Sequence(seq)) => seq[(n - 1).min(seq.len() - 1)].clone(),
            Some(r) => r.clone(),
        }
    };
    let _ = respond(&mut sock, reply).await;
}

async fn respond(sock: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Ok(body) => send(sock, 200, &body, body.len()).await,
        Reply::Status(code) => send(sock, code, b"", 0).await,
        Reply::DropMidBody { body, after } => send(sock, 200, &body[..after], body.len()).await,
        Reply::Slow { delay, body } => {
            tokio::time::sleep(delay).await;
            send(sock, 200, &body, body.len()).await
        }
        Reply::Sequence(_) => send(sock, 500, b"", 0).await,
    }
}

async fn send(sock: &mut TcpStream, code: u16, body: &[u8], len: usize) -> std::io::Result<()> {
    let head =
        format!("HTTP/1.1 {code} Test\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body).await?;
    sock.flush().await?;
    sock.shutdown().await
}

/// Events a fetcher reported.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<FetchEvent>>>);

impl Events {
    pub fn all(&self) -> Vec<FetchEvent> {
        self.0.lock().unwrap().clone()
    }
}

/// Options tuned so that fault tests take milliseconds, not minutes.
pub fn fast_options(mirrors: Vec<Mirror>) -> FetchOptions {
    FetchOptions {
        mirrors,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        retries: 2,
        retry_backoff: Duration::from_millis(10),
        ..FetchOptions::default()
    }
}

/// A fetcher with `opts` whose events are collected.
pub fn fetcher_with(mut opts: FetchOptions) -> (Fetcher, Events) {
    let events = Events::default();
    let sink = events.0.clone();
    opts.reporter = Some(Arc::new(move |e: &FetchEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    (Fetcher::new(opts).expect("fetcher"), events)
}

pub fn sha256(bytes: &[u8]) -> FixedHash {
    FixedHash {
        algorithm: "sha256".into(),
        bytes: sha2::Sha256::digest(bytes).to_vec(),
    }
}

pub fn blake3(bytes: &[u8]) -> FixedHash {
    FixedHash {
        algorithm: "blake3".into(),
        bytes: blake3::hash(bytes).as_bytes().to_vec(),
    }
}

/// Bytes that are not all alike, so truncation and corruption show.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes `bytes` at `dir/rel`, creating parents.
pub fn put(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// insta settings filtering ports and temporary directories.
pub fn settings(tmp: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(&regex_escape(&tmp.display().to_string()), "[TMP]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
