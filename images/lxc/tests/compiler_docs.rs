//! The `lxc-template` params example in docs/lxc.md is accepted as
//! written: building it without its `.deb` inputs gets past every params
//! check and stops only at the first missing input.

use std::collections::BTreeMap;

use hlb_builder::{BuildCx, Compiler, Derivation, NoSecrets, Value};
use hlb_lxc::LxcTemplateCompiler;

fn params_example() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lxc.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let start = doc
        .find("```json\n{\n  \"hostname\"")
        .expect("docs/lxc.md has the lxc-template params example");
    let body = &doc[start + "```json\n".len()..];
    let end = body.find("\n```").expect("closed code block");
    serde_json::from_str(&body[..end]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_documented_params_are_accepted() {
    let params = params_example();
    let drv = Derivation {
        kind: hlb_builder::kinds::LXC_TEMPLATE.to_owned(),
        name: "dns".to_owned(),
        builder_version: LxcTemplateCompiler.version(),
        params,
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        fixed_output: None,
        secret: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cx = BuildCx {
        id: drv.id(),
        drv: &drv,
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        out: &out,
        tmp: dir.path(),
        secrets: &NoSecrets,
    };
    let e = LxcTemplateCompiler
        .build(&cx)
        .expect_err("no .deb inputs")
        .to_string();
    assert_eq!(
        e,
        "lxc-template dns: package dnsdist has no input `deb:dnsdist`"
    );
    assert!(!out.exists());
}
