//! The workflow in docs/secrets.md runs as written: its KDL example is the
//! lab, its `# docs-test` shell block is run with the real binary on PATH.

mod common;

use common::*;

fn block<'a>(doc: &'a str, lang: &str, must_contain: &str) -> &'a str {
    let fence = format!("```{lang}\n");
    let mut rest = doc;
    while let Some(i) = rest.find(&fence) {
        let body = &rest[i + fence.len()..];
        let end = body.find("\n```").expect("closed fence");
        if body[..end].contains(must_contain) {
            return &body[..end + 1];
        }
        rest = &body[end..];
    }
    panic!("no ```{lang} block containing {must_contain:?} in docs/secrets.md");
}

#[test]
fn the_documented_workflow_runs() {
    let doc = std::fs::read_to_string(repo_root().join("docs/secrets.md")).unwrap();
    let world = World::new();
    let lab = world.path().join("lab");
    std::fs::create_dir_all(&lab).unwrap();
    std::fs::write(lab.join("lab.kdl"), block(&doc, "kdl", "sealed-secret")).unwrap();
    let script = block(&doc, "sh", "# docs-test");
    let bin_dir = std::path::Path::new(hlb_bin())
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(&lab)
        .env_clear()
        .env("PATH", path)
        .env("HOME", world.path().join("home"))
        .env("TMPDIR", world.path())
        .env("HLB_STORE", world.store())
        .env("HLB_STATE", world.state())
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(
        text.ends_with("example-token"),
        "the last command shows the secret: {text}"
    );
    assert!(
        text.contains("cloudflare-token"),
        "`hlb secret list` lists it: {text}"
    );
}
