//! The CLI's side of secrets: finding the operator's identity, and the
//! `SecretSource` compilers use during a build.
//!
//! Plaintext lives only in `Plaintext` buffers (zeroized on drop) while a
//! compiler needs it; core dumps are off from the moment an identity is
//! loaded (design D7). Nothing here prints a value.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, anyhow};
use hlb_builder::{BuildError, SecretSource};
use hlb_secrets::age_file::{self, Identity, Recipient};
use hlb_secrets::{CoreDumpGuard, LabKey, Plaintext, SecretName, SecretsDir};

/// The operator's identities, found as `--identity`, `HLB_AGE_IDENTITY`,
/// or `~/.ssh/id_ed25519`, in that order. `Ok(None)` when none exists
/// (builds without secrets still work); a file that exists but cannot be
/// used is an error.
pub fn find_identities(
    explicit: Option<&Path>,
) -> anyhow::Result<Option<(PathBuf, Vec<Identity>)>> {
    let env = std::env::var_os("HLB_AGE_IDENTITY");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let candidates = age_file::identity_search_path(explicit, env.as_deref(), home.as_deref());
    let must_exist = explicit.is_some() || env.as_ref().is_some_and(|v| !v.is_empty());
    for path in candidates {
        if !path.exists() {
            if must_exist {
                return Err(anyhow!("identity file {} does not exist", path.display()));
            }
            continue;
        }
        let ids = age_file::read_identity_file(&path).map_err(|e| anyhow!("{e}"))?;
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
    ) -> anyhow::Result<CliSecrets> {
        let store_recipients = if deploy_recipients.is_empty() {
            dir.recipients().map_err(|e| anyhow!("{e}"))?
        } else {
            let text = deploy_recipients.join("\n");
            age_file::parse_recipients("deploy-recipient", &text).map_err(|e| anyhow!("{e}"))?
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
pub fn scan_tree(root: &Path) -> anyhow::Result<Vec<hlb_secrets::Finding>> {
    let mut findings = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            if name == ".git" || name == "target" {
                continue;
            }
            let path = e.path();
            let ft = e
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                if len > 16 * 1024 * 1024 {
                    continue;
                }
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let shown = path.strip_prefix(root).unwrap_or(&path);
                if let Some(f) = hlb_secrets::scan_plaintext(shown, &bytes) {
                    findings.push(f);
                }
            }
        }
    }
    Ok(findings)
}
