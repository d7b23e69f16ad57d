//! hlb's network edge: fixed-output downloads and lock resolution.
//!
//! Everything that touches the network lives here, so the pure crates
//! (hlb-builder, hlb-images, hlb-cache) stay free of tokio and reqwest.
//! It sits in the store's layer and depends on nothing above it: the `fetch`
//! derivation kind that builds through it is wired in by the `hlb` crate.
//!
//! - [`fetcher`]: [`Fetcher`], downloads verified against a pin, through
//!   mirrors, with retries, landing atomically;
//! - [`mirror`]: [`Mirror`], the by-hash and by-name mirror layouts;
//! - [`resolve`]: [`Resolver`], [`FetchResolver`] and [`update_lock`], the
//!   logic of `hlb lock` over [`hlb_cache::lock`];
//! - [`debian`]: [`DebianResolver`], the `debian` section (package
//!   closures with their .deb hashes);
//! - [`events`]: what a download reports (this crate never prints);
//! - [`redact`]: URLs are shown with their passwords masked.
//!
//! See `docs/fetch.md` for the user-facing semantics.

pub mod debian;
pub mod error;
pub mod events;
pub mod fetcher;
pub mod mirror;
pub mod redact;
pub mod resolve;
mod verify;

pub use debian::{DEBIAN_SECTION, DebianError, DebianLockError, DebianRequest, DebianResolver};
pub use error::{FetchError, Mismatch, SourceFailure};
pub use events::{FetchEvent, Reporter};
pub use fetcher::{FetchOptions, FetchOutcome, Fetcher};
pub use mirror::{Mirror, MirrorParseError};
pub use redact::Redacted;
pub use resolve::{
    FetchResolver, LockChanges, LockEvent, LockUpdateError, ResolveFailure, Resolver, update_lock,
};
