//! hlb-helm: helm v4.1.4's `helm template`, natively in Rust.
//!
//! Why: every Helm release in a lab is an artifact — the manifests a chart
//! renders for given values — and rendering must be pure, reproducible and
//! fast, without a helm binary, while producing exactly helm's bytes.
//!
//! The entry point is [`template`] with [`TemplateOptions`] (helm's
//! `helm template` flags); it returns the stdout bytes helm prints, or a
//! [`HelmError`] carrying the message helm prints after `Error: ` (helm
//! exits 1 then).
//!
//! Modules, in pipeline order:
//! - [`chart`]: loading a chart directory (with [`helmignore`]) or `.tgz`,
//!   and its `charts/` dependencies.
//! - [`strvals`], [`values`]: `--set` parsing, coalescing with defaults,
//!   globals, dependency conditions/tags/aliases and `import-values`.
//! - [`schema`]: `values.schema.json` validation.
//! - [`engine`]: Helm's engine — all templates in one set, per-file scope,
//!   `include`/`tpl`, Helm's error formatting; randomness seeding.
//! - [`template`]: Go's `text/template` (lexer, parser, executor, `fmt`).
//! - [`funcs`]: Go builtins, Sprig v3 and Helm's functions.
//! - [`value`], [`objects`]: the Go values templates see.
//! - [`convert`], [`toml`]: JSON/YAML/TOML as Helm's Go libraries write
//!   them (YAML through `hlb_images::yaml`).
//! - [`semver`], [`gotime`], [`glob`]: Masterminds semver, Go time
//!   layouts, glob patterns.
//! - [`manifest`]: splitting, hook separation, kind ordering, output.
//! - [`api`]: the options, the steps of `helm template`.
//!
//! Invariants: no network, no clock, no OS randomness. `now` returns
//! [`TemplateOptions::time`]; random functions draw from a generator
//! seeded by [`api::release_seed`] (release name, namespace, chart name)
//! and the template's path, so the same inputs give the same bytes.

pub mod api;
pub mod chart;
pub mod convert;
pub mod engine;
pub mod funcs;
pub mod glob;
pub mod gotime;
pub mod helmignore;
pub mod manifest;
pub mod objects;
pub mod schema;
pub mod semver;
pub mod strvals;
pub mod template;
pub mod toml;
pub mod value;
pub mod values;

pub use api::{HelmError, Rendered, TemplateOptions, template};
