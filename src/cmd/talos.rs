//! `hlb talos …`: the edge between the pure Talos engines (`hlb_talos`) and
//! the operator's files, clock and random number generator.
//!
//! Why this exists: people come to hlb with `talosctl gen config` scripts
//! and talosctl/talhelper secrets bundles. `hlb talos gen config` takes the
//! same flags and writes the same bytes; `hlb talos secrets` moves a bundle
//! into the lab's age-encrypted secrets (or makes a new one there).
//!
//! Invariants:
//! - this is a command-line tool like talosctl, not a build: a new bundle
//!   and the talosconfig's admin certificate take the OS RNG and the clock
//!   (the issue time is recorded in the certificates); `hlb build` never
//!   comes here;
//! - a bundle's plaintext leaves memory only as the encrypted secret, as
//!   `export`'s stdout, or inside the machine configs `gen config` was asked
//!   to write (0600, atomically);
//! - every output file is checked before any is generated, and nothing is
//!   written unless every config generated and every patch applied.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use hlb_secrets::dir::write_atomic;
use hlb_secrets::{CoreDumpGuard, Plaintext, SecretsDir};
use hlb_talos::bundle::{self, AdminCertRequest, SecretsBundle, TalosconfigInput};
use hlb_talos::r#gen::{Contract, GenInput, GenOptions, Role, generate_config, parse_contract};
use hlb_talos::patch;
use rand_core::RngCore as _;
use serde_json::json;

use crate::Result;
use crate::cli::{GenConfigArgs, TalosCommand, TalosGenCommand, TalosSecretsCommand};
use crate::cmd::secret;
use crate::ctx::Ctx;

/// The output types of `gen config`, in the order they are written.
const OUTPUT_TYPES: [&str; 3] = ["controlplane", "worker", "talosconfig"];

pub fn run(ctx: &Ctx, cmd: TalosCommand) -> Result<()> {
    match cmd {
        TalosCommand::Gen(TalosGenCommand::Config(args)) => gen_config(ctx, &args),
        TalosCommand::Secrets(TalosSecretsCommand::Init {
            name,
            talos_version,
            force,
        }) => secrets_init(ctx, &name, &talos_version, force),
        TalosCommand::Secrets(TalosSecretsCommand::Import { file, name, force }) => {
            secrets_import(ctx, &file, &name, force)
        }
        TalosCommand::Secrets(TalosSecretsCommand::Export { name }) => {
            let dir = secret::open_dir(ctx)?;
            secret::show(ctx, &dir, &name)
        }
    }
}

/// Seconds since the Unix epoch: the issue time of what the CLI mints.
fn now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| anyhow!("the clock is before 1970: {e}"))?
        .as_secs())
}

fn contract(version: &str) -> Result<Contract> {
    parse_contract(version).map_err(|e| anyhow!("--talos-version: {e}").into())
}

/// Where `gen config` writes one output.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dest {
    Stdout,
    File(PathBuf),
}

/// talosctl's rules: `--output-dir` is always a directory; `-o -` is stdout
/// (one type only); `-o PATH` is a file for one type, else a directory; no
/// flag is the current directory.
fn destinations(args: &GenConfigArgs) -> Result<Vec<(&'static str, Dest)>> {
    if args.output_types.is_empty() {
        return Err(anyhow!("at least one output type must be given (--output-types)").into());
    }
    let mut types = Vec::new();
    for t in &args.output_types {
        let Some(known) = OUTPUT_TYPES.iter().find(|k| **k == t.as_str()) else {
            return Err(anyhow!(
                "invalid output type `{t}` (valid: controlplane, worker, talosconfig)"
            )
            .into());
        };
        if !types.contains(known) {
            types.push(*known);
        }
    }
    types.sort_by_key(|t| OUTPUT_TYPES.iter().position(|k| k == t));
    let file_name = |t: &str| match t {
        "talosconfig" => "talosconfig".to_string(),
        other => format!("{other}.yaml"),
    };
    let dest = |t: &'static str| -> Result<(&'static str, Dest)> {
        let d = match (&args.output_dir, &args.output) {
            (Some(dir), _) => Dest::File(dir.join(file_name(t))),
            (None, Some(o)) if o.as_os_str() == "-" => {
                if types.len() > 1 {
                    return Err(anyhow!(
                        "`-o -` writes one output type to stdout: pick one with --output-types"
                    )
                    .into());
                }
                Dest::Stdout
            }
            (None, Some(o)) if types.len() == 1 => Dest::File(o.clone()),
            (None, Some(dir)) => Dest::File(dir.join(file_name(t))),
            (None, None) => Dest::File(PathBuf::from(file_name(t))),
        };
        Ok((t, d))
    };
    types.iter().map(|t| dest(t)).collect()
}

/// A `--config-patch` value: `@FILE` is the file's text, anything else is the patch itself.
fn patch_text(flag: &str, value: &str) -> Result<String> {
    let text = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("{flag} @{path}: reading {path}"))?,
        None => value.to_string(),
    };
    let what = value
        .strip_prefix('@')
        .map_or_else(|| format!("{flag} (inline)"), |p| format!("{flag} @{p}"));
    patch::Patch::parse(&text).map_err(|e| anyhow!("{what}: {e}"))?;
    Ok(text)
}

fn patch_texts(flag: &str, values: &[String]) -> Result<Vec<String>> {
    values.iter().map(|v| patch_text(flag, v)).collect()
}

fn registry_mirrors(specs: &[String]) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let mut mirrors = std::collections::BTreeMap::<String, Vec<String>>::new();
    for spec in specs {
        let Some((registry, url)) = spec.split_once('=') else {
            return Err(anyhow!(
                "--registry-mirror `{spec}`: expected REGISTRY=URL (for example docker.io=https://mirror.example)"
            )
            .into());
        };
        mirrors
            .entry(registry.to_string())
            .or_default()
            .push(url.to_string());
    }
    Ok(mirrors)
}

/// A bundle file's text (`-`: stdin), checked.
fn read_bundle_file(path: &Path) -> Result<(String, SecretsBundle)> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the secrets bundle from stdin")?;
        s
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the secrets bundle {}", path.display()))?
    };
    let bundle = parse_bundle(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok((text, bundle))
}

/// Parse and validate a bundle; a sops-encrypted one (talhelper's
/// `talsecret.sops.yaml`) is named as such, since its values are ciphertext.
fn parse_bundle(text: &str) -> std::result::Result<SecretsBundle, String> {
    if text.lines().any(|l| l.starts_with("sops:")) {
        return Err("this bundle is sops-encrypted (talhelper's talsecret.sops.yaml), which hlb cannot read yet: decrypt it first (`sops -d FILE | hlb talos secrets import - NAME`)".into());
    }
    let bundle = SecretsBundle::parse(text).map_err(|e| e.to_string())?;
    bundle.validate().map_err(|e| e.to_string())?;
    Ok(bundle)
}

fn gen_config(ctx: &Ctx, args: &GenConfigArgs) -> Result<()> {
    // Accepted at talosctl's defaults so scripts that spell them out run;
    // the generator has no other setting of them yet.
    if !args.with_cluster_discovery {
        return Err(anyhow!(
            "--with-cluster-discovery=false is not supported yet: turn discovery off with a --config-patch instead"
        )
        .into());
    }
    if args.with_kubespan {
        return Err(anyhow!(
            "--with-kubespan is not supported yet: enable KubeSpan with a --config-patch instead"
        )
        .into());
    }
    let dests = destinations(args)?;
    if !args.force {
        for (_, d) in &dests {
            if let Dest::File(p) = d
                && p.exists()
            {
                return Err(anyhow!("{} exists: pass --force to overwrite it", p.display()).into());
            }
        }
    }
    let contract = contract(&args.talos_version)?;
    let all = patch_texts("--config-patch", &args.config_patch)?;
    let cp = patch_texts(
        "--config-patch-control-plane",
        &args.config_patch_control_plane,
    )?;
    let worker = patch_texts("--config-patch-worker", &args.config_patch_worker)?;
    let _no_core = CoreDumpGuard::new().ok();
    let bundle = match &args.with_secrets {
        Some(path) => read_bundle_file(path)?.1,
        None => {
            ctx.out.status(
                "generating a new secrets bundle (not kept: use `hlb talos secrets init` for one you keep)",
            );
            bundle::generate(&mut rand_core::OsRng, now()?, contract)
                .map_err(|e| anyhow!("generating a secrets bundle: {e}"))?
        }
    };
    let input = GenInput {
        bundle: &bundle,
        cluster_name: args.cluster.clone(),
        endpoint: args.endpoint.clone(),
        kubernetes_version: args
            .kubernetes_version
            .strip_prefix('v')
            .unwrap_or(&args.kubernetes_version)
            .to_string(),
        contract,
        options: GenOptions {
            additional_sans: args.additional_sans.clone(),
            dns_domain: Some(args.dns_domain.clone()),
            install_disk: args.install_disk.clone(),
            install_image: args.install_image.clone(),
            registry_mirrors: registry_mirrors(&args.registry_mirror)?,
            ..GenOptions::default()
        },
    };
    let mut outputs = Vec::new();
    for (t, dest) in dests {
        let text = match t {
            "controlplane" => machine_config(&input, Role::ControlPlane, &all, &cp)?,
            "worker" => machine_config(&input, Role::Worker, &all, &worker)?,
            _ => talosconfig(&bundle, &args.cluster)?,
        };
        if t != "talosconfig"
            && let Some(w) = schema_warning(contract, &format!("{t}.yaml"), &text)
        {
            ctx.out.status(&w);
        }
        outputs.push((t, dest, text));
    }
    for (t, dest, text) in outputs {
        match dest {
            Dest::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .context("writing to stdout")?;
            }
            Dest::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                write_atomic(&path, text.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                ctx.out.status(&format!("created {}", path.display()));
                ctx.out
                    .record("talos-gen", json!({"type": t, "path": path}));
            }
        }
    }
    Ok(())
}

/// One machine config: generated, then the patches for all roles, then the role's own.
fn machine_config(
    input: &GenInput<'_>,
    role: Role,
    all: &[String],
    own: &[String],
) -> Result<String> {
    let file = format!("{}.yaml", role.as_str());
    let text = generate_config(input, role).map_err(|e| anyhow!("generating {file}: {e}"))?;
    let patches: Vec<&str> = all.iter().chain(own).map(String::as_str).collect();
    Ok(patch::apply_patch_texts(&text, &patches).map_err(|e| anyhow!("patching {file}: {e}"))?)
}

/// Check a config against Talos's published schema. talosctl writes what
/// its patches make without such a check; hlb writes it too (a drop-in must
/// not refuse what talosctl accepts) but says what Talos may refuse.
fn schema_warning(contract: Contract, file: &str, text: &str) -> Option<String> {
    hlb_talos::schema::validate_config(contract, text)
        .err()
        .map(|e| {
            format!(
                "warning: {file} is written, but Talos may refuse it (`talosctl validate` tells): {e}"
            )
        })
}

/// talosconfig with a fresh `os:admin` client certificate valid for a year
/// from now, and no endpoints (as `talosctl gen config` writes it; set them
/// with `talosctl config endpoint`).
fn talosconfig(bundle: &SecretsBundle, cluster: &str) -> Result<String> {
    let mut seed = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut seed);
    let input = TalosconfigInput {
        context: cluster.to_string(),
        endpoints: Vec::new(),
        nodes: Vec::new(),
        cert: AdminCertRequest::admin(now()?, seed),
    };
    Ok(bundle
        .talosconfig(&input)
        .map_err(|e| anyhow!("generating talosconfig: {e}"))?)
}

/// Store a checked bundle's text as the hlb secret `name` (refusing to
/// replace one unless `force`).
fn store_bundle(ctx: &Ctx, n: &str, text: String, force: bool, how: &str) -> Result<()> {
    let dir: SecretsDir = secret::open_dir(ctx)?;
    let n = secret::name(n)?;
    if !force && dir.age_path(&n).exists() {
        return Err(anyhow!(
            "{} exists: a different bundle means a different cluster (every node reinstalled); pass --force to replace it",
            dir.age_path(&n).display()
        )
        .into());
    }
    let (_, lab_key, recipients) = secret::keys(ctx, &dir)?;
    let plaintext = Plaintext::new(text.into_bytes());
    let tag = dir
        .set(&n, &recipients, &lab_key, &plaintext)
        .map_err(|e| anyhow!("{e}"))?;
    ctx.out.status(&format!(
        "{how} Talos secrets bundle {n}: {} and {}; commit both",
        dir.age_path(&n).display(),
        dir.tag_path(&n).display()
    ));
    ctx.out.record(
        "talos-secrets",
        json!({"name": n.as_str(), "lab_key": tag.lab_key_id().to_string()}),
    );
    Ok(())
}

fn secrets_init(ctx: &Ctx, name: &str, talos_version: &str, force: bool) -> Result<()> {
    let contract = contract(talos_version)?;
    let _no_core = CoreDumpGuard::new().ok();
    let bundle = bundle::generate(&mut rand_core::OsRng, now()?, contract)
        .map_err(|e| anyhow!("generating a secrets bundle: {e}"))?;
    store_bundle(ctx, name, bundle.to_yaml(), force, "generated")
}

fn secrets_import(ctx: &Ctx, file: &Path, name: &str, force: bool) -> Result<()> {
    let _no_core = CoreDumpGuard::new().ok();
    // Kept as written (comments and all): export gives back what came in.
    let (text, _) = read_bundle_file(file)?;
    store_bundle(ctx, name, text, force, "imported")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn args(extra: &[&str]) -> GenConfigArgs {
        let mut argv = vec!["hlb", "talos", "gen", "config", "c", "https://c:6443"];
        argv.extend(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Talos(TalosCommand::Gen(TalosGenCommand::Config(a))) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn files(extra: &[&str]) -> Vec<(&'static str, Dest)> {
        destinations(&args(extra)).expect("valid destinations")
    }

    #[test]
    fn outputs_follow_talosctl() {
        let f = |p: &str| Dest::File(PathBuf::from(p));
        assert_eq!(
            files(&[]),
            [
                ("controlplane", f("controlplane.yaml")),
                ("worker", f("worker.yaml")),
                ("talosconfig", f("talosconfig"))
            ]
        );
        assert_eq!(
            files(&["-t", "worker", "-o", "w.yaml"]),
            [("worker", f("w.yaml"))]
        );
        assert_eq!(
            files(&["-t", "worker", "-o", "-"]),
            [("worker", Dest::Stdout)]
        );
        assert_eq!(
            files(&["-t", "talosconfig,worker", "-o", "out"]),
            [
                ("worker", f("out/worker.yaml")),
                ("talosconfig", f("out/talosconfig"))
            ]
        );
        assert_eq!(
            files(&["-t", "worker", "--output-dir", "out"]),
            [("worker", f("out/worker.yaml"))]
        );
        let err = |extra: &[&str]| match destinations(&args(extra)) {
            Ok(d) => panic!("accepted: {d:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err(&["-o", "-"]).contains("one output type"));
        assert!(err(&["-t", "init"]).contains("invalid output type `init`"));
    }

    #[test]
    fn compatibility_flags_take_talosctl_spelling() {
        let a = args(&["--with-docs=false", "--with-examples"]);
        assert!(!a.with_docs);
        assert!(a.with_examples);
        let a = args(&["--additional-sans", "a,b", "--additional-sans", "c"]);
        assert_eq!(a.additional_sans, ["a", "b", "c"]);
        // A patch may contain commas: it is never split.
        let a = args(&[
            "--config-patch",
            "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]",
        ]);
        assert_eq!(a.config_patch.len(), 1);
    }

    #[test]
    fn registry_mirror_specs() {
        let m = registry_mirrors(&["docker.io=https://a".into(), "docker.io=https://b".into()])
            .expect("valid");
        assert_eq!(m["docker.io"], ["https://a", "https://b"]);
        let e = registry_mirrors(&["docker.io".into()]).expect_err("no =");
        assert!(e.to_string().contains("expected REGISTRY=URL"), "{e}");
    }
}
