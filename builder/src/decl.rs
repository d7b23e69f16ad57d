//! The lab model: what a set of recipe files means, once loaded.
//!
//! [`crate::load::load`] produces a [`Lab`] only when the recipes have no
//! error, so everything here is already checked: names are valid and unique,
//! every [`Ref`] resolves to a declaration of an allowed kind (and carries
//! that declaration's kind), there is no dependency cycle, strings are
//! interpolated, and every file a declaration reads is in [`Lab::files`].
//! Spans stay attached so later stages (planner, compilers) can point their
//! own diagnostics at the recipe text.
//!
//! A kind added later (helm-release, …) is one more [`Kind`] variant, one
//! more [`Body`] variant with its own struct, one more reader module in
//! `load` (built on `load::values`) and its line in the dispatch of
//! `load::kinds`; `docs/compilers.md` ("How to add a kind") lists every
//! place, and [`crate::kinds`] is where its artifact kinds are named.

use std::collections::BTreeMap;
use std::sync::Arc;

use hlb_cache::Digest;

use crate::diag::{SourceMap, Span};
use crate::drv::FixedHash;
use crate::io::RelPath;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A whole lab: every declaration of the entry file and its imports.
#[derive(Clone, Debug)]
pub struct Lab {
    pub name: Spanned<String>,
    /// `param` values, literal (never interpolated).
    pub params: BTreeMap<String, Spanned<String>>,
    pub deploy_recipients: Vec<Spanned<String>>,
    /// Where secrets live (`secrets-dir` in the lab node, relative to the
    /// recipe root; `secrets` by default): `NAME.age` and `NAME.tag`.
    pub secrets_dir: RelPath,
    /// Sorted by name, a secret after the declaration of the same name if
    /// any ([`order_key`]). Names are unique, except that secrets have a
    /// namespace of their own: `secret "x"` and `file "x"` may both exist.
    pub decls: Vec<Decl>,
    /// Every recipe file read, for diagnostics of later stages.
    pub sources: SourceMap,
    /// Every non-KDL file a declaration reads (`source=`, `sealing-cert=`,
    /// each secret's `.tag`), read once. `.age` files are never read here.
    pub files: BTreeMap<RelPath, RecipeFile>,
}

/// The content of a file a recipe reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeFile {
    pub bytes: Arc<[u8]>,
    pub digest: Digest,
}

impl RecipeFile {
    pub fn new(bytes: Arc<[u8]>) -> RecipeFile {
        let digest = Digest::of(&bytes);
        RecipeFile { bytes, digest }
    }
}

/// What a declaration declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Cluster,
    Host,
    Fetch,
    File,
    Manifest,
    Secret,
    SealedSecret,
    TalosCluster,
    Lxc,
}

impl Kind {
    /// Every kind, in the order the reference documents them.
    pub const ALL: &'static [Kind] = &[
        Kind::Cluster,
        Kind::Host,
        Kind::Fetch,
        Kind::File,
        Kind::Manifest,
        Kind::Secret,
        Kind::SealedSecret,
        Kind::TalosCluster,
        Kind::Lxc,
    ];

    /// The node name that declares this kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::Host => "host",
            Kind::Fetch => "fetch",
            Kind::File => "file",
            Kind::Manifest => "manifest",
            Kind::Secret => "secret",
            Kind::SealedSecret => "sealed-secret",
            Kind::TalosCluster => "talos-cluster",
            Kind::Lxc => "lxc",
        }
    }

    pub fn from_node_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decl {
    pub kind: Kind,
    pub name: Spanned<String>,
    /// The whole node, children included.
    pub span: Span,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Cluster(ClusterDecl),
    Host(HostDecl),
    Fetch(FetchDecl),
    File(FileDecl),
    Manifest(ManifestDecl),
    Secret(SecretDecl),
    SealedSecret(SealedSecretDecl),
    // Boxed: far larger than the other bodies.
    TalosCluster(Box<TalosClusterDecl>),
    Lxc(Box<LxcDecl>),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Cluster(_) => Kind::Cluster,
            Body::Host(_) => Kind::Host,
            Body::Fetch(_) => Kind::Fetch,
            Body::File(_) => Kind::File,
            Body::Manifest(_) => Kind::Manifest,
            Body::Secret(_) => Kind::Secret,
            Body::SealedSecret(_) => Kind::SealedSecret,
            Body::TalosCluster(_) => Kind::TalosCluster,
            Body::Lxc(_) => Kind::Lxc,
        }
    }

    /// Every reference this declaration makes, with the role it plays.
    pub fn refs(&self) -> Vec<(RefRole, &Ref)> {
        let mut out = Vec::new();
        match self {
            Body::File(f) => {
                out.extend(f.target.as_ref().map(|r| (RefRole::FileTarget, r)));
                out.extend(f.content.fetch().map(|r| (RefRole::Fetch, r)));
                out.extend(f.content.secret().map(|r| (RefRole::Secret, r)));
                out.extend(f.secret_refs.iter().map(|r| (RefRole::Secret, r)));
            }
            Body::Manifest(m) => {
                out.push((RefRole::ManifestTarget, &m.target));
                out.extend(m.content.fetch().map(|r| (RefRole::Fetch, r)));
                out.extend(m.after.iter().map(|r| (RefRole::After, r)));
            }
            Body::SealedSecret(s) => {
                out.push((RefRole::SealedSecretTarget, &s.target));
                out.extend(s.data.values().map(|r| (RefRole::Secret, r)));
                out.extend(s.after.iter().map(|r| (RefRole::After, r)));
            }
            Body::TalosCluster(t) => out.push((RefRole::Secret, &t.secrets)),
            Body::Lxc(l) => {
                for f in &l.files {
                    out.extend(f.content.fetch().map(|r| (RefRole::Fetch, r)));
                }
                out.extend(l.archives.iter().map(|a| (RefRole::Unpack, &a.fetch)));
                out.extend(l.secrets.iter().map(|s| (RefRole::Secret, &s.secret)));
            }
            Body::Cluster(_) | Body::Host(_) | Body::Fetch(_) | Body::Secret(_) => {}
        }
        out
    }

    /// Like [`Body::refs`], mutable: the loader records what each resolved to.
    pub(crate) fn refs_mut(&mut self) -> Vec<(RefRole, &mut Ref)> {
        let mut out = Vec::new();
        match self {
            Body::File(f) => {
                out.extend(f.target.as_mut().map(|r| (RefRole::FileTarget, r)));
                match &mut f.content {
                    Content::Fetch(r) => out.push((RefRole::Fetch, r)),
                    Content::Secret(r) => out.push((RefRole::Secret, r)),
                    Content::Text(_) | Content::Source(_) => {}
                }
                // `secret_refs` are found in the file's text, after this
                // pass; the loader resolves them on their own.
            }
            Body::Manifest(m) => {
                out.push((RefRole::ManifestTarget, &mut m.target));
                if let Content::Fetch(r) = &mut m.content {
                    out.push((RefRole::Fetch, r));
                }
                out.extend(m.after.iter_mut().map(|r| (RefRole::After, r)));
            }
            Body::SealedSecret(s) => {
                out.push((RefRole::SealedSecretTarget, &mut s.target));
                out.extend(s.data.values_mut().map(|r| (RefRole::Secret, r)));
                out.extend(s.after.iter_mut().map(|r| (RefRole::After, r)));
            }
            Body::TalosCluster(t) => out.push((RefRole::Secret, &mut t.secrets)),
            Body::Lxc(l) => {
                let l = &mut **l;
                for f in &mut l.files {
                    if let Content::Fetch(r) = &mut f.content {
                        out.push((RefRole::Fetch, r));
                    }
                }
                out.extend(
                    l.archives
                        .iter_mut()
                        .map(|a| (RefRole::Unpack, &mut a.fetch)),
                );
                out.extend(
                    l.secrets
                        .iter_mut()
                        .map(|s| (RefRole::Secret, &mut s.secret)),
                );
            }
            Body::Cluster(_) | Body::Host(_) | Body::Fetch(_) | Body::Secret(_) => {}
        }
        out
    }
}

/// What a reference is for; decides which kinds it may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefRole {
    /// `target=` of a `file`.
    FileTarget,
    /// `target=` of a `manifest`.
    ManifestTarget,
    /// `fetch=` content.
    Fetch,
    /// `unpack "NAME"` of an `lxc`: a download unpacked into the template.
    Unpack,
    /// `after`: ordering among deployed things.
    After,
    /// `secret=` (file content, sealed-secret data) and `${secret.NAME}`
    /// in an interpolated file.
    Secret,
    /// `target=` of a `sealed-secret`.
    SealedSecretTarget,
}

impl RefRole {
    /// The kinds this reference may resolve to.
    pub fn allowed(&self) -> &'static [Kind] {
        match self {
            RefRole::FileTarget => &[Kind::Cluster, Kind::Host],
            RefRole::ManifestTarget | RefRole::SealedSecretTarget => &[Kind::Cluster],
            RefRole::Fetch | RefRole::Unpack => &[Kind::Fetch],
            RefRole::After => &[Kind::Manifest, Kind::File, Kind::SealedSecret],
            RefRole::Secret => &[Kind::Secret],
        }
    }

    /// How the property or child that holds the reference is written.
    pub fn property(&self) -> &'static str {
        match self {
            RefRole::FileTarget | RefRole::ManifestTarget | RefRole::SealedSecretTarget => "target",
            RefRole::Fetch => "fetch",
            RefRole::Unpack => "unpack",
            RefRole::After => "after",
            RefRole::Secret => "secret",
        }
    }

    /// Whether the referrer is built or deployed after what it names (all
    /// roles but targets); cycles through these are errors.
    pub fn is_dependency(&self) -> bool {
        matches!(self, RefRole::Fetch | RefRole::Unpack | RefRole::After)
    }
}

/// A reference to another declaration by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    /// The kind of the declaration it resolves to. (While loading, before
    /// resolution, the first kind the role allows.)
    pub kind: Kind,
    pub name: String,
    pub span: Span,
}

/// Where a file's or manifest's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// `text=`: inline, already interpolated.
    Text(Spanned<String>),
    /// `source=`: a recipe file; its bytes are in [`Lab::files`].
    Source(Spanned<RelPath>),
    /// `fetch=`: the output of a `fetch` declaration.
    Fetch(Ref),
    /// `secret=`: the whole plaintext of a `secret` (files only).
    Secret(Ref),
}

impl Content {
    pub fn fetch(&self) -> Option<&Ref> {
        match self {
            Content::Fetch(r) => Some(r),
            Content::Text(_) | Content::Source(_) | Content::Secret(_) => None,
        }
    }

    pub fn secret(&self) -> Option<&Ref> {
        match self {
            Content::Secret(r) => Some(r),
            Content::Text(_) | Content::Source(_) | Content::Fetch(_) => None,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Content::Text(t) => t.span,
            Content::Source(s) => s.span,
            Content::Fetch(r) | Content::Secret(r) => r.span,
        }
    }
}

/// `cluster`: a Kubernetes API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDecl {
    /// An `https://` URL.
    pub api: Spanned<String>,
    /// The sealed-secrets controller's certificate (public PEM), a recipe
    /// file whose bytes are in [`Lab::files`]; needed by `sealed-secret`s
    /// that target this cluster.
    pub sealing_cert: Option<Spanned<RelPath>>,
}

/// `host`: a machine that receives files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostDecl {
    /// An IP address or a hostname.
    pub address: Spanned<String>,
}

/// `fetch`: a download, pinned by hash (here or in `hlb.lock`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchDecl {
    pub url: Spanned<String>,
    /// `None`: the pin comes from `hlb.lock`.
    pub hash: Option<Spanned<FixedHash>>,
    pub executable: bool,
}

/// `file`: a file built from text, a recipe file or a download, optionally
/// placed on a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDecl {
    pub content: Content,
    /// Interpolate `Source`/`Fetch` content (`Text` always is).
    pub interpolate: bool,
    /// Permission bits, at most `0o777`. When not written: `0o600` for a
    /// secret-bearing file ([`FileDecl::is_secret`]), else `0o644`.
    pub mode: Spanned<u32>,
    /// Whether `mode=` was written.
    pub mode_written: bool,
    /// The distinct `${secret.NAME}` references of an interpolated `source`
    /// file, by name, each spanned at its first occurrence in that file.
    /// Always empty for other content: recipe strings cannot name secrets,
    /// and a download must not choose which secrets it receives.
    pub secret_refs: Vec<Ref>,
    /// A cluster or a host; set exactly when `path` is.
    pub target: Option<Ref>,
    /// Absolute destination path on the target.
    pub path: Option<Spanned<String>>,
}

impl FileDecl {
    /// The secrets this file may reveal, sorted and distinct.
    pub fn secrets(&self) -> std::collections::BTreeSet<&str> {
        self.content
            .secret()
            .into_iter()
            .chain(&self.secret_refs)
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Whether the built file carries secret material.
    pub fn is_secret(&self) -> bool {
        self.content.secret().is_some() || !self.secret_refs.is_empty()
    }
}

/// `manifest`: Kubernetes YAML applied to a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestDecl {
    pub content: Content,
    pub interpolate: bool,
    pub target: Ref,
    /// Namespace for objects that do not name one.
    pub namespace: Option<Spanned<String>>,
    /// Manifests or files deployed before this one, in source order.
    pub after: Vec<Ref>,
}

/// `secret`: an age-encrypted value in the secrets directory.
///
/// Loading checks that `age` exists and reads `tag` (into [`Lab::files`]),
/// never the ciphertext: derivation ids hash the tag, so evaluation needs no
/// identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDecl {
    /// `<secrets-dir>/NAME.age`: the ciphertext (existence checked only).
    pub age: RelPath,
    /// `<secrets-dir>/NAME.tag`: the tag, hashed into every id that uses it.
    pub tag: RelPath,
}

/// How widely a SealedSecret may be unsealed (bitnami sealed-secrets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Only under its own name in its own namespace.
    Strict,
    /// Under any name in its namespace.
    NamespaceWide,
    /// Under any name in any namespace.
    ClusterWide,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

    /// As written in recipes and in derivation parameters.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// `sealed-secret`: a Kubernetes Secret sealed to a cluster's controller.
/// A public artifact: only the controller can open it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSecretDecl {
    /// A `cluster` with a `sealing_cert`.
    pub target: Ref,
    /// Set whenever `scope` is not cluster-wide.
    pub namespace: Option<Spanned<String>>,
    pub scope: Spanned<Scope>,
    /// The Secret's `type`; `Opaque` when not written.
    pub secret_type: Spanned<String>,
    /// Data key → the secret whose plaintext is its value; at least one.
    pub data: BTreeMap<String, Ref>,
    pub labels: BTreeMap<String, Spanned<String>>,
    pub annotations: BTreeMap<String, Spanned<String>>,
    /// Deployed after these, as for manifests.
    pub after: Vec<Ref>,
}

/// `talos-cluster`: a Talos Linux cluster; each node gets a machine config
/// and the admin a talosconfig (all secret artifacts: they carry the
/// cluster's private keys).
///
/// Loading checked everything Talos would reject about the values: the
/// contract is supported, versions are well formed, CIDRs are valid and do
/// not overlap, the endpoint is https, there is a control plane, node names
/// and addresses are unique, the VIP is inside every control plane's subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalosClusterDecl {
    /// `v1.13` (a contract) or `v1.13.2` (a release; needed for the
    /// installer image of a `schematic`).
    pub talos_version: Spanned<String>,
    /// `1.33.4`, without `v`.
    pub kubernetes_version: Spanned<String>,
    /// The Kubernetes API endpoint, `https://…`.
    pub endpoint: Spanned<String>,
    /// A shared virtual IP for the control planes.
    pub vip: Option<Spanned<String>>,
    /// The `secret` holding the cluster's secrets bundle (talosctl format).
    pub secrets: Ref,
    pub pod_cidr: Option<Spanned<String>>,
    pub service_cidr: Option<Spanned<String>>,
    /// `flannel` (Talos's default) or `none`.
    pub cni: Spanned<TalosCni>,
    /// `kube-proxy #false` disables it (for a CNI that replaces it).
    pub kube_proxy: bool,
    /// The default install disk of every node.
    pub install_disk: Option<Spanned<String>>,
    /// The Image Factory schematic of the installer image.
    pub schematic: Option<TalosSchematic>,
    /// Start of the admin certificate's validity, seconds since the Unix
    /// epoch (written as RFC 3339 `2026-01-01T00:00:00Z`).
    pub admin_cert_valid_from: Spanned<u64>,
    /// Cluster- and role-level patches, in source order.
    pub patches: Vec<TalosPatch>,
    /// In source order; names are unique within the cluster.
    pub nodes: Vec<TalosNode>,
}

/// What a Talos node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TalosRole {
    ControlPlane,
    Worker,
}

impl TalosRole {
    pub const ALL: &'static [TalosRole] = &[TalosRole::ControlPlane, TalosRole::Worker];

    /// As written in recipes, in parameters and in Talos's `machine.type`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TalosRole::ControlPlane => "controlplane",
            TalosRole::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<TalosRole> {
        TalosRole::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// The cluster's CNI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TalosCni {
    /// Talos's default CNI.
    Flannel,
    /// No CNI: one comes later (Cilium from Helm).
    None,
}

impl TalosCni {
    pub const ALL: &'static [TalosCni] = &[TalosCni::Flannel, TalosCni::None];

    pub fn as_str(&self) -> &'static str {
        match self {
            TalosCni::Flannel => "flannel",
            TalosCni::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<TalosCni> {
        TalosCni::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// `schematic { extension "…"; extra-kernel-arg "…" }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalosSchematic {
    /// Official extensions (`siderolabs/qemu-guest-agent`), in source order.
    pub extensions: Vec<Spanned<String>>,
    pub extra_kernel_args: Vec<Spanned<String>>,
    /// The `schematic` node.
    pub span: Span,
}

/// Where a Talos config patch (strategic merge or RFC 6902) comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchSource {
    /// `patch "file.yaml"`: a recipe file whose bytes are in [`Lab::files`].
    File(Spanned<RelPath>),
    /// `patch text="…"`: inline, interpolated (public: no secrets).
    Text(Spanned<String>),
}

impl PatchSource {
    pub fn span(&self) -> Span {
        match self {
            PatchSource::File(p) => p.span,
            PatchSource::Text(t) => t.span,
        }
    }
}

/// `patch "file.yaml" [role=…]` or `patch text="…" [role=…]` of a
/// `talos-cluster`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalosPatch {
    pub source: PatchSource,
    /// Only for nodes of this role (cluster level only).
    pub role: Option<Spanned<TalosRole>>,
}

/// `node "NAME" role=… { … }` of a `talos-cluster`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalosNode {
    /// The hostname: a DNS label.
    pub name: Spanned<String>,
    pub role: Spanned<TalosRole>,
    /// Static address with prefix length, `10.0.0.11/24`.
    pub address: Spanned<String>,
    pub gateway: Option<Spanned<String>>,
    /// The link the address goes on (`eth0` when not written).
    pub link: Spanned<String>,
    pub nameservers: Vec<Spanned<String>>,
    /// Overrides the cluster's `install-disk`.
    pub install_disk: Option<Spanned<String>>,
    pub labels: BTreeMap<String, Spanned<String>>,
    /// Key → `value:Effect` (or `Effect`).
    pub taints: BTreeMap<String, Spanned<String>>,
    /// Node-level patches, in source order (after the cluster's).
    pub patches: Vec<PatchSource>,
    /// The whole `node` child.
    pub span: Span,
}

impl TalosNode {
    /// The address without its prefix length.
    pub fn ip(&self) -> &str {
        self.address
            .value
            .split_once('/')
            .map_or(self.address.value.as_str(), |(ip, _)| ip)
    }
}

/// `lxc`: a container template built from pinned Debian packages, plus
/// what the deployer needs to run it (network, secrets delivered at
/// activation, services and probes to check).
///
/// Loading checked the values: paths are absolute and normalized, names of
/// units, users and groups follow their rules, addresses parse, a file
/// path, user, group, unit or secret path is declared once. Whether an
/// owner exists is known only once the packages are unpacked: the
/// `lxc-template` compiler checks it, and the planner records where each
/// parameter was written so that its error points here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcDecl {
    /// A DNS label; the container's name when not written.
    pub hostname: Spanned<String>,
    pub debian: DebianBase,
    /// Requested packages as written (`dnsdist`, `nginx (>= 1.22)`), in
    /// source order; the base set ([`LXC_BASE_PACKAGES`]) comes on top.
    pub packages: Vec<Spanned<String>>,
    pub groups: Vec<LxcGroup>,
    pub users: Vec<LxcUser>,
    /// Files baked into the template (public: no secrets), in source order.
    pub files: Vec<LxcFile>,
    /// Downloads unpacked into the template (`unpack`), in source order.
    pub archives: Vec<LxcArchive>,
    pub services: Vec<LxcService>,
    /// Secrets delivered at activation, never baked in (design D6).
    pub secrets: Vec<LxcSecret>,
    pub network: Option<LxcNetwork>,
    pub probes: Vec<LxcProbe>,
}

/// What every container gets besides its own packages: systemd as init
/// (with networkd for a static address) and the bus `systemctl` talks to;
/// `usr-is-merged` so that `init-system-helpers` does not pull in
/// `usrmerge` (templates have a merged `/usr`).
pub const LXC_BASE_PACKAGES: &[&str] = &["dbus", "systemd", "systemd-sysv", "usr-is-merged"];

/// The package a request names: `nginx` of `nginx (>= 1.22)`.
pub fn package_name(request: &str) -> &str {
    request.split([' ', '(']).next().unwrap_or_default()
}

/// `debian "bookworm" mirror=… security-mirror=… updates=… security=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebianBase {
    /// The release codename (`bookworm`).
    pub release: Spanned<String>,
    /// `system` (the machine's apt sources) or a mirror root URI.
    pub mirror: Spanned<String>,
    /// The archive of the `-security` suite when `mirror` is a URI (it is
    /// another archive: `…/debian-security`).
    pub security_mirror: Option<Spanned<String>>,
    /// Suites in priority order: the release, `-updates`, `-security`.
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub architecture: Spanned<String>,
    /// The `debian` node.
    pub span: Span,
}

/// `group "NAME" gid=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcGroup {
    pub name: Spanned<String>,
    pub gid: Option<u32>,
    pub span: Span,
}

/// `user "NAME" uid=… group=… groups=… home=… shell=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcUser {
    pub name: Spanned<String>,
    pub uid: Option<u32>,
    pub group: Option<Spanned<String>>,
    pub groups: Vec<Spanned<String>>,
    pub home: Option<Spanned<String>>,
    pub shell: Option<Spanned<String>>,
    pub span: Span,
}

/// `file "/abs/path" text=…|source=…|fetch=… mode=… owner=… group=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcFile {
    /// Absolute, normalized path inside the container.
    pub path: Spanned<String>,
    /// Never [`Content::Secret`]: templates are public.
    pub content: Content,
    /// Interpolate a `source` file (the planner does, into `text`).
    pub interpolate: bool,
    pub mode: Spanned<u32>,
    pub owner: Spanned<String>,
    pub group: Spanned<String>,
    pub span: Span,
}

/// `unpack "FETCH" to="/dir" strip-components=… include=… owner=… group=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcArchive {
    /// A `fetch` declaration: the archive.
    pub fetch: Ref,
    pub to: Spanned<String>,
    pub strip_components: u32,
    /// Paths inside the archive (after stripping) to extract; all if empty.
    pub include: Vec<Spanned<String>>,
    pub owner: Spanned<String>,
    pub group: Spanned<String>,
    pub span: Span,
}

/// `service "UNIT" [exec=… user=… group=… working-directory=…] { env … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcService {
    /// A unit name with its suffix (`dnsdist.service`).
    pub unit: Spanned<String>,
    /// With `exec`, hlb writes the unit; without, the package's unit is
    /// enabled (and `user`/`group`/`env` go into a drop-in).
    pub exec: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub working_directory: Option<Spanned<String>>,
    pub environment: BTreeMap<String, Spanned<String>>,
    pub span: Span,
}

/// `secret "NAME" path="/run/…" owner=… group=… mode=…`: delivered by the
/// deployer at activation to a tmpfs path, never part of the template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcSecret {
    pub secret: Ref,
    pub path: Spanned<String>,
    pub owner: Spanned<String>,
    pub group: Spanned<String>,
    pub mode: Spanned<u32>,
    pub span: Span,
}

/// `address "10.0.0.53/24" gateway=… interface=…` and `nameserver` children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcNetwork {
    pub interface: Spanned<String>,
    /// With its prefix length.
    pub address: Spanned<String>,
    pub gateway: Option<Spanned<String>>,
    pub nameservers: Vec<Spanned<String>>,
}

/// How the deployer checks a container answers (recorded in the
/// generation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// A TCP connection is accepted.
    Tcp,
    /// An HTTP GET of `path` answers with a status below 400.
    Http { path: String },
    /// A DNS query for `name` (type A) gets an answer.
    Dns { name: String },
}

/// `probe "tcp"|"http"|"dns" port=… path=… name=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcProbe {
    pub kind: ProbeKind,
    pub port: u16,
    pub span: Span,
}

/// How [`Lab::decls`] is sorted: by name, then secrets last.
pub fn order_key(d: &Decl) -> (&str, bool) {
    (d.name.value.as_str(), d.kind == Kind::Secret)
}

/// Where the declaration `name` is in `decls` (sorted by [`order_key`]):
/// among secrets when `secret`, else among all other kinds.
pub fn position(decls: &[Decl], name: &str, secret: bool) -> Option<usize> {
    decls
        .binary_search_by(|d| order_key(d).cmp(&(name, secret)))
        .ok()
}

impl Lab {
    /// The declaration named `name`, secrets aside (see [`Lab::secret`]).
    pub fn get(&self, name: &str) -> Option<&Decl> {
        position(&self.decls, name, false).map(|i| &self.decls[i])
    }

    /// The `secret` declaration named `name`.
    pub fn secret(&self, name: &str) -> Option<&Decl> {
        position(&self.decls, name, true).map(|i| &self.decls[i])
    }

    /// A parameter's value; `lab.name` is the lab's name.
    pub fn param(&self, name: &str) -> Option<&str> {
        if name == "lab.name" {
            return Some(&self.name.value);
        }
        self.params.get(name).map(|p| p.value.as_str())
    }

    /// The declarations of one kind, by name.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Decl> {
        self.decls.iter().filter(move |d| d.kind == kind)
    }

    /// The bytes of a recipe file a declaration reads.
    pub fn file(&self, path: &RelPath) -> Option<&RecipeFile> {
        self.files.get(path)
    }

    /// The tag file of the declared secret `name`.
    pub fn secret_tag(&self, name: &str) -> Option<&RecipeFile> {
        match &self.secret(name)?.body {
            Body::Secret(s) => self.files.get(&s.tag),
            _ => None,
        }
    }
}
