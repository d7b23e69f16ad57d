//! Download errors. Each names the URL (redacted) and, when several sources
//! were tried, every source and why it did not do.

use std::fmt;
use std::path::PathBuf;

use hlb_cache::FixedHash;

/// A source that was tried and did not deliver, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFailure {
    /// A mirror location or the URL itself, redacted.
    pub source: String,
    pub reason: String,
}

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.reason)
    }
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "cannot download `{url}`: unsupported scheme `{scheme}` (use https://, http:// or file://)"
    )]
    UnsupportedScheme { url: String, scheme: String },
    #[error(
        "cannot verify `{url}`: unsupported hash algorithm `{algorithm}` (use sha256 or blake3)"
    )]
    UnsupportedHash { url: String, algorithm: String },
    /// The upstream URL served bytes that do not match the pin. Never retried.
    #[error("{0}")]
    HashMismatch(Box<Mismatch>),
    /// No source delivered (not found, network errors, offline).
    #[error("{}", unavailable_message(url, *offline, tried))]
    Unavailable {
        url: String,
        offline: bool,
        tried: Vec<SourceFailure>,
    },
    /// A local filesystem operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client or its runtime could not be set up.
    #[error("cannot set up the downloader: {0}")]
    Setup(String),
}

impl FetchError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FetchError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// What a mismatching upstream served, against what the pin says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The URL, redacted.
    pub url: String,
    pub expected: FixedHash,
    pub actual: FixedHash,
    /// Bytes received.
    pub size: u64,
    /// Sources tried before upstream (mirrors), and why they did not do.
    pub tried: Vec<SourceFailure>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mismatch_message(self))
    }
}

fn mismatch_message(m: &Mismatch) -> String {
    let Mismatch {
        url,
        expected,
        actual,
        size,
        tried,
    } = m;
    let mut s = format!(
        "hash mismatch for {url}\n  expected: {expected}\n  actual:   {actual} ({size} bytes)\n"
    );
    if !tried.is_empty() {
        s.push_str("sources tried before it:\n");
        for t in tried {
            s.push_str(&format!("  - {t}\n"));
        }
    }
    s.push_str(&format!(
        "help: the URL now serves other bytes than the pin names; if the new content is \
         trusted, run `hlb prefetch {url}` and replace the pin (the recipe's `hash=`, or \
         the URL's entry in hlb.lock)"
    ));
    s
}

fn unavailable_message(url: &str, offline: bool, tried: &[SourceFailure]) -> String {
    let mut s = if offline {
        format!("cannot download {url} offline: no mirror has it")
    } else {
        format!("cannot download {url}: every source failed")
    };
    for t in tried {
        s.push_str(&format!("\n  - {t}"));
    }
    if offline {
        s.push_str(
            "\nhelp: add a mirror holding it (`--mirror DIR_OR_URL` or HLB_MIRRORS), \
             or run without --offline",
        );
    }
    s
}
