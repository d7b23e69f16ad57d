//! The `talos-config` and `talosconfig` compilers with a real secret source
//! (an age identity, a secrets directory, a lab key), on Talos's golden
//! secrets bundle.
//!
//! What must hold: with no node settings the machine config is Talos's
//! golden file byte for byte; with them, it still validates against Talos's
//! schema and carries the node's host name, address, VIP, labels and taints;
//! rebuilding gives the same plaintext; a bad patch fails naming the node
//! and the patch; the bundle is revealed only under its declared name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hlb_builder::{BuildCx, BuildError, Compiler, Derivation, SecretSource, Value};
use hlb_cache::Digest;
use hlb_secrets::age_file::generate_x25519_identity;
use hlb_secrets::{
    Identity, LabKey, Plaintext, Recipient, SecretName, SecretsDir, decrypt_with, encrypt_to,
    parse_identities,
};
use hlb_talos::compiler::{TalosConfigCompiler, TalosconfigCompiler};
use hlb_talos::r#gen::Contract;
use hlb_talos::schema::validate_config;

const BUNDLE: &str = "talos-home";

struct Secrets {
    _dir: tempfile::TempDir,
    store: SecretsDir,
    identities: Vec<Identity>,
    recipients: Vec<Recipient>,
    lab_key: LabKey,
    asked: Mutex<Vec<String>>,
}

impl Secrets {
    fn new(secrets: &[(&str, &[u8])]) -> Secrets {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate_x25519_identity();
        let identity_file = dir.path().join("identity.txt");
        std::fs::write(&identity_file, generated.identity_file.expose()).unwrap();
        let identities =
            parse_identities(&identity_file, generated.identity_file.expose()).unwrap();
        let store = SecretsDir::new(dir.path().join("secrets"));
        std::fs::create_dir(store.root()).unwrap();
        let lab_key = LabKey::from_bytes([7; 32]);
        let recipients = vec![generated.recipient];
        for (name, value) in secrets {
            store
                .set(
                    &SecretName::new(name).unwrap(),
                    &recipients,
                    &lab_key,
                    &Plaintext::from_slice(value),
                )
                .unwrap();
        }
        Secrets {
            _dir: dir,
            store,
            identities,
            recipients,
            lab_key,
            asked: Mutex::new(Vec::new()),
        }
    }

    fn tag(&self, name: &str) -> Vec<u8> {
        self.store
            .read_tag(&SecretName::new(name).unwrap())
            .unwrap()
            .to_file_text()
            .into_bytes()
    }
}

impl SecretSource for Secrets {
    fn reveal(&self, name: &str) -> Result<Plaintext, BuildError> {
        self.asked.lock().unwrap().push(name.to_string());
        let name = SecretName::new(name).map_err(|e| BuildError::Invalid(e.to_string()))?;
        self.store
            .read_verified(&name, &self.identities, &self.lab_key)
            .map_err(|e| BuildError::Invalid(e.to_string()))
    }
    fn lab_key(&self) -> Result<&LabKey, BuildError> {
        Ok(&self.lab_key)
    }
    fn seal_for_store(&self, p: &Plaintext) -> Result<Vec<u8>, BuildError> {
        encrypt_to(&self.recipients, p).map_err(|e| BuildError::Invalid(e.to_string()))
    }
}

fn golden(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/gen-golden")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn secrets() -> Secrets {
    Secrets::new(&[(BUNDLE, golden("secrets.yaml").as_bytes())])
}

/// A derivation as the planner makes it; `patches` are (name, text).
fn drv(
    s: &Secrets,
    kind: &str,
    params: Value,
    patches: &[(&str, &str)],
) -> (Derivation, BTreeMap<String, Vec<u8>>) {
    let mut sources = BTreeMap::new();
    sources.insert(format!("tag:{BUNDLE}"), s.tag(BUNDLE));
    let mut roles = Vec::new();
    let mut names = Vec::new();
    for (i, (name, text)) in patches.iter().enumerate() {
        sources.insert(format!("patch:{i}"), text.as_bytes().to_vec());
        roles.push(Value::from(format!("patch:{i}")));
        names.push(Value::from(*name));
    }
    let params = if kind == "talos-config" {
        params
            .with("patches", Value::List(roles))
            .with("patch_names", Value::List(names))
    } else {
        params
    };
    let d = Derivation {
        kind: kind.into(),
        name: "base-node".into(),
        builder_version: 1,
        params: params.with("secrets", BUNDLE),
        inputs: BTreeMap::new(),
        sources: sources
            .iter()
            .map(|(k, v)| (k.clone(), Digest::of(v)))
            .collect(),
        fixed_output: None,
        secret: true,
    };
    (d, sources)
}

/// Build, and open the sealed output with the identity.
fn build(
    c: &dyn Compiler,
    s: &Secrets,
    d: &Derivation,
    sources: &BTreeMap<String, Vec<u8>>,
) -> Result<String, BuildError> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let cx = BuildCx {
        id: d.id(),
        drv: d,
        inputs: BTreeMap::new(),
        sources: sources
            .iter()
            .map(|(k, v)| (k.clone(), Arc::<[u8]>::from(v.as_slice())))
            .collect(),
        out: &out,
        tmp: &tmp,
        secrets: s,
    };
    c.build(&cx)?;
    let sealed = std::fs::read(&out).unwrap();
    assert!(
        !sealed.windows(11).any(|w| w == b"-----BEGIN "),
        "the store holds ciphertext, never PEM"
    );
    let plain = decrypt_with(&s.identities, &sealed).unwrap();
    Ok(String::from_utf8(plain.expose().to_vec()).unwrap())
}

/// The golden inputs: cluster `base`, `https://base:6443`, Kubernetes 1.28.0.
fn base(contract: &str, role: &str) -> Value {
    Value::map()
        .with("cluster", "base")
        .with("talos_version", contract)
        .with("kubernetes_version", "1.28.0")
        .with("endpoint", "https://base:6443")
        .with("role", role)
        .with("install_disk", Value::Null)
        .with("schematic", Value::Null)
        .with("pod_cidr", Value::Null)
        .with("service_cidr", Value::Null)
        .with("cni", "flannel")
        .with("kube_proxy", true)
        .with("vip", Value::Null)
        .with("node", Value::Null)
}

fn node(role: &str) -> Value {
    let mut labels = BTreeMap::new();
    labels.insert(
        "topology.kubernetes.io/zone".to_string(),
        Value::from("rack1"),
    );
    let mut taints = BTreeMap::new();
    if role == "controlplane" {
        taints.insert("dedicated".to_string(), Value::from("infra:NoSchedule"));
    }
    Value::map()
        .with(
            "hostname",
            if role == "controlplane" { "cp1" } else { "w1" },
        )
        .with(
            "address",
            if role == "controlplane" {
                "10.0.0.11/24"
            } else {
                "10.0.0.12/24"
            },
        )
        .with("gateway", "10.0.0.1")
        .with("link", "eth0")
        .with("nameservers", vec!["10.0.0.53"])
        .with("labels", Value::Map(labels))
        .with("taints", Value::Map(taints))
}

fn full(contract: &str, role: &str) -> Value {
    base(contract, role)
        .with("node", node(role))
        .with(
            "vip",
            if role == "controlplane" {
                Value::from("10.0.0.10")
            } else {
                Value::Null
            },
        )
        .with("cni", "none")
        .with("kube_proxy", false)
        .with("install_disk", "/dev/sda")
        .with(
            "schematic",
            Value::map()
                .with("extensions", vec!["siderolabs/qemu-guest-agent"])
                .with("extra_kernel_args", Vec::<String>::new()),
        )
}

fn parse(contract: &str) -> Contract {
    Contract::parse(contract).unwrap()
}

#[test]
fn base_inputs_give_talos_golden_bytes() {
    let s = secrets();
    for contract in ["v1.12", "v1.13", "v1.14"] {
        for role in ["controlplane", "worker"] {
            let (d, src) = drv(&s, "talos-config", base(contract, role), &[]);
            let text = build(&TalosConfigCompiler, &s, &d, &src).unwrap();
            let want = golden(&format!("{contract}/base-{role}.yaml"));
            assert!(
                text == want,
                "{contract} {role}: differs from the golden file"
            );
        }
    }
    assert!(s.asked.lock().unwrap().iter().all(|n| n == BUNDLE));
}

#[test]
fn node_settings_land_in_a_config_that_validates() {
    let s = secrets();
    for contract in ["v1.12", "v1.13", "v1.14"] {
        for role in ["controlplane", "worker"] {
            let (d, src) = drv(&s, "talos-config", full(contract, role), &[]);
            let text = build(&TalosConfigCompiler, &s, &d, &src)
                .unwrap_or_else(|e| panic!("{contract} {role}: {e}"));
            validate_config(parse(contract), &text)
                .unwrap_or_else(|e| panic!("{contract} {role}: {e}"));
            let host = if role == "controlplane" { "cp1" } else { "w1" };
            let ip = if role == "controlplane" {
                "10.0.0.11/24"
            } else {
                "10.0.0.12/24"
            };
            for want in [
                format!("hostname: {host}"),
                format!("address: {ip}"),
                "gateway: 10.0.0.1".into(),
                "address: 10.0.0.53".into(),
                "topology.kubernetes.io/zone: rack1".into(),
                "factory.talos.dev/installer/".into(),
            ] {
                assert!(
                    text.contains(&want),
                    "{contract} {role}: no `{want}` in\n{text}"
                );
            }
            assert!(
                !text.contains("auto: stable"),
                "{contract} {role}: the fixed name replaces `auto`"
            );
            if role == "controlplane" {
                assert!(
                    text.contains("kind: Layer2VIPConfig\nname: 10.0.0.10\n"),
                    "{contract}: VIP"
                );
                assert!(
                    text.contains("dedicated: infra:NoSchedule"),
                    "{contract}: taint"
                );
            } else {
                assert!(
                    !text.contains("Layer2VIPConfig"),
                    "{contract}: workers hold no VIP"
                );
            }
            if contract == "v1.14" {
                assert!(
                    !text.contains("KubeFlannelCNIConfig"),
                    "v1.14 {role}: no flannel"
                );
            } else {
                assert!(text.contains("name: none"), "{contract} {role}: CNI none");
                assert!(
                    text.contains("disabled: true"),
                    "{contract} {role}: kube-proxy off"
                );
            }
        }
    }
}

#[test]
fn rebuilding_gives_the_same_plaintext() {
    let s = secrets();
    let patch = (
        "patches/sysctls.yaml",
        "machine:\n  sysctls:\n    vm.nr_hugepages: \"128\"\n",
    );
    let (d, src) = drv(&s, "talos-config", full("v1.13", "controlplane"), &[patch]);
    let a = build(&TalosConfigCompiler, &s, &d, &src).unwrap();
    let b = build(&TalosConfigCompiler, &s, &d, &src).unwrap();
    assert_eq!(a, b);
    assert!(
        a.contains("vm.nr_hugepages: \"128\""),
        "the recipe's patch applies"
    );
    let tc = Value::map()
        .with("cluster", "home")
        .with("endpoints", vec!["10.0.0.11"])
        .with("nodes", vec!["10.0.0.11", "10.0.0.12"])
        .with("valid_from", 1_767_225_600i64)
        .with("valid_seconds", 365 * 24 * 3600i64);
    let (d, src) = drv(&s, "talosconfig", tc, &[]);
    let a = build(&TalosconfigCompiler, &s, &d, &src).unwrap();
    let b = build(&TalosconfigCompiler, &s, &d, &src).unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("context: home\n"), "{a}");
    assert!(a.contains("- 10.0.0.11"));
}

#[test]
fn a_bad_patch_fails_naming_the_node_and_the_patch() {
    let s = secrets();
    let patch = (
        "patches/oops.yaml",
        "machine:\n  network:\n    hostname:\n      $patch: delete\n",
    );
    let (d, src) = drv(&s, "talos-config", full("v1.13", "worker"), &[patch]);
    let err = build(&TalosConfigCompiler, &s, &d, &src)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("node w1") && err.contains("patches/oops.yaml"),
        "{err}"
    );
    let invalid = (
        "patches/typo.yaml",
        "machine:\n  install:\n    disk: 42\n    wipe: maybe\n",
    );
    let (d, src) = drv(&s, "talos-config", full("v1.13", "worker"), &[invalid]);
    let err = build(&TalosConfigCompiler, &s, &d, &src)
        .unwrap_err()
        .to_string();
    assert!(err.contains("node w1"), "{err}");
}

#[test]
fn the_bundle_needs_its_tag_source() {
    let s = secrets();
    let (d, mut src) = drv(&s, "talos-config", base("v1.13", "worker"), &[]);
    src.remove(&format!("tag:{BUNDLE}"));
    let mut d = d;
    d.sources.remove(&format!("tag:{BUNDLE}"));
    let err = build(&TalosConfigCompiler, &s, &d, &src).unwrap_err();
    assert!(matches!(err, BuildError::Internal(_)), "{err}");
    assert!(s.asked.lock().unwrap().is_empty(), "nothing revealed");
}

#[test]
fn a_patch_talos_would_refuse_fails_schema_validation() {
    let s = secrets();
    // `machine.time` left the v1alpha1 document in the v1.13 schema.
    let patch = (
        "patches/time.yaml",
        "machine:\n  time:\n    servers:\n      - time.cloudflare.com\n",
    );
    let (d, src) = drv(&s, "talos-config", full("v1.13", "controlplane"), &[patch]);
    let err = build(&TalosConfigCompiler, &s, &d, &src)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("node cp1") && err.contains("/machine") && err.contains("time"),
        "{err}"
    );
}

/// The planner's derivations, built by these compilers: the recipe → plan →
/// build path a `hlb build` takes, on the golden bundle.
#[test]
fn a_planned_cluster_builds_and_validates() {
    use hlb_builder::io::{MemIo, RelPath};
    use hlb_builder::lock::Lock;

    let s = secrets();
    for contract in ["v1.12.0", "v1.13.2", "v1.14.0"] {
        let lab = format!(
            r#"
lab "home"
secret "{BUNDLE}"
talos-cluster "home" {{
    talos-version "{contract}"
    kubernetes-version "1.33.4"
    endpoint "https://10.0.0.10:6443"
    vip "10.0.0.10"
    secrets "{BUNDLE}"
    admin-cert-valid-from "2026-01-01T00:00:00Z"
    cni "none"; kube-proxy #false
    install-disk "/dev/sda"
    schematic {{ extension "siderolabs/qemu-guest-agent"; extra-kernel-arg "net.ifnames=0"; }}
    patch "patches/common.yaml"
    patch "patches/cp.yaml" role="controlplane"
    node "cp1" role="controlplane" {{
        address "10.0.0.11/24" gateway="10.0.0.1"
        nameserver "10.0.0.53"
        label "topology.kubernetes.io/zone" "rack1"
        taint "dedicated" "infra:NoSchedule"
    }}
    node "w1" role="worker" {{ address "10.0.0.12/24" gateway="10.0.0.1"; }}
}}
"#
        );
        let io = MemIo::new()
            .with("lab.kdl", lab)
            .with(
                &format!("secrets/{BUNDLE}.age"),
                "unused: the test's source reveals",
            )
            .with(&format!("secrets/{BUNDLE}.tag"), s.tag(BUNDLE))
            // Valid in every contract's v1alpha1 document.
            .with(
                "patches/common.yaml",
                "machine:\n  certSANs:\n    - lab.example.org\n",
            )
            .with(
                "patches/cp.yaml",
                "machine:\n  certSANs:\n    - cp.example.org\n",
            );
        let lab = hlb_builder::load::load(&io, &RelPath::new("lab.kdl").unwrap())
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let plan = hlb_builder::plan::plan(&lab, &Lock::default(), &|_| Some(1))
            .unwrap_or_else(|d| panic!("{}", d.render(&lab.sources, false)));
        let mut built = 0;
        for (target, arts) in &plan.targets {
            for id in arts.artifacts.values() {
                let d = plan.graph.get(id).unwrap();
                // The secrets bundle is a `file` artifact (hlb-images').
                if d.kind == hlb_builder::kinds::FILE {
                    continue;
                }
                let sources: BTreeMap<String, Vec<u8>> = d
                    .sources
                    .iter()
                    .map(|(role, digest)| (role.clone(), plan.sources[digest].to_vec()))
                    .collect();
                let compiler: &dyn Compiler = match d.kind.as_str() {
                    "talos-config" => &TalosConfigCompiler,
                    _ => &TalosconfigCompiler,
                };
                let text = build(compiler, &s, d, &sources)
                    .unwrap_or_else(|e| panic!("{contract} {target}: {e}"));
                if d.kind == "talos-config" {
                    validate_config(parse(contract), &text).unwrap();
                    assert!(text.contains("- lab.example.org"), "{contract} {target}");
                    assert_eq!(
                        text.contains("- cp.example.org"),
                        target.ends_with("/cp1"),
                        "{contract} {target}: the role patch reaches control planes only"
                    );
                } else {
                    assert!(text.contains("- 10.0.0.11\n"), "{text}");
                }
                built += 1;
            }
        }
        assert_eq!(built, 3, "{contract}");
    }
}

/// The `crt:` of a talosconfig, parsed.
fn admin_cert(talosconfig: &str) -> x509_cert::Certificate {
    use base64::Engine as _;
    let line = talosconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("crt: "))
        .expect("a crt line");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(line)
        .unwrap();
    hlb_talos::bundle::pki::parse_certificate_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
}

#[test]
fn the_admin_certificate_takes_its_validity_from_the_recipe_and_its_key_from_the_id() {
    let s = secrets();
    let params = |from: i64| {
        Value::map()
            .with("cluster", "home")
            .with("endpoints", vec!["10.0.0.11"])
            .with("nodes", Vec::<String>::new())
            .with("valid_from", from)
            .with("valid_seconds", 365 * 24 * 3600i64)
    };
    let (d, src) = drv(&s, "talosconfig", params(1_767_225_600), &[]);
    let a = build(&TalosconfigCompiler, &s, &d, &src).unwrap();
    let cert = admin_cert(&a);
    let validity = &cert.tbs_certificate.validity;
    assert_eq!(
        validity.not_before.to_unix_duration().as_secs(),
        1_767_225_600
    );
    assert_eq!(
        validity.not_after.to_unix_duration().as_secs(),
        1_767_225_600 + 365 * 24 * 3600
    );
    assert!(
        cert.tbs_certificate
            .subject
            .to_string()
            .contains("os:admin"),
        "{}",
        cert.tbs_certificate.subject
    );
    let os_ca = hlb_talos::bundle::SecretsBundle::parse(&golden("secrets.yaml")).unwrap();
    let ca = hlb_talos::bundle::pki::parse_certificate_pem(&os_ca.certs.os.crt).unwrap();
    assert_eq!(
        cert.tbs_certificate.issuer, ca.tbs_certificate.subject,
        "signed by the OS CA"
    );
    assert!(
        !a.contains("nodes:"),
        "no default nodes when none are given"
    );

    // Another start: another derivation, another key.
    let (d2, src2) = drv(&s, "talosconfig", params(1_798_761_600), &[]);
    let b = build(&TalosconfigCompiler, &s, &d2, &src2).unwrap();
    let key = |t: &str| {
        t.lines()
            .find(|l| l.trim().starts_with("key: "))
            .unwrap()
            .to_string()
    };
    assert_ne!(key(&a), key(&b), "the key's seed covers the derivation id");
}

#[test]
fn without_an_identity_the_build_says_so() {
    let s = secrets();
    let (d, src) = drv(&s, "talos-config", base("v1.13", "worker"), &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cx = BuildCx {
        id: d.id(),
        drv: &d,
        inputs: BTreeMap::new(),
        sources: src
            .iter()
            .map(|(k, v)| (k.clone(), Arc::<[u8]>::from(v.as_slice())))
            .collect(),
        out: &out,
        tmp: dir.path(),
        secrets: &hlb_builder::NoSecrets,
    };
    let err = TalosConfigCompiler.build(&cx).unwrap_err();
    assert!(matches!(err, BuildError::NeedsIdentity(_)), "{err}");
    assert!(!out.exists(), "nothing written");
}
