//! The ops layer: one function per thing a user can do, called the same way
//! by the `hlb` binary, the tests and the benchmarks.
//!
//! Every operation takes an [`Env`] (directories, identity, mirrors,
//! offline), plain options, and a [`Reporter`] for what happens while it
//! runs; it returns a typed result for the caller to render, or a typed
//! error whose [`ExitClass`] says what kind of failure it is. Operations
//! never print.
//!
//! Deployment (`switch`, `rollback`, `status`) joins here as peers of
//! `build`: they take the same `Env` and reporter, reuse [`build`]'s steps,
//! and add their events to [`events::Event`].

pub mod build;
pub mod env;
pub mod events;
pub mod exit;
pub mod history;
pub mod inspect;
pub mod lock;
pub mod plan;
pub mod resolve;
pub mod secret;
pub mod store;
pub mod talos;

pub use build::{BuildOptions, Built, build};
pub use env::Env;
pub use events::{Event, Reporter, SharedReporter};
pub use exit::ExitClass;

/// Any error of an operation, with its class.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Env(#[from] env::EnvError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error(transparent)]
    Build(#[from] build::BuildError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    #[error(transparent)]
    History(#[from] history::HistoryError),
    #[error(transparent)]
    Store(#[from] store::StoreOpError),
    #[error(transparent)]
    Secret(#[from] secret::SecretOpError),
    #[error(transparent)]
    Talos(#[from] talos::TalosError),
}

impl Error {
    /// Problems located in the recipes, to render before the message.
    pub fn problems(&self) -> Option<&plan::Problems> {
        match self {
            Error::Plan(e) => e.problems(),
            Error::Build(e) => e.problems(),
            Error::Lock(e) => e.problems(),
            Error::Inspect(e) => e.problems(),
            Error::History(e) => e.problems(),
            Error::Store(e) => e.problems(),
            _ => None,
        }
    }

    /// What kind of failure this is (and so the exit code).
    pub fn class(&self) -> ExitClass {
        match self {
            Error::Env(e) => e.class(),
            Error::Plan(e) => e.class(),
            Error::Resolve(e) => e.class(),
            Error::Build(e) => e.class(),
            Error::Lock(e) => e.class(),
            Error::Inspect(e) => e.class(),
            Error::History(e) => e.class(),
            Error::Store(e) => e.class(),
            Error::Secret(e) => e.class(),
            Error::Talos(e) => e.class(),
        }
    }
}
