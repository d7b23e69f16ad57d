//! Where output goes: data on stdout, status on stderr; `--json` turns both
//! into one JSON object per line on stdout, each with a `reason` field.

use std::io::{IsTerminal, Write};

use hlb::ops::plan::Problems;
use serde_json::Value;

use crate::cli::Color;

#[derive(Clone, Copy, Debug)]
pub struct Out {
    pub json: bool,
    /// Colours and progress bars (a terminal, or `--color always`).
    pub fancy: bool,
}

impl Out {
    pub fn new(json: bool, color: Color) -> Out {
        let fancy = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Out {
            json,
            fancy: fancy && !json,
        }
    }

    /// A line of data for people (ignored in JSON mode: use `record`).
    pub fn data(&self, line: &str) {
        if !self.json {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{line}");
        }
    }

    /// A status line for people, on stderr (suppressed in JSON mode).
    pub fn status(&self, line: &str) {
        if !self.json {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// A machine-readable record (JSON mode only).
    pub fn record(&self, reason: &str, mut value: Value) {
        if self.json {
            if let Value::Object(m) = &mut value {
                m.insert("reason".into(), Value::from(reason));
            }
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{value}");
        }
    }

    /// Recipe diagnostics: rendered with their source text, or one JSON
    /// record each.
    pub fn problems(&self, p: &Problems) {
        if self.json {
            for item in p
                .diagnostics
                .to_json(&p.sources)
                .as_array()
                .into_iter()
                .flatten()
            {
                self.record("diagnostic", item.clone());
            }
        } else {
            eprint!("{}", p.diagnostics.render(&p.sources, self.fancy));
        }
    }

    /// An operation's error: its located problems first, then the whole
    /// chain of causes on one line (`what: why: why`), and its class.
    pub fn error(
        &self,
        e: &(dyn std::error::Error + 'static),
        problems: Option<&Problems>,
        class: hlb::ops::ExitClass,
    ) {
        if let Some(p) = problems {
            self.problems(p);
        }
        let mut parts: Vec<String> = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            let text = err.to_string();
            // Counted by the message that carries them.
            if err.is::<Problems>() && !parts.is_empty() {
                cur = err.source();
                continue;
            }
            // Many errors repeat their cause in their own message; say it once.
            if !text.is_empty() && !parts.last().is_some_and(|prev| prev.contains(&text)) {
                parts.push(text);
            }
            cur = err.source();
        }
        let msg = parts.join(": ");
        if self.json {
            self.record(
                "error",
                serde_json::json!({
                    "message": msg,
                    "class": class.name(),
                    "exit_code": class.code(),
                }),
            );
        } else if !msg.is_empty() {
            let _ = writeln!(std::io::stderr().lock(), "error: {msg}");
        }
    }
}
