//! Every Talos `gen config` golden must come back byte for byte after a
//! parse → emit round trip in go-yaml v3 style (4-space indent): this is
//! the proof that the emitter writes what Talos writes.

use std::path::Path;

use hlb_images::yaml::{Style, emit_documents, parse_documents};

const GOLDEN: &str = "../../shared/fixtures/talos/examples/gen-config-golden";

#[test]
fn talos_goldens_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap()
        .join(GOLDEN);
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("golden dir")
        .flatten()
        .collect();
    dirs.sort_by_key(|e| e.path());
    for dir in dirs.iter().filter(|e| e.path().is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        files.sort_by_key(|e| e.path());
        for f in files {
            let text = std::fs::read_to_string(f.path()).unwrap();
            let docs =
                parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
            let out = emit_documents(docs.iter().map(|d| &d.root.value), &Style::TALOS);
            if out != text {
                let line = out.lines().zip(text.lines()).position(|(a, b)| a != b);
                panic!(
                    "{} differs at line {:?}\n--- got\n{out}",
                    f.path().display(),
                    line.map(|l| l + 1)
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 12, "expected 3 versions × 4 goldens");
}
