//! Talos machine configurations, built purely (no network, no clock).
//!
//! - `bundle`: the cluster's secrets bundle, in `talosctl gen secrets` format.
//! - `gen`: machine configs for each contract (v1.12, v1.13, v1.14), byte for
//!   byte what Talos's own generator produces for the same inputs.
//! - `patch`: Talos strategic-merge and RFC 6902 JSON patches.
//! - `schematic`: Image Factory schematic ids, computed locally.
//! - `schema`: validation against Talos's published JSON schema.
//! - `compiler`: the `talos-config` and `talosconfig` compilers of
//!   `talos-cluster` recipes, built from the modules above;
//! - `check`: the `talos-config` plan check (patch and schema problems at
//!   the recipe line, before anything is built).

pub mod bundle;
pub mod check;
pub mod compiler;
// `gen` is a reserved word in edition 2024: callers write `hlb_talos::r#gen`.
pub mod r#gen;
pub mod patch;
pub mod schema;
pub mod schematic;
