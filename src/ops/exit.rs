//! What an `hlb` exit code means: the one table, used by the binary, its
//! `--help`, the README and `docs/exit-codes.md`.
//!
//! Every error of the ops layer has an [`ExitClass`]; the binary exits with
//! its [`ExitClass::code`]. Scripts may rely on these numbers: a code, once
//! given a meaning, keeps it.

/// The classes of failure a script can tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitClass {
    /// The operation failed: a derivation did not build, or the answer is
    /// "no" (`why-depends` finds no path, a pin or generation is missing).
    Failed,
    /// The command line is wrong (clap's own errors exit with this code too).
    Usage,
    /// The recipes are wrong: diagnostics, a stale or unreadable `hlb.lock`,
    /// a package that cannot be resolved.
    Recipe,
    /// The store holds something it should not: a corrupted entry, a
    /// generation it lost.
    StoreIntegrity,
    /// The machine is not set up for the operation: no identity, a missing
    /// directory or tool, the network, permissions, an I/O error.
    Environment,
    /// A deployment failed and every target was rolled back to the
    /// generation it ran before: nothing needs doing but fixing the cause.
    DeployRolledBack,
    /// A deployment failed and at least one target is neither on the new
    /// generation nor back on the old one: someone must look.
    DeployNeedsAttention,
}

impl ExitClass {
    /// Every class, in code order.
    pub const ALL: [ExitClass; 7] = [
        ExitClass::Failed,
        ExitClass::Usage,
        ExitClass::Recipe,
        ExitClass::StoreIntegrity,
        ExitClass::Environment,
        ExitClass::DeployRolledBack,
        ExitClass::DeployNeedsAttention,
    ];

    /// The process exit code (0 is success and has no class).
    pub const fn code(self) -> u8 {
        match self {
            ExitClass::Failed => 1,
            ExitClass::Usage => 2,
            ExitClass::Recipe => 3,
            ExitClass::StoreIntegrity => 4,
            ExitClass::Environment => 5,
            ExitClass::DeployRolledBack => 10,
            ExitClass::DeployNeedsAttention => 11,
        }
    }

    /// A stable name, for `--json` error records.
    pub const fn name(self) -> &'static str {
        match self {
            ExitClass::Failed => "failed",
            ExitClass::Usage => "usage",
            ExitClass::Recipe => "recipe",
            ExitClass::StoreIntegrity => "store-integrity",
            ExitClass::Environment => "environment",
            ExitClass::DeployRolledBack => "deploy-rolled-back",
            ExitClass::DeployNeedsAttention => "deploy-needs-attention",
        }
    }

    /// One line for the table.
    pub const fn summary(self) -> &'static str {
        match self {
            ExitClass::Failed => "failed: a build failed, or the answer is no",
            ExitClass::Usage => "usage: a wrong command line or argument",
            ExitClass::Recipe => "recipe: the recipes or hlb.lock need fixing",
            ExitClass::StoreIntegrity => "store integrity: a corrupted or missing store entry",
            ExitClass::Environment => "environment: identity, directories, tools, network, I/O",
            ExitClass::DeployRolledBack => "deploy failed and was rolled back",
            ExitClass::DeployNeedsAttention => "deploy failed and needs attention",
        }
    }
}

/// The table as `hlb --help` prints it (and the docs repeat).
pub const TABLE: &str = "\
Exit codes:
   0  success
   1  failed: a build failed, or the answer is no
   2  usage: a wrong command line or argument
   3  recipe: the recipes or hlb.lock need fixing
   4  store integrity: a corrupted or missing store entry
   5  environment: identity, directories, tools, network, I/O
  10  deploy failed and was rolled back
  11  deploy failed and needs attention";

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the table is the table in code.
    #[test]
    fn table_lists_every_class() {
        let mut expected = String::from("Exit codes:\n   0  success");
        for c in ExitClass::ALL {
            expected.push_str(&format!("\n  {:>2}  {}", c.code(), c.summary()));
        }
        assert_eq!(TABLE, expected);
    }

    /// The documentation repeats the table.
    #[test]
    fn docs_list_every_code() {
        let doc = include_str!("../../docs/exit-codes.md");
        for c in ExitClass::ALL {
            assert!(
                doc.contains(&format!("| {} | `{}` |", c.code(), c.name())),
                "docs/exit-codes.md lacks {}",
                c.code()
            );
        }
    }
}
