//! Load any bytes as a lab's entry file: the loader must not panic or
//! overflow its stack, and every failure must name a place in a file.
//! The seed corpus (`corpus/load/`) is the repository's recipes and
//! fixtures; an input that breaks the loader belongs, once fixed, in
//! `builder/tests/fuzz/regressions/`, which `tests/load_fuzz.rs` loads on
//! every test run.
#![no_main]

use hlb_builder::io::{MemIo, RelPath};
use hlb_builder::load::load;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let io = MemIo::new()
        .with("lab.kdl", data.to_vec())
        .with("files/x", b"text ${name}\n".to_vec());
    let entry = RelPath::new("lab.kdl").expect("a valid path");
    if let Err(err) = load(&io, &entry) {
        assert!(!err.diagnostics.is_empty());
        for d in err.diagnostics.iter() {
            let span = d.span.expect("every diagnostic names a place");
            assert!(span.end() <= err.sources.text(span.file).len());
        }
        let _ = err.render(false);
    }
});
