//! hlb's store layer: everything that puts bytes on disk under a name.
//!
//! - [`digest`]: the BLAKE3 newtype every id and hash uses.
//! - [`events`]: the one reporter trait long work reports through.
//! - [`fsx`]: filesystem calls whose errors name the operation and path;
//!   the only module allowed to call `std::fs` (see `clippy.toml`).
//! - [`tree`]: the canonical `hlb-tree-v1` content hash of a file, directory
//!   tree or symlink, and the read-only permissions the store keeps.
//! - [`archive`]: the one deterministic `tar.zst` writer, and a safe unpacker.
//! - [`store`]: the content-addressed store (entries named by derivation id,
//!   atomic commits, per-id build locks, verify).
//! - [`generation`]: the canonical manifest of a lab's outputs, stored as an
//!   entry; [`profile`]: numbered generations per lab and gc roots in the
//!   state directory.
//! - [`gc`]: mark from roots, sweep by atomic rename into trash.
//! - [`lock`]: the `hlb.lock` file format and its staleness check (pure:
//!   the resolvers that fill it live in `hlb-fetch`).
//!
//! `docs/store.md` describes the on-disk formats for administrators.
pub mod archive;
pub mod digest;
pub mod events;
pub mod fsx;
pub mod gc;
pub mod generation;
pub mod lock;
pub mod names;
pub mod profile;
pub mod store;
pub mod tree;

pub use digest::{Digest, FixedHash};
pub use generation::{Artifact, Generation, Target, TargetSpec};
pub use profile::{GenerationRecord, Profiles};
pub use store::{Entry, Staging, Store, StoreError};
