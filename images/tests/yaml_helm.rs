//! Helm's `toYaml` writes go-yaml v2 style through `sigs.k8s.io/yaml`.
//! Traefik's chart renders its whole pod template as
//! `include … | fromYaml | toYaml | nindent 4`, so that block of Helm's real
//! output is pure `toYaml` bytes: parsing it, sorting keys as Go maps and
//! emitting in [`Style::K8S`] must reproduce it exactly.

use std::path::Path;

use hlb_images::yaml::{Flavor, Style, emit, parse_documents, sort_keys};

const EXPECTED: &str = "../../shared/fixtures/helm/expected";

/// The `template:` block of each Deployment/DaemonSet, de-indented.
fn to_yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line != "  template: " {
            continue;
        }
        let mut block = String::new();
        while let Some(l) = lines.peek() {
            let Some(rest) = l.strip_prefix("    ") else {
                break;
            };
            block.push_str(rest);
            block.push('\n');
            lines.next();
        }
        blocks.push(block);
    }
    blocks
}

#[test]
fn traefik_pod_templates_round_trip_in_k8s_style() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap()
        .join(EXPECTED);
    let mut checked = 0;
    for case in ["traefik-default.yaml", "traefik-homelab.yaml"] {
        let text = std::fs::read_to_string(dir.join(case)).unwrap();
        for block in to_yaml_blocks(&text) {
            let docs = parse_documents(&block).unwrap();
            assert_eq!(docs.len(), 1);
            let mut value = docs[0].root.value.clone();
            sort_keys(&mut value, Flavor::V2);
            let out = emit(&value, &Style::K8S);
            assert_eq!(out, block, "{case}");
            // Negative control: v3's indented sequences must not match.
            let v3 = Style {
                flavor: Flavor::V3,
                ..Style::K8S
            };
            assert_ne!(emit(&value, &v3), block, "{case}: v3 style should differ");
            checked += 1;
        }
    }
    assert!(checked >= 2, "found {checked} toYaml blocks");
}

/// controller-gen writes CRDs with `sigs.k8s.io/yaml` (struct order, not
/// sorted): the charts' `crds/` files exercise folding of long plain and
/// single-quoted scalars at 80 columns, literal blocks and deep nesting.
#[test]
fn controller_gen_crds_round_trip_in_k8s_style() {
    let charts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap()
        .join("../../shared/fixtures/helm/charts");
    let (mut checked, mut folded) = (0, 0);
    let unfolded = Style {
        width: None,
        ..Style::K8S
    };
    for chart in ["traefik", "sealed-secrets"] {
        let dir = charts.join(chart).join("crds");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files.iter().filter(|p| !p.ends_with("kustomization.yaml")) {
            let text = std::fs::read_to_string(path).unwrap();
            let body = text.strip_prefix("---\n").unwrap_or(&text);
            let docs = parse_documents(body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let out = emit(&docs[0].root.value, &Style::K8S);
            if out != body {
                let line = out
                    .lines()
                    .zip(body.lines())
                    .position(|(a, b)| a != b)
                    .map_or(0, |l| l + 1);
                let got: Vec<_> = out.lines().skip(line.saturating_sub(3)).take(6).collect();
                let want: Vec<_> = body.lines().skip(line.saturating_sub(3)).take(6).collect();
                panic!(
                    "{} differs at line {line}:\n--- got\n{}\n--- want\n{}",
                    path.display(),
                    got.join("\n"),
                    want.join("\n")
                );
            }
            checked += 1;
            // Negative control: these files really depend on folding.
            folded += usize::from(emit(&docs[0].root.value, &unfolded) != body);
        }
    }
    assert_eq!(checked, 26);
    assert!(
        folded > 20,
        "only {folded} files depend on folding at 80 columns"
    );
}
