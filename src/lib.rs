//! What the `hlb` binary shares with its tests and benchmarks: the set of
//! compilers a build uses. Everything else of the command line lives in the
//! binary.

use std::sync::Arc;

use hlb_builder::sched::Registry;
use hlb_fetch::{FetchCompiler, Fetcher};

/// Every compiler hlb has, the fetcher's downloads included.
pub fn registry(fetcher: Arc<Fetcher>) -> Registry {
    let mut r = Registry::new();
    for c in hlb_images::compilers() {
        r.register(c);
    }
    r.register(Box::new(FetchCompiler::new(fetcher)));
    r
}
