//! The downloader: sources in order, retries, verification, atomic landing.
//!
//! For one URL and pin the sources are, in order: each mirror by hash, then
//! by name (mirrors in the order given), then the URL itself — unless
//! offline, where only mirrors and `file://` URLs are read. Invariants:
//!
//! - bytes reach `dest` only when their hash matches the pin: they stream
//!   into a temporary file beside `dest`, are hashed on the way, fsynced and
//!   renamed; on any failure the temporary file is removed;
//! - a mismatch is never retried: a mirror that mismatches is skipped with a
//!   [`FetchEvent::MirrorSkipped`], upstream mismatching ends the fetch with
//!   [`FetchError::HashMismatch`];
//! - connection errors, stalls and 5xx (also 408, 429) are retried a bounded
//!   number of times with doubling backoff; 404 moves on to the next source;
//! - the interface is synchronous: a private tokio runtime does the I/O, so
//!   nothing async leaks into callers (scheduler threads). Do not call it from
//!   inside another tokio runtime.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hlb_cache::FixedHash;
use reqwest::{StatusCode, Url};

use crate::error::{FetchError, Mismatch, SourceFailure};
use crate::events::{FetchEvent, Reporter};
use crate::mirror::{Location, Mirror};
use crate::redact::redact;
use crate::verify::{Discard, Hasher, Sink, TempSink};

/// How the [`Fetcher`] behaves.
#[derive(Clone)]
pub struct FetchOptions {
    /// Consulted before the URL, in this order.
    pub mirrors: Vec<Mirror>,
    /// Read only mirrors and `file://` URLs.
    pub offline: bool,
    pub user_agent: String,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for waiting on the response headers and on each chunk of body.
    pub read_timeout: Duration,
    /// Extra attempts per source after a transient failure.
    pub retries: u32,
    /// Delay before the first retry; doubles each time, capped at 30 s.
    pub retry_backoff: Duration,
    /// Receives progress and warnings; `None` discards them.
    pub reporter: Option<Arc<dyn Reporter<FetchEvent>>>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            mirrors: Vec::new(),
            offline: false,
            user_agent: concat!("hlb/", env!("CARGO_PKG_VERSION")).to_string(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            retry_backoff: Duration::from_secs(1),
            reporter: None,
        }
    }
}

/// What a successful [`Fetcher::fetch_to`] read, and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchOutcome {
    /// The location that delivered (redacted).
    pub source: String,
    pub from_mirror: bool,
    pub size: u64,
    /// The verified hash (equal to the pin).
    pub hash: FixedHash,
}

/// Downloads with mirrors, retries and verification. Cheap to share (`Arc`).
pub struct Fetcher {
    opts: FetchOptions,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    MirrorByHash,
    MirrorByName,
    Upstream,
}

/// How one attempt at one source ended, when it did not deliver.
enum AttemptError {
    NotFound,
    Transient(String),
    Permanent(String),
    Fatal(FetchError),
}

/// A source that delivered bytes (not yet compared with the pin).
struct Delivered {
    source: String,
    kind: SourceKind,
    size: u64,
    hash: FixedHash,
}

const PROGRESS_STEP: u64 = 256 * 1024;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Fetcher {
    pub fn new(opts: FetchOptions) -> Result<Fetcher, FetchError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hlb-fetch")
            .enable_all()
            .build()
            .map_err(|e| FetchError::Setup(format!("tokio runtime: {e}")))?;
        let client = {
            let _guard = rt.enter();
            reqwest::Client::builder()
                .user_agent(opts.user_agent.clone())
                .connect_timeout(opts.connect_timeout)
                .build()
                .map_err(|e| FetchError::Setup(error_chain(&e.without_url())))?
        };
        Ok(Fetcher { opts, rt, client })
    }

    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// Downloads `url` to `dest` (mode 0644), verified against `expected`.
    /// `dest` is replaced only on success; its directory must exist.
    pub fn fetch_to(
        &self,
        url: &str,
        expected: &FixedHash,
        dest: &Path,
    ) -> Result<FetchOutcome, FetchError> {
        let parsed = parse_url(url)?;
        if Hasher::new(&expected.algorithm).is_none() {
            return Err(FetchError::UnsupportedHash {
                url: redact(url),
                algorithm: expected.algorithm.clone(),
            });
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let file = tempfile::Builder::new()
            .prefix(".hlb-fetch-")
            .tempfile_in(dir)
            .map_err(|e| FetchError::io("create temporary file in", dir, e))?;
        let mut sink = TempSink { file };
        let got = self.run(url, &parsed, Some(expected), &mut sink)?;
        let tmp_path = sink.file.path().to_path_buf();
        sink.file
            .as_file()
            .sync_all()
            .map_err(|e| FetchError::io("fsync", &tmp_path, e))?;
        set_mode(sink.file.as_file(), 0o644).map_err(|e| FetchError::io("chmod", &tmp_path, e))?;
        sink.file
            .persist(dest)
            .map_err(|e| FetchError::io("rename into place", dest, e.error))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FetchError::io("fsync directory", dir, e))?;
        Ok(FetchOutcome {
            source: got.source,
            from_mirror: got.kind != SourceKind::Upstream,
            size: got.size,
            hash: got.hash,
        })
    }

    /// Reads `url` (mirrors by name first, then the URL) and returns its
    /// sha256 and size: the pin to write into a recipe or the lock.
    pub fn prefetch(&self, url: &str) -> Result<(FixedHash, u64), FetchError> {
        let parsed = parse_url(url)?;
        let got = self.run(url, &parsed, None, &mut Discard)?;
        Ok((got.hash, got.size))
    }

    fn sources(&self, url: &Url, expected: Option<&FixedHash>) -> Vec<(Location, SourceKind)> {
        let mut out = Vec::new();
        for m in &self.opts.mirrors {
            if let Some(h) = expected {
                out.push((m.by_hash(h), SourceKind::MirrorByHash));
            }
            if let Some(loc) = m.by_name(url) {
                out.push((loc, SourceKind::MirrorByName));
            }
        }
        out
    }

    fn run(
        &self,
        url: &str,
        parsed: &Url,
        expected: Option<&FixedHash>,
        sink: &mut dyn Sink,
    ) -> Result<Delivered, FetchError> {
        let shown = redact(url);
        let upstream = Location::upstream(parsed).ok_or_else(|| FetchError::UnsupportedScheme {
            url: shown.clone(),
            scheme: parsed.scheme().to_string(),
        })?;
        let mut sources = self.sources(parsed, expected);
        let mut tried = Vec::new();
        let skip_upstream = self.opts.offline && matches!(upstream, Location::Http(_));
        if !skip_upstream {
            sources.push((upstream, SourceKind::Upstream));
        }
        let algorithm = expected.map_or("sha256", |h| h.algorithm.as_str());
        for (loc, kind) in sources {
            let source = loc.to_string();
            let mut hasher = Hasher::new(algorithm).ok_or_else(|| FetchError::UnsupportedHash {
                url: shown.clone(),
                algorithm: algorithm.to_string(),
            })?;
            let size = match self.read_with_retries(&shown, &loc, &source, sink, &mut hasher) {
                Ok(size) => size,
                Err(AttemptError::Fatal(e)) => return Err(e),
                Err(AttemptError::NotFound) => {
                    tried.push(SourceFailure {
                        source,
                        reason: "not found".into(),
                    });
                    continue;
                }
                Err(AttemptError::Transient(reason) | AttemptError::Permanent(reason)) => {
                    tried.push(SourceFailure { source, reason });
                    continue;
                }
            };
            let actual = hasher.finish();
            if let Some(want) = expected
                && *want != actual
            {
                if kind == SourceKind::Upstream {
                    return Err(FetchError::HashMismatch(Box::new(Mismatch {
                        url: shown,
                        expected: want.clone(),
                        actual,
                        size,
                        tried,
                    })));
                }
                let reason = format!("wrong content: {actual} ({size} bytes)");
                self.emit(FetchEvent::MirrorSkipped {
                    url: shown.clone(),
                    source: source.clone(),
                    reason: reason.clone(),
                });
                tried.push(SourceFailure { source, reason });
                continue;
            }
            self.emit(FetchEvent::Done {
                url: shown.clone(),
                source: source.clone(),
                bytes: size,
            });
            return Ok(Delivered {
                source,
                kind,
                size,
                hash: actual,
            });
        }
        if skip_upstream {
            tried.push(SourceFailure {
                source: shown.clone(),
                reason: "not tried (offline)".into(),
            });
        }
        Err(FetchError::Unavailable {
            url: shown,
            offline: self.opts.offline,
            tried,
        })
    }

    fn read_with_retries(
        &self,
        url: &str,
        loc: &Location,
        source: &str,
        sink: &mut dyn Sink,
        hasher: &mut Hasher,
    ) -> Result<u64, AttemptError> {
        let mut delay = self.opts.retry_backoff;
        let mut attempt = 1;
        loop {
            sink.reset().map_err(AttemptError::Fatal)?;
            hasher.reset();
            self.emit(FetchEvent::Started {
                url: url.to_string(),
                source: source.to_string(),
            });
            let result = match loc {
                Location::File(path) => self.read_file(url, path, sink, hasher),
                Location::Http(u) => self.rt.block_on(self.read_http(url, u, sink, hasher)),
            };
            match result {
                Err(AttemptError::Transient(reason)) if attempt <= self.opts.retries => {
                    self.emit(FetchEvent::Retrying {
                        url: url.to_string(),
                        source: source.to_string(),
                        attempt,
                        delay,
                        reason,
                    });
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                Err(AttemptError::Transient(reason)) if attempt > 1 => {
                    return Err(AttemptError::Transient(format!(
                        "{reason} ({attempt} attempts)"
                    )));
                }
                other => return other,
            }
        }
    }

    fn read_file(
        &self,
        url: &str,
        path: &Path,
        sink: &mut dyn Sink,
        hasher: &mut Hasher,
    ) -> Result<u64, AttemptError> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(AttemptError::NotFound),
            Err(e) => return Err(AttemptError::Permanent(format!("cannot open: {e}"))),
        };
        let total = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        if total.is_none() {
            return Err(AttemptError::Permanent("not a regular file".into()));
        }
        let mut progress = Progress::new(url, total);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(AttemptError::Permanent(format!("cannot read: {e}"))),
            };
            self.accept(&buf[..n], sink, hasher, &mut progress)?;
        }
        progress.finish(self);
        Ok(progress.bytes)
    }

    async fn read_http(
        &self,
        url: &str,
        from: &str,
        sink: &mut dyn Sink,
        hasher: &mut Hasher,
    ) -> Result<u64, AttemptError> {
        let wait = self.opts.read_timeout;
        let send = self.client.get(from).send();
        let mut resp = match tokio::time::timeout(wait, send).await {
            Err(_) => {
                return Err(AttemptError::Transient(format!(
                    "no response within {}",
                    secs(wait)
                )));
            }
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(AttemptError::NotFound);
        }
        if !status.is_success() {
            let why = format!("HTTP {status}");
            let transient = status.is_server_error()
                || status == StatusCode::REQUEST_TIMEOUT
                || status == StatusCode::TOO_MANY_REQUESTS;
            return Err(if transient {
                AttemptError::Transient(why)
            } else {
                AttemptError::Permanent(why)
            });
        }
        let total = resp.content_length();
        let mut progress = Progress::new(url, total);
        loop {
            let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
                Err(_) => {
                    return Err(AttemptError::Transient(format!(
                        "stalled: no data for {} after {} bytes",
                        secs(wait),
                        progress.bytes
                    )));
                }
                Ok(Err(e)) => {
                    return Err(AttemptError::Transient(format!(
                        "connection failed after {} bytes: {}",
                        progress.bytes,
                        error_chain(&e.without_url())
                    )));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            self.accept(&chunk, sink, hasher, &mut progress)?;
        }
        if let Some(t) = total
            && t != progress.bytes
        {
            return Err(AttemptError::Transient(format!(
                "connection closed after {} of {t} bytes",
                progress.bytes
            )));
        }
        progress.finish(self);
        Ok(progress.bytes)
    }

    fn accept(
        &self,
        bytes: &[u8],
        sink: &mut dyn Sink,
        hasher: &mut Hasher,
        progress: &mut Progress<'_>,
    ) -> Result<(), AttemptError> {
        hasher.update(bytes);
        sink.write(bytes).map_err(AttemptError::Fatal)?;
        progress.advance(bytes.len() as u64, self);
        Ok(())
    }

    fn emit(&self, event: FetchEvent) {
        if let Some(r) = &self.opts.reporter {
            r.event(&event);
        }
    }
}

/// Throttled progress events: one per [`PROGRESS_STEP`] bytes and one at the end.
struct Progress<'a> {
    url: &'a str,
    total: Option<u64>,
    bytes: u64,
    reported: u64,
}

impl<'a> Progress<'a> {
    fn new(url: &'a str, total: Option<u64>) -> Self {
        Progress {
            url,
            total,
            bytes: 0,
            reported: 0,
        }
    }

    fn advance(&mut self, n: u64, f: &Fetcher) {
        self.bytes += n;
        if self.bytes - self.reported >= PROGRESS_STEP {
            self.report(f);
        }
    }

    fn finish(&mut self, f: &Fetcher) {
        if self.reported != self.bytes || self.bytes == 0 {
            self.report(f);
        }
    }

    fn report(&mut self, f: &Fetcher) {
        self.reported = self.bytes;
        f.emit(FetchEvent::Progress {
            url: self.url.to_string(),
            bytes: self.bytes,
            total: self.total,
        });
    }
}

fn parse_url(url: &str) -> Result<Url, FetchError> {
    Url::parse(url).map_err(|e| FetchError::InvalidUrl {
        url: redact(url),
        reason: e.to_string(),
    })
}

/// Connection-level failures are worth another try; anything else is not.
fn classify(e: reqwest::Error) -> AttemptError {
    let transient = e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
    let msg = error_chain(&e.without_url());
    if transient {
        AttemptError::Transient(msg)
    } else {
        AttemptError::Permanent(msg)
    }
}

/// An error and its sources, `: `-joined (reqwest's own Display stops at the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = inner.source();
    }
    s
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}
