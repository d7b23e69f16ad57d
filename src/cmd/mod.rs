//! Rendering, one module per command family: each calls its operation in
//! `hlb::ops` and shows the result as text or `--json` records.
pub mod build;
pub mod generations;
pub mod helm;
pub mod inspect;
pub mod lock;
pub mod secret;
pub mod store;
pub mod talos;
