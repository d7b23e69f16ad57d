//! The shared fixture cases (`../shared/fixtures/helm*/cases.json`):
//! real charts, values and helm v4.1.4's exact output, compared byte for
//! byte (documents helm randomizes are compared with their random fields
//! masked).
//!
//! Cases that do not match yet are listed in [`KNOWN_DIVERGENT`]; the
//! test asserts they still diverge, so the list cannot go stale.

use std::path::{Path, PathBuf};

/// Cases hlb does not reproduce yet (see docs/helm.md).
const KNOWN_DIVERGENT: &[&str] = &[];

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

struct Case {
    id: String,
    dir: PathBuf,
    args: Vec<String>,
    rc: i64,
    expected: Option<PathBuf>,
    stderr: Option<PathBuf>,
    masked: Vec<(usize, Vec<String>)>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for set in ["helm", "helm-more"] {
        let dir = shared().join(set);
        let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
        let j: serde_json::Value = serde_json::from_str(&text).expect("cases.json parses");
        for c in j["cases"].as_array().expect("cases") {
            let cmd = c["command"].as_str().expect("command");
            let args: Vec<String> = cmd.split_whitespace().skip(2).map(str::to_string).collect();
            out.push(Case {
                id: c["id"].as_str().unwrap_or("").to_string(),
                dir: dir.clone(),
                args,
                rc: c["expected_rc"].as_i64().unwrap_or(0),
                expected: c["expected"].as_str().map(|p| dir.join(p)),
                stderr: c["stderr"].as_str().map(|p| dir.join(p)),
                masked: c["nondeterministic_documents"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|d| {
                                (
                                    d["index"].as_u64().unwrap_or(0) as usize,
                                    d["fields"]
                                        .as_array()
                                        .map(|f| {
                                            f.iter()
                                                .filter_map(|x| x.as_str().map(str::to_string))
                                                .collect()
                                        })
                                        .unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// Split output into the chunks between `---` lines (cases.json's index).
fn chunks(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in s.split_inclusive('\n') {
        if line == "---\n" {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push_str(line);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Mask the values of `fields` (a line `  field: value` or an annotation)
/// in the chunks at the given indexes. Multi-line values (block scalars)
/// are masked to the end of their indentation.
fn mask(s: &str, masked: &[(usize, Vec<String>)]) -> String {
    let mut parts = chunks(s);
    for (idx, fields) in masked {
        let Some(doc) = parts.get_mut(*idx) else {
            continue;
        };
        let mut out = String::new();
        let mut skip_indent: Option<usize> = None;
        for line in doc.split_inclusive('\n') {
            let indent = line.len() - line.trim_start().len();
            if let Some(si) = skip_indent {
                if indent > si && !line.trim().is_empty() {
                    continue;
                }
                skip_indent = None;
            }
            let t = line.trim_start();
            let hit = fields.iter().find(|f| {
                let last = f.rsplit('.').next().unwrap_or(f);
                t.starts_with(&format!("{f}:"))
                    || t.starts_with(&format!("{last}:"))
                    || t.starts_with(&format!("\"{f}\":"))
                    || t.starts_with(&format!("'{f}':"))
            });
            match hit {
                Some(f) => {
                    out.push_str(&format!("{}{}: <masked>\n", &line[..indent], f));
                    skip_indent = Some(indent);
                }
                None => out.push_str(line),
            }
        }
        // Random names (podinfo test pods) are in `name:` fields.
        *doc = out;
    }
    parts.join("---\n")
}

fn run(c: &Case) -> (i64, String, String) {
    let opts = match hlb_helm::api::parse_args(&c.args, &c.dir) {
        Ok(o) => o,
        Err(e) => return (1, String::new(), format!("Error: {e}\n")),
    };
    match hlb_helm::template(&opts) {
        Ok(r) => (
            0,
            String::from_utf8_lossy(&r.stdout).into_owned(),
            String::new(),
        ),
        Err(e) => (1, String::new(), e.stderr()),
    }
}

fn matches(c: &Case) -> Result<(), String> {
    let (rc, out, err) = run(c);
    if rc != c.rc {
        return Err(format!("exit {rc}, want {}: {err}", c.rc));
    }
    if rc == 0 {
        let want = std::fs::read_to_string(c.expected.as_ref().ok_or("no expected")?)
            .map_err(|e| e.to_string())?;
        let (w, g) = (mask(&want, &c.masked), mask(&out, &c.masked));
        if w != g {
            let wl: Vec<&str> = w.lines().collect();
            let gl: Vec<&str> = g.lines().collect();
            let i = wl
                .iter()
                .zip(gl.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(wl.len().min(gl.len()));
            return Err(format!(
                "output differs at line {} (want {} lines, got {}):\n  want: {:?}\n  got:  {:?}",
                i + 1,
                wl.len(),
                gl.len(),
                wl.get(i),
                gl.get(i)
            ));
        }
    } else if let Some(p) = &c.stderr {
        let want = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
        if !want.starts_with(err.trim_end()) && want.trim_end() != err.trim_end() {
            return Err(format!(
                "stderr differs:\n  want: {want:?}\n  got:  {err:?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn fixture_cases_match_helm() {
    let cases = cases();
    assert!(
        cases.len() >= 45,
        "expected the 45 shared cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut passed = 0;
    for c in &cases {
        let r = matches(c);
        let known = KNOWN_DIVERGENT.contains(&c.id.as_str());
        match (r, known) {
            (Ok(()), false) => passed += 1,
            (Ok(()), true) => failures.push(format!(
                "{}: matches now; remove it from KNOWN_DIVERGENT",
                c.id
            )),
            (Err(_), true) => {}
            (Err(e), false) => failures.push(format!("{}: {e}", c.id)),
        }
    }
    eprintln!("{passed}/{} fixture cases match helm", cases.len());
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
