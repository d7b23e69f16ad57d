//! How build events reach people and scripts: a progress bar on a terminal,
//! plain lines otherwise, JSON lines with `--json`.

use std::sync::Mutex;
use std::time::Duration;

use hlb_builder::diag::{Diagnostic, Diagnostics, SourceMap};
use hlb_builder::plan::Plan;
use hlb_builder::sched::{Event, Reporter};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::out::Out;

/// A build failure that is a recipe value's fault: the compiler said at
/// which parameter (`files[2].owner`) and the plan knows where the recipe
/// wrote it.
pub const BUILD_ERROR_AT_RECIPE: &str = "E0520";

pub struct BuildReporter<'a> {
    out: &'a Out,
    bar: Mutex<Option<ProgressBar>>,
    /// The plan and the recipe text, to point failures at recipe lines.
    recipes: Option<(&'a Plan, &'a SourceMap)>,
}

impl<'a> BuildReporter<'a> {
    pub fn new(out: &'a Out) -> BuildReporter<'a> {
        BuildReporter {
            out,
            bar: Mutex::new(None),
            recipes: None,
        }
    }

    /// Point failures at a parameter to where the recipes wrote it.
    pub fn with_recipes(mut self, plan: &'a Plan, sources: &'a SourceMap) -> BuildReporter<'a> {
        self.recipes = Some((plan, sources));
        self
    }

    /// The failure as a recipe diagnostic, when it is at a parameter the
    /// plan located.
    fn located(
        &self,
        id: &hlb_builder::DrvId,
        kind: &str,
        name: &str,
        error: &str,
        at: Option<&str>,
    ) -> Option<(Diagnostics, &'a SourceMap)> {
        let (plan, sources) = self.recipes?;
        let span = plan.locate(id, at?)?;
        // InvalidAt messages stand on their own (they name the derivation).
        let message = if error.contains(name) {
            format!("building {kind} failed: {error}")
        } else {
            format!("building {kind} {name} failed: {error}")
        };
        let d = Diagnostic::new(BUILD_ERROR_AT_RECIPE, message)
            .at(span)
            .label("written here");
        Some((Diagnostics(vec![d]), sources))
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn line(&self, s: String) {
        let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match bar.as_ref() {
            Some(b) => b.println(s),
            None => self.out.status(&s),
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Reporter<Event> for BuildReporter<'_> {
    fn event(&self, e: &Event) {
        if self.out.json {
            let v = match e {
                Event::Planned {
                    total,
                    cached,
                    to_build,
                } => {
                    json!({"event": "planned", "total": total, "cached": cached, "to_build": to_build})
                }
                Event::Started { id, name, kind } => {
                    json!({"event": "started", "id": id, "name": name, "kind": kind})
                }
                Event::Built {
                    id,
                    name,
                    kind,
                    elapsed,
                } => {
                    json!({"event": "built", "id": id, "name": name, "kind": kind, "ms": ms(*elapsed)})
                }
                Event::Failed {
                    id,
                    name,
                    kind,
                    error,
                    at,
                } => {
                    let mut v = json!({"event": "failed", "id": id, "name": name, "kind": kind, "error": error});
                    if let Some((d, sources)) = self.located(id, kind, name, error, at.as_deref())
                        && let Some(first) = d.to_json(sources).as_array().and_then(|a| a.first())
                    {
                        v["at"] = json!(at);
                        v["diagnostic"] = first.clone();
                    }
                    v
                }
                Event::Skipped {
                    id,
                    name,
                    failed_input,
                } => {
                    let cause = failed_input
                        .as_ref()
                        .map(|(i, n)| json!({"id": i, "name": n}));
                    json!({"event": "skipped", "id": id, "name": name, "failed_input": cause})
                }
            };
            self.out.record("build-event", v);
            return;
        }
        match e {
            Event::Planned {
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
                    *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
                }
            }
            Event::Started { name, kind, .. } => {
                let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
                match bar.as_ref() {
                    Some(b) => b.set_message(format!("{kind} {name}")),
                    None => self.out.status(&format!("building {kind} {name}")),
                }
            }
            Event::Built {
                name,
                kind,
                elapsed,
                ..
            } => {
                let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
                match bar.as_ref() {
                    Some(b) => b.inc(1),
                    None => self
                        .out
                        .status(&format!("built {kind} {name} in {} ms", ms(*elapsed))),
                }
            }
            Event::Failed {
                id,
                name,
                kind,
                error,
                at,
            } => match self.located(id, kind, name, error, at.as_deref()) {
                Some((d, sources)) => {
                    let text = d.render(sources, self.out.fancy);
                    self.line(text.trim_end().to_string());
                }
                None => self.line(format!(
                    "error: building {kind} {name} failed:\n  {}",
                    error.replace('\n', "\n  ")
                )),
            },
            Event::Skipped {
                name, failed_input, ..
            } => match failed_input {
                None => self.line(format!(
                    "not built {name}: stopped after a failure (--keep-going builds what it can)"
                )),
                Some((_, input)) => {
                    self.line(format!("not built {name}: its input {input} failed"))
                }
            },
        }
    }
}
