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

/// Receives [`FetchEvent`]s. Called from scheduler worker threads.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &FetchEvent);
}

impl<F: Fn(&FetchEvent) + Send + Sync> Reporter for F {
    fn event(&self, event: &FetchEvent) {
        self(event)
    }
}
