//! `cargo bench -p hlb-helm`: per shared fixture case, hlb's in-process
//! render time beside the real `helm template` (helm v4.1.4 from
//! `tests/install-helm.sh`; paired runs, medians, ratio) and helm's peak
//! memory (`/usr/bin/time` when present). Printed, never asserted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../../../shared/fixtures");
    let helm = root.join("../../target/tmp/helm-v4.1.4/helm");
    let have_helm = helm.exists();
    let have_time = Path::new("/usr/bin/time").exists();
    if !have_helm {
        eprintln!("helm v4.1.4 missing: run images/helm/tests/install-helm.sh to compare");
    }
    println!(
        "{:<38} {:>10} {:>10} {:>8} {:>12}",
        "case", "hlb ms", "helm ms", "ratio", "helm maxRSS"
    );
    let mut ratios = Vec::new();
    for set in ["helm", "helm-more"] {
        let dir = shared.join(set);
        let Ok(text) = std::fs::read_to_string(dir.join("cases.json")) else {
            eprintln!("no fixtures at {}", dir.display());
            return;
        };
        let j: serde_json::Value = serde_json::from_str(&text).expect("cases.json");
        for c in j["cases"].as_array().expect("cases") {
            let id = c["id"].as_str().unwrap_or("");
            let args: Vec<String> = c["command"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .skip(2)
                .map(str::to_string)
                .collect();
            let opts = hlb_helm::api::parse_args(&args, &dir).expect("args");
            let _ = hlb_helm::template(&opts);
            let mut hlb_t = Vec::new();
            let mut helm_t = Vec::new();
            for _ in 0..RUNS {
                let t = Instant::now();
                let _ = hlb_helm::template(&opts);
                hlb_t.push(t.elapsed());
                if have_helm {
                    let t = Instant::now();
                    let _ = Command::new(&helm)
                        .arg("template")
                        .args(&args)
                        .current_dir(&dir)
                        .output();
                    helm_t.push(t.elapsed());
                }
            }
            let rss = if have_helm && have_time {
                Command::new("/usr/bin/time")
                    .arg("-f")
                    .arg("%M")
                    .arg(&helm)
                    .arg("template")
                    .args(&args)
                    .current_dir(&dir)
                    .output()
                    .ok()
                    .and_then(|o| {
                        String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .last()
                            .map(str::to_string)
                    })
                    .map(|kb| format!("{kb} KiB"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let h = median(hlb_t);
            let (hm, ratio) = if have_helm {
                let m = median(helm_t);
                let r = m.as_secs_f64() / h.as_secs_f64().max(1e-9);
                ratios.push(r);
                (format!("{:.1}", m.as_secs_f64() * 1e3), format!("{r:.1}x"))
            } else {
                (String::new(), String::new())
            };
            println!(
                "{:<38} {:>10.2} {:>10} {:>8} {:>12}",
                id,
                h.as_secs_f64() * 1e3,
                hm,
                ratio,
                rss
            );
        }
    }
    if !ratios.is_empty() {
        ratios.sort_by(|a, b| a.total_cmp(b));
        println!(
            "speedup over helm: median {:.1}x, min {:.1}x, max {:.1}x",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    let _ = PathBuf::new();
}
