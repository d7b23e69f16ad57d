//! hlb's artifact compilers.
pub mod yaml;
