//! hlb's pure core: recipes → derivations → schedule.
pub mod compile;
pub mod decl;
pub mod diag;
pub mod drv;
pub mod graph;
pub mod interp;
pub mod io;
pub mod kinds;
pub mod load;
pub mod plan;
pub mod sched;
pub use compile::{BuildCx, BuildError, Compiler, NoSecrets, SecretSource};
pub use drv::{Derivation, DrvId, FixedHash, Value};
/// The lock file format lives with the store (`hlb-fetch` fills it, the
/// planner reads it); re-exported here where the planner's users look.
pub use hlb_cache::lock;
