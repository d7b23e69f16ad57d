//! hlb's store layer. See the module docs for each piece.
pub mod digest;
pub use digest::Digest;
