//! `talos …`: the edge between the pure Talos engines (`hlb_talos`) and
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

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use hlb_cache::fsx::{IoError, write_atomic};
use hlb_secrets::{CoreDumpGuard, Plaintext};
use hlb_talos::bundle::{self, AdminCertRequest, BundleError, SecretsBundle, TalosconfigInput};
use hlb_talos::r#gen::{
    Contract, GenError, GenInput, GenOptions, Role, generate_config, parse_contract,
};
use hlb_talos::patch::{self, PatchError};
use rand_core::RngCore as _;

use super::env::Env;
use super::events::{Event, SharedReporter};
use super::exit::ExitClass;
use super::secret::{self, SecretOpError, SecretSet};

/// The output types of `gen config`, in the order they are written.
const OUTPUT_TYPES: [&str; 3] = ["controlplane", "worker", "talosconfig"];

#[derive(Debug, thiserror::Error)]
pub enum TalosError {
    #[error("--talos-version")]
    Contract(#[source] GenError),
    #[error("at least one output type must be given (--output-types)")]
    NoOutputTypes,
    #[error("invalid output type `{0}` (valid: controlplane, worker, talosconfig)")]
    OutputType(String),
    #[error("`-o -` writes one output type to stdout: pick one with --output-types")]
    StdoutNeedsOneType,
    #[error("{flag} @{path}: reading {path}")]
    ReadPatch {
        flag: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}")]
    Patch {
        what: String,
        #[source]
        source: PatchError,
    },
    #[error(
        "--registry-mirror `{0}`: expected REGISTRY=URL (for example docker.io=https://mirror.example)"
    )]
    RegistryMirror(String),
    #[error(
        "--with-cluster-discovery=false is not supported yet: turn discovery off with a --config-patch instead"
    )]
    ClusterDiscoveryOff,
    #[error("--with-kubespan is not supported yet: enable KubeSpan with a --config-patch instead")]
    KubeSpan,
    #[error("{} exists: pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("reading the secrets bundle {what}")]
    ReadBundle {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Bundle {
        path: PathBuf,
        #[source]
        source: BundleProblem,
    },
    #[error("generating a secrets bundle")]
    GenerateBundle(#[source] BundleError),
    #[error("generating {file}")]
    Generate {
        file: String,
        #[source]
        source: GenError,
    },
    #[error("patching {file}")]
    ApplyPatch {
        file: String,
        #[source]
        source: PatchError,
    },
    #[error("generating talosconfig")]
    Talosconfig(#[source] BundleError),
    #[error("the clock is before 1970")]
    Clock(#[source] std::time::SystemTimeError),
    #[error("{}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: IoError,
    },
    #[error("creating {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Secret(#[from] SecretOpError),
}

/// Why a bundle file is refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleProblem {
    #[error(
        "this bundle is sops-encrypted (talhelper's talsecret.sops.yaml), which hlb cannot read yet: decrypt it first (`sops -d FILE | hlb talos secrets import - NAME`)"
    )]
    Sops,
    #[error(transparent)]
    Invalid(#[from] BundleError),
}

impl TalosError {
    pub fn class(&self) -> ExitClass {
        match self {
            TalosError::Secret(e) => e.class(),
            TalosError::Exists(_) => ExitClass::Failed,
            TalosError::GenerateBundle(_)
            | TalosError::Generate { .. }
            | TalosError::Talosconfig(_) => ExitClass::Failed,
            TalosError::Clock(_)
            | TalosError::Write { .. }
            | TalosError::CreateDir { .. }
            | TalosError::ReadBundle { .. } => ExitClass::Environment,
            _ => ExitClass::Usage,
        }
    }
}

type Result<T> = std::result::Result<T, TalosError>;

/// Options of `talos gen config` (talosctl's flags).
#[derive(Clone, Debug)]
pub struct GenConfigOptions {
    pub cluster: String,
    pub endpoint: String,
    pub with_secrets: Option<PathBuf>,
    pub talos_version: String,
    pub kubernetes_version: String,
    pub additional_sans: Vec<String>,
    pub config_patch: Vec<String>,
    pub config_patch_control_plane: Vec<String>,
    pub config_patch_worker: Vec<String>,
    pub install_disk: String,
    pub install_image: String,
    pub dns_domain: String,
    pub registry_mirror: Vec<String>,
    pub with_cluster_discovery: bool,
    pub with_kubespan: bool,
    pub output_types: Vec<String>,
    pub output: Option<PathBuf>,
    pub output_dir: Option<PathBuf>,
    pub force: bool,
}

/// One output of `gen config`: where it goes, and its text when it goes
/// to stdout (files are written by the operation).
#[derive(Debug)]
pub struct GenOutput {
    pub kind: &'static str,
    pub dest: Dest,
    /// The text, for [`Dest::Stdout`] only.
    pub text: Option<String>,
}

/// Seconds since the Unix epoch: the issue time of what the CLI mints.
fn now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(TalosError::Clock)?
        .as_secs())
}

fn contract(version: &str) -> Result<Contract> {
    parse_contract(version).map_err(TalosError::Contract)
}

/// Where `gen config` writes one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

/// talosctl's rules: `--output-dir` is always a directory; `-o -` is stdout
/// (one type only); `-o PATH` is a file for one type, else a directory; no
/// flag is the current directory.
pub fn destinations(opts: &GenConfigOptions) -> Result<Vec<(&'static str, Dest)>> {
    if opts.output_types.is_empty() {
        return Err(TalosError::NoOutputTypes);
    }
    let mut types = Vec::new();
    for t in &opts.output_types {
        let Some(known) = OUTPUT_TYPES.iter().find(|k| **k == t.as_str()) else {
            return Err(TalosError::OutputType(t.clone()));
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
        let d = match (&opts.output_dir, &opts.output) {
            (Some(dir), _) => Dest::File(dir.join(file_name(t))),
            (None, Some(o)) if o.as_os_str() == "-" => {
                if types.len() > 1 {
                    return Err(TalosError::StdoutNeedsOneType);
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
        Some(path) => std::fs::read_to_string(path).map_err(|source| TalosError::ReadPatch {
            flag: flag.to_string(),
            path: path.to_string(),
            source,
        })?,
        None => value.to_string(),
    };
    let what = value
        .strip_prefix('@')
        .map_or_else(|| format!("{flag} (inline)"), |p| format!("{flag} @{p}"));
    patch::Patch::parse(&text).map_err(|source| TalosError::Patch { what, source })?;
    Ok(text)
}

fn patch_texts(flag: &str, values: &[String]) -> Result<Vec<String>> {
    values.iter().map(|v| patch_text(flag, v)).collect()
}

/// `REGISTRY=URL` specs, by registry.
pub fn registry_mirrors(specs: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut mirrors = BTreeMap::<String, Vec<String>>::new();
    for spec in specs {
        let Some((registry, url)) = spec.split_once('=') else {
            return Err(TalosError::RegistryMirror(spec.clone()));
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
            .map_err(|source| TalosError::ReadBundle {
                what: "from stdin".into(),
                source,
            })?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|source| TalosError::ReadBundle {
            what: path.display().to_string(),
            source,
        })?
    };
    let bundle = parse_bundle(&text).map_err(|source| TalosError::Bundle {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((text, bundle))
}

/// Parse and validate a bundle; a sops-encrypted one (talhelper's
/// `talsecret.sops.yaml`) is named as such, since its values are ciphertext.
fn parse_bundle(text: &str) -> std::result::Result<SecretsBundle, BundleProblem> {
    if text.lines().any(|l| l.starts_with("sops:")) {
        return Err(BundleProblem::Sops);
    }
    let bundle = SecretsBundle::parse(text)?;
    bundle.validate()?;
    Ok(bundle)
}

/// Machine configs and talosconfig, as `talosctl gen config` makes them.
/// Files are written here (0600, atomically, none unless all generated);
/// an output to stdout comes back as text.
pub fn gen_config(opts: &GenConfigOptions, reporter: &SharedReporter) -> Result<Vec<GenOutput>> {
    // Accepted at talosctl's defaults so scripts that spell them out run;
    // the generator has no other setting of them yet.
    if !opts.with_cluster_discovery {
        return Err(TalosError::ClusterDiscoveryOff);
    }
    if opts.with_kubespan {
        return Err(TalosError::KubeSpan);
    }
    let dests = destinations(opts)?;
    if !opts.force {
        for (_, d) in &dests {
            if let Dest::File(p) = d
                && p.exists()
            {
                return Err(TalosError::Exists(p.clone()));
            }
        }
    }
    let contract = contract(&opts.talos_version)?;
    let all = patch_texts("--config-patch", &opts.config_patch)?;
    let cp = patch_texts(
        "--config-patch-control-plane",
        &opts.config_patch_control_plane,
    )?;
    let worker = patch_texts("--config-patch-worker", &opts.config_patch_worker)?;
    let _no_core = CoreDumpGuard::new().ok();
    let bundle = match &opts.with_secrets {
        Some(path) => read_bundle_file(path)?.1,
        None => {
            reporter.event(&Event::Note(
                "generating a new secrets bundle (not kept: use `hlb talos secrets init` for one you keep)",
            ));
            bundle::generate(&mut rand_core::OsRng, now()?, contract)
                .map_err(TalosError::GenerateBundle)?
        }
    };
    let input = GenInput {
        bundle: &bundle,
        cluster_name: opts.cluster.clone(),
        endpoint: opts.endpoint.clone(),
        kubernetes_version: opts
            .kubernetes_version
            .strip_prefix('v')
            .unwrap_or(&opts.kubernetes_version)
            .to_string(),
        contract,
        options: GenOptions {
            additional_sans: opts.additional_sans.clone(),
            dns_domain: Some(opts.dns_domain.clone()),
            install_disk: opts.install_disk.clone(),
            install_image: opts.install_image.clone(),
            registry_mirrors: registry_mirrors(&opts.registry_mirror)?,
            ..GenOptions::default()
        },
    };
    let mut outputs = Vec::new();
    for (t, dest) in dests {
        let text = match t {
            "controlplane" => machine_config(&input, Role::ControlPlane, &all, &cp)?,
            "worker" => machine_config(&input, Role::Worker, &all, &worker)?,
            _ => talosconfig(&bundle, &opts.cluster)?,
        };
        if t != "talosconfig"
            && let Some(w) = schema_warning(contract, &format!("{t}.yaml"), &text)
        {
            reporter.event(&Event::Warning(&w));
        }
        outputs.push((t, dest, text));
    }
    let mut result = Vec::new();
    for (t, dest, text) in outputs {
        match dest {
            Dest::Stdout => result.push(GenOutput {
                kind: t,
                dest: Dest::Stdout,
                text: Some(text),
            }),
            Dest::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| TalosError::CreateDir {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                write_atomic(&path, text.as_bytes()).map_err(|source| TalosError::Write {
                    path: path.clone(),
                    source,
                })?;
                reporter.event(&Event::Wrote {
                    kind: t,
                    path: &path,
                });
                result.push(GenOutput {
                    kind: t,
                    dest: Dest::File(path),
                    text: None,
                });
            }
        }
    }
    Ok(result)
}

/// One machine config: generated, then the patches for all roles, then the role's own.
fn machine_config(
    input: &GenInput<'_>,
    role: Role,
    all: &[String],
    own: &[String],
) -> Result<String> {
    let file = format!("{}.yaml", role.as_str());
    let text = generate_config(input, role).map_err(|source| TalosError::Generate {
        file: file.clone(),
        source,
    })?;
    let patches: Vec<&str> = all.iter().chain(own).map(String::as_str).collect();
    patch::apply_patch_texts(&text, &patches)
        .map_err(|source| TalosError::ApplyPatch { file, source })
}

/// Check a config against Talos's published schema. talosctl writes what
/// its patches make without such a check; hlb writes it too (a drop-in must
/// not refuse what talosctl accepts) but says what Talos may refuse.
fn schema_warning(contract: Contract, file: &str, text: &str) -> Option<String> {
    hlb_talos::schema::validate_config(contract, text)
        .err()
        .map(|e| {
            format!("{file} is written, but Talos may refuse it (`talosctl validate` tells): {e}")
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
    bundle.talosconfig(&input).map_err(TalosError::Talosconfig)
}

/// Store a checked bundle's text as the hlb secret `name` (refusing to
/// replace one unless `force`).
fn store_bundle(
    env: &Env,
    name: &str,
    text: String,
    force: bool,
    reporter: &SharedReporter,
) -> Result<SecretSet> {
    let plaintext = Plaintext::new(text.into_bytes());
    Ok(secret::set_new(
        env,
        name,
        &plaintext,
        force,
        |path| SecretOpError::Exists {
            path,
            why: "a different bundle means a different cluster (every node reinstalled)",
        },
        reporter,
    )?)
}

/// A new cluster's secrets bundle, kept as the hlb secret `name`.
pub fn secrets_init(
    env: &Env,
    name: &str,
    talos_version: &str,
    force: bool,
    reporter: &SharedReporter,
) -> Result<SecretSet> {
    let contract = contract(talos_version)?;
    let _no_core = CoreDumpGuard::new().ok();
    let bundle = bundle::generate(&mut rand_core::OsRng, now()?, contract)
        .map_err(TalosError::GenerateBundle)?;
    store_bundle(env, name, bundle.to_yaml(), force, reporter)
}

/// An existing bundle (`-`: stdin), checked and kept as the hlb secret
/// `name`, as written (comments and all: export gives back what came in).
pub fn secrets_import(
    env: &Env,
    file: &Path,
    name: &str,
    force: bool,
    reporter: &SharedReporter,
) -> Result<SecretSet> {
    let _no_core = CoreDumpGuard::new().ok();
    let (text, _) = read_bundle_file(file)?;
    store_bundle(env, name, text, force, reporter)
}

/// A kept bundle's text, for talosctl (`--with-secrets`).
pub fn secrets_export(env: &Env, name: &str, reporter: &SharedReporter) -> Result<Plaintext> {
    Ok(secret::show(env, name, reporter)?)
}
