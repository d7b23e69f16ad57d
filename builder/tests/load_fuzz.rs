//! A property test of the recipe loader over mutated recipe text: loading
//! never panics (nor overflows its stack, which would abort this process),
//! and every failure is a list of diagnostics that each name a place in a
//! file and render.
//!
//! The seed corpus is every `.kdl` file of the repository's recipes and
//! fixtures (`recipes/`, `builder/tests/recipes/`, `tests/fixtures/`);
//! `tests/fuzz/regressions/` keeps inputs that once broke the loader, each
//! loaded on every run. Mutations are drawn from a fixed seed, so a run is
//! reproducible; `HLB_FUZZ_CASES=N` (default 300) and `HLB_FUZZ_SEED=S`
//! widen or move the search, e.g. for a long run before a release:
//! `HLB_FUZZ_CASES=50000 cargo test -p hlb-builder --release --test load_fuzz`.

use std::path::{Path, PathBuf};

use hlb_builder::io::{MemIo, RelPath};
use hlb_builder::load::load;

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces of KDL and of hlb's recipe language that mutations insert.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "{\n",
    "}\n",
    "\"",
    "\"\"\"\n",
    "\n\"\"\"",
    "#\"",
    "\"#",
    "##\"",
    "/-",
    "/- ",
    "/*",
    "*/",
    "//",
    "(t)",
    "(\"t\")",
    "(",
    ")",
    "\\\n",
    "\\",
    ";",
    "=",
    " ",
    "\n",
    "\r\n",
    "\r",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{0}",
    "\t",
    "#true",
    "#false",
    "#null",
    "#inf",
    "#nan",
    "${",
    "}",
    "${name}",
    "$${",
    "${secret.x}",
    "${lab.name}",
    "\\u{1F600}",
    "\\u{",
    "\\q",
    "0o777",
    "0x",
    "1e999",
    "-0",
    "99999999999999999999",
    "lab \"home\"\n",
    "import \"b.kdl\"\n",
    "import \"../x.kdl\"\n",
    "host \"h\" address=\"10.0.0.1\"\n",
    "file \"f\" text=\"x\"\n",
    "fetch \"d\" url=\"https://e.org/a\"\n",
    "secret \"s\"\n",
    "after \"h\"\n",
    "a ",
    "é",
    "node ",
    "\"name\"",
    "x=",
    " target=\"h\"",
    " source=\"files/x\"",
    " interpolate=#true",
];

/// Tokens repeated many times: the shapes that make a recursive parser
/// recurse.
const DEEP: &[&str] = &["{", "a {", "a{\n", "/-", "(t)", "*", "/*", "a/", "\\ ", "}"];

fn mutate(rng: &mut Rng, text: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = text.len();
    let at = rng.below(len + 1);
    match rng.below(8) {
        0 => {
            let end = (at + rng.below(64)).min(len);
            text.drain(at..end);
        }
        1 | 2 => {
            let t = rng.pick(TOKENS).as_bytes().to_vec();
            text.splice(at..at, t);
        }
        3 => {
            let end = (at + rng.below(200)).min(len);
            let copy = text[at..end].to_vec();
            let to = rng.below(len + 1);
            text.splice(to..to, copy);
        }
        4 => {
            let other = rng.pick(corpus);
            let from = rng.below(other.len() + 1);
            let end = (from + rng.below(400)).min(other.len());
            text.splice(at..at, other[from..end].iter().copied());
        }
        5 => {
            if at < len {
                text[at] = rng.below(128) as u8;
            }
        }
        6 => {
            let t = rng.pick(DEEP);
            let n = [2, 10, 130, 1000, 6000][rng.below(5)];
            let deep = t.repeat(n).into_bytes();
            text.splice(at..at, deep);
        }
        _ => {
            // Break a multi-byte character or add a stray non-UTF-8 byte.
            if rng.below(4) == 0 {
                text.insert(at, 0xFF);
            } else if at < len {
                text.truncate(at);
            }
        }
    }
}

/// The `.kdl` files under `dir`, recursively.
fn kdl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            kdl_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "kdl") {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let builder = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["../recipes", "tests/recipes", "../tests/fixtures"] {
        kdl_files(&builder.join(dir), &mut files);
    }
    let corpus: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(corpus.len() > 20, "the seed corpus is the repo's recipes");
    corpus
}

fn regressions() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions");
    let mut files = Vec::new();
    kdl_files(&dir, &mut files);
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Load `entry` (with `other` as `b.kdl` beside it) and check the outcome;
/// `Err` says what is wrong.
fn check(entry: &[u8], other: &[u8]) -> Result<(), String> {
    let io = MemIo::new()
        .with("lab.kdl", entry.to_vec())
        .with("b.kdl", other.to_vec())
        .with("files/x", b"text ${name}\n".to_vec());
    let entry = RelPath::new("lab.kdl").unwrap();
    let outcome = std::panic::catch_unwind(|| match load(&io, &entry) {
        Ok(_) => Ok(()),
        Err(err) => {
            let rendered = err.render(false);
            let json = err.diagnostics.to_json(&err.sources);
            if err.diagnostics.is_empty() {
                return Err("a failure without diagnostics".to_string());
            }
            for (d, j) in err
                .diagnostics
                .iter()
                .zip(json.as_array().into_iter().flatten())
            {
                let Some(span) = d.span else {
                    return Err(format!("{} has no place: {}", d.code, d.message));
                };
                let text = err.sources.text(span.file);
                if span.end() > text.len() {
                    return Err(format!("{} points past its file: {span:?}", d.code));
                }
                if j["line"].as_u64().is_none_or(|l| l == 0) {
                    return Err(format!("{} has no line in JSON: {j}", d.code));
                }
            }
            assert!(!rendered.is_empty());
            Ok(())
        }
    });
    outcome.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("panicked: {why}"))
    })
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_recipes_load_or_fail_with_located_errors() {
    let corpus = corpus();
    let cases = env_number("HLB_FUZZ_CASES", 300);
    let mut rng = Rng(env_number("HLB_FUZZ_SEED", 0x6c6f_6164));
    let mut failures = Vec::new();
    let scratch = std::env::temp_dir().join("hlb-load-fuzz");
    for case in 0..cases {
        let mut text = rng.pick(&corpus).clone();
        for _ in 0..1 + rng.below(6) {
            mutate(&mut rng, &mut text, &corpus);
        }
        let other = rng.pick(&corpus).clone();
        // A stack overflow aborts the process before anything can be
        // reported: the input being loaded is left here to find it.
        let _ = std::fs::create_dir_all(&scratch);
        let _ = std::fs::write(scratch.join("current.kdl"), &text);
        let start = std::time::Instant::now();
        let result = check(&text, &other);
        if start.elapsed().as_secs() >= 2 {
            // Not a failure (machines differ), but worth a look in a long run.
            eprintln!(
                "case {case}: {} bytes took {:?}",
                text.len(),
                start.elapsed()
            );
        }
        if let Err(why) = result {
            let path = scratch.join(format!("case-{case}.kdl"));
            let _ = std::fs::write(&path, &text);
            failures.push(format!("case {case} ({}): {why}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed; copy each input to tests/fuzz/regressions/:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn regression_inputs_load_or_fail_with_located_errors() {
    for (path, bytes) in regressions() {
        if let Err(why) = check(&bytes, b"") {
            panic!("{}: {why}", path.display());
        }
    }
}

#[test]
fn the_seed_corpus_loads_without_panics() {
    for seed in corpus() {
        if let Err(why) = check(&seed, b"") {
            panic!("{why}\n{}", String::from_utf8_lossy(&seed));
        }
    }
}

#[test]
fn thousands_of_syntax_errors_are_reported_as_a_few() {
    let text = format!("lab \"home\"\n{}", "}".repeat(5000));
    let io = MemIo::new().with("lab.kdl", text);
    let err = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap_err();
    assert!(err.diagnostics.len() <= 51, "{}", err.diagnostics.len());
    assert!(
        err.render(false)
            .contains("more syntax errors in this file"),
        "{}",
        err.render(false)
    );
}
