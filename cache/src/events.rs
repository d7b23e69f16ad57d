//! How long work tells what it is doing: one reporter trait for every
//! layer (the scheduler's build events, the fetcher's download events,
//! and next the deployer's), so the `hlb` crate can render one stream —
//! progress on a terminal, one JSON object per line with `--json`.
//!
//! Core crates never print (design D7 keeps secrets off terminals too):
//! they define typed events, implement [`Event`] for them, and hand them
//! to a [`Reporter`]. Events carry names, ids and messages, never a secret
//! value, and URLs already redacted.

/// Receives events of type `E`. Called from worker threads.
pub trait Reporter<E: ?Sized>: Send + Sync {
    fn event(&self, event: &E);
}

/// A closure is a reporter.
impl<E: ?Sized, F: Fn(&E) + Send + Sync> Reporter<E> for F {
    fn event(&self, event: &E) {
        self(event)
    }
}

/// A reporter that drops everything (tests, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl<E: ?Sized> Reporter<E> for Silent {
    fn event(&self, _: &E) {}
}

/// What every event type says about itself, so one renderer can show any
/// of them.
pub trait Event {
    /// The `reason` of its JSON line (`build-started`, `fetch-retrying`, …):
    /// stable, kebab-case, part of the `--json` interface.
    fn reason(&self) -> &'static str;
    /// Its fields as a JSON object (without `reason`).
    fn fields(&self) -> serde_json::Value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Tick(u32);
    impl Event for Tick {
        fn reason(&self) -> &'static str {
            "tick"
        }
        fn fields(&self) -> serde_json::Value {
            serde_json::json!({"n": self.0})
        }
    }

    #[test]
    fn closures_and_silent_are_reporters() {
        let seen = Mutex::new(Vec::new());
        let r = |e: &Tick| seen.lock().unwrap().push((e.reason(), e.fields()));
        let reporters: [&dyn Reporter<Tick>; 2] = [&r, &Silent];
        for rep in reporters {
            rep.event(&Tick(3));
        }
        assert_eq!(
            seen.into_inner().unwrap(),
            [("tick", serde_json::json!({"n": 3}))]
        );
    }
}
