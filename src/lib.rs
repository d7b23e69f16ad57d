//! hlb as a library: what the `hlb` binary, its tests and its benchmarks
//! share. The binary is argument parsing, a call into [`ops`], and
//! rendering; everything a user can do is here first.
//!
//! # Map
//!
//! - [`ops`] — one function per user operation, taking an [`ops::Env`],
//!   plain options and an [`ops::Reporter`], returning typed results:
//!   - [`ops::plan`] — load the recipes, read `hlb.lock`, plan, run every
//!     compiler's plan check (the first half of every pipeline);
//!   - [`ops::build`] — build with the scheduler, record the generation and
//!     the profile (`build`, and its steps for `switch` to reuse);
//!   - [`ops::lock`] — `lock`, `lock --check`, `prefetch`;
//!   - [`ops::inspect`] — `show`, `why-depends`, `graph`;
//!   - [`ops::resolve`] — every name hlb prints, back to a derivation;
//!   - [`ops::history`] — `generations`, `diff`;
//!   - [`ops::store`] — `store verify | gc | path | pin | unpin | pins`;
//!   - [`ops::secret`] — `secret …`;
//!   - [`ops::talos`] — `talos gen config`, `talos secrets …`;
//!   - [`ops::events`] — the one event stream (builds, downloads, lock,
//!     secrets; deploy next) and the adapters from the builder's and the
//!     fetcher's reporters;
//!   - [`ops::env`] — directories, identity, mirrors, offline;
//!   - [`ops::exit`] — error classes and their exit codes.
//! - [`secrets`] — the operator's identity and the secrets a build reveals.
//! - [`fetch_compiler`] — the `fetch` derivation kind.
//! - [`registry`] — every compiler hlb has.

pub mod fetch_compiler;
pub mod ops;
pub mod secrets;

use std::sync::Arc;

use hlb_builder::sched::Registry;
use hlb_fetch::Fetcher;

use crate::fetch_compiler::FetchCompiler;

/// Every compiler hlb has, the fetcher's downloads included.
pub fn registry(fetcher: Arc<Fetcher>) -> Registry {
    let mut r = Registry::new();
    for c in hlb_images::compilers() {
        r.register(c);
    }
    hlb_talos::compiler::compilers()
        .into_iter()
        .for_each(|c| r.register(c));
    r.register(Box::new(hlb_lxc::LxcTemplateCompiler));
    r.register(Box::new(FetchCompiler::new(fetcher)));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compilers hlb registers are exactly the kinds of the table, and
    /// the table says which of them check plans.
    #[test]
    fn registry_matches_the_kinds_table() {
        let fetcher = Arc::new(Fetcher::new(hlb_fetch::FetchOptions::default()).unwrap());
        let r = registry(fetcher);
        let registered: Vec<&str> = r.kinds().collect();
        let mut table: Vec<&str> = hlb_builder::kinds::KINDS.iter().map(|k| k.name).collect();
        table.sort_unstable();
        assert_eq!(registered, table);
    }
}
