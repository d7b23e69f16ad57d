//! `hlb talos …` through the real binary: `gen config` as a drop-in for
//! `talosctl gen config` (Talos's own golden files, byte for byte), the
//! secrets bundle kept as an hlb secret (init, import, export), refusals,
//! the help text, and the commands docs/talos.md shows.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use hlb_talos::bundle::SecretsBundle;
use hlb_talos::bundle::pki::{PrivateKey, check_key_matches, parse_certificate_pem};

const CONTRACTS: [&str; 3] = ["v1.12", "v1.13", "v1.14"];

fn golden_dir() -> PathBuf {
    repo_root().join("images/talos/tests/gen-golden")
}

fn golden(rel: &str) -> String {
    let p = golden_dir().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn golden_path(rel: &str) -> String {
    golden_dir().join(rel).to_string_lossy().into_owned()
}

fn invalid_fixture() -> String {
    repo_root()
        .join("images/talos/tests/bundle-fixtures/invalid-secrets.yaml")
        .to_string_lossy()
        .into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Byte equality with a line diff on failure.
#[track_caller]
fn assert_same(what: &str, expected: &str, actual: &str) {
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected, actual)
            .unified_diff()
            .header("golden", "hlb")
            .to_string();
        panic!("{what} differs from the golden file:\n{diff}");
    }
}

/// Standard base64 (with padding), enough to read a talosconfig.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base64 character") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `hlb talos gen config base https://base:6443 …` in `dir`, as the issue writes it.
fn gen_config(world: &World, dir: &Path, extra: &[&str]) -> Output {
    let secrets = golden_path("secrets.yaml");
    let mut args = vec![
        "talos",
        "gen",
        "config",
        "base",
        "https://base:6443",
        "--with-secrets",
        &secrets,
        "--kubernetes-version",
        "1.28.0",
        "--install-image",
        "",
        "--with-docs=false",
        "--with-examples=false",
    ];
    args.extend(extra);
    world
        .cmd(&world.path().join("recipes"))
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("run hlb")
}

#[test]
fn base_configs_are_talos_goldens_byte_for_byte() {
    let world = World::new();
    for v in CONTRACTS {
        let out = world.path().join(v);
        std::fs::create_dir_all(&out).unwrap();
        let o = gen_config(&world, &out, &["--talos-version", v, "--install-disk", ""]);
        ok(&o);
        assert_eq!(
            stderr(&o),
            "created controlplane.yaml\ncreated worker.yaml\ncreated talosconfig\n"
        );
        for role in ["controlplane", "worker"] {
            assert_same(
                &format!("{v} {role}.yaml"),
                &golden(&format!("{v}/base-{role}.yaml")),
                &read(&out.join(format!("{role}.yaml"))),
            );
        }
    }
}

#[test]
fn talosconfig_holds_a_fresh_admin_certificate_from_the_os_ca() {
    let world = World::new();
    let o = gen_config(&world, world.path(), &["-t", "talosconfig", "-o", "-"]);
    let text = ok(&o);
    let bundle = SecretsBundle::parse(&golden("secrets.yaml")).unwrap();
    let field = |name: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in talosconfig:\n{text}"));
        String::from_utf8(base64_decode(line.split_once(": ").unwrap().1)).unwrap()
    };
    assert!(
        text.starts_with("context: base\ncontexts:\n    base:\n        endpoints: []\n"),
        "{text}"
    );
    assert_eq!(field("ca"), bundle.certs.os.crt);
    let crt = parse_certificate_pem(&field("crt")).unwrap();
    let key = PrivateKey::from_pem(&field("key")).unwrap();
    check_key_matches(&crt, &key).expect("the key is the certificate's");
    let tbs = &crt.tbs_certificate;
    assert_eq!(tbs.subject.to_string(), "O=os:admin");
    let os_ca = parse_certificate_pem(&bundle.certs.os.crt).unwrap();
    assert_eq!(tbs.issuer, os_ca.tbs_certificate.subject);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let nb = tbs.validity.not_before.to_unix_duration().as_secs();
    let na = tbs.validity.not_after.to_unix_duration().as_secs();
    assert!(nb <= now && now - nb < 600, "issued now: {nb} vs {now}");
    assert_eq!(na - nb, 365 * 86_400, "valid for one year");
    // A second run mints a different key.
    let again = ok(&gen_config(
        &world,
        world.path(),
        &["-t", "talosconfig", "-o", "-"],
    ));
    assert_ne!(again, text);
}

/// What Talos's overrides case sets through generator options that
/// `talosctl gen config` has no flag for (extra kernel args, sysctls, a
/// custom CNI, the local API server port, scheduling on control planes),
/// expressed as the patches a talosctl user writes instead.
const EXTRAS_PRE14: &str = "\
machine:
  install:
    extraKernelArgs: [foo=bar, bar=baz]
  sysctls:
    foo: bar
cluster:
  network:
    cni:
      name: custom
      urls: [https://example.com/cni.yaml]
";
const EXTRAS_PRE14_CP: &str = "\
cluster:
  controlPlane:
    localAPIServerPort: 5443
  allowSchedulingOnControlPlanes: true
";
const EXTRAS_14: &str = "\
apiVersion: v1alpha1
kind: SysctlConfig
params:
  foo: bar
";
const EXTRAS_14_CP: &str = "\
apiVersion: v1alpha1
kind: KubeFlannelCNIConfig
$patch: delete
---
apiVersion: v1alpha1
kind: KubeExternalManifestConfig
name: custom-cni
url: https://example.com/cni.yaml
---
apiVersion: v1alpha1
kind: KubeNodeConfig
taints:
  $patch: delete
---
apiVersion: v1alpha1
kind: KubeAPIServerConfig
apiPort: 5443
";

fn overrides(world: &World, v: &str) -> PathBuf {
    let out = world.path().join(format!("overrides-{v}"));
    std::fs::create_dir_all(&out).unwrap();
    let (all, cp, golden_patch) = if v == "v1.14" {
        (EXTRAS_14, EXTRAS_14_CP, golden_path("patch.yaml"))
    } else {
        (
            EXTRAS_PRE14,
            EXTRAS_PRE14_CP,
            golden_path("patch-pre14.yaml"),
        )
    };
    std::fs::write(out.join("extras.yaml"), all).unwrap();
    let golden_patch = format!("@{golden_patch}");
    ok(&gen_config(
        world,
        &out,
        &[
            "--talos-version",
            v,
            "--install-disk",
            "/dev/vda",
            "--additional-sans",
            "foo,bar",
            "--dns-domain",
            "example.com",
            "--registry-mirror",
            "ghcr.io=https://ghcr.io.my-mirror.com",
            "--config-patch",
            "@extras.yaml",
            "--config-patch",
            &golden_patch,
            "--config-patch-control-plane",
            cp,
            "-t",
            "controlplane,worker",
        ],
    ));
    out
}

#[test]
fn overrides_through_flags_and_patches_match_talos_before_v1_14() {
    let world = World::new();
    for v in ["v1.12", "v1.13"] {
        let out = overrides(&world, v);
        for role in ["controlplane", "worker"] {
            assert_same(
                &format!("{v} overrides {role}.yaml"),
                &golden(&format!("{v}/overrides-{role}.yaml")),
                &read(&out.join(format!("{role}.yaml"))),
            );
        }
    }
}

/// Under v1.14 a patch appends the documents the config lacks (Talos does
/// the same), so a `SysctlConfig` made by a patch comes last, where Talos's
/// generator option puts it in the middle: every document is the same, byte
/// for byte, and only their order differs.
#[test]
fn overrides_through_flags_and_patches_match_talos_v1_14_document_for_document() {
    let world = World::new();
    let out = overrides(&world, "v1.14");
    let docs = |text: &str| -> Vec<String> {
        let mut d: Vec<String> = text
            .split("\n---\n")
            .map(|s| s.trim_end_matches('\n').to_string())
            .collect();
        d.sort();
        d
    };
    for role in ["controlplane", "worker"] {
        let ours = read(&out.join(format!("{role}.yaml")));
        let theirs = golden(&format!("v1.14/overrides-{role}.yaml"));
        assert_ne!(ours, theirs, "the order differs, as documented");
        assert_eq!(docs(&ours), docs(&theirs), "v1.14 overrides {role}.yaml");
    }
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let world = World::new();
    let dir = world.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("worker.yaml"), "mine\n").unwrap();
    let o = gen_config(&world, &dir, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("worker.yaml exists: pass --force to overwrite it"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("controlplane.yaml").exists(), "nothing written");
    assert_eq!(read(&dir.join("worker.yaml")), "mine\n");
    ok(&gen_config(
        &world,
        &dir,
        &["--force", "--talos-version", "v1.13"],
    ));
    assert!(read(&dir.join("worker.yaml")).starts_with("version: v1alpha1\n"));
}

/// talosctl writes whatever its patches make; so does hlb, saying what
/// Talos's published schema refuses.
#[test]
fn configs_outside_talos_schema_are_written_with_a_warning() {
    let world = World::new();
    let out = world.path().join("out");
    let o = gen_config(
        &world,
        world.path(),
        &[
            "--config-patch-worker",
            "machine: {type: bogus}",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    ok(&o);
    insta::assert_snapshot!("schema_warning", scrub(&stderr(&o), &world));
    assert!(read(&out.join("worker.yaml")).contains("    type: bogus\n"));
}

#[test]
fn without_secrets_a_new_bundle_is_generated() {
    let world = World::new();
    let run = || {
        let o = world
            .cmd(&world.path().join("recipes"))
            .args([
                "talos",
                "gen",
                "config",
                "c",
                "https://10.0.0.1:6443",
                "-t",
                "worker",
                "-o",
                "-",
            ])
            .output()
            .unwrap();
        ok(&o)
    };
    let (a, b) = (run(), run());
    assert!(a.contains("clusterName: c\n"), "{a}");
    assert!(
        a.contains("image: ghcr.io/siderolabs/installer:v1.13.9\n"),
        "{a}"
    );
    assert!(a.contains("disk: /dev/sda\n"), "{a}");
    assert_ne!(a, b, "each run makes a new bundle");
}

fn secrets_world() -> (World, PathBuf) {
    let mut world = World::new();
    let identity = world.path().join("identity.txt");
    let recipes = world.path().join("recipes");
    std::fs::create_dir_all(&recipes).unwrap();
    ok(&world.run(
        &recipes,
        &[
            "secret",
            "init",
            "--new-identity",
            identity.to_str().unwrap(),
        ],
    ));
    world.identity = Some(identity);
    (world, recipes)
}

#[test]
fn bundles_import_export_and_init_as_hlb_secrets() {
    let (world, recipes) = secrets_world();
    let golden_text = golden("secrets.yaml");
    ok(&world.run(
        &recipes,
        &[
            "talos",
            "secrets",
            "import",
            &golden_path("secrets.yaml"),
            "cluster",
        ],
    ));
    let age = read(&recipes.join("secrets/cluster.age"));
    let bundle = SecretsBundle::parse(&golden_text).unwrap();
    assert!(!age.contains(&bundle.cluster.secret), "stored encrypted");
    let exported = ok(&world.run(&recipes, &["talos", "secrets", "export", "cluster"]));
    assert_same("exported bundle", &golden_text, &exported);

    let again = world.run(
        &recipes,
        &[
            "talos",
            "secrets",
            "import",
            &golden_path("secrets.yaml"),
            "cluster",
        ],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("pass --force to replace it"),
        "{}",
        stderr(&again)
    );

    ok(&world.run(&recipes, &["talos", "secrets", "init", "fresh"]));
    let fresh = ok(&world.run(&recipes, &["talos", "secrets", "export", "fresh"]));
    let fresh_bundle = SecretsBundle::parse(&fresh).expect("a valid bundle");
    assert_ne!(fresh_bundle.cluster.id, bundle.cluster.id);
    let listed = ok(&world.run(&recipes, &["secret", "list"]));
    assert!(
        listed.contains("cluster") && listed.contains("fresh"),
        "{listed}"
    );

    // The exported bundle drives gen config, as talosctl's would.
    let file = world.path().join("fresh.yaml");
    std::fs::write(&file, &fresh).unwrap();
    let cfg = ok(&world.run(
        &recipes,
        &[
            "talos",
            "gen",
            "config",
            "c",
            "https://c:6443",
            "--with-secrets",
            file.to_str().unwrap(),
            "-t",
            "worker",
            "-o",
            "-",
        ],
    ));
    assert!(
        cfg.contains(&format!("    id: {}\n", fresh_bundle.cluster.id)),
        "{cfg}"
    );

    // A bundle piped in (`sops -d … | hlb talos secrets import - NAME`).
    let mut child = world
        .cmd(&recipes)
        .args(["talos", "secrets", "import", "-", "piped"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(golden_text.as_bytes()).unwrap();
    }
    ok(&child.wait_with_output().unwrap());
    let piped = ok(&world.run(&recipes, &["talos", "secrets", "export", "piped"]));
    assert_same("bundle imported from stdin", &golden_text, &piped);
}

/// Paths and temp dirs out of messages, for snapshots.
fn scrub(text: &str, world: &World) -> String {
    text.replace(&world.path().to_string_lossy().into_owned(), "[WORLD]")
        .replace(&repo_root().to_string_lossy().into_owned(), "[REPO]")
}

#[test]
fn invalid_and_encrypted_bundles_are_refused() {
    let (world, recipes) = secrets_world();
    let o = world.run(
        &recipes,
        &["talos", "secrets", "import", &invalid_fixture(), "bad"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!recipes.join("secrets/bad.age").exists());
    insta::assert_snapshot!("invalid_bundle", scrub(&stderr(&o), &world));

    let sops = world.path().join("talsecret.sops.yaml");
    std::fs::write(
        &sops,
        "cluster:\n    id: ENC[AES256_GCM,data:abc,type:str]\nsops:\n    age:\n        - recipient: age1xyz\n",
    )
    .unwrap();
    let o = world.run(
        &recipes,
        &["talos", "secrets", "import", sops.to_str().unwrap(), "bad"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!recipes.join("secrets/bad.age").exists());
    insta::assert_snapshot!("sops_bundle", scrub(&stderr(&o), &world));

    // gen config refuses it the same way, before writing anything.
    let refused = world.path().join("refused");
    let o = world.run(
        &recipes,
        &[
            "talos",
            "gen",
            "config",
            "c",
            "https://c:6443",
            "--with-secrets",
            &invalid_fixture(),
            "-o",
            refused.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid secrets bundle"),
        "{}",
        stderr(&o)
    );
    assert!(!refused.exists(), "nothing written");
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let world = World::new();
    let run = |extra: &[&str]| {
        let o = gen_config(&world, world.path(), extra);
        // A wrong flag or flag value: a usage error.
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        scrub(&stderr(&o), &world)
    };
    let messages = [
        run(&["--talos-version", "v1.9"]),
        run(&["-t", "init"]),
        run(&["-o", "-"]),
        run(&["--config-patch", "@missing.yaml"]),
        run(&["--config-patch", "machine: [unclosed"]),
        run(&["--registry-mirror", "docker.io"]),
        run(&["--with-kubespan"]),
        run(&["--with-cluster-discovery=false"]),
        run(&[
            "--config-patch",
            "[{\"op\": \"remove\", \"path\": \"/nope\"}]",
            "--talos-version",
            "v1.14",
        ]),
    ];
    insta::assert_snapshot!("bad_flags", messages.join("---\n"));
    assert!(!world.path().join("worker.yaml").exists());
}

#[test]
fn help_teaches_with_examples() {
    let world = World::new();
    let help = ok(&world.run(
        &world.path().join("recipes"),
        &["talos", "gen", "config", "--help"],
    ));
    insta::assert_snapshot!("help_gen_config", help);
    let help = ok(&world.run(
        &world.path().join("recipes"),
        &["talos", "secrets", "--help"],
    ));
    insta::assert_snapshot!("help_secrets", help);
}

/// The `# docs-test` shell block of docs/talos.md runs as written, in a
/// directory holding Talos's golden `secrets.yaml`, and writes the files
/// the doc says.
#[test]
fn the_documented_commands_run() {
    let doc = read(&repo_root().join("docs/talos.md"));
    let start = doc
        .find("```sh\n# docs-test\n")
        .expect("a # docs-test block in docs/talos.md");
    let body = &doc[start + "```sh\n".len()..];
    let script = &body[..body.find("\n```").expect("closed fence") + 1];
    let world = World::new();
    let dir = world.path().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(golden_dir().join("secrets.yaml"), dir.join("secrets.yaml")).unwrap();
    let bin_dir = Path::new(hlb_bin()).parent().unwrap().to_path_buf();
    let o = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(&dir)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", world.path().join("home"))
        .env("TMPDIR", world.path())
        .env("HLB_STORE", world.store())
        .env("HLB_STATE", world.state())
        .env("HLB_RECIPES", world.path().join("recipes"))
        .output()
        .unwrap();
    ok(&o);
    // Once from the file, once from the bundle kept as an hlb secret.
    for out in ["out", "from-secret"] {
        for role in ["controlplane", "worker"] {
            assert_same(
                &format!("docs example {out}/{role}.yaml"),
                &golden(&format!("v1.13/base-{role}.yaml")),
                &read(&dir.join(format!("{out}/{role}.yaml"))),
            );
        }
        assert!(dir.join(format!("{out}/talosconfig")).exists());
    }
}
