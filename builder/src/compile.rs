//! The interface every artifact compiler implements.
//!
//! A compiler is a pure function of its derivation: it reads the derivation's
//! parameters, the outputs of its input derivations and the bytes of its
//! declared recipe sources, and writes one output (a file or a directory) at
//! `out`. It sees nothing else: no recipe tree, no environment, no clock. The
//! scheduler gives it a fresh scratch directory and removes it afterwards.
//! Compilers never print; they return errors, which the scheduler reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlb_secrets::{LabKey, Plaintext};

use crate::diag::Diagnostics;
use crate::drv::{Derivation, DrvId};

/// Where compilers of secret-bearing artifacts get plaintext, and how their
/// outputs are sealed for the store.
///
/// The CLI implements it with the operator's age identity (decrypting each
/// secret once, in memory, checked against its committed tag); builds
/// without an identity get [`NoSecrets`], and every secret-bearing
/// derivation fails with [`BuildError::NeedsIdentity`] while the rest of
/// the lab still builds.
pub trait SecretSource: Send + Sync {
    /// The plaintext of secret `name`, verified against its tag.
    fn reveal(&self, name: &str) -> Result<Plaintext, BuildError>;
    /// The lab key, for deterministic seeds (sealing) derived per derivation.
    fn lab_key(&self) -> Result<&LabKey, BuildError>;
    /// Encrypt an output to the lab's deploy recipients (what the store keeps
    /// of a secret artifact).
    fn seal_for_store(&self, plaintext: &Plaintext) -> Result<Vec<u8>, BuildError>;
}

/// The source of a build without an identity: nothing can be revealed.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn reveal(&self, name: &str) -> Result<Plaintext, BuildError> {
        Err(BuildError::NeedsIdentity(format!("secret `{name}`")))
    }
    fn lab_key(&self) -> Result<&LabKey, BuildError> {
        Err(BuildError::NeedsIdentity("the lab key".into()))
    }
    fn seal_for_store(&self, _: &Plaintext) -> Result<Vec<u8>, BuildError> {
        Err(BuildError::NeedsIdentity("the deploy recipients".into()))
    }
}

/// Everything a compiler may look at.
pub struct BuildCx<'a> {
    pub id: DrvId,
    pub drv: &'a Derivation,
    /// Store output of each input derivation, by the role the derivation gave it.
    pub inputs: BTreeMap<String, PathBuf>,
    /// Bytes of each declared recipe source, by role (already hash-checked).
    pub sources: BTreeMap<String, Arc<[u8]>>,
    /// Where the output goes. It does not exist yet: create a file or a directory there.
    pub out: &'a Path,
    /// An empty scratch directory, removed after the build.
    pub tmp: &'a Path,
    /// Plaintext for secret-bearing derivations (`drv.secret`); others never
    /// need it.
    pub secrets: &'a dyn SecretSource,
}

impl BuildCx<'_> {
    /// The bytes of source `role`, or an internal error naming it.
    pub fn source(&self, role: &str) -> Result<&[u8], BuildError> {
        self.sources.get(role).map(|b| &b[..]).ok_or_else(|| {
            BuildError::Internal(format!(
                "derivation {} has no source `{role}`",
                self.drv.name
            ))
        })
    }

    /// The store output of input `role`, or an internal error naming it.
    pub fn input(&self, role: &str) -> Result<&Path, BuildError> {
        self.inputs.get(role).map(PathBuf::as_path).ok_or_else(|| {
            BuildError::Internal(format!(
                "derivation {} has no input `{role}`",
                self.drv.name
            ))
        })
    }
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The input is wrong (a manifest that is not YAML, a hash mismatch, …).
    /// The message is for the user and names what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Like [`BuildError::Invalid`], and the problem is at one parameter of
    /// the derivation: `at` is its path in the params (`files[2].owner`,
    /// `packages[0]`, `archives[1]`), so a caller holding the plan can point
    /// at the recipe text that wrote it. The message stands on its own.
    #[error("{message}")]
    InvalidAt { at: String, message: String },
    /// The environment failed (disk full, network down, …).
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Something that should not happen: a bug in hlb.
    #[error("internal error: {0}")]
    Internal(String),
    /// A secret-bearing artifact, built without an identity that opens the
    /// lab's secrets. Names what was needed, never a value.
    #[error(
        "{0} is needed to build this, and no age identity opens it: pass --identity FILE or set HLB_AGE_IDENTITY"
    )]
    NeedsIdentity(String),
}

impl BuildError {
    pub fn io(op: &'static str, path: &Path, source: std::io::Error) -> BuildError {
        BuildError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An artifact compiler for one derivation kind.
pub trait Compiler: Send + Sync {
    /// The derivation kind it builds (`file`, `manifest`, …).
    fn kind(&self) -> &'static str;
    /// Bump whenever the output for the same derivation could change.
    fn version(&self) -> u32;
    /// Build `cx.drv` into `cx.out`.
    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError>;
    /// Problems this compiler would meet building `plan`, found before
    /// anything is built and located in the recipes (a Talos patch that
    /// does not apply). Runs once per plan, without an identity and without
    /// the store: it sees the lab and the plan, nothing else. Most kinds
    /// have nothing to check.
    fn check(&self, lab: &crate::decl::Lab, plan: &crate::plan::Plan) -> Diagnostics {
        let _ = (lab, plan);
        Diagnostics::default()
    }
}
