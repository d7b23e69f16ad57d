//! `secret …`: age-encrypted secrets in the recipes repository.
//!
//! Every operation first finishes or undoes an interrupted rekey
//! (`hlb_secrets::recover`), so the files are always in one consistent
//! state. Plaintext is returned only by [`show`], and written to disk only
//! as the `edit` buffer (0600, tmpfs, removed on exit: plaintext never
//! touches a disk that outlives the edit).

mod editor;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hlb_builder::io::{FsIo, RelPath};
use hlb_cache::fsx::{IoError, write_atomic};
use hlb_secrets::age_file::{self, AgeError, Identity, Recipient};
use hlb_secrets::dir::{RECIPIENTS_FILE, RecipientsError};
use hlb_secrets::plaintext::InvalidName;
use hlb_secrets::sealing_key::{SealingKeyError, SealingKeyParams, generate_sealing_key};
use hlb_secrets::{
    CoreDumpGuard, LabKey, Plaintext, Recovery, RekeyError, SecretError, SecretName, SecretsDir,
    Tag,
};

pub use editor::EditorError;

use super::env::{ENTRY, Env};
use super::events::{Event, SharedReporter};
use super::exit::ExitClass;
use crate::secrets::{IdentityError, find_identities};

/// Name of the secret holding the sealed-secrets controller's private key.
pub const SEALING_KEY: &str = "sealing-key";
/// Its public certificate, beside it.
pub const SEALING_CERT: &str = "sealing-key.crt";

#[derive(Debug, thiserror::Error)]
pub enum SecretOpError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("finishing an interrupted rekey")]
    Recover(#[source] RekeyError),
    #[error(transparent)]
    Rekey(RekeyError),
    #[error("reading the recipients (run `hlb secret init` first)")]
    Recipients(#[source] RecipientsError),
    #[error("{recipient}")]
    BadRecipient {
        recipient: String,
        #[source]
        source: AgeError,
    },
    #[error("{} has no usable recipient: pass --recipient", path.display())]
    NoRecipient { path: PathBuf },
    #[error("{} exists: this lab's secrets are set up already (add people with `hlb secret recipients add`)", path.display())]
    AlreadyInitialized { path: PathBuf },
    #[error("{} exists: refusing to overwrite an identity", path.display())]
    IdentityExists { path: PathBuf },
    #[error("{target} is not a recipient (see `hlb secret recipients list`)")]
    NotRecipient { target: String },
    #[error("refusing to remove the last recipient: nobody could decrypt the secrets")]
    LastRecipient,
    #[error("{} exists: {why}; pass --force to replace it", path.display())]
    Exists { path: PathBuf, why: &'static str },
    #[error("{} exists: a new key would leave every SealedSecret sealed so far unreadable by a rebuilt cluster; pass --force to replace it", path.display())]
    SealingKeyExists { path: PathBuf },
    #[error("generating the sealing key")]
    SealingKey(#[source] SealingKeyError),
    #[error("the clock is before 1970")]
    Clock(#[source] std::time::SystemTimeError),
    #[error("{op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] IoError),
    #[error("reading the secret from stdin")]
    Stdin(#[source] std::io::Error),
    #[error(transparent)]
    Editor(#[from] EditorError),
}

impl SecretOpError {
    pub fn class(&self) -> ExitClass {
        match self {
            SecretOpError::Name(_)
            | SecretOpError::BadRecipient { .. }
            | SecretOpError::NoRecipient { .. }
            | SecretOpError::IdentityExists { .. }
            | SecretOpError::NotRecipient { .. }
            | SecretOpError::LastRecipient => ExitClass::Usage,
            // A secret that is missing, does not decrypt, or does not match
            // its tag: refused.
            SecretOpError::Secret(SecretError::Io { .. }) => ExitClass::Environment,
            SecretOpError::Secret(_)
            | SecretOpError::Exists { .. }
            | SecretOpError::SealingKeyExists { .. }
            | SecretOpError::AlreadyInitialized { .. } => ExitClass::Failed,
            _ => ExitClass::Environment,
        }
    }
}

type Result<T> = std::result::Result<T, SecretOpError>;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SecretOpError {
    let path = path.to_path_buf();
    move |source| SecretOpError::Io { op, path, source }
}

/// The lab's secrets directory: its `secrets-dir` when the recipes load
/// (quietly: `hlb secret` must work while a recipe is broken), else
/// `secrets/` under the recipes.
pub fn secrets_dir(env: &Env) -> PathBuf {
    let io = FsIo::new(env.recipes.clone());
    let declared = RelPath::new(ENTRY)
        .ok()
        .and_then(|entry| hlb_builder::load::load(&io, &entry).ok())
        .map(|lab| lab.secrets_dir.as_str().to_string());
    env.recipes
        .join(declared.unwrap_or_else(|| hlb_builder::load::DEFAULT_SECRETS_DIR.to_string()))
}

/// The lab's secrets directory, after finishing or undoing an interrupted
/// rekey (every operation that reads or writes secrets starts here).
pub fn open_dir(env: &Env, reporter: &SharedReporter) -> Result<SecretsDir> {
    let dir = SecretsDir::new(secrets_dir(env));
    if dir.root().exists() {
        let recovery = hlb_secrets::recover(&dir).map_err(SecretOpError::Recover)?;
        if !matches!(recovery, Recovery::Clean) {
            reporter.event(&Event::SecretsRecovered(&recovery));
        }
    }
    Ok(dir)
}

/// The operator's identities, or an error saying how to provide one.
pub fn identities(env: &Env) -> Result<(PathBuf, Vec<Identity>)> {
    Ok(find_identities(env.identity.as_deref())?.ok_or(IdentityError::None)?)
}

/// Identities, the lab key and the recipients: what writing a secret needs.
pub fn keys(env: &Env, dir: &SecretsDir) -> Result<(Vec<Identity>, LabKey, Vec<Recipient>)> {
    let (_, ids) = identities(env)?;
    let recipients = dir.recipients().map_err(SecretOpError::Recipients)?;
    let lab_key = dir.read_lab_key(&ids)?;
    Ok((ids, lab_key, recipients))
}

fn parse_recipient(r: &str) -> Result<Recipient> {
    r.parse().map_err(|source| SecretOpError::BadRecipient {
        recipient: r.to_string(),
        source,
    })
}

/// Options of `secret init`.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Recipients besides the operator [default: the identity's own].
    pub recipients: Vec<String>,
    /// Generate a new age identity into this file (0600) and use it.
    pub new_identity: Option<PathBuf>,
}

/// What `secret init` set up.
#[derive(Debug)]
pub struct Initialized {
    pub dir: PathBuf,
    pub lab_key_id: String,
    pub recipients: usize,
    /// The new identity file, when one was generated.
    pub new_identity: Option<PathBuf>,
}

/// Set up the secrets directory: recipients and the lab key.
pub fn init(env: &Env, opts: &InitOptions, reporter: &SharedReporter) -> Result<Initialized> {
    let dir = open_dir(env, reporter)?;
    let lab_key_path = dir.age_path(&SecretsDir::lab_key_name());
    if lab_key_path.exists() {
        return Err(SecretOpError::AlreadyInitialized { path: lab_key_path });
    }
    let mut recipients: Vec<Recipient> = Vec::new();
    if let Some(path) = &opts.new_identity {
        if path.exists() {
            return Err(SecretOpError::IdentityExists { path: path.clone() });
        }
        let generated = age_file::generate_x25519_identity();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
        }
        let mut f = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut file = f
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io("creating", path))?;
        file.write_all(generated.identity_file.expose())
            .map_err(io("writing", path))?;
        file.sync_all().map_err(io("syncing", path))?;
        reporter.event(&Event::Note(&format!(
            "wrote a new age identity to {} (keep it safe; it opens the lab's secrets)",
            path.display()
        )));
        recipients.push(generated.recipient);
    } else if opts.recipients.is_empty() {
        let (path, ids) = identities(env)?;
        let r = ids
            .iter()
            .find_map(Identity::to_recipient)
            .ok_or(SecretOpError::NoRecipient { path })?;
        recipients.push(r);
    }
    for r in &opts.recipients {
        recipients.push(parse_recipient(r)?);
    }
    std::fs::create_dir_all(dir.root()).map_err(io("creating", dir.root()))?;
    let recipients_path = dir.root().join(RECIPIENTS_FILE);
    if !recipients_path.exists() {
        let mut text = String::from(
            "# Who can decrypt this lab's secrets (age or ssh recipients, one a line).\n",
        );
        text.push_str("# After a change, run `hlb secret rekey`.\n");
        for r in &recipients {
            text.push_str(&format!("{r}\n"));
        }
        write_atomic(&recipients_path, text.as_bytes())?;
    }
    let all = dir.recipients().map_err(SecretOpError::Recipients)?;
    let lab_key = LabKey::generate(&mut rand_core::OsRng);
    dir.write(&SecretsDir::lab_key_name(), &all, &lab_key.to_file_text())?;
    Ok(Initialized {
        dir: dir.root().to_path_buf(),
        lab_key_id: lab_key.id().to_string(),
        recipients: all.len(),
        new_identity: opts.new_identity.clone(),
    })
}

/// Where a secret's new plaintext comes from.
#[derive(Clone, Debug)]
pub enum PlaintextFrom {
    /// This file.
    File(PathBuf),
    /// Standard input when it is not a terminal, else an editor.
    StdinOrEditor,
}

/// A secret that was set.
#[derive(Debug)]
pub struct SecretSet {
    pub name: SecretName,
    pub age_path: PathBuf,
    pub tag_path: PathBuf,
    pub lab_key_id: String,
    pub bytes: usize,
}

fn read_plaintext(from: &PlaintextFrom, label: &str) -> Result<Plaintext> {
    if let PlaintextFrom::File(p) = from {
        let bytes = std::fs::read(p).map_err(io("reading", p))?;
        return Ok(Plaintext::new(bytes));
    }
    if !std::io::stdin().is_terminal() {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(SecretOpError::Stdin)?;
        return Ok(Plaintext::new(buf));
    }
    Ok(editor::edit_in_buffer(None, label)?)
}

fn set_plaintext(
    dir: &SecretsDir,
    n: &SecretName,
    recipients: &[Recipient],
    lab_key: &LabKey,
    plaintext: &Plaintext,
) -> Result<SecretSet> {
    let tag = dir.set(n, recipients, lab_key, plaintext)?;
    Ok(SecretSet {
        name: n.clone(),
        age_path: dir.age_path(n),
        tag_path: dir.tag_path(n),
        lab_key_id: tag.lab_key_id().to_string(),
        bytes: plaintext.len(),
    })
}

/// Set a secret.
pub fn set(
    env: &Env,
    name: &str,
    from: &PlaintextFrom,
    reporter: &SharedReporter,
) -> Result<SecretSet> {
    let dir = open_dir(env, reporter)?;
    let n = SecretName::new(name)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (_, lab_key, recipients) = keys(env, &dir)?;
    let plaintext = read_plaintext(from, n.as_str())?;
    set_plaintext(&dir, &n, &recipients, &lab_key, &plaintext)
}

/// Store `plaintext` as secret `name`, refusing to replace an existing one
/// unless `force` (`exists` explains why that matters).
pub fn set_new(
    env: &Env,
    name: &str,
    plaintext: &Plaintext,
    force: bool,
    exists: impl FnOnce(PathBuf) -> SecretOpError,
    reporter: &SharedReporter,
) -> Result<SecretSet> {
    let dir = open_dir(env, reporter)?;
    let n = SecretName::new(name)?;
    if !force && dir.age_path(&n).exists() {
        return Err(exists(dir.age_path(&n)));
    }
    let (_, lab_key, recipients) = keys(env, &dir)?;
    set_plaintext(&dir, &n, &recipients, &lab_key, plaintext)
}

/// Edit a secret in $EDITOR; `None` when it came back unchanged.
pub fn edit(env: &Env, name: &str, reporter: &SharedReporter) -> Result<Option<SecretSet>> {
    let dir = open_dir(env, reporter)?;
    let n = SecretName::new(name)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (ids, lab_key, recipients) = keys(env, &dir)?;
    let current = match dir.read_verified(&n, &ids, &lab_key) {
        Ok(p) => Some(p),
        Err(SecretError::Missing { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let edited = editor::edit_in_buffer(current.as_ref(), n.as_str())?;
    if current.as_ref().is_some_and(|c| c.ct_eq(edited.expose())) {
        return Ok(None);
    }
    set_plaintext(&dir, &n, &recipients, &lab_key, &edited).map(Some)
}

/// A secret's plaintext (the caller decides where it goes).
pub fn show(env: &Env, name: &str, reporter: &SharedReporter) -> Result<Plaintext> {
    let dir = open_dir(env, reporter)?;
    let n = SecretName::new(name)?;
    let (_, ids) = identities(env)?;
    let lab_key = dir.read_lab_key(&ids)?;
    Ok(dir.read_verified(&n, &ids, &lab_key)?)
}

/// One secret as `list` names it: the id of the lab key its tag is under,
/// or why its tag is not valid.
#[derive(Debug)]
pub struct Listed {
    pub name: SecretName,
    pub tag: std::result::Result<String, SecretError>,
}

/// The secrets (names and tags; no values).
pub fn list(env: &Env, reporter: &SharedReporter) -> Result<Vec<Listed>> {
    let dir = open_dir(env, reporter)?;
    let names = dir.list().map_err(io("reading", dir.root()))?;
    Ok(names
        .into_iter()
        .filter(|n| *n != SecretsDir::lab_key_name())
        .map(|n| {
            let tag = dir.read_tag(&n).map(|t| t.lab_key_id().to_string());
            Listed { name: n, tag }
        })
        .collect())
}

/// The recipients.
pub fn recipients(env: &Env, reporter: &SharedReporter) -> Result<Vec<Recipient>> {
    let dir = open_dir(env, reporter)?;
    dir.recipients().map_err(SecretOpError::Recipients)
}

fn recipients_text(dir: &SecretsDir) -> Result<(PathBuf, String)> {
    let path = dir.root().join(RECIPIENTS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| SecretOpError::Io {
        op: "reading (run `hlb secret init` first)",
        path: path.clone(),
        source,
    })?;
    Ok((path, text))
}

/// Add a recipient; `false` when it already was one.
pub fn add_recipient(env: &Env, recipient: &str, reporter: &SharedReporter) -> Result<bool> {
    let dir = open_dir(env, reporter)?;
    let (path, text) = recipients_text(&dir)?;
    let line = parse_recipient(recipient)?.to_string();
    let existing = dir.recipients().map_err(SecretOpError::Recipients)?;
    if existing.iter().any(|x| x.to_string() == line) {
        return Ok(false);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&line);
    new.push('\n');
    write_atomic(&path, new.as_bytes())?;
    Ok(true)
}

/// Remove a recipient (never the last one).
pub fn remove_recipient(env: &Env, recipient: &str, reporter: &SharedReporter) -> Result<()> {
    let dir = open_dir(env, reporter)?;
    let (path, text) = recipients_text(&dir)?;
    let target = parse_recipient(recipient)?.to_string();
    let mut removed = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let hit = l
                .trim()
                .parse::<Recipient>()
                .is_ok_and(|x| x.to_string() == target);
            removed |= hit;
            !hit
        })
        .collect();
    if !removed {
        return Err(SecretOpError::NotRecipient { target });
    }
    let mut new = kept.join("\n");
    new.push('\n');
    if age_file::parse_recipients("recipients", &new)
        .map(|v| v.is_empty())
        .unwrap_or(true)
    {
        return Err(SecretOpError::LastRecipient);
    }
    write_atomic(&path, new.as_bytes())?;
    Ok(())
}

/// What `rekey` re-encrypted.
#[derive(Debug)]
pub struct Rekeyed {
    pub secrets: Vec<SecretName>,
    pub recipients: usize,
}

/// Re-encrypt every secret to the current recipients, all or nothing.
pub fn rekey(env: &Env, reporter: &SharedReporter) -> Result<Rekeyed> {
    let dir = open_dir(env, reporter)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (_, ids) = identities(env)?;
    let recipients = dir.recipients().map_err(SecretOpError::Recipients)?;
    let report = hlb_secrets::rekey(&dir, &ids, &recipients).map_err(SecretOpError::Rekey)?;
    Ok(Rekeyed {
        secrets: report.rekeyed,
        recipients: recipients.len(),
    })
}

/// Recompute every tag under the lab key; returns how many and the key's id.
pub fn retag(env: &Env, reporter: &SharedReporter) -> Result<(usize, String)> {
    let dir = open_dir(env, reporter)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (ids, lab_key, _) = keys(env, &dir)?;
    let mut done = 0;
    for n in dir.list().map_err(io("reading", dir.root()))? {
        if n == SecretsDir::lab_key_name() {
            continue;
        }
        let plaintext = dir.read(&n, &ids)?;
        let tag = Tag::compute(&lab_key, &n, &plaintext);
        write_atomic(&dir.tag_path(&n), tag.to_file_text().as_bytes())?;
        done += 1;
    }
    Ok((done, lab_key.id().to_string()))
}

/// Options of `secret sealing-key init`.
#[derive(Clone, Debug)]
pub struct SealingKeyOptions {
    /// Certificate validity start, Unix seconds [default: now].
    pub not_before: Option<u64>,
    pub days: u64,
    pub bits: usize,
    pub force: bool,
}

/// The sealing key that was written.
#[derive(Debug)]
pub struct SealingKeyWritten {
    pub secret: PathBuf,
    pub certificate: PathBuf,
    /// The certificate as recipes reference it (`sealing-cert=`).
    pub reference: PathBuf,
    pub not_before: u64,
    pub days: u64,
}

/// Generate the sealed-secrets controller's key pair.
pub fn sealing_key_init(
    env: &Env,
    opts: &SealingKeyOptions,
    reporter: &SharedReporter,
) -> Result<SealingKeyWritten> {
    let dir = open_dir(env, reporter)?;
    let n = SecretName::new(SEALING_KEY)?;
    let cert_path = dir.root().join(SEALING_CERT);
    if !opts.force && (dir.age_path(&n).exists() || cert_path.exists()) {
        return Err(SecretOpError::SealingKeyExists {
            path: dir.age_path(&n),
        });
    }
    let _no_core = CoreDumpGuard::new().ok();
    let (_, lab_key, recipients) = keys(env, &dir)?;
    let not_before = match opts.not_before {
        Some(t) => t,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(SecretOpError::Clock)?
            .as_secs(),
    };
    reporter.event(&Event::Note(&format!(
        "generating an RSA-{} key (this takes a few seconds)",
        opts.bits
    )));
    let params = SealingKeyParams {
        bits: opts.bits,
        common_name: String::new(),
        not_before_unix: not_before,
        valid_for: Duration::from_secs(opts.days * 86_400),
    };
    let pair =
        generate_sealing_key(&mut rand_core::OsRng, &params).map_err(SecretOpError::SealingKey)?;
    dir.set(&n, &recipients, &lab_key, &pair.private_key_pem)?;
    write_atomic(&cert_path, pair.certificate_pem.as_bytes())?;
    Ok(SealingKeyWritten {
        secret: dir.age_path(&n),
        reference: env.in_recipes(&cert_path).to_path_buf(),
        certificate: cert_path,
        not_before,
        days: opts.days,
    })
}
