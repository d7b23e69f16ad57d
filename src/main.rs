//! The `hlb` command: argument parsing (`cli`), a call into the ops layer
//! (`hlb::ops`), and rendering (`cmd`, `render`, `out`). Exit codes follow
//! `hlb::ops::exit`.

mod cli;
mod cmd;
mod ctx;
mod out;
mod render;

use std::process::ExitCode;

use clap::Parser;
use hlb::ops::{self, ExitClass};

use crate::cli::{Cli, Command, StoreCommand};
use crate::ctx::Ctx;

/// Why a command failed: an operation's error, or writing its output.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Ops(#[from] ops::Error),
    #[error("{what}")]
    Output {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Failure {
    pub fn class(&self) -> ExitClass {
        match self {
            Failure::Ops(e) => e.class(),
            Failure::Output { .. } => ExitClass::Environment,
        }
    }

    pub fn problems(&self) -> Option<&ops::plan::Problems> {
        match self {
            Failure::Ops(e) => e.problems(),
            Failure::Output { .. } => None,
        }
    }

    pub fn output(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Failure {
        let what = what.into();
        move |source| Failure::Output { what, source }
    }
}

macro_rules! from_ops {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure::Ops(e.into())
            }
        }
    )*};
}
from_ops!(
    ops::env::EnvError,
    ops::plan::PlanError,
    ops::build::BuildError,
    ops::lock::LockError,
    ops::inspect::InspectError,
    ops::history::HistoryError,
    ops::store::StoreOpError,
    ops::secret::SecretOpError,
    ops::talos::TalosError
);

pub type Result<T> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx::new(cli.global);
    let result = match cli.command {
        Command::Build(args) => cmd::build::run(&ctx, args),
        Command::Show { name } => cmd::inspect::show(&ctx, &name),
        Command::WhyDepends { from, to } => cmd::inspect::why_depends(&ctx, &from, &to),
        Command::Graph { format, output } => cmd::inspect::graph(&ctx, format, output.as_deref()),
        Command::Generations => cmd::generations::list(&ctx),
        Command::Diff { a, b, stat } => cmd::generations::diff(&ctx, a, b, stat),
        Command::Store(StoreCommand::Verify) => cmd::store::verify(&ctx),
        Command::Store(StoreCommand::Gc { dry_run }) => cmd::store::gc(&ctx, dry_run),
        Command::Store(StoreCommand::Path) => cmd::store::path(&ctx),
        Command::Store(StoreCommand::Pin { name, what }) => cmd::store::pin(&ctx, &name, &what),
        Command::Store(StoreCommand::Unpin { name }) => cmd::store::unpin(&ctx, &name),
        Command::Store(StoreCommand::Pins) => cmd::store::pins(&ctx),
        Command::Lock { check } => cmd::lock::run(&ctx, check),
        Command::Prefetch { url } => cmd::lock::prefetch(&ctx, &url),
        Command::Secret(c) => cmd::secret::run(&ctx, c),
        Command::Talos(c) => cmd::talos::run(&ctx, c),
        Command::Helm(cli::HelmCommand::Template { args }) => return cmd::helm::template(&args),
    };
    ctx.renderer.finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let class = e.class();
            ctx.out.error(&e, e.problems(), class);
            ExitCode::from(class.code())
        }
    }
}
