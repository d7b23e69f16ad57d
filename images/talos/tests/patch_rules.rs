//! The per-type merge rules of Talos's strategic merge, one by one, and the
//! errors a patch can meet.

use hlb_talos::patch::{Patch, PatchError, apply_patch_texts};

fn apply(config: &str, patches: &[&str]) -> String {
    apply_patch_texts(config, patches).unwrap_or_else(|e| panic!("{e}"))
}

fn fail(config: &str, patches: &[&str]) -> PatchError {
    match apply_patch_texts(config, patches) {
        Ok(out) => panic!("expected an error, got\n{out}"),
        Err(e) => e,
    }
}

const BASE: &str = "version: v1alpha1\nmachine:\n    type: worker\n    token: abc\n    certSANs:\n        - a\n    install:\n        wipe: true\n    kubelet:\n        defaultRuntimeSeccompProfileEnabled: true\ncluster:\n    network:\n        podSubnets:\n            - 10.244.0.0/16\n    apiServer:\n        extraArgs:\n            a: \"1\"\n            b: \"2\"\n";

#[test]
fn zero_values_overwrite_only_bools_and_pointers() {
    let out = apply(
        BASE,
        &[
            "machine:\n  token: \"\"\n  install:\n    wipe: false\n  kubelet:\n    defaultRuntimeSeccompProfileEnabled: false\n",
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn lists_append_except_replaced_fields_and_args_overwrite_keys() {
    let out = apply(
        BASE,
        &[
            "machine:\n  certSANs: [b]\ncluster:\n  network:\n    podSubnets: [10.0.0.0/8]\n  apiServer:\n    extraArgs:\n      b: \"3\"\n      c: \"4\"\n",
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn devices_merge_by_selector_and_new_fields_land_in_struct_order() {
    let config = "version: v1alpha1\nmachine:\n    type: worker\n    token: \"\"\n    certSANs: []\n    network:\n        interfaces:\n            - deviceSelector:\n                hardwareAddr: aa:*\n              dhcp: true\ncluster: null\n";
    let out = apply(
        config,
        &[
            "machine:\n  network:\n    hostname: n1\n    interfaces:\n      - mtu: 9000\n        deviceSelector: {hardwareAddr: \"aa:*\"}\n",
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn json_patch_output_is_written_as_ghodss_yaml() {
    let out = apply(
        "version: v1alpha1\nmachine:\n    type: worker\n    certSANs: []\n",
        &["[{\"op\": \"add\", \"path\": \"/machine/certSANs/-\", \"value\": \"a\"}]"],
    );
    assert_eq!(
        out,
        "machine:\n  certSANs:\n  - a\n  type: worker\nversion: v1alpha1\n"
    );
    let err = fail(
        BASE,
        &["- op: replace\n  path: /machine/nope\n  value: 1\n"],
    );
    assert!(matches!(err, PatchError::Json6902(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("failure applying rfc6902 patches to talos machine config: ")
    );
}

#[test]
fn patch_errors_name_the_document_and_path() {
    let err = fail(BASE, &["machine:\n  kubelet:\n    imagee: x\n"]);
    assert_eq!(
        err.to_string(),
        "merge machine.kubelet.imagee in document '/v1alpha1': unknown field"
    );
    let err = fail(BASE, &["machine:\n  certSANs: foo\n"]);
    assert_eq!(
        err.to_string(),
        "merge machine.certSANs in document '/v1alpha1': expected a list, found a string"
    );
    let err = fail(BASE, &["version: v1alpha1\n$patch: delete\n"]);
    assert_eq!(
        err.to_string(),
        "patch: error processing patch delete statements at line 1: missing apiVersion in document for which $patch: delete is used"
    );
    let err = fail(BASE, &["apiVersion: \"\"\nkind: \"\"\n$patch: delete\n"]);
    assert_eq!(
        err.to_string(),
        "patch delete: path '' in document '/v1alpha1': can't delete the root of the legacy document"
    );
    let err = Patch::parse("machine:\n  network:\n    interfaces:\n      - interface: eth0\n        vip:\n          $patch: delete\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "patch: error processing patch delete statements at line 1: cannot delete an inner key in 'machine.network.interfaces.[0].vip'"
    );
    let err = Patch::parse("apiVersion: v1alpha1\nname: x\n").unwrap_err();
    assert_eq!(err.to_string(), "patch: 1:1: missing kind");
    let err = Patch::parse("apiVersion: v1alpha1\nkind: NoSuchConfig\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "patch: 1:1: unknown document kind \"NoSuchConfig\""
    );
}

#[test]
fn deleting_a_missing_map_key_fails_but_clearing_a_struct_field_does_not() {
    let err = fail(
        BASE,
        &["machine:\n  sysctls:\n    a:\n      $patch: delete\n"],
    );
    assert_eq!(
        err.to_string(),
        "patch delete: path 'machine.sysctls.a' in document '/v1alpha1': failed to delete path 'machine.sysctls.a': lookup failed"
    );
    // `machine.install` exists: clearing its unset `disk` zeroes a field.
    let out = apply(
        BASE,
        &["machine:\n  install:\n    disk:\n      $patch: delete\n"],
    );
    assert_eq!(out, apply(BASE, &["machine: {}\n"]));
}

#[test]
fn address_types_are_scalars_a_patch_can_set() {
    // netip-backed meta.Addr / meta.Prefix values marshal as text in Talos:
    // a patch replaces them like any scalar.
    let config = "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\naddresses:\n    - address: 10.0.0.11/24\nroutes:\n    - gateway: 10.0.0.1\n";
    let out = apply(
        config,
        &[
            "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nroutes:\n    - gateway: 10.0.0.254\n      destination: 192.168.0.0/16\n",
        ],
    );
    assert!(out.contains("gateway: 10.0.0.254"), "{out}");
    assert!(out.contains("destination: 192.168.0.0/16"), "{out}");
    assert!(
        out.contains("gateway: 10.0.0.1\n"),
        "routes are appended, the old one kept: {out}"
    );
}
