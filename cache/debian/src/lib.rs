//! Debian archive reading for hlb.
//!
//! This crate is the pure part of building from Debian packages: it takes
//! bytes (indexes, keyrings, `.deb` files) and never touches the network.
//! `hlb lock` fetches the bytes and uses it to resolve a package closure
//! into the lock; the LXC template compiler uses it to unpack `.deb`s.
//!
//! Modules, in the order the data flows:
//! - [`sources`]: the machine's apt sources (which mirror, suites,
//!   components, keyring);
//! - [`release`]: `InRelease` signature checking and the SHA256 chain down
//!   to the `Packages` indexes;
//! - [`archive`]: the per-suite sequence (fetch through a caller's
//!   function, verify, decompress, parse) that `hlb lock` runs;
//! - [`deb822`]: the control-file syntax everything above is written in;
//! - [`packages`]: binary package records of a `Packages` index;
//! - [`version`] and [`relation`]: dpkg version ordering and relationship
//!   fields;
//! - [`resolve`]: the deterministic install-closure resolver;
//! - [`deb`]: reading `.deb` files (ar, control and data tarballs);
//! - [`digest`]: the SHA-256 newtype used by indexes and the lock.

pub mod archive;
pub mod deb;
pub mod deb822;
pub mod digest;
pub mod packages;
pub mod relation;
pub mod release;
pub mod resolve;
pub mod sources;
pub mod version;

pub use digest::Sha256;
pub use version::Version;
