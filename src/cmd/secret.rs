//! `hlb secret …`: age-encrypted secrets in the recipes repository.
//!
//! Every command first finishes or undoes an interrupted rekey
//! (`hlb_secrets::recover`), so the files are always in one consistent
//! state. Plaintext is printed only by `show`, and written to disk only as
//! the `edit` buffer (0600, tmpfs, removed on exit: design D7).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use hlb_secrets::age_file::{self, Identity, Recipient};
use hlb_secrets::dir::{RECIPIENTS_FILE, write_atomic};
use hlb_secrets::sealing_key::{SealingKeyParams, generate_sealing_key};
use hlb_secrets::{CoreDumpGuard, LabKey, Plaintext, Recovery, SecretName, SecretsDir, Tag};
use serde_json::json;

use crate::cli::{RecipientsCommand, SealingKeyCommand, SecretCommand};
use crate::ctx::Ctx;
use crate::{Failure, Result};
use hlb::secrets::find_identities;

/// Name of the secret holding the sealed-secrets controller's private key.
pub const SEALING_KEY: &str = "sealing-key";
/// Its public certificate, beside it.
pub const SEALING_CERT: &str = "sealing-key.crt";

pub fn run(ctx: &Ctx, cmd: SecretCommand) -> Result<()> {
    let dir = open_dir(ctx)?;
    match cmd {
        SecretCommand::Init {
            recipient,
            new_identity,
        } => init(ctx, &dir, &recipient, new_identity.as_deref()),
        SecretCommand::Set { name, from_file } => set(ctx, &dir, &name, from_file.as_deref()),
        SecretCommand::Edit { name } => edit(ctx, &dir, &name),
        SecretCommand::Show { name } => show(ctx, &dir, &name),
        SecretCommand::List => list(ctx, &dir),
        SecretCommand::Recipients(c) => recipients(ctx, &dir, c),
        SecretCommand::Rekey => rekey(ctx, &dir),
        SecretCommand::Retag => retag(ctx, &dir),
        SecretCommand::SealingKey(SealingKeyCommand::Init {
            not_before,
            days,
            bits,
            force,
        }) => sealing_key_init(ctx, &dir, not_before, days, bits, force),
    }
}

/// The lab's secrets directory, after finishing or undoing an interrupted
/// rekey (every command that reads or writes secrets starts here).
pub(crate) fn open_dir(ctx: &Ctx) -> Result<SecretsDir> {
    let dir = SecretsDir::new(ctx.secrets_dir());
    if dir.root().exists() {
        match hlb_secrets::recover(&dir).map_err(|e| anyhow!("{e}"))? {
            Recovery::Clean => {}
            Recovery::RolledBack(n) => ctx.out.status(&format!(
                "undid an interrupted rekey ({n} temporary files removed)"
            )),
            Recovery::RolledForward(names) => ctx.out.status(&format!(
                "completed an interrupted rekey ({} secrets)",
                names.len()
            )),
        }
    }
    Ok(dir)
}

pub(crate) fn name(s: &str) -> Result<SecretName> {
    SecretName::new(s).map_err(|e| anyhow!("{e}").into())
}

/// The operator's identities, or an error saying how to provide one.
pub(crate) fn identities(ctx: &Ctx) -> Result<(PathBuf, Vec<Identity>)> {
    find_identities(ctx.global.identity.as_deref())?.ok_or_else(|| {
        anyhow!("no age identity: pass --identity FILE, set HLB_AGE_IDENTITY, or create ~/.ssh/id_ed25519").into()
    })
}

/// Identities, the lab key and the recipients: what writing a secret needs.
pub(crate) fn keys(ctx: &Ctx, dir: &SecretsDir) -> Result<(Vec<Identity>, LabKey, Vec<Recipient>)> {
    let (_, ids) = identities(ctx)?;
    let recipients = dir
        .recipients()
        .map_err(|e| anyhow!("{e} (run `hlb secret init` first)"))?;
    let lab_key = dir.read_lab_key(&ids).map_err(|e| anyhow!("{e}"))?;
    Ok((ids, lab_key, recipients))
}

fn init(ctx: &Ctx, dir: &SecretsDir, extra: &[String], new_identity: Option<&Path>) -> Result<()> {
    let lab_key_path = dir.age_path(&SecretsDir::lab_key_name());
    if lab_key_path.exists() {
        return Err(anyhow!(
            "{} exists: this lab's secrets are set up already (add people with `hlb secret recipients add`)",
            lab_key_path.display()
        ).into());
    }
    let mut recipients: Vec<Recipient> = Vec::new();
    if let Some(path) = new_identity {
        if path.exists() {
            return Err(anyhow!(
                "{} exists: refusing to overwrite an identity",
                path.display()
            )
            .into());
        }
        let generated = age_file::generate_x25519_identity();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut f = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut file = f
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(generated.identity_file.expose())
            .with_context(|| format!("writing {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", path.display()))?;
        ctx.out.status(&format!(
            "wrote a new age identity to {} (keep it safe; it opens the lab's secrets)",
            path.display()
        ));
        recipients.push(generated.recipient);
    } else if extra.is_empty() {
        let (path, ids) = identities(ctx)?;
        let r = ids.iter().find_map(Identity::to_recipient).ok_or_else(|| {
            anyhow!(
                "{} has no usable recipient: pass --recipient",
                path.display()
            )
        })?;
        recipients.push(r);
    }
    for r in extra {
        recipients.push(r.parse().map_err(|e| anyhow!("--recipient {r}: {e}"))?);
    }
    std::fs::create_dir_all(dir.root())
        .with_context(|| format!("creating {}", dir.root().display()))?;
    let recipients_path = dir.root().join(RECIPIENTS_FILE);
    if !recipients_path.exists() {
        let mut text = String::from(
            "# Who can decrypt this lab's secrets (age or ssh recipients, one a line).\n",
        );
        text.push_str("# After a change, run `hlb secret rekey`.\n");
        for r in &recipients {
            text.push_str(&format!("{r}\n"));
        }
        write_atomic(&recipients_path, text.as_bytes())
            .with_context(|| format!("writing {}", recipients_path.display()))?;
    }
    let all = dir.recipients().map_err(|e| anyhow!("{e}"))?;
    let lab_key = LabKey::generate(&mut rand_core::OsRng);
    dir.write(&SecretsDir::lab_key_name(), &all, &lab_key.to_file_text())
        .map_err(|e| anyhow!("{e}"))?;
    ctx.out.status(&format!(
        "initialized {}: lab key {}, {} recipient{}",
        dir.root().display(),
        lab_key.id(),
        all.len(),
        if all.len() == 1 { "" } else { "s" }
    ));
    ctx.out.record(
        "secret-init",
        json!({"dir": dir.root(), "recipients": all.len()}),
    );
    Ok(())
}

fn read_plaintext(
    ctx: &Ctx,
    from_file: Option<&Path>,
    initial: Option<&Plaintext>,
    label: &str,
) -> Result<Plaintext> {
    if let Some(p) = from_file {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        return Ok(Plaintext::new(bytes));
    }
    if !std::io::stdin().is_terminal() && initial.is_none() {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the secret from stdin")?;
        return Ok(Plaintext::new(buf));
    }
    let _ = ctx;
    edit_in_buffer(initial, label)
}

/// Run $VISUAL / $EDITOR on a private buffer on tmpfs; the buffer is removed
/// whatever happens.
fn edit_in_buffer(initial: Option<&Plaintext>, label: &str) -> Result<Plaintext> {
    let base = ["/dev/shm", "/run/user"]
        .iter()
        .map(PathBuf::from)
        .chain(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
        .find(|p| is_tmpfs(p))
        .ok_or_else(|| anyhow!("no tmpfs (/dev/shm or $XDG_RUNTIME_DIR) for the edit buffer: pipe the secret into `hlb secret set` instead"))?;
    let buffer = tempfile::Builder::new()
        .prefix("hlb-secret-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&base)
        .with_context(|| format!("creating the edit buffer in {}", base.display()))?;
    let path = buffer.path().join(label);
    {
        let mut f = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut file = f
            .write(true)
            .create_new(true)
            .open(&path)
            .context("creating the edit buffer")?;
        if let Some(p) = initial {
            file.write_all(p.expose())
                .context("writing the edit buffer")?;
        }
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .status()
        .with_context(|| format!("running the editor `{editor}`"))?;
    if !status.success() {
        return Err(anyhow!("the editor `{editor}` failed ({status}); nothing changed").into());
    }
    let bytes = std::fs::read(&path).context("reading the edit buffer")?;
    drop(buffer); // removes the buffer
    Ok(Plaintext::new(bytes))
}

fn is_tmpfs(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes only into the struct we pass.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut s) };
    rc == 0 && s.f_type == libc::TMPFS_MAGIC
}

fn set(ctx: &Ctx, dir: &SecretsDir, n: &str, from_file: Option<&Path>) -> Result<()> {
    let n = name(n)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (_, lab_key, recipients) = keys(ctx, dir)?;
    let plaintext = read_plaintext(ctx, from_file, None, n.as_str())?;
    let tag = dir
        .set(&n, &recipients, &lab_key, &plaintext)
        .map_err(|e| anyhow!("{e}"))?;
    report_set(ctx, dir, &n, &tag, plaintext.len());
    Ok(())
}

fn report_set(ctx: &Ctx, dir: &SecretsDir, n: &SecretName, tag: &Tag, len: usize) {
    ctx.out.status(&format!(
        "set {n}: {} and {} ({len} bytes); commit both",
        dir.age_path(n).display(),
        dir.tag_path(n).display()
    ));
    ctx.out.record(
        "secret-set",
        json!({"name": n.as_str(), "lab_key": tag.lab_key_id().to_string()}),
    );
}

fn edit(ctx: &Ctx, dir: &SecretsDir, n: &str) -> Result<()> {
    let n = name(n)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (ids, lab_key, recipients) = keys(ctx, dir)?;
    let current = match dir.read_verified(&n, &ids, &lab_key) {
        Ok(p) => Some(p),
        Err(hlb_secrets::SecretError::Missing { .. }) => None,
        Err(e) => return Err(anyhow!("{e}").into()),
    };
    let edited = edit_in_buffer(current.as_ref(), n.as_str())?;
    if current.as_ref().is_some_and(|c| c.ct_eq(edited.expose())) {
        ctx.out.status(&format!("{n} unchanged"));
        return Ok(());
    }
    let tag = dir
        .set(&n, &recipients, &lab_key, &edited)
        .map_err(|e| anyhow!("{e}"))?;
    report_set(ctx, dir, &n, &tag, edited.len());
    Ok(())
}

pub(crate) fn show(ctx: &Ctx, dir: &SecretsDir, n: &str) -> Result<()> {
    let n = name(n)?;
    let _no_core = CoreDumpGuard::new().ok();
    let (_, ids) = identities(ctx)?;
    let lab_key = dir.read_lab_key(&ids).map_err(|e| anyhow!("{e}"))?;
    let plaintext = dir
        .read_verified(&n, &ids, &lab_key)
        .map_err(|e| anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(plaintext.expose())
        .context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(())
}

fn list(ctx: &Ctx, dir: &SecretsDir) -> Result<()> {
    let names = dir
        .list()
        .with_context(|| format!("reading {}", dir.root().display()))?;
    for n in names {
        if n == SecretsDir::lab_key_name() {
            continue;
        }
        match dir.read_tag(&n) {
            Ok(tag) => {
                ctx.out.data(&format!("{n}  lab key {}", tag.lab_key_id()));
                ctx.out.record("secret", json!({"name": n.as_str(), "lab_key": tag.lab_key_id().to_string(), "tag": true}));
            }
            Err(e) => {
                ctx.out.data(&format!("{n}  no valid tag: {e}"));
                ctx.out.record(
                    "secret",
                    json!({"name": n.as_str(), "tag": false, "problem": e.to_string()}),
                );
            }
        }
    }
    Ok(())
}

fn recipients(ctx: &Ctx, dir: &SecretsDir, cmd: RecipientsCommand) -> Result<()> {
    let path = dir.root().join(RECIPIENTS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `hlb secret init` first)", path.display()))?;
    match cmd {
        RecipientsCommand::List => {
            for r in dir.recipients().map_err(|e| anyhow!("{e}"))? {
                ctx.out.data(&r.to_string());
                ctx.out
                    .record("recipient", json!({"recipient": r.to_string()}));
            }
            Ok(())
        }
        RecipientsCommand::Add { recipient } => {
            let r: Recipient = recipient.parse().map_err(|e| anyhow!("{recipient}: {e}"))?;
            let line = r.to_string();
            if dir
                .recipients()
                .map_err(|e| anyhow!("{e}"))?
                .iter()
                .any(|x| x.to_string() == line)
            {
                ctx.out.status("already a recipient; nothing changed");
                return Ok(());
            }
            let mut new = text.clone();
            if !new.is_empty() && !new.ends_with('\n') {
                new.push('\n');
            }
            new.push_str(&line);
            new.push('\n');
            write_atomic(&path, new.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            ctx.out.status("added; run `hlb secret rekey` so the new recipient can decrypt the existing secrets");
            Ok(())
        }
        RecipientsCommand::Remove { recipient } => {
            let r: Recipient = recipient.parse().map_err(|e| anyhow!("{recipient}: {e}"))?;
            let target = r.to_string();
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
                return Err(anyhow!(
                    "{target} is not a recipient (see `hlb secret recipients list`)"
                )
                .into());
            }
            let mut new = kept.join("\n");
            new.push('\n');
            if age_file::parse_recipients("recipients", &new)
                .map(|v| v.is_empty())
                .unwrap_or(true)
            {
                return Err(anyhow!(
                    "refusing to remove the last recipient: nobody could decrypt the secrets"
                )
                .into());
            }
            write_atomic(&path, new.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            ctx.out.status("removed; run `hlb secret rekey` now, and rotate any secret the removed key has seen");
            Ok(())
        }
    }
}

fn rekey(ctx: &Ctx, dir: &SecretsDir) -> Result<()> {
    let _no_core = CoreDumpGuard::new().ok();
    let (_, ids) = identities(ctx)?;
    let recipients = dir.recipients().map_err(|e| anyhow!("{e}"))?;
    let report = hlb_secrets::rekey(dir, &ids, &recipients).map_err(|e| anyhow!("{e}"))?;
    ctx.out.status(&format!(
        "re-encrypted {} secret{} to {} recipient{}",
        report.rekeyed.len(),
        if report.rekeyed.len() == 1 { "" } else { "s" },
        recipients.len(),
        if recipients.len() == 1 { "" } else { "s" }
    ));
    ctx.out.record(
        "rekey",
        json!({"secrets": report.rekeyed.iter().map(|n| n.as_str()).collect::<Vec<_>>()}),
    );
    Ok(())
}

fn retag(ctx: &Ctx, dir: &SecretsDir) -> Result<()> {
    let _no_core = CoreDumpGuard::new().ok();
    let (ids, lab_key, _) = keys(ctx, dir)?;
    let mut n_done = 0;
    for n in dir
        .list()
        .with_context(|| format!("reading {}", dir.root().display()))?
    {
        if n == SecretsDir::lab_key_name() {
            continue;
        }
        let plaintext = dir.read(&n, &ids).map_err(|e| anyhow!("{e}"))?;
        let tag = Tag::compute(&lab_key, &n, &plaintext);
        write_atomic(&dir.tag_path(&n), tag.to_file_text().as_bytes())
            .with_context(|| format!("writing {}", dir.tag_path(&n).display()))?;
        n_done += 1;
    }
    ctx.out.status(&format!(
        "retagged {n_done} secrets under lab key {}",
        lab_key.id()
    ));
    Ok(())
}

fn sealing_key_init(
    ctx: &Ctx,
    dir: &SecretsDir,
    not_before: Option<u64>,
    days: u64,
    bits: usize,
    force: bool,
) -> Result<()> {
    let n = name(SEALING_KEY)?;
    let cert_path = dir.root().join(SEALING_CERT);
    if !force && (dir.age_path(&n).exists() || cert_path.exists()) {
        return Err(Failure::Other(anyhow!(
            "{} exists: a new key would leave every SealedSecret sealed so far unreadable by a rebuilt cluster; pass --force to replace it",
            dir.age_path(&n).display()
        )));
    }
    let _no_core = CoreDumpGuard::new().ok();
    let (_, lab_key, recipients) = keys(ctx, dir)?;
    let not_before_unix = match not_before {
        Some(t) => t,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| anyhow!("the clock is before 1970: {e}"))?
            .as_secs(),
    };
    ctx.out.status(&format!(
        "generating an RSA-{bits} key (this takes a few seconds)"
    ));
    let params = SealingKeyParams {
        bits,
        common_name: String::new(),
        not_before_unix,
        valid_for: Duration::from_secs(days * 86_400),
    };
    let pair = generate_sealing_key(&mut rand_core::OsRng, &params).map_err(|e| anyhow!("{e}"))?;
    dir.set(&n, &recipients, &lab_key, &pair.private_key_pem)
        .map_err(|e| anyhow!("{e}"))?;
    write_atomic(&cert_path, pair.certificate_pem.as_bytes())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    ctx.out.status(&format!(
        "wrote {} (secret) and {} (public): reference it as sealing-cert=\"{}\" on the cluster",
        dir.age_path(&n).display(),
        cert_path.display(),
        cert_path
            .strip_prefix(ctx.recipes_dir())
            .unwrap_or(&cert_path)
            .display()
    ));
    ctx.out.record(
        "sealing-key",
        json!({"certificate": cert_path, "not_before": not_before_unix, "days": days}),
    );
    Ok(())
}
