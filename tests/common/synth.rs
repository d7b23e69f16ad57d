//! A generated lab for tests that need many derivations.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

/// Write a lab with `hosts` hosts, each receiving `files_per_host` files
/// rendered from shared templates of about `template_bytes` bytes, and one
/// manifest per host. Every file interpolates `${run}`, so changing `run`
/// rebuilds everything.
pub fn write_lab(
    dir: &Path,
    hosts: usize,
    files_per_host: usize,
    template_bytes: usize,
    run: &str,
) {
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::fs::create_dir_all(dir.join("manifests")).expect("mkdir");
    let mut lab = String::new();
    writeln!(lab, "lab \"synth\" {{\n    param \"domain\" \"synth.example.org\"\n    param \"run\" \"{run}\"\n}}").unwrap();
    writeln!(lab, "cluster \"k8s\" api=\"https://10.0.0.10:6443\"").unwrap();
    for t in 0..files_per_host {
        let mut body = String::new();
        let mut i = 0;
        while body.len() < template_bytes {
            writeln!(
                body,
                "# line {i} of template {t} for run ${{run}} in ${{domain}}: {}",
                "x".repeat(40)
            )
            .unwrap();
            i += 1;
        }
        std::fs::write(dir.join(format!("files/t{t}.conf")), body).expect("write");
    }
    std::fs::write(
        dir.join("manifests/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  run: \"${run}\"\n  domain: ${domain}\n",
    )
    .expect("write");
    for h in 0..hosts {
        writeln!(
            lab,
            "host \"h{h}\" address=\"10.1.{}.{}\"",
            h / 250,
            h % 250 + 1
        )
        .unwrap();
        for t in 0..files_per_host {
            writeln!(
                lab,
                "file \"h{h}-f{t}\" target=\"h{h}\" path=\"/etc/app/f{t}.conf\" mode=0o640 source=\"files/t{t}.conf\" interpolate=#true"
            )
            .unwrap();
        }
        writeln!(
            lab,
            "manifest \"h{h}-app\" target=\"k8s\" source=\"manifests/app.yaml\" namespace=\"ns{h}\" interpolate=#true"
        )
        .unwrap();
    }
    std::fs::write(dir.join("lab.kdl"), lab).expect("write lab");
}
