//! hlb's artifact compilers.
//!
//! Each compiler implements [`hlb_builder::Compiler`]: a pure function of
//! its derivation (parameters, input outputs, recipe source bytes) that
//! writes one output at `cx.out`, never prints and touches nothing else.
//!
//! - [`file`]: a file copied as is or with `${name}` interpolation; a
//!   secret-bearing one (`${secret.NAME}`, or a whole secret) is stored
//!   age-encrypted to the deploy recipients.
//! - [`manifest`]: Kubernetes YAML, validated and normalized as
//!   `sigs.k8s.io/yaml` writes it, plus the list of objects it defines.
//! - [`sealed_secret`]: a Kubernetes Secret sealed to the cluster's
//!   sealed-secrets controller, deterministically, as a manifest output.
//! - [`yaml`]: the go-yaml compatible YAML reader and writer every compiler
//!   shares (Talos configs and Helm's `toYaml` need its byte-exact output).
//! - `common` (private): content lookup, interpolation, atomic writes.
//! - [`secret`]: revealing only declared secrets, splicing them into text
//!   in zeroizing memory.
//!
//! The talos and lxc compilers have crates of their own (`hlb-talos`,
//! `hlb-lxc`); the `hlb` crate registers them beside [`compilers`].

mod common;
pub mod file;
pub mod manifest;
pub mod sealed_secret;
pub mod secret;
pub mod yaml;

/// Every compiler of this crate, for the CLI to register.
pub fn compilers() -> Vec<Box<dyn hlb_builder::Compiler>> {
    vec![
        Box::new(file::FileCompiler),
        Box::new(manifest::ManifestCompiler),
        Box::new(sealed_secret::SealedSecretCompiler),
    ]
}
