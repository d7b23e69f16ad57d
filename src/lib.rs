//! What the `hlb` binary shares with its tests and benchmarks: the set of
//! compilers a build uses, and the secrets a build reveals through the
//! operator's identity. Everything else of the command line lives in the
//! binary.

pub mod fetch_compiler;
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
