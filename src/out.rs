//! Where output goes: data on stdout, status on stderr; `--json` turns both
//! into one JSON object per line on stdout, each with a `reason` field.

use std::io::{IsTerminal, Write};

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

    pub fn error(&self, e: &anyhow::Error) {
        let msg = format!("{e:#}");
        if self.json {
            self.record("error", serde_json::json!({ "message": msg }));
        } else {
            let _ = writeln!(std::io::stderr().lock(), "error: {msg}");
        }
    }

    pub fn error_summary(&self, summary: &str) {
        if self.json {
            self.record("error", serde_json::json!({ "message": summary }));
        } else if !summary.is_empty() {
            let _ = writeln!(std::io::stderr().lock(), "error: {summary}");
        }
    }
}
