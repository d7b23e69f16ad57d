//! Talos's generated configs validate against the schema of their contract
//! (with only the documented deviations); broken configs fail precisely.

use std::path::PathBuf;

use hlb_talos::schema::{Contract, SchemaError, validate_config};

fn golden(version: &str, case: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schema-golden")
        .join(version)
        .join(format!("{case}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const CASES: [&str; 4] = [
    "base-controlplane",
    "base-worker",
    "overrides-controlplane",
    "overrides-worker",
];

#[test]
fn all_golden_configs_validate() {
    for version in ["v1.12", "v1.13", "v1.14"] {
        let contract = Contract::parse(version).unwrap();
        for case in CASES {
            if let Err(e) = validate_config(contract, &golden(version, case)) {
                panic!("{version}/{case}: {e}");
            }
        }
    }
}

fn errors(contract: Contract, text: &str) -> String {
    match validate_config(contract, text) {
        Ok(()) => panic!("expected a schema error"),
        Err(e @ SchemaError::Invalid { .. }) => e.to_string(),
        Err(other) => panic!("expected violations, got {other}"),
    }
}

#[test]
fn broken_configs_fail_with_kind_and_path() {
    let base = golden("v1.13", "base-worker");
    let typo = base.replacen("    kubelet:\n", "    kubelet:\n        imagee: foo\n", 1);
    assert_ne!(typo, base);
    insta::assert_snapshot!("unknown_field_v1_13", errors(Contract::V1_13, &typo));

    let wrong_type = base.replacen("debug: false", "debug: \"no\"", 1);
    assert_ne!(wrong_type, base);
    insta::assert_snapshot!("wrong_type_v1_13", errors(Contract::V1_13, &wrong_type));

    let v14 = golden("v1.14", "base-worker");
    let bad_doc =
        format!("{v14}---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: sometimes\n");
    insta::assert_snapshot!(
        "bad_enum_second_document_v1_14",
        errors(Contract::V1_14, &bad_doc)
    );
}

#[test]
fn deviations_are_scoped_to_their_contract() {
    // `persist` is excused everywhere; extraKernelArgs only under v1.12/v1.13.
    let cfg = "version: v1alpha1\npersist: true\nmachine:\n    type: worker\n    install:\n        extraKernelArgs: [a=b]\n";
    validate_config(Contract::V1_13, cfg).unwrap();
    let e = errors(Contract::V1_14, cfg);
    assert!(e.contains("install"), "{e}");
    // v1.12's `machine.network: {}` is excused only while empty.
    let empty = "version: v1alpha1\nmachine:\n    type: worker\n    network: {}\n";
    validate_config(Contract::V1_12, empty).unwrap();
    let set = empty.replace("network: {}", "network:\n        hostname: a");
    let e = errors(Contract::V1_12, &set);
    assert!(e.contains("'network' was unexpected"), "{e}");
}

#[test]
fn unknown_kinds_and_contracts() {
    let e = validate_config(
        Contract::V1_14,
        "apiVersion: v1alpha1\nkind: NoSuchConfig\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "document 1: kind \"NoSuchConfig\" is not in the Talos v1.14 schema (config.schema.v1.14.json)"
    );
    assert_eq!(Contract::parse("v1.13.9"), Some(Contract::V1_13));
    assert_eq!(Contract::parse("v1.11"), None);
}
