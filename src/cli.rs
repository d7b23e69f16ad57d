//! Command-line definitions. Help text teaches with examples; every command
//! that produces data has `--json`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Pure build system and deployer for immutable homelab node images";

const LONG_ABOUT: &str = "\
hlb evaluates the KDL recipes of a lab into a graph of derivations, builds each
one by a pure function of its inputs into a content-addressed store, and records
the lab's outputs as a generation.

Examples:
  hlb build --recipes recipes         build the example lab, print the generation
  hlb generations                     list the generations of the lab
  hlb diff                            what changed between the last two generations
  hlb show traefik.yaml               one derivation: id, inputs, output path
  hlb graph --format svg -o lab.svg   a picture of the build graph
  hlb store gc                        free what no generation needs";

#[derive(Parser, Debug)]
#[command(
    name = "hlb",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = hlb::ops::exit::TABLE
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The recipes directory (holding lab.kdl and hlb.lock). Default: `.` when
    /// it has lab.kdl, else `recipes/`.
    #[arg(
        long,
        global = true,
        env = "HLB_RECIPES",
        value_name = "DIR",
        hide_env_values = true
    )]
    pub recipes: Option<PathBuf>,
    /// The store [default: $XDG_DATA_HOME/hlb/store].
    #[arg(
        long,
        global = true,
        env = "HLB_STORE",
        value_name = "DIR",
        hide_env_values = true
    )]
    pub store: Option<PathBuf>,
    /// Profiles, generations and locks [default: $XDG_STATE_HOME/hlb].
    #[arg(
        long,
        global = true,
        env = "HLB_STATE",
        value_name = "DIR",
        hide_env_values = true
    )]
    pub state: Option<PathBuf>,
    /// Machine-readable output: one JSON object per line with a `reason` field.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colours and progress bars.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Look for downloads here first (a directory or an http(s) URL; repeatable;
    /// also HLB_MIRRORS, whitespace- or comma-separated).
    #[arg(long = "mirror", global = true, value_name = "DIR_OR_URL")]
    pub mirrors: Vec<String>,
    /// Use only the store and mirrors, never an upstream URL.
    #[arg(long, global = true)]
    pub offline: bool,
    /// The age identity that opens the lab's secrets (an age identity file or
    /// an unencrypted OpenSSH ed25519 key) [default: $HLB_AGE_IDENTITY, else
    /// ~/.ssh/id_ed25519].
    #[arg(long, global = true, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the lab (or some declarations) into the store and record a generation.
    #[command(after_help = "\
Examples:
  hlb build                              everything; prints the generation hash on stdout
  hlb build -j 1 --keep-going            one at a time, and build all that can be built
  hlb build traefik.yaml traefik-motd    only these (no new generation)
  hlb build --json | jq .                events and the result for scripts")]
    Build(BuildArgs),
    /// Show one derivation: id, kind, inputs, output, whether built.
    #[command(after_help = "\
Examples:
  hlb show traefik.yaml                  a declaration
  hlb show --json gateway | jq .id       its id, for scripts
  hlb show host/traefik/traefik.yaml     an artifact, as `hlb diff` names it
  hlb show deb-libc6                     a package of the DNS container (after `hlb lock`)")]
    Show {
        /// A declaration or derivation name (as hlb prints it), TARGET/ARTIFACT,
        /// a store entry's HEX-NAME, or a derivation id (or a unique prefix).
        name: String,
    },
    /// Explain why A depends on B: the chain of inputs from A to B.
    #[command(
        name = "why-depends",
        after_help = "\
Example:
  hlb why-depends dns deb-libc6     why the DNS container's template needs libc6 (after `hlb lock`)

Only build inputs count: `after` orders deployment and is not one."
    )]
    WhyDepends {
        /// Any name `hlb show` accepts.
        from: String,
        /// Any name `hlb show` accepts.
        to: String,
    },
    /// Draw the derivation graph (DOT, or SVG through Graphviz's `dot`).
    #[command(
        after_help = "Examples:\n  hlb graph | dot -Tpng > lab.png\n  hlb graph --format svg -o lab.svg"
    )]
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Write here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// List the lab's generations (number, date, hash; `*` marks the current one).
    Generations,
    /// Compare two generations per target; text artifacts get a unified diff.
    #[command(after_help = "\
Examples:
  hlb diff            the previous generation against the current one
  hlb diff 1          generation 1 against the current one
  hlb diff 1 2        generation 1 against generation 2

Right after the first build, `hlb diff` shows the first generation against nothing.")]
    Diff {
        /// Older generation number [default: the one before B].
        a: Option<u64>,
        /// Newer generation number [default: current].
        b: Option<u64>,
        /// Only say which artifacts changed, no text diffs.
        #[arg(long)]
        stat: bool,
    },
    /// Store maintenance.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Resolve what moves (unpinned downloads, …) into hlb.lock.
    #[command(after_help = "\
Examples:
  hlb lock            pin what is missing, drop what is no longer used
  hlb lock --check    exit 3 when hlb.lock is stale (for CI)")]
    Lock {
        /// Do not write; fail when the lock is stale.
        #[arg(long)]
        check: bool,
    },
    /// Age-encrypted secrets in the recipes repository.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Download a URL and print the pin to paste into a recipe.
    #[command(after_help = "\
Example:
  hlb prefetch file://$PWD/recipes/files/traefik.yaml   a local file; https:// and http:// work the same")]
    Prefetch { url: String },
    /// Talos machine configs (a `talosctl gen config` drop-in) and secrets bundles.
    #[command(subcommand)]
    Talos(TalosCommand),
    /// Helm charts rendered natively, byte for byte as helm v4.1.4 renders them.
    #[command(subcommand)]
    Helm(HelmCommand),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Only these declarations (and what they need); no generation is recorded.
    pub names: Vec<String>,
    /// Parallel builds [default: number of cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Build everything that does not depend on a failure.
    #[arg(short, long)]
    pub keep_going: bool,
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Re-hash every entry and name any that is corrupted.
    Verify,
    /// Remove what no generation or pinned root reaches.
    Gc {
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the store's directory.
    Path,
    /// Keep a store entry (and all it needs) through gc, under a name.
    #[command(after_help = "\
Examples:
  hlb store pin before-upgrade 1          generation 1 of the lab
  hlb store pin traefik-config 5b56e91b   a store entry by id (or unique prefix; see `hlb show`)")]
    Pin {
        name: String,
        /// A generation number of the lab, or a store entry id (or a unique prefix of one).
        what: String,
    },
    /// Remove a pin.
    Unpin { name: String },
    /// List the pins.
    Pins,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
}

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Set up the secrets directory: recipients and the lab key.
    #[command(after_help = "\
Examples:
  hlb secret init --new-identity ~/.config/hlb/identity.txt    a new operator key, and the lab's secrets
  hlb secret init --recipient \"$(cat ~/.ssh/id_ed25519.pub)\"   with an existing ssh key")]
    Init {
        /// A recipient that may decrypt the secrets (repeatable) [default: the
        /// identity's own recipient].
        #[arg(long)]
        recipient: Vec<String>,
        /// Generate a new age identity into FILE (0600) and use it.
        #[arg(long, value_name = "FILE")]
        new_identity: Option<PathBuf>,
    },
    /// Set a secret from stdin, a file, or an editor.
    #[command(after_help = "\
Examples:
  printf %s \"$TOKEN\" | hlb secret set cloudflare-token
  hlb secret set gitea-secret-key --from-file key.txt
  hlb secret set db-password          (opens $EDITOR on a tmpfs buffer)")]
    Set {
        name: String,
        /// Read the plaintext from this file instead of stdin or an editor.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
    },
    /// Edit a secret in $EDITOR (a private buffer on tmpfs, removed on exit).
    Edit { name: String },
    /// Print a secret's plaintext on stdout.
    Show { name: String },
    /// List the secrets (names and tags; no values).
    List,
    /// Who can decrypt the secrets.
    #[command(subcommand)]
    Recipients(RecipientsCommand),
    /// Re-encrypt every secret to the current recipients, all or nothing.
    Rekey,
    /// Recompute every tag under the lab key (after a lab-key rotation).
    Retag,
    /// The sealed-secrets controller's key pair, kept as an hlb secret.
    #[command(subcommand)]
    SealingKey(SealingKeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum RecipientsCommand {
    List,
    /// Add a recipient (then run `hlb secret rekey`).
    Add {
        recipient: String,
    },
    /// Remove a recipient (then run `hlb secret rekey`).
    Remove {
        recipient: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SealingKeyCommand {
    /// Generate the controller's RSA key (secret `sealing-key`) and its
    /// certificate (`sealing-key.crt`, public: reference it as
    /// `sealing-cert` on the cluster).
    Init {
        /// Certificate validity start, Unix seconds [default: now; recorded in
        /// the certificate, never read from the clock at build time].
        #[arg(long)]
        not_before: Option<u64>,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u64,
        /// RSA key size.
        #[arg(long, default_value_t = 4096)]
        bits: usize,
        /// Replace an existing sealing key.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum HelmCommand {
    /// A drop-in for `helm template`: helm v4.1.4's arguments, output bytes
    /// and exit codes, with no helm binary.
    #[command(after_help = "\
Arguments are helm's: [NAME] CHART [-n NS] [-f values.yaml]... [--set k=v]...
[--set-string k=v]... [--set-file k=path]... [--set-json k=json]...
[--kube-version V] [--api-versions G/V[/Kind]]... [--include-crds | --skip-crds]
[--skip-tests] [--skip-schema-validation] [--show-only PATH]... [--output-dir DIR]
[--name-template T] [--is-upgrade] [--no-hooks]. CHART is a chart directory or a
packaged .tgz. Randomness (rand*, uuidv4, gen*) comes from a seed of the release,
and `now` is fixed, so the same inputs give the same bytes (docs/helm.md).

Exit codes are helm's: 0, or 1 for any error, usage errors included — the one
command whose usage errors do not exit 2.")]
    Template {
        /// helm template's arguments, passed as helm takes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TalosCommand {
    /// Generate Talos files (machine configs and talosconfig).
    #[command(subcommand)]
    Gen(TalosGenCommand),
    /// The cluster's secrets bundle, kept as an hlb secret.
    #[command(
        subcommand,
        after_help = "\
Examples:
  hlb talos secrets init home-talos                  a new cluster's bundle
  hlb talos secrets import secrets.yaml home-talos   an existing cluster's (talosctl, talhelper)
  hlb talos secrets export home-talos                print it (stdout only)"
    )]
    Secrets(TalosSecretsCommand),
}

#[derive(Subcommand, Debug)]
pub enum TalosGenCommand {
    /// Machine configs and talosconfig: a drop-in for `talosctl gen config`.
    #[command(
        long_about = "\
Generate controlplane.yaml, worker.yaml and talosconfig, as `talosctl gen config`
does, with the same flags and the same bytes out.

The cluster endpoint is the Kubernetes API URL (https://HOST:6443): a control
plane node's address for a single control plane, else a load balancer or VIP.

Differences from talosctl: Talos's doc comments and examples are never written
(`--with-docs` and `--with-examples` are accepted and have no effect); files are
written 0600 because they hold private keys; without --with-secrets a new bundle
is generated and not kept (use `hlb talos secrets init` to keep one).",
        after_help = "\
Examples:
  hlb talos gen config home https://10.0.0.10:6443 --with-secrets secrets.yaml
  hlb talos gen config home https://10.0.0.10:6443 --with-secrets secrets.yaml \\
      --talos-version v1.13 --install-disk /dev/nvme0n1 \\
      --config-patch @all.yaml --config-patch-control-plane @cp.yaml -o out/
  hlb talos gen config home https://10.0.0.10:6443 --with-secrets secrets.yaml \\
      -t worker -o -                                     worker config on stdout"
    )]
    Config(Box<GenConfigArgs>),
}

#[derive(Args, Debug)]
pub struct GenConfigArgs {
    /// Cluster name.
    pub cluster: String,
    /// Kubernetes API endpoint URL (https://HOST:PORT).
    pub endpoint: String,
    /// Use this secrets bundle (`talosctl gen secrets` format) [default: a new one, not kept].
    #[arg(long, value_name = "FILE")]
    pub with_secrets: Option<PathBuf>,
    /// Talos version contract to generate for (v1.12, v1.13, v1.14).
    #[arg(long, default_value = "v1.13")]
    pub talos_version: String,
    /// Kubernetes version to run.
    #[arg(long, default_value = "1.36.3")]
    pub kubernetes_version: String,
    /// Additional Subject-Alt-Names for the API server certificate (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "SANS")]
    pub additional_sans: Vec<String>,
    /// Patch applied to every config: inline YAML/JSON, or @FILE (repeatable, in order).
    #[arg(long, value_name = "PATCH")]
    pub config_patch: Vec<String>,
    /// Patch applied to controlplane.yaml, after the --config-patch ones.
    #[arg(long, value_name = "PATCH")]
    pub config_patch_control_plane: Vec<String>,
    /// Patch applied to worker.yaml, after the --config-patch ones.
    #[arg(long, value_name = "PATCH")]
    pub config_patch_worker: Vec<String>,
    /// Disk to install to (empty: none written).
    #[arg(long, default_value = "/dev/sda")]
    pub install_disk: String,
    /// Installer image (empty: none written).
    #[arg(long, default_value = "ghcr.io/siderolabs/installer:v1.13.9")]
    pub install_image: String,
    /// Cluster DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub dns_domain: String,
    /// Registry mirror REGISTRY=URL (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "REGISTRY=URL")]
    pub registry_mirror: Vec<String>,
    /// Accepted for compatibility; hlb never writes Talos's doc comments.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub with_docs: bool,
    /// Accepted for compatibility; hlb never writes Talos's commented examples.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub with_examples: bool,
    /// Talos's cluster discovery (on by default); turning it off is not supported yet.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub with_cluster_discovery: bool,
    /// KubeSpan (off by default); turning it on is not supported yet.
    #[arg(long, value_name = "BOOL", default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub with_kubespan: bool,
    /// What to write (comma-separated): controlplane, worker, talosconfig.
    #[arg(
        short = 't',
        long,
        value_delimiter = ',',
        default_value = "controlplane,worker,talosconfig"
    )]
    pub output_types: Vec<String>,
    /// Where to write: a directory, or for a single output type a file or `-` (stdout) [default: .].
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Directory to write to (talosctl's older flag; always a directory).
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum TalosSecretsCommand {
    /// Generate a new secrets bundle and keep it as the hlb secret NAME.
    #[command(after_help = "\
Examples:
  hlb talos secrets init home-talos
  hlb secret list                            shows home-talos (encrypted, tagged)")]
    Init {
        /// Name of the hlb secret to create.
        name: String,
        /// Talos version contract the bundle is for.
        #[arg(long, default_value = "v1.13")]
        talos_version: String,
        /// Replace an existing secret of that name (every node must then be reinstalled).
        #[arg(long)]
        force: bool,
    },
    /// Check a bundle from `talosctl gen secrets` or talhelper and keep it as the hlb secret NAME.
    #[command(after_help = "\
Examples:
  hlb talos secrets import secrets.yaml home-talos && shred -u secrets.yaml
  sops -d talsecret.sops.yaml | hlb talos secrets import - home-talos")]
    Import {
        /// The bundle file (`-` for stdin).
        file: PathBuf,
        /// Name of the hlb secret to create.
        name: String,
        /// Replace an existing secret of that name.
        #[arg(long)]
        force: bool,
    },
    /// Print a bundle kept as an hlb secret, for talosctl (`--with-secrets`).
    #[command(after_help = "\
Example:
  hlb talos gen config home https://10.0.0.10:6443 \\
      --with-secrets <(hlb talos secrets export home-talos)")]
    Export { name: String },
}
