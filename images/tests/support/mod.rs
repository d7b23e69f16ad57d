//! Running a compiler the way the scheduler does: a derivation, sources,
//! inputs and a fresh output path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, Value};

pub struct Run {
    /// Keeps the output's directory alive for the test.
    pub _dir: tempfile::TempDir,
    pub out: PathBuf,
}

impl Run {
    /// Not every test binary reads directory outputs.
    #[allow(dead_code)]
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out.join(rel)).unwrap()
    }
}

pub fn drv(kind: &str, name: &str, params: Value) -> Derivation {
    Derivation {
        kind: kind.into(),
        name: name.into(),
        builder_version: 1,
        params,
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        fixed_output: None,
        secret: false,
    }
}

/// Build `drv` with `compiler` (not every test binary does); `src` is recipe source `src` when given,
/// `input` an input directory for role `src`.
#[allow(dead_code)]
pub fn build(
    compiler: &dyn Compiler,
    drv: &Derivation,
    src: Option<&[u8]>,
    input: Option<&Path>,
) -> (Run, Result<(), BuildError>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut sources = BTreeMap::new();
    if let Some(bytes) = src {
        sources.insert("src".to_string(), Arc::<[u8]>::from(bytes));
    }
    let mut inputs = BTreeMap::new();
    if let Some(p) = input {
        inputs.insert("src".to_string(), p.to_path_buf());
    }
    let cx = BuildCx {
        id: drv.id(),
        drv,
        inputs,
        sources,
        out: &out,
        tmp: &tmp,
        secrets: &hlb_builder::NoSecrets,
    };
    let result = compiler.build(&cx);
    (Run { _dir: dir, out }, result)
}

pub mod secrets;
