//! `hlb secret …`.

use std::io::Write as _;

use hlb::ops::secret::{self, InitOptions, PlaintextFrom, SealingKeyOptions, SecretSet};
use hlb_secrets::Plaintext;
use serde_json::json;

use crate::cli::{RecipientsCommand, SealingKeyCommand, SecretCommand};
use crate::ctx::Ctx;
use crate::{Failure, Result};

pub fn run(ctx: &Ctx, cmd: SecretCommand) -> Result<()> {
    let (env, r) = (&ctx.env, &ctx.reporter());
    match cmd {
        SecretCommand::Init {
            recipient,
            new_identity,
        } => {
            let opts = InitOptions {
                recipients: recipient,
                new_identity,
            };
            let done = secret::init(env, &opts, r)?;
            ctx.out.status(&format!(
                "initialized {}: lab key {}, {} recipient{}",
                done.dir.display(),
                done.lab_key_id,
                done.recipients,
                if done.recipients == 1 { "" } else { "s" }
            ));
            ctx.out.record(
                "secret-init",
                json!({"dir": done.dir, "recipients": done.recipients}),
            );
        }
        SecretCommand::Set { name, from_file } => {
            let from = from_file.map_or(PlaintextFrom::StdinOrEditor, PlaintextFrom::File);
            report_set(ctx, &secret::set(env, &name, &from, r)?);
        }
        SecretCommand::Edit { name } => match secret::edit(env, &name, r)? {
            Some(set) => report_set(ctx, &set),
            None => ctx.out.status(&format!("{name} unchanged")),
        },
        SecretCommand::Show { name } => write_plaintext(&secret::show(env, &name, r)?)?,
        SecretCommand::List => {
            for s in secret::list(env, r)? {
                let n = s.name.as_str();
                match s.tag {
                    Ok(lab_key) => {
                        ctx.out.data(&format!("{n}  lab key {lab_key}"));
                        ctx.out.record(
                            "secret",
                            json!({"name": n, "lab_key": lab_key, "tag": true}),
                        );
                    }
                    Err(e) => {
                        let problem = e.to_string();
                        ctx.out.data(&format!("{n}  no valid tag: {problem}"));
                        ctx.out.record(
                            "secret",
                            json!({"name": n, "tag": false, "problem": problem}),
                        );
                    }
                }
            }
        }
        SecretCommand::Recipients(RecipientsCommand::List) => {
            for rcp in secret::recipients(env, r)? {
                ctx.out.data(&rcp.to_string());
                ctx.out
                    .record("recipient", json!({"recipient": rcp.to_string()}));
            }
        }
        SecretCommand::Recipients(RecipientsCommand::Add { recipient }) => {
            if secret::add_recipient(env, &recipient, r)? {
                ctx.out.status("added; run `hlb secret rekey` so the new recipient can decrypt the existing secrets");
            } else {
                ctx.out.status("already a recipient; nothing changed");
            }
        }
        SecretCommand::Recipients(RecipientsCommand::Remove { recipient }) => {
            secret::remove_recipient(env, &recipient, r)?;
            ctx.out.status("removed; run `hlb secret rekey` now, and rotate any secret the removed key has seen");
        }
        SecretCommand::Rekey => {
            let done = secret::rekey(env, r)?;
            let n = done.secrets.len();
            ctx.out.status(&format!(
                "re-encrypted {n} secret{} to {} recipient{}",
                if n == 1 { "" } else { "s" },
                done.recipients,
                if done.recipients == 1 { "" } else { "s" }
            ));
            ctx.out.record(
                "rekey",
                json!({"secrets": done.secrets.iter().map(|n| n.as_str()).collect::<Vec<_>>()}),
            );
        }
        SecretCommand::Retag => {
            let (n, lab_key) = secret::retag(env, r)?;
            ctx.out
                .status(&format!("retagged {n} secrets under lab key {lab_key}"));
        }
        SecretCommand::SealingKey(SealingKeyCommand::Init {
            not_before,
            days,
            bits,
            force,
        }) => {
            let opts = SealingKeyOptions {
                not_before,
                days,
                bits,
                force,
            };
            let k = secret::sealing_key_init(env, &opts, r)?;
            ctx.out.status(&format!(
                "wrote {} (secret) and {} (public): reference it as sealing-cert=\"{}\" on the cluster",
                k.secret.display(),
                k.certificate.display(),
                k.reference.display()
            ));
            ctx.out.record(
                "sealing-key",
                json!({"certificate": k.certificate, "not_before": k.not_before, "days": k.days}),
            );
        }
    }
    Ok(())
}

pub fn report_set(ctx: &Ctx, s: &SecretSet) {
    ctx.out.status(&format!(
        "set {}: {} and {} ({} bytes); commit both",
        s.name,
        s.age_path.display(),
        s.tag_path.display(),
        s.bytes
    ));
    ctx.out.record(
        "secret-set",
        json!({"name": s.name.as_str(), "lab_key": s.lab_key_id}),
    );
}

/// Plaintext to stdout, and nowhere else.
pub fn write_plaintext(p: &Plaintext) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(p.expose())
        .and_then(|()| out.flush())
        .map_err(Failure::output("writing to stdout"))
}
