//! hlb's pure core: recipes → derivations → schedule.
pub mod compile;
pub mod decl;
pub mod diag;
pub mod drv;
pub mod graph;
pub mod interp;
pub mod io;
pub mod load;
pub mod lock;
pub mod plan;
pub mod sched;
pub use compile::{BuildCx, BuildError, Compiler, NoSecrets, SecretSource};
pub use drv::{Derivation, DrvId, FixedHash, Value};
