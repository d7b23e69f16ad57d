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
