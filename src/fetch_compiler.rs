//! The `fetch` derivation kind: a pinned download as a build step.
//!
//! The derivation's `fixed_output` is the pin; `params.url` (string) says
//! where it normally lives and `params.executable` (bool, default false)
//! whether the single output file gets mode 0755 (else 0644; the store keeps
//! only the exec bit). Since the id of a fixed-output derivation leaves the
//! URL out, moving a download to another URL rebuilds nothing.

use std::sync::Arc;

use hlb_builder::{BuildCx, BuildError, Compiler};

use hlb_fetch::{FetchError, Fetcher};

/// Builds `fetch` derivations with a shared [`Fetcher`].
pub struct FetchCompiler {
    fetcher: Arc<Fetcher>,
}

impl FetchCompiler {
    pub fn new(fetcher: Arc<Fetcher>) -> FetchCompiler {
        FetchCompiler { fetcher }
    }
}

impl Compiler for FetchCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::FETCH
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let name = &cx.drv.name;
        let expected = cx.drv.fixed_output.as_ref().ok_or_else(|| {
            BuildError::Internal(format!("fetch derivation {name} has no pinned hash"))
        })?;
        let url = cx
            .drv
            .params
            .get("url")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                BuildError::Internal(format!("fetch derivation {name} has no string param `url`"))
            })?;
        let executable = match cx.drv.params.get("executable") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                BuildError::Internal(format!(
                    "fetch derivation {name}: param `executable` is not a bool"
                ))
            })?,
        };
        self.fetcher
            .fetch_to(url, expected, cx.out)
            .map_err(|e| match e {
                FetchError::Io { op, path, source } => BuildError::Io { op, path, source },
                FetchError::Unavailable { .. } | FetchError::Setup(_) => {
                    BuildError::io("download to", cx.out, std::io::Error::other(e.to_string()))
                }
                other => BuildError::Invalid(other.to_string()),
            })?;
        if executable {
            set_executable(cx.out)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn set_executable(path: &std::path::Path) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| BuildError::io("chmod", path, e))
}

#[cfg(not(unix))]
fn set_executable(_: &std::path::Path) -> Result<(), BuildError> {
    Ok(())
}
