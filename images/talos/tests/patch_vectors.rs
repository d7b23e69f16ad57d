//! Talos's own config patcher vectors (`configpatcher/testdata`), used the
//! way upstream `apply_test.go` uses them: inputs, patches in order, and the
//! expected bytes or the expected failure.

use std::path::PathBuf;

use hlb_talos::patch::{Patch, PatchError, apply_patches, load_patches};

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/patch-vectors")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn patches(dir: &str, names: &[&str]) -> Vec<Patch> {
    names
        .iter()
        .map(|n| {
            Patch::parse(&read(&format!("{dir}/{n}.yaml"))).unwrap_or_else(|e| panic!("{n}: {e}"))
        })
        .collect()
}

#[track_caller]
fn assert_text(got: &str, want: &str) {
    if got != want {
        panic!("output differs\n--- got\n{got}\n--- want\n{want}");
    }
}

#[test]
fn apply_strategic_and_json_in_order() {
    let ps = patches(
        "apply",
        &[
            "strategic1",
            "jsonpatch1",
            "jsonpatch2",
            "strategic2",
            "strategic3",
        ],
    );
    assert!(ps[1].is_json6902() && !ps[0].is_json6902());
    let out = apply_patches(&read("apply/config.yaml"), &ps).unwrap();
    assert_text(&out, &read("apply/expected.yaml"));
}

#[test]
fn apply_manifest_with_leading_empty_line() {
    let out = apply_patches(
        &read("apply/config.yaml"),
        &patches("apply", &["strategic4"]),
    )
    .unwrap();
    assert_text(&out, &read("apply/expected_manifests.yaml"));
}

#[test]
fn multidoc_merges_appends_and_skips_absent_deletes() {
    let ps = patches("multidoc", &["strategic1", "strategic2", "strategic3"]);
    let out = apply_patches(&read("multidoc/config.yaml"), &ps).unwrap();
    assert_text(&out, &read("multidoc/expected.yaml"));
}

#[test]
fn json_patch_on_multidoc_is_refused() {
    let err = apply_patches(
        &read("multidoc/config.yaml"),
        &patches("multidoc", &["jsonpatch"]),
    )
    .unwrap_err();
    assert_eq!(err, PatchError::JsonMultiDocument);
    assert_eq!(
        err.to_string(),
        "JSON6902 patches are not supported for multi-document machine configuration"
    );
}

#[test]
fn strategic_on_empty_config_appends_documents() {
    let out = apply_patches("", &patches("multidoc", &["strategic2"])).unwrap();
    let want = "apiVersion: v1alpha1\nkind: SideroLinkConfig\napiUrl: https://siderolink.api/join?jointoken=secret&user=bob\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: foo\nconfigFiles:\n    - content: hello world\n      mountPath: /etc/foo\n    - content: another hello\n      mountPath: /etc/bar\nenvironment:\n    - XXX=YYY\n";
    assert_text(&out, want);
}

#[test]
fn audit_policy_is_replaced_not_merged() {
    let out = apply_patches(
        &read("auditpolicy/config.yaml"),
        &patches("auditpolicy", &["patch1"]),
    )
    .unwrap();
    assert_text(&out, &read("auditpolicy/expected.yaml"));
}

#[test]
fn patch_delete_on_documents_list_items_and_fields() {
    let out = apply_patches(
        &read("patchdelete/config.yaml"),
        &patches("patchdelete", &["strategic1"]),
    )
    .unwrap();
    assert_text(&out, &read("patchdelete/expected.yaml"));
}

#[test]
fn patch_delete_on_a_generated_controlplane() {
    let ps = patches("patchdelete", &["strategic2", "strategic3", "strategic4"]);
    let out = apply_patches(&read("patchdelete/controlplane_orig.yaml"), &ps).unwrap();
    assert_text(&out, &read("patchdelete/controlplane_expected.yaml"));
}

#[test]
fn patch_delete_of_a_missing_path_fails_with_talos_message() {
    let err = apply_patches(
        &read("patchdeletemissing/config.yaml"),
        &patches("patchdeletemissing", &["strategic1"]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "patch delete: path 'machine.network.hostname' in document '/v1alpha1': failed to delete path 'machine.network.hostname': lookup failed"
    );
}

#[test]
fn patch_link_and_mixed() {
    for dir in ["patchlink", "patchmixed"] {
        let out = apply_patches(
            &read(&format!("{dir}/base.yaml")),
            &patches(dir, &["patch"]),
        )
        .unwrap();
        assert_text(&out, &read(&format!("{dir}/expected.yaml")));
    }
}

#[test]
fn loader_detects_the_format() {
    assert!(Patch::parse(&read("patch.yaml")).unwrap().is_json6902());
    let json = load_patches(&[read("patch.json"), read("patch.yaml")]).unwrap();
    assert_eq!(json.len(), 1, "consecutive JSON patches are joined");
    assert!(!Patch::parse(&read("strategic.yaml")).unwrap().is_json6902());
}

#[test]
fn no_patch_keeps_the_text() {
    let text = read("apply/config.yaml");
    assert_eq!(apply_patches(&text, &[]).unwrap(), text);
}

/// Talos's generated configs are what Talos's encoder writes: re-encoding
/// them (what every strategic patch does) must not change a byte.
#[test]
fn generated_configs_reencode_byte_for_byte() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schema-golden");
    let mut seen = 0;
    for version in ["v1.12", "v1.13", "v1.14"] {
        for case in [
            "base-controlplane",
            "base-worker",
            "overrides-controlplane",
            "overrides-worker",
        ] {
            let path = dir.join(version).join(format!("{case}.yaml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let out = hlb_talos::patch::reencode(&text)
                .unwrap_or_else(|e| panic!("{version}/{case}: {e}"));
            if out != text {
                let diff: Vec<String> = out
                    .lines()
                    .zip(text.lines())
                    .filter(|(a, b)| a != b)
                    .take(5)
                    .map(|(a, b)| format!("got  {a}\nwant {b}"))
                    .collect();
                panic!("{version}/{case} changed:\n{}", diff.join("\n"));
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 12);
}

/// The golden "overrides" configs are generated and then patched: taking
/// the patched part out again and re-applying Talos's patch must give the
/// golden bytes back (new fields land in struct order, items in field order).
#[test]
fn golden_overrides_patch_round_trip() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schema-golden");
    let file = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    let cases = [
        (
            "v1.12",
            "patch-pre14.yaml",
            "machine:\n  kubelet:\n    extraMounts:\n      $patch: delete\n",
        ),
        (
            "v1.13",
            "patch-pre14.yaml",
            "machine:\n  kubelet:\n    extraMounts:\n      $patch: delete\n",
        ),
        (
            "v1.14",
            "patch.yaml",
            "apiVersion: v1alpha1\nkind: KubeletConfig\nclusterDNS:\n  $patch: delete\n",
        ),
    ];
    for (version, patch, undo) in cases {
        for role in ["controlplane", "worker"] {
            let golden = file(&format!("{version}/overrides-{role}.yaml"));
            let unpatched = apply_patches(&golden, &[Patch::parse(undo).unwrap()]).unwrap();
            assert_ne!(
                unpatched, golden,
                "{version}/{role}: the undo patch removed nothing"
            );
            let out = apply_patches(&unpatched, &[Patch::parse(&file(patch)).unwrap()]).unwrap();
            assert_text(&out, &golden);
        }
    }
}
