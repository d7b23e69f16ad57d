//! What a download reports while it runs. This crate never prints: the CLI
//! renders these (progress bars on a terminal, lines otherwise, `--json`).
//!
//! Every URL and source in an event is already redacted.

use std::time::Duration;

/// One thing that happened during a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchEvent {
    /// Reading `url` from `source` (a mirror location or the URL itself) began.
    Started { url: String, source: String },
    /// `bytes` of `total` (when the server said) have arrived.
    Progress {
        url: String,
        bytes: u64,
        total: Option<u64>,
    },
    /// A transient failure (connection, timeout, 5xx); trying the same source again.
    Retrying {
        url: String,
        source: String,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// A mirror answered with bytes that do not match the pin; the next
    /// source is tried. Worth a warning: the mirror is wrong or tampered with.
    MirrorSkipped {
        url: String,
        source: String,
        reason: String,
    },
    /// Verified bytes from `source` are in place.
    Done {
        url: String,
        source: String,
        bytes: u64,
    },
}

/// Downloads report through the one reporter trait of every layer.
pub use hlb_cache::events::Reporter;

impl hlb_cache::events::Event for FetchEvent {
    fn reason(&self) -> &'static str {
        match self {
            FetchEvent::Started { .. } => "fetch-started",
            FetchEvent::Progress { .. } => "fetch-progress",
            FetchEvent::Retrying { .. } => "fetch-retrying",
            FetchEvent::MirrorSkipped { .. } => "fetch-mirror-skipped",
            FetchEvent::Done { .. } => "fetch-done",
        }
    }

    fn fields(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            FetchEvent::Started { url, source } => json!({"url": url, "source": source}),
            FetchEvent::Progress { url, bytes, total } => {
                json!({"url": url, "bytes": bytes, "total": total})
            }
            FetchEvent::Retrying {
                url,
                source,
                attempt,
                delay,
                reason,
            } => json!({
                "url": url,
                "source": source,
                "attempt": attempt,
                "delay_seconds": delay.as_secs_f64(),
                "reason": reason,
            }),
            FetchEvent::MirrorSkipped {
                url,
                source,
                reason,
            } => json!({"url": url, "source": source, "reason": reason}),
            FetchEvent::Done { url, source, bytes } => {
                json!({"url": url, "source": source, "bytes": bytes})
            }
        }
    }
}
