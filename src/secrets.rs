//! The CLI's side of secrets: finding the operator's identity, and the
//! `SecretSource` compilers use during a build.
//!
//! Plaintext lives only in `Plaintext` buffers (zeroized on drop) while a
//! compiler needs it; core dumps are off from the moment an identity is
//! loaded (design D7). Nothing here prints a value.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use std::sync::Arc;

use hlb_builder::decl::Lab;
use hlb_builder::{BuildError, SecretSource};
use hlb_secrets::age_file::{self, Identity, Recipient};
use hlb_secrets::{CoreDumpGuard, LabKey, Plaintext, SecretName, SecretsDir};

/// The operator's identity could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("identity file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error(transparent)]
    Read(#[from] age_file::AgeError),
    #[error(
        "no age identity: pass --identity FILE, set HLB_AGE_IDENTITY, or create ~/.ssh/id_ed25519"
    )]
    None,
    #[error("the lab's recipients")]
    Recipients(#[source] hlb_secrets::dir::RecipientsError),
    #[error("the lab's deploy-recipient")]
    DeployRecipients(#[source] age_file::AgeError),
}

/// The operator's identities, found as `--identity`, `HLB_AGE_IDENTITY`,
/// or `~/.ssh/id_ed25519`, in that order. `Ok(None)` when none exists
/// (builds without secrets still work); a file that exists but cannot be
/// used is an error.
pub fn find_identities(
    explicit: Option<&Path>,
) -> Result<Option<(PathBuf, Vec<Identity>)>, IdentityError> {
    let env = std::env::var_os("HLB_AGE_IDENTITY");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let candidates = age_file::identity_search_path(explicit, env.as_deref(), home.as_deref());
    let must_exist = explicit.is_some() || env.as_ref().is_some_and(|v| !v.is_empty());
    for path in candidates {
        if !path.exists() {
            if must_exist {
                return Err(IdentityError::Missing { path });
            }
            continue;
        }
        let ids = age_file::read_identity_file(&path)?;
        return Ok(Some((path, ids)));
    }
    Ok(None)
}

/// Secrets for a build: the secrets directory, the operator's identities,
/// and where secret artifacts are sealed to in the store.
pub struct CliSecrets {
    dir: SecretsDir,
    identities: Vec<Identity>,
    store_recipients: Vec<Recipient>,
    lab_key: OnceLock<Result<LabKey, String>>,
    _no_core_dumps: Option<CoreDumpGuard>,
}

impl CliSecrets {
    /// `deploy_recipients` are the lab's `deploy-recipient`s; when it
    /// declares none, the store seals to the repository's own recipients
    /// (`recipients.txt`), so the operators can always read their store.
    pub fn new(
        dir: SecretsDir,
        identities: Vec<Identity>,
        deploy_recipients: &[String],
    ) -> Result<CliSecrets, IdentityError> {
        let store_recipients = if deploy_recipients.is_empty() {
            dir.recipients().map_err(IdentityError::Recipients)?
        } else {
            let text = deploy_recipients.join("\n");
            age_file::parse_recipients("deploy-recipient", &text)
                .map_err(IdentityError::DeployRecipients)?
        };
        Ok(CliSecrets {
            dir,
            identities,
            store_recipients,
            lab_key: OnceLock::new(),
            _no_core_dumps: CoreDumpGuard::new().ok(),
        })
    }
}

impl SecretSource for CliSecrets {
    fn reveal(&self, name: &str) -> Result<Plaintext, BuildError> {
        let name = SecretName::new(name).map_err(|e| BuildError::Invalid(e.to_string()))?;
        let key = self.lab_key()?;
        self.dir
            .read_verified(&name, &self.identities, key)
            .map_err(|e| BuildError::Invalid(e.to_string()))
    }

    fn lab_key(&self) -> Result<&LabKey, BuildError> {
        self.lab_key
            .get_or_init(|| {
                self.dir
                    .read_lab_key(&self.identities)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| BuildError::Invalid(e.clone()))
    }

    fn seal_for_store(&self, plaintext: &Plaintext) -> Result<Vec<u8>, BuildError> {
        age_file::encrypt_to(&self.store_recipients, plaintext)
            .map_err(|e| BuildError::Invalid(e.to_string()))
    }
}

/// Scan the recipes tree for private keys and tokens lying around in clear
/// (anything but `*.age`), as the build refuses to run over them.
pub fn scan_tree(root: &Path) -> Result<Vec<hlb_secrets::Finding>, ScanError> {
    let mut findings = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|source| ScanError {
                path: dir.clone(),
                source,
            })?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            if name == ".git" || name == "target" {
                continue;
            }
            let path = e.path();
            let ft = e.file_type().map_err(|source| ScanError {
                path: path.clone(),
                source,
            })?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                if len > 16 * 1024 * 1024 {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|source| ScanError {
                    path: path.clone(),
                    source,
                })?;
                let shown = path.strip_prefix(root).unwrap_or(&path);
                if let Some(f) = hlb_secrets::scan_plaintext(shown, &bytes) {
                    findings.push(f);
                }
            }
        }
    }
    Ok(findings)
}

/// The recipes tree could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading {}", path.display())]
pub struct ScanError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The recipes tree holds secret material in clear.
#[derive(Debug, thiserror::Error)]
pub enum PlaintextSecrets {
    #[error(
        "{} file{} in {} hold{} secret material in clear: move it into a secret (`hlb secret set NAME --from-file FILE`), delete the file, and rotate it if it was ever committed",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        root.display(),
        if findings.len() == 1 { "s" } else { "" }
    )]
    Found {
        root: PathBuf,
        findings: Vec<hlb_secrets::Finding>,
    },
    #[error(transparent)]
    Scan(#[from] ScanError),
}

/// Refuse to go on when the recipes tree holds a private key or token in
/// clear (anything but `*.age`): it would end up in git.
pub fn refuse_plaintext_secrets(root: &Path) -> Result<(), PlaintextSecrets> {
    let findings = scan_tree(root)?;
    if findings.is_empty() {
        return Ok(());
    }
    Err(PlaintextSecrets::Found {
        root: root.to_path_buf(),
        findings,
    })
}

/// Secrets for a build: the operator's identity if there is one, else
/// `None` (the scheduler then fails each secret-bearing derivation with a
/// clear message, and everything else still builds).
pub fn secret_source(
    env: &crate::ops::Env,
    lab: &Lab,
) -> Result<Option<Arc<dyn SecretSource>>, IdentityError> {
    let Some((_, ids)) = find_identities(env.identity.as_deref())? else {
        return Ok(None);
    };
    let recipients: Vec<String> = lab
        .deploy_recipients
        .iter()
        .map(|r| r.value.clone())
        .collect();
    let dir = SecretsDir::new(env.recipes.join(lab.secrets_dir.as_str()));
    Ok(Some(Arc::new(CliSecrets::new(dir, ids, &recipients)?)))
}
