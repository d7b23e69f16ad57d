//! `hlb talos …`.

use std::io::Write as _;

use hlb::ops::talos::{self, Dest, GenConfigOptions};
use hlb_secrets::SecretName;
use serde_json::json;

use crate::cli::{GenConfigArgs, TalosCommand, TalosGenCommand, TalosSecretsCommand};
use crate::ctx::Ctx;
use crate::{Failure, Result};

pub fn run(ctx: &Ctx, cmd: TalosCommand) -> Result<()> {
    let (env, r) = (&ctx.env, &ctx.reporter());
    match cmd {
        TalosCommand::Gen(TalosGenCommand::Config(args)) => {
            for o in talos::gen_config(&options(*args), r)? {
                if let (Dest::Stdout, Some(text)) = (&o.dest, &o.text) {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())
                        .and_then(|()| out.flush())
                        .map_err(Failure::output("writing to stdout"))?;
                }
            }
        }
        TalosCommand::Secrets(TalosSecretsCommand::Init {
            name,
            talos_version,
            force,
        }) => {
            let set = talos::secrets_init(env, &name, &talos_version, force, r)?;
            report(ctx, "generated", &set.name, &set);
        }
        TalosCommand::Secrets(TalosSecretsCommand::Import { file, name, force }) => {
            let set = talos::secrets_import(env, &file, &name, force, r)?;
            report(ctx, "imported", &set.name, &set);
        }
        TalosCommand::Secrets(TalosSecretsCommand::Export { name }) => {
            super::secret::write_plaintext(&talos::secrets_export(env, &name, r)?)?;
        }
    }
    Ok(())
}

fn report(ctx: &Ctx, how: &str, n: &SecretName, set: &hlb::ops::secret::SecretSet) {
    ctx.out.status(&format!(
        "{how} Talos secrets bundle {n}: {} and {}; commit both",
        set.age_path.display(),
        set.tag_path.display()
    ));
    ctx.out.record(
        "talos-secrets",
        json!({"name": n.as_str(), "lab_key": set.lab_key_id}),
    );
}

/// talosctl's flags as the operation's options.
fn options(a: GenConfigArgs) -> GenConfigOptions {
    // Accepted for talosctl's scripts; hlb never writes Talos's doc
    // comments or examples, so they change nothing.
    let _ = (a.with_docs, a.with_examples);
    GenConfigOptions {
        cluster: a.cluster,
        endpoint: a.endpoint,
        with_secrets: a.with_secrets,
        talos_version: a.talos_version,
        kubernetes_version: a.kubernetes_version,
        additional_sans: a.additional_sans,
        config_patch: a.config_patch,
        config_patch_control_plane: a.config_patch_control_plane,
        config_patch_worker: a.config_patch_worker,
        install_disk: a.install_disk,
        install_image: a.install_image,
        dns_domain: a.dns_domain,
        registry_mirror: a.registry_mirror,
        with_cluster_discovery: a.with_cluster_discovery,
        with_kubespan: a.with_kubespan,
        output_types: a.output_types,
        output: a.output,
        output_dir: a.output_dir,
        force: a.force,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use clap::Parser as _;

    fn raw_args(extra: &[&str]) -> GenConfigArgs {
        let mut argv = vec!["hlb", "talos", "gen", "config", "c", "https://c:6443"];
        argv.extend(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Talos(TalosCommand::Gen(TalosGenCommand::Config(a))) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn args(extra: &[&str]) -> GenConfigOptions {
        options(raw_args(extra))
    }

    fn files(extra: &[&str]) -> Vec<(&'static str, Dest)> {
        talos::destinations(&args(extra)).expect("valid destinations")
    }

    #[test]
    fn outputs_follow_talosctl() {
        let f = |p: &str| Dest::File(PathBuf::from(p));
        assert_eq!(
            files(&[]),
            [
                ("controlplane", f("controlplane.yaml")),
                ("worker", f("worker.yaml")),
                ("talosconfig", f("talosconfig"))
            ]
        );
        assert_eq!(
            files(&["-t", "worker", "-o", "w.yaml"]),
            [("worker", f("w.yaml"))]
        );
        assert_eq!(
            files(&["-t", "worker", "-o", "-"]),
            [("worker", Dest::Stdout)]
        );
        assert_eq!(
            files(&["-t", "talosconfig,worker", "-o", "out"]),
            [
                ("worker", f("out/worker.yaml")),
                ("talosconfig", f("out/talosconfig"))
            ]
        );
        assert_eq!(
            files(&["-t", "worker", "--output-dir", "out"]),
            [("worker", f("out/worker.yaml"))]
        );
        let err = |extra: &[&str]| match talos::destinations(&args(extra)) {
            Ok(d) => panic!("accepted: {d:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err(&["-o", "-"]).contains("one output type"));
        assert!(err(&["-t", "init"]).contains("invalid output type `init`"));
    }

    #[test]
    fn compatibility_flags_take_talosctl_spelling() {
        let a = raw_args(&["--with-docs=false", "--with-examples"]);
        assert!(!a.with_docs);
        assert!(a.with_examples);
        let a = args(&["--additional-sans", "a,b", "--additional-sans", "c"]);
        assert_eq!(a.additional_sans, ["a", "b", "c"]);
        // A patch may contain commas: it is never split.
        let a = args(&[
            "--config-patch",
            "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]",
        ]);
        assert_eq!(a.config_patch.len(), 1);
    }

    #[test]
    fn registry_mirror_specs() {
        let m =
            talos::registry_mirrors(&["docker.io=https://a".into(), "docker.io=https://b".into()])
                .expect("valid");
        assert_eq!(m["docker.io"], ["https://a", "https://b"]);
        let e = talos::registry_mirrors(&["docker.io".into()]).expect_err("no =");
        assert!(e.to_string().contains("expected REGISTRY=URL"), "{e}");
    }
}
