//! Machine configs against Talos's own golden files
//! (`tests/gen-golden/`, copied verbatim from Talos v1.14.0-rc.1's
//! `v1alpha1/testdata/stability/`): every file byte for byte.
//!
//! The `overrides-*` goldens were made by generating and then applying a
//! patch (`patch-pre14.yaml`, `patch.yaml`): they are checked both ways —
//! the generator's own output against the golden minus exactly the lines
//! the patch added, and generator + [`hlb_talos::patch`] against the whole
//! golden. Every generated config also validates against Talos's schema.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hlb_talos::bundle::SecretsBundle;
use hlb_talos::r#gen::{Contract, GenInput, GenOptions, Role, generate_config, parse_contract};

const CONTRACTS: [Contract; 3] = [Contract::V1_12, Contract::V1_13, Contract::V1_14];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gen-golden")
}

fn read(rel: &str) -> String {
    let path = golden_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn bundle() -> SecretsBundle {
    SecretsBundle::parse(&read("secrets.yaml")).expect("the golden bundle is valid")
}

fn overrides() -> GenOptions {
    GenOptions {
        additional_sans: vec!["foo".into(), "bar".into()],
        allow_scheduling_on_control_planes: true,
        dns_domain: Some("example.com".into()),
        install_disk: "/dev/vda".into(),
        install_extra_kernel_args: vec!["foo=bar".into(), "bar=baz".into()],
        local_api_server_port: Some(5443),
        sysctls: BTreeMap::from([("foo".to_string(), "bar".to_string())]),
        custom_cni_url: Some("https://example.com/cni.yaml".into()),
        registry_mirrors: BTreeMap::from([(
            "ghcr.io".to_string(),
            vec!["https://ghcr.io.my-mirror.com".to_string()],
        )]),
        ..GenOptions::default()
    }
}

fn generate(bundle: &SecretsBundle, contract: Contract, options: GenOptions, role: Role) -> String {
    let input = GenInput {
        bundle,
        cluster_name: "base".into(),
        endpoint: "https://base:6443".into(),
        kubernetes_version: "1.28.0".into(),
        contract,
        options,
    };
    generate_config(&input, role).expect("generation succeeds")
}

/// Byte equality, with a line diff in the failure message.
fn assert_same(name: &str, expected: &str, actual: &str) {
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected, actual)
            .unified_diff()
            .context_radius(3)
            .header("golden", "generated")
            .to_string();
        panic!("{name}: generated config differs from the golden file:\n{diff}");
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::ControlPlane => "controlplane",
        Role::Worker => "worker",
    }
}

#[test]
fn base_configs_match_talos_byte_for_byte() {
    let b = bundle();
    for contract in CONTRACTS {
        for role in [Role::ControlPlane, Role::Worker] {
            let name = format!("{contract}/base-{}.yaml", role_name(role));
            let golden = read(&name);
            let ours = generate(&b, contract, GenOptions::default(), role);
            assert_same(&name, &golden, &ours);
        }
    }
}

/// Remove from `golden` the block the patch added, checking that exactly
/// that block was there: `machine.kubelet.extraMounts` (pre-v1.14 patch)
/// or `KubeletConfig.clusterDNS` (v1.14 patch).
fn strip_patch(contract: Contract, golden: &str) -> String {
    let block = match contract {
        Contract::V1_12 | Contract::V1_13 => concat!(
            "        extraMounts:\n",
            "            - destination: /var/opt\n",
            "              type: bind\n",
            "              source: /var/opt\n",
            "              options:\n",
            "                - rshared\n",
        ),
        Contract::V1_14 => "clusterDNS:\n    - 3.3.3.3\n",
    };
    assert_eq!(
        golden.matches(block).count(),
        1,
        "the patched block appears exactly once in the {contract} golden"
    );
    golden.replacen(block, "", 1)
}

#[test]
fn overrides_configs_match_talos_before_the_patch() {
    let b = bundle();
    for contract in CONTRACTS {
        for role in [Role::ControlPlane, Role::Worker] {
            let name = format!("{contract}/overrides-{}.yaml", role_name(role));
            let golden = strip_patch(contract, &read(&name));
            let ours = generate(&b, contract, overrides(), role);
            assert_same(&name, &golden, &ours);
        }
    }
}

#[test]
fn generation_is_a_pure_function() {
    let b = bundle();
    for contract in CONTRACTS {
        let one = generate(&b, contract, overrides(), Role::ControlPlane);
        let two = generate(&b, contract, overrides(), Role::ControlPlane);
        assert_eq!(one, two);
    }
}

#[test]
fn install_image_goes_where_talos_puts_it() {
    let b = bundle();
    let options = GenOptions {
        install_disk: "/dev/sda".into(),
        install_image: "factory.talos.dev/installer/abc:v1.13.0".into(),
        ..GenOptions::default()
    };
    let classic = generate(&b, Contract::V1_13, options.clone(), Role::Worker);
    assert!(
        classic.contains(concat!(
            "    install:\n",
            "        disk: /dev/sda\n",
            "        image: factory.talos.dev/installer/abc:v1.13.0\n",
            "        wipe: false\n",
        )),
        "{classic}"
    );
    let multidoc = generate(&b, Contract::V1_14, options, Role::Worker);
    assert!(
        multidoc.contains(concat!(
            "kind: UnattendedInstallConfig\n",
            "installer:\n",
            "    image: factory.talos.dev/installer/abc:v1.13.0\n",
            "provisioning:\n",
            "    diskSelector:\n",
            "        match: disk.dev_path == \"/dev/sda\"\n",
        )),
        "{multidoc}"
    );
}

#[test]
fn bad_inputs_are_refused_with_a_reason() {
    let b = bundle();
    let input = |endpoint: &str, k8s: &str, name: &str| GenInput {
        bundle: &b,
        cluster_name: name.into(),
        endpoint: endpoint.into(),
        kubernetes_version: k8s.into(),
        contract: Contract::V1_13,
        options: GenOptions::default(),
    };
    let messages: Vec<String> = [
        input("http://base:6443", "1.28.0", "base"),
        input("https://:6443", "1.28.0", "base"),
        input("https://base:port", "1.28.0", "base"),
        input("https://base:6443", "1.28", "base"),
        input("https://base:6443", "1.28.0", ""),
    ]
    .iter()
    .map(|i| match generate_config(i, Role::Worker) {
        Ok(_) => "accepted".to_string(),
        Err(e) => e.to_string(),
    })
    .collect();
    insta::assert_snapshot!(messages.join("\n"), @r"
    control-plane endpoint `http://base:6443`: must be an https:// URL
    control-plane endpoint `https://:6443`: has no host
    control-plane endpoint `https://base:port`: has an invalid port
    Kubernetes version `1.28` is not of the form MAJOR.MINOR.PATCH
    cluster name is empty
    ");
}

#[test]
fn contracts_parse_from_talos_versions() {
    for (text, want) in [
        ("v1.12", Contract::V1_12),
        ("1.13", Contract::V1_13),
        ("v1.13.9", Contract::V1_13),
        ("v1.14.0-rc.1", Contract::V1_14),
    ] {
        assert_eq!(parse_contract(text).ok(), Some(want), "{text}");
    }
    let err = parse_contract("v1.11").map(|_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported Talos version contract `v1.11` (supported: v1.12, v1.13, v1.14)"
    );
}

fn patch_for(contract: Contract) -> String {
    read(match contract {
        Contract::V1_14 => "patch.yaml",
        Contract::V1_12 | Contract::V1_13 => "patch-pre14.yaml",
    })
}

#[test]
fn overrides_configs_match_talos_after_the_patch() {
    let b = bundle();
    for contract in CONTRACTS {
        for role in [Role::ControlPlane, Role::Worker] {
            let name = format!("{contract}/overrides-{}.yaml", role_name(role));
            let ours = generate(&b, contract, overrides(), role);
            let patched = hlb_talos::patch::apply_patch_texts(&ours, &[patch_for(contract)])
                .unwrap_or_else(|e| panic!("{name}: patch: {e}"));
            assert_same(&name, &read(&name), &patched);
        }
    }
}

#[test]
fn generated_configs_validate_against_talos_schema() {
    let b = bundle();
    for contract in CONTRACTS {
        for options in [GenOptions::default(), overrides()] {
            for role in [Role::ControlPlane, Role::Worker] {
                let text = generate(&b, contract, options.clone(), role);
                if let Err(e) = hlb_talos::schema::validate_config(contract, &text) {
                    panic!("{contract} {role:?}: {e}");
                }
            }
        }
    }
}

#[test]
fn registry_tls_documents_follow_the_mirrors_sorted_by_name() {
    let b = bundle();
    let options = GenOptions {
        registry_mirrors: BTreeMap::from([
            ("quay.io".to_string(), vec!["https://q.mirror".to_string()]),
            (
                "docker.io".to_string(),
                vec!["https://d1".to_string(), "https://d2".to_string()],
            ),
        ]),
        registry_ca_certs: BTreeMap::from([(
            "q.mirror".to_string(),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_string(),
        )]),
        registry_insecure: ["d1".to_string(), "q.mirror".to_string()].into(),
        ..GenOptions::default()
    };
    for contract in CONTRACTS {
        let text = generate(&b, contract, options.clone(), Role::Worker);
        let start = text
            .find("kind: RegistryMirrorConfig")
            .expect("mirror documents");
        let end = text
            .find("kind: HostnameConfig")
            .expect("hostname document");
        insta::assert_snapshot!(format!("registry_docs_{contract}"), &text[start..end]);
        if let Err(e) = hlb_talos::schema::validate_config(contract, &text) {
            panic!("{contract}: {e}");
        }
    }
}

#[test]
fn output_is_already_in_talos_encoding_order() {
    // Re-encoding (decode into Talos's types, encode again, as the patch
    // engine does) must not move anything, for option combinations the
    // goldens do not cover either.
    let b = bundle();
    let extra = GenOptions {
        install_image: "factory.talos.dev/installer/abc:v1.13.0".into(),
        registry_insecure: ["ghcr.io.my-mirror.com".to_string()].into(),
        pod_subnets: vec!["10.0.0.0/16".into(), "fd00::/56".into()],
        ..overrides()
    };
    for contract in CONTRACTS {
        for options in [GenOptions::default(), overrides(), extra.clone()] {
            for role in [Role::ControlPlane, Role::Worker] {
                let ours = generate(&b, contract, options.clone(), role);
                let again = hlb_talos::patch::reencode(&ours)
                    .unwrap_or_else(|e| panic!("{contract} {role:?}: {e}"));
                assert_same(&format!("{contract} {role:?} re-encoded"), &ours, &again);
            }
        }
    }
}
