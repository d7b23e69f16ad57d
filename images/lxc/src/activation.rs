//! Files the deployer writes at activation (secrets, design D6): the
//! template holds none of their content, only what makes the delivery
//! work after boot.
//!
//! Each file's path must be absolute, in normal form and under `/run/`:
//! `/run` is a tmpfs in a systemd container, so what the deployer writes
//! there never reaches the container's disk and is gone at shutdown. The
//! owners are checked by the assembler against the finished accounts.
//!
//! What the template gets: [`TMPFILES_PATH`], a systemd-tmpfiles drop-in
//! with one `d DIR 0750 OWNER GROUP -` line per distinct parent directory
//! (owned by the first file's owner and group in declaration order; lines
//! sorted by directory), so after boot the deployer finds each directory
//! there, readable by the service that reads the file and no one else. A
//! file directly in `/run` needs no line (`/run` exists, root's).

use std::collections::BTreeMap;

use crate::spec::ActivationFileSpec;
use crate::tree::{TreePath, show, split};

/// The tmpfiles.d drop-in written when a spec has activation files.
pub const TMPFILES_PATH: &str = "/usr/lib/tmpfiles.d/hlb-activation.conf";

/// Why an activation file's path is refused.
#[derive(Debug, thiserror::Error)]
#[error("activation file {path}: {reason}")]
pub struct ActivationPathError {
    /// Index in the spec's `activation_files`.
    pub index: usize,
    /// As declared.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Checks one path: absolute, normal form, under `/run/`.
fn check(path: &str) -> Result<TreePath, String> {
    if !path.starts_with('/') {
        return Err("not an absolute path".to_owned());
    }
    let parts = split(path).ok_or("has a `..` component")?;
    if show(&parts) != path {
        return Err(format!(
            "is not in normal form (no `.`, empty components or trailing `/`): write {}",
            show(&parts)
        ));
    }
    if parts.len() < 2 || parts[0] != "run" {
        return Err(
            "is not under /run/: the deployer delivers activation files to tmpfs, never to the \
             container's disk"
                .to_owned(),
        );
    }
    Ok(parts)
}

/// Checks every path (and that none is declared twice) and returns the
/// drop-in's text, `None` when no directory needs a line.
pub fn tmpfiles(files: &[ActivationFileSpec]) -> Result<Option<String>, ActivationPathError> {
    let mut seen: BTreeMap<TreePath, usize> = BTreeMap::new();
    let mut dirs: BTreeMap<TreePath, (&str, &str)> = BTreeMap::new();
    for (index, f) in files.iter().enumerate() {
        let err = |reason: String| ActivationPathError {
            index,
            path: f.path.clone(),
            reason,
        };
        let parts = check(&f.path).map_err(err)?;
        if let Some(first) = seen.insert(parts.clone(), index) {
            return Err(err(format!(
                "is declared twice (activation file {first} has it too)"
            )));
        }
        let dir = parts[..parts.len() - 1].to_vec();
        if dir.len() > 1 {
            dirs.entry(dir).or_insert((&f.owner, &f.group));
        }
    }
    if dirs.is_empty() {
        return Ok(None);
    }
    let mut text = String::from(
        "# Directories the deployer writes activation files (secrets) into; written by hlb.\n",
    );
    for (dir, (owner, group)) in dirs {
        text.push_str(&format!("d {} 0750 {owner} {group} -\n", show(&dir)));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, owner: &str) -> ActivationFileSpec {
        ActivationFileSpec {
            path: path.to_owned(),
            owner: owner.to_owned(),
            group: owner.to_owned(),
            mode: 0o400,
        }
    }

    #[test]
    fn one_sorted_line_per_directory_owned_by_its_first_file() {
        let text = tmpfiles(&[
            file("/run/secrets/web/key", "www-data"),
            file("/run/secrets/db/password", "postgres"),
            file("/run/secrets/web/cert", "root"),
            file("/run/token", "root"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            text.lines().skip(1).collect::<Vec<_>>(),
            [
                "d /run/secrets/db 0750 postgres postgres -",
                "d /run/secrets/web 0750 www-data www-data -",
            ]
        );
        assert_eq!(tmpfiles(&[file("/run/token", "root")]).unwrap(), None);
        assert_eq!(tmpfiles(&[]).unwrap(), None);
    }

    #[test]
    fn paths_outside_run_or_not_normal_are_refused() {
        for (path, reason) in [
            ("/etc/secret", "is not under /run/"),
            ("/var/run/x/secret", "is not under /run/"),
            ("/run", "is not under /run/"),
            ("run/x", "not an absolute path"),
            ("/run/../etc/x", "has a `..` component"),
            ("/run//x/y", "write /run/x/y"),
            ("/run/x/", "write /run/x"),
        ] {
            let e = tmpfiles(&[file("/run/ok/a", "root"), file(path, "root")]).unwrap_err();
            assert_eq!(e.index, 1, "{path}");
            assert!(
                e.to_string()
                    .starts_with(&format!("activation file {path}: ")),
                "{e}"
            );
            assert!(e.to_string().contains(reason), "{e} lacks {reason}");
        }
        let e = tmpfiles(&[file("/run/a/b", "root"), file("/run/a/b", "root")]).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("declared twice"), "{e}");
    }
}
