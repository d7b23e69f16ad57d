//! Packaged charts (`.tgz`, as `helm package` writes them) as the chart
//! and as dependencies, compared with the real helm v4.1.4; and hlb's
//! determinism: the same inputs give the same bytes, randomness follows
//! the release.

mod common;

use std::path::Path;

use common::{TempChart, run_helm, run_hlb};

fn tgz(dir: &Path, top: &str, files: &[(&str, &str)], out: &Path) {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let f = std::fs::File::create(out).expect("create tgz");
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut ar = tar::Builder::new(gz);
    for (p, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        ar.append_data(&mut h, format!("{top}/{p}"), content.as_bytes())
            .expect("append");
    }
    ar.into_inner().expect("tar").finish().expect("gzip");
    let _ = dir;
}

const SUB: &[(&str, &str)] = &[
    ("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 1.0.0\n"),
    ("values.yaml", "v: packaged\n"),
    (
        "templates/cm.yaml",
        "# sub {{ .Values.v }} {{ .Chart.Name }} {{ .Template.Name }}\n",
    ),
    ("files/x.txt", "x"),
];

#[test]
fn packaged_dependency_and_chart_match_helm() {
    let chart = TempChart::new(
        "tgz",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 1.0.0\n",
            ),
            ("templates/cm.yaml", "# top {{ .Values.sub.v }}\n"),
        ],
    );
    tgz(
        &chart.root,
        "sub",
        SUB,
        &chart.root.join("c/charts/sub-1.0.0.tgz"),
    );
    let args = ["r", "c"];
    assert_eq!(run_helm(&chart.root, &args), run_hlb(&chart.root, &args));

    let mut files: Vec<(&str, &str)> =
        vec![("Chart.yaml", "apiVersion: v2\nname: pkg\nversion: 0.2.0\n")];
    files.push((
        "templates/cm.yaml",
        "# pkg {{ .Chart.Version }} {{ .Files.Get \"files/x.txt\" }}\n",
    ));
    files.push(("files/x.txt", "inside"));
    tgz(
        &chart.root,
        "pkg",
        &files,
        &chart.root.join("pkg-0.2.0.tgz"),
    );
    let args = ["r", "pkg-0.2.0.tgz"];
    let helm = run_helm(&chart.root, &args);
    assert_eq!(helm.code, 0, "{helm:?}");
    assert_eq!(helm, run_hlb(&chart.root, &args));
}

#[test]
fn randomness_is_seeded_by_the_release() {
    let chart = TempChart::new(
        "seed",
        &[(
            "templates/s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  p: {{ randAlphaNum 16 }}\n  u: {{ uuidv4 }}\n  t: {{ now | date \"2006-01-02T15:04:05Z07:00\" }}\n  ca: {{ (genCA \"ca\" 1).Cert | b64enc }}\n",
        )],
    );
    let a = run_hlb(&chart.root, &["r", "c"]);
    let b = run_hlb(&chart.root, &["r", "c"]);
    let other = run_hlb(&chart.root, &["r2", "c"]);
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(a, b, "the same inputs must render the same bytes");
    assert_ne!(
        a.stdout, other.stdout,
        "another release draws other random values"
    );
    assert!(
        a.stdout.contains("t: 1970-01-01T00:00:00Z"),
        "now is the time input: {}",
        a.stdout
    );
    // helm itself is random: two runs differ.
    let h1 = run_helm(&chart.root, &["r", "c"]);
    let h2 = run_helm(&chart.root, &["r", "c"]);
    assert_eq!(h1.code, 0, "{h1:?}");
    assert_ne!(h1.stdout, h2.stdout);
}

fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.push((rel, std::fs::read_to_string(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn output_dir_matches_helm() {
    let chart = TempChart::new(
        "outdir",
        &[
            (
                "templates/t.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: h\n  annotations: {helm.sh/hook: post-install}\n",
            ),
            (
                "templates/u.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
            ),
            (
                "crds/c.yaml",
                "kind: CustomResourceDefinition\nmetadata: {name: c}\n",
            ),
        ],
    );
    let args = ["r", "c", "--output-dir", "out", "--include-crds"];
    let want = run_helm(&chart.root, &args);
    let want_tree = tree(&chart.root.join("out"));
    std::fs::remove_dir_all(chart.root.join("out")).expect("rm");
    let got = run_hlb(&chart.root, &args);
    let got_tree = tree(&chart.root.join("out"));
    assert_eq!(want, got);
    assert_eq!(want_tree, got_tree);
}
