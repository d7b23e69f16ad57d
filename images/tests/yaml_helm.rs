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
