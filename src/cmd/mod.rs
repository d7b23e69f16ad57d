//! One module per command family.
pub mod build;
pub mod generations;
pub mod inspect;
pub mod lock;
pub mod secret;
pub mod store;
pub mod talos;
pub mod template_diff;
