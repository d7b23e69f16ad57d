//! Shared by the differential tests: the real helm v4.1.4 (installed by
//! `tests/install-helm.sh`), throwaway charts, and running both renderers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned helm binary; panics with the fix when it is missing (a test
/// that needs helm must never pass silently without it).
pub fn helm() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/helm-v4.1.4/helm");
    assert!(
        p.exists(),
        "helm v4.1.4 is missing at {}: run images/helm/tests/install-helm.sh",
        p.display()
    );
    p
}

/// A chart in a fresh directory: `files` are (path, content) under the chart.
pub struct TempChart {
    pub root: PathBuf,
}

impl TempChart {
    pub fn new(tag: &str, files: &[(&str, &str)]) -> TempChart {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("helm-diff-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let chart = root.join("c");
        std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
        let mut has_chart_yaml = false;
        for (p, content) in files {
            has_chart_yaml |= *p == "Chart.yaml";
            let full = chart.join(p);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(full, content).expect("write");
        }
        if !has_chart_yaml {
            std::fs::write(
                chart.join("Chart.yaml"),
                "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            )
            .expect("write");
        }
        TempChart { root }
    }
}

impl Drop for TempChart {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Exit code, stdout, and stderr without helm's log lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_helm(dir: &Path, args: &[&str]) -> Outcome {
    let out = Command::new(helm())
        .arg("template")
        .args(args)
        .current_dir(dir)
        .env("HELM_CACHE_HOME", dir.join(".cache"))
        .env("HELM_CONFIG_HOME", dir.join(".config"))
        .env("HELM_DATA_HOME", dir.join(".data"))
        .output()
        .expect("run helm");
    let stderr = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("level="))
        .map(|l| format!("{l}\n"))
        .collect();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

pub fn run_hlb(dir: &Path, args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let opts = match hlb_helm::api::parse_args(&args, dir) {
        Ok(o) => o,
        Err(e) => {
            return Outcome {
                code: 1,
                stdout: String::new(),
                stderr: format!("Error: {e}\n"),
            };
        }
    };
    match hlb_helm::template(&opts) {
        Ok(r) => Outcome {
            code: 0,
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::new(),
        },
        Err(e) => Outcome {
            code: 1,
            stdout: String::new(),
            stderr: e.stderr(),
        },
    }
}
