//! The one renderer: every event of an operation (builds, downloads, lock
//! resolution, secrets, and next deploy steps) becomes a progress bar or a
//! status line on a terminal, plain lines otherwise, or one JSON object per
//! line with a `reason` field under `--json` (`docs/json.md` lists them).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use hlb::ops::events::{Event, Reporter};
use hlb_builder::DrvId;
use hlb_builder::sched::Event as BuildEvent;
use hlb_fetch::FetchEvent;
use hlb_secrets::Recovery;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::out::Out;

pub struct Renderer {
    out: Out,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    bar: Option<ProgressBar>,
    /// Derivations not started because the run stopped after a failure.
    stopped: usize,
    /// Secret artifacts that failed for want of an identity, and what was
    /// not built because of them: said once, by the final error.
    needs_identity: BTreeSet<DrvId>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Renderer {
    pub fn new(out: Out) -> Renderer {
        Renderer {
            out,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// End of an operation: clear the progress bar, and say once what was
    /// left out after a failure.
    pub fn finish(&self) {
        let mut st = self.state();
        if let Some(bar) = st.bar.take() {
            bar.finish_and_clear();
        }
        if st.stopped > 0 && st.needs_identity.is_empty() {
            self.out.status(&format!(
                "{} not built: stopped after a failure (--keep-going builds what it can)",
                st.stopped
            ));
        }
        st.stopped = 0;
    }

    fn line(&self, st: &State, s: String) {
        match st.bar.as_ref() {
            Some(b) => b.println(s),
            None => self.out.status(&s),
        }
    }

    fn json(&self, event: &Event<'_>) -> Option<(&'static str, Value)> {
        Some(match event {
            Event::Build { event, located, .. } => ("build-event", build_json(event, located)),
            Event::Fetch(e) => ("fetch", fetch_json(e)?),
            Event::Lock(e) => ("lock", json!({"message": e.to_string()})),
            Event::SecretsRecovered(r) => ("secrets-recovered", recovery_json(r)),
            Event::Wrote { kind, path } => ("talos-gen", json!({"type": kind, "path": path})),
            Event::Warning(w) => ("warning", json!({"message": w})),
            Event::Note(_) => return None,
            _ => return None,
        })
    }

    fn text(&self, event: &Event<'_>) {
        match event {
            Event::Build {
                event,
                located,
                needs_identity,
            } => self.build_text(event, located.as_ref(), *needs_identity),
            Event::Fetch(e) => {
                if let Some(line) = fetch_text(e) {
                    self.line(&self.state(), line);
                }
            }
            Event::Lock(e) => self.out.status(&e.to_string()),
            Event::SecretsRecovered(r) => match r {
                Recovery::Clean => {}
                Recovery::RolledBack(n) => self.out.status(&format!(
                    "undid an interrupted rekey ({n} temporary files removed)"
                )),
                Recovery::RolledForward(names) => self.out.status(&format!(
                    "completed an interrupted rekey ({} secrets)",
                    names.len()
                )),
            },
            Event::Wrote { path, .. } => self.out.status(&format!("created {}", path.display())),
            Event::Warning(w) => self.out.status(&format!("warning: {w}")),
            Event::Note(n) => self.out.status(n),
            _ => {}
        }
    }

    fn build_text(
        &self,
        e: &BuildEvent,
        located: Option<&hlb::ops::events::Located<'_>>,
        needs_identity: bool,
    ) {
        let mut st = self.state();
        match e {
            BuildEvent::Planned {
                total,
                cached,
                to_build,
            } => {
                if *to_build == 0 {
                    return;
                }
                self.out.status(&format!(
                    "{to_build} to build, {cached} of {total} already in the store"
                ));
                if self.out.fancy {
                    let bar = ProgressBar::new(*to_build as u64);
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    st.bar = Some(bar);
                }
            }
            BuildEvent::Started { name, kind, .. } => match st.bar.as_ref() {
                Some(b) => b.set_message(format!("{kind} {name}")),
                None => self.out.status(&format!("building {kind} {name}")),
            },
            BuildEvent::Built {
                name,
                kind,
                elapsed,
                ..
            } => match st.bar.as_ref() {
                Some(b) => b.inc(1),
                None => self
                    .out
                    .status(&format!("built {kind} {name} in {} ms", ms(*elapsed))),
            },
            BuildEvent::Failed { id, .. } if needs_identity => {
                st.needs_identity.insert(*id);
            }
            BuildEvent::Failed {
                name, kind, error, ..
            } => match located {
                Some(l) => {
                    let text = l.diagnostics.render(l.sources, self.out.fancy);
                    self.line(&st, text.trim_end().to_string());
                }
                None => self.line(
                    &st,
                    format!(
                        "error: building {kind} {name} failed:\n  {}",
                        error.replace('\n', "\n  ")
                    ),
                ),
            },
            BuildEvent::Skipped {
                id,
                name,
                failed_input,
            } => match failed_input {
                None => st.stopped += 1,
                Some((input, _)) if st.needs_identity.contains(input) => {
                    st.needs_identity.insert(*id);
                }
                Some((_, input)) => {
                    self.line(&st, format!("not built {name}: its input {input} failed"))
                }
            },
        }
    }
}

impl Reporter for Renderer {
    fn event(&self, event: &Event<'_>) {
        if self.out.json {
            if let Some((reason, value)) = self.json(event) {
                self.out.record(reason, value);
            }
        } else {
            self.text(event);
        }
    }
}

fn build_json(e: &BuildEvent, located: &Option<hlb::ops::events::Located<'_>>) -> Value {
    match e {
        BuildEvent::Planned {
            total,
            cached,
            to_build,
        } => json!({"event": "planned", "total": total, "cached": cached, "to_build": to_build}),
        BuildEvent::Started { id, name, kind } => {
            json!({"event": "started", "id": id, "name": name, "kind": kind})
        }
        BuildEvent::Built {
            id,
            name,
            kind,
            elapsed,
        } => json!({"event": "built", "id": id, "name": name, "kind": kind, "ms": ms(*elapsed)}),
        BuildEvent::Failed {
            id,
            name,
            kind,
            error,
            ..
        } => {
            let mut v =
                json!({"event": "failed", "id": id, "name": name, "kind": kind, "error": error});
            if let Some(l) = located
                && let Some(first) = l
                    .diagnostics
                    .to_json(l.sources)
                    .as_array()
                    .and_then(|a| a.first())
            {
                v["at"] = json!(l.at);
                v["diagnostic"] = first.clone();
            }
            v
        }
        BuildEvent::Skipped {
            id,
            name,
            failed_input,
        } => {
            let cause = failed_input
                .as_ref()
                .map(|(i, n)| json!({"id": i, "name": n}));
            json!({"event": "skipped", "id": id, "name": name, "failed_input": cause})
        }
    }
}

/// A download's record: the event's own fields (`hlb_cache::events::Event`)
/// with `event` naming what happened (`started`, `retrying`, …).
fn fetch_json(e: &FetchEvent) -> Option<Value> {
    use hlb_cache::events::Event as _;
    if matches!(e, FetchEvent::Progress { .. }) {
        return None;
    }
    let mut v = e.fields();
    let what = e.reason().strip_prefix("fetch-").unwrap_or(e.reason());
    v["event"] = json!(what);
    Some(v)
}

fn fetch_text(e: &FetchEvent) -> Option<String> {
    match e {
        FetchEvent::Progress { .. } | FetchEvent::Done { .. } => None,
        FetchEvent::Started { url, source } if url == source => Some(format!("downloading {url}")),
        FetchEvent::Started { url, source } => Some(format!("downloading {url} from {source}")),
        FetchEvent::Retrying {
            url,
            source,
            attempt,
            delay,
            reason,
        } => Some(format!(
            "warning: {source} failed for {url} ({reason}); retry {attempt} in {delay:?}"
        )),
        FetchEvent::MirrorSkipped {
            url,
            source,
            reason,
        } => Some(format!(
            "warning: skipping mirror {source} for {url}: {reason}"
        )),
    }
}

fn recovery_json(r: &Recovery) -> Value {
    match r {
        Recovery::Clean => json!({"recovery": "clean"}),
        Recovery::RolledBack(n) => json!({"recovery": "rolled-back", "removed": n}),
        Recovery::RolledForward(names) => {
            json!({"recovery": "rolled-forward", "secrets": names.iter().map(|n| n.as_str()).collect::<Vec<_>>()})
        }
    }
}
