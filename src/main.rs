//! The `hlb` command: the edge where the pure core meets the filesystem, the
//! network, the terminal and (later) the targets.

mod cli;
mod cmd;
mod ctx;
mod out;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, StoreCommand};
use crate::ctx::Ctx;

/// A failure the user has already been told about in detail (diagnostics,
/// build failures); `main` only sets the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Already reported (recipe diagnostics, failed builds, stale lock).
    #[error("{0}")]
    Reported(String),
    /// Everything else: printed by `main`.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported(summary)) => {
            ctx.out.error_summary(&summary);
            ExitCode::from(1)
        }
        Err(Failure::Other(e)) => {
            ctx.out.error(&e);
            ExitCode::from(1)
        }
    }
}
