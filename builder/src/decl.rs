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
//! A kind added later (talos-cluster, lxc, helm-release, …) is one more
//! [`Kind`] variant, one more [`Body`] variant with its own struct, and one
//! more reader in `load::kinds`.

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
    /// Sorted by name; names are unique.
    pub decls: Vec<Decl>,
    /// Every recipe file read, for diagnostics of later stages.
    pub sources: SourceMap,
    /// Every non-KDL file a declaration reads (`source=`, `file=`), read once.
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
        }
    }

    /// Every reference this declaration makes, with the role it plays.
    pub fn refs(&self) -> Vec<(RefRole, &Ref)> {
        let mut out = Vec::new();
        match self {
            Body::File(f) => {
                out.extend(f.target.as_ref().map(|r| (RefRole::FileTarget, r)));
                out.extend(f.content.fetch().map(|r| (RefRole::Fetch, r)));
            }
            Body::Manifest(m) => {
                out.push((RefRole::ManifestTarget, &m.target));
                out.extend(m.content.fetch().map(|r| (RefRole::Fetch, r)));
                out.extend(m.after.iter().map(|r| (RefRole::After, r)));
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
                if let Content::Fetch(r) = &mut f.content {
                    out.push((RefRole::Fetch, r));
                }
            }
            Body::Manifest(m) => {
                out.push((RefRole::ManifestTarget, &mut m.target));
                if let Content::Fetch(r) = &mut m.content {
                    out.push((RefRole::Fetch, r));
                }
                out.extend(m.after.iter_mut().map(|r| (RefRole::After, r)));
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
    /// `after`: ordering among deployed things.
    After,
}

impl RefRole {
    /// The kinds this reference may resolve to.
    pub fn allowed(&self) -> &'static [Kind] {
        match self {
            RefRole::FileTarget => &[Kind::Cluster, Kind::Host],
            RefRole::ManifestTarget => &[Kind::Cluster],
            RefRole::Fetch => &[Kind::Fetch],
            RefRole::After => &[Kind::Manifest, Kind::File],
        }
    }

    /// How the property or child that holds the reference is written.
    pub fn property(&self) -> &'static str {
        match self {
            RefRole::FileTarget | RefRole::ManifestTarget => "target",
            RefRole::Fetch => "fetch",
            RefRole::After => "after",
        }
    }

    /// Whether the referrer is built or deployed after what it names (all
    /// roles but targets); cycles through these are errors.
    pub fn is_dependency(&self) -> bool {
        matches!(self, RefRole::Fetch | RefRole::After)
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
}

impl Content {
    pub fn fetch(&self) -> Option<&Ref> {
        match self {
            Content::Fetch(r) => Some(r),
            Content::Text(_) | Content::Source(_) => None,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Content::Text(t) => t.span,
            Content::Source(s) => s.span,
            Content::Fetch(r) => r.span,
        }
    }
}

/// `cluster`: a Kubernetes API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDecl {
    /// An `https://` URL.
    pub api: Spanned<String>,
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
    /// Permission bits, at most `0o777`; `0o644` when not written.
    pub mode: Spanned<u32>,
    /// A cluster or a host; set exactly when `path` is.
    pub target: Option<Ref>,
    /// Absolute destination path on the target.
    pub path: Option<Spanned<String>>,
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

/// `secret`: an age-encrypted file in the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDecl {
    pub file: Spanned<RelPath>,
}

impl Lab {
    /// The declaration named `name`.
    pub fn get(&self, name: &str) -> Option<&Decl> {
        self.decls
            .binary_search_by(|d| d.name.value.as_str().cmp(name))
            .ok()
            .map(|i| &self.decls[i])
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
}
