//! Re-encrypting every secret after a change of recipients, all or nothing.
//!
//! Protocol (the journal is the commit point):
//!
//! 1. Finish any earlier interrupted rekey ([`recover`]).
//! 2. Decrypt every `NAME.age` with the old identities, in memory. Any
//!    failure stops here: nothing has been written.
//! 3. Write each new ciphertext to `NAME.age.hlb-rekey`, fsync each, fsync
//!    the directory.
//! 4. Write the journal `.hlb-rekey-journal` atomically (versioned text:
//!    `hlb-rekey-v1` then one name a line). **Commit point.**
//! 5. Rename every temp file over its `NAME.age`, fsync the directory.
//! 6. Remove the journal, fsync the directory.
//!
//! An interruption before step 4 leaves every old file untouched and
//! valid; [`recover`] deletes the stray temp files (roll back). An
//! interruption after step 4 is rolled forward by [`recover`]: every temp
//! file named in the journal still exists or has already been renamed, so
//! completing the renames is always possible. The CLI calls [`recover`]
//! before any secret command.
//!
//! Tags do not change: they depend on the lab key and the plaintext only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::age_file::{self, Armor, Identity, Recipient};
use hlb_cache::fsx::write_atomic;

use crate::dir::{SecretError, SecretsDir, sync_dir};
use crate::plaintext::{Plaintext, SecretName};

/// File name of the rekey journal inside the secrets directory.
pub const JOURNAL_FILE: &str = ".hlb-rekey-journal";
/// Suffix of the temp file holding a new ciphertext.
pub const TEMP_SUFFIX: &str = ".hlb-rekey";
const JOURNAL_HEADER: &str = "hlb-rekey-v1";

/// Errors during rekey or recovery.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    /// A secret could not be decrypted or encrypted; nothing was changed.
    #[error("rekey aborted, no file was changed: {0}")]
    Secret(#[from] SecretError),
    /// A file operation failed.
    #[error("rekey: {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The journal is not in the expected format.
    #[error(
        "rekey journal {path} is malformed at line {line}; inspect it and the *.hlb-rekey files by hand"
    )]
    BadJournal {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A test hook simulated the process dying here.
    #[error("rekey: simulated crash")]
    SimulatedCrash,
}

/// What a finished rekey did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekeyReport {
    /// Every secret re-encrypted, sorted.
    pub rekeyed: Vec<SecretName>,
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No interrupted rekey.
    Clean,
    /// An uncommitted rekey was undone: this many temp files removed.
    RolledBack(usize),
    /// A committed rekey was completed: these secrets now hold new ciphertext.
    RolledForward(Vec<SecretName>),
}

/// A point in the protocol, for failure injection in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The n-th (0-based) temp file was written and synced.
    TempWritten(usize),
    /// The journal was written.
    Committed,
    /// The n-th temp file was renamed over its `.age` file.
    Renamed(usize),
}

/// What a hook tells the protocol to do.
#[derive(Debug)]
pub enum HookAction {
    /// Go on.
    Continue,
    /// Fail like an I/O error would (the normal error path runs).
    Fail(io::Error),
    /// Stop dead, as if the process were killed (no cleanup).
    Crash,
}

/// Re-encrypts every `*.age` in `dir` (the lab key included) from
/// `old_identities` to `new_recipients`, atomically (see module docs).
pub fn rekey(
    dir: &SecretsDir,
    old_identities: &[Identity],
    new_recipients: &[Recipient],
) -> Result<RekeyReport, RekeyError> {
    rekey_with_hook(dir, old_identities, new_recipients, &mut |_| {
        HookAction::Continue
    })
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> RekeyError + 'a {
    move |source| RekeyError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

fn temp_path(dir: &SecretsDir, name: &SecretName) -> PathBuf {
    dir.root().join(format!("{name}.age{TEMP_SUFFIX}"))
}

/// [`rekey`] with a hook called after each step; tests use it to inject
/// failures and crashes. Not for production callers.
#[doc(hidden)]
pub fn rekey_with_hook(
    dir: &SecretsDir,
    old_identities: &[Identity],
    new_recipients: &[Recipient],
    hook: &mut dyn FnMut(Step) -> HookAction,
) -> Result<RekeyReport, RekeyError> {
    recover(dir)?;
    let names = dir.list().map_err(io_err("listing", dir.root()))?;
    let mut plaintexts: Vec<(SecretName, Plaintext)> = Vec::with_capacity(names.len());
    for name in &names {
        plaintexts.push((name.clone(), dir.read(name, old_identities)?));
    }
    let mut ciphertexts = Vec::with_capacity(names.len());
    for (name, plaintext) in &plaintexts {
        let bytes = age_file::encrypt_to_with(new_recipients, plaintext, Armor::Armored).map_err(
            |source| SecretError::Encrypt {
                name: name.clone(),
                path: dir.age_path(name),
                source,
            },
        )?;
        ciphertexts.push(bytes);
    }
    drop(plaintexts);

    // Step 3: temp files. On any failure, remove what was written.
    let mut written: Vec<PathBuf> = Vec::new();
    let staged = (|| -> Result<(), RekeyError> {
        for (i, (name, bytes)) in names.iter().zip(&ciphertexts).enumerate() {
            let tmp = temp_path(dir, name);
            written.push(tmp.clone());
            let mut f = fs::File::create(&tmp).map_err(io_err("creating", &tmp))?;
            f.write_all(bytes).map_err(io_err("writing", &tmp))?;
            f.sync_all().map_err(io_err("syncing", &tmp))?;
            run_hook(hook, Step::TempWritten(i))?;
        }
        sync_dir(dir.root()).map_err(io_err("syncing", dir.root()))?;
        // Step 4: commit.
        let journal = dir.root().join(JOURNAL_FILE);
        let mut text = String::from(JOURNAL_HEADER);
        text.push('\n');
        for name in &names {
            text.push_str(name.as_str());
            text.push('\n');
        }
        write_atomic(&journal, text.as_bytes())
            .map_err(|e| io_err("writing", &journal)(e.source))?;
        Ok(())
    })();
    match staged {
        Ok(()) => {}
        Err(RekeyError::SimulatedCrash) => return Err(RekeyError::SimulatedCrash),
        Err(e) => {
            for tmp in &written {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
    }
    run_hook(hook, Step::Committed)?;
    // Steps 5 and 6: past the commit point every error leaves a journal
    // that recover() completes.
    finish(dir, &names, hook)?;
    Ok(RekeyReport { rekeyed: names })
}

fn run_hook(hook: &mut dyn FnMut(Step) -> HookAction, step: Step) -> Result<(), RekeyError> {
    match hook(step) {
        HookAction::Continue => Ok(()),
        HookAction::Fail(source) => Err(RekeyError::Io {
            op: "injected failure at",
            path: PathBuf::from(format!("{step:?}")),
            source,
        }),
        HookAction::Crash => Err(RekeyError::SimulatedCrash),
    }
}

fn finish(
    dir: &SecretsDir,
    names: &[SecretName],
    hook: &mut dyn FnMut(Step) -> HookAction,
) -> Result<(), RekeyError> {
    for (i, name) in names.iter().enumerate() {
        let tmp = temp_path(dir, name);
        match fs::rename(&tmp, dir.age_path(name)) {
            Ok(()) => {}
            // Already renamed by an earlier, interrupted run.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("renaming", &tmp)(e)),
        }
        run_hook(hook, Step::Renamed(i))?;
    }
    sync_dir(dir.root()).map_err(io_err("syncing", dir.root()))?;
    let journal = dir.root().join(JOURNAL_FILE);
    fs::remove_file(&journal).map_err(io_err("removing", &journal))?;
    sync_dir(dir.root()).map_err(io_err("syncing", dir.root()))
}

/// Whether an interrupted rekey left anything behind.
pub fn pending(dir: &SecretsDir) -> Result<bool, RekeyError> {
    Ok(dir.root().join(JOURNAL_FILE).exists() || !stray_temps(dir)?.is_empty())
}

fn stray_temps(dir: &SecretsDir) -> Result<Vec<PathBuf>, RekeyError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir.root()) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err("listing", dir.root())(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("listing", dir.root()))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(&format!(".age{TEMP_SUFFIX}")))
        {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Completes (journal present) or undoes (no journal) an interrupted
/// rekey. Needs no identity. Safe to run at any time, and again.
pub fn recover(dir: &SecretsDir) -> Result<Recovery, RekeyError> {
    let journal = dir.root().join(JOURNAL_FILE);
    let text = match fs::read_to_string(&journal) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("reading", &journal)(e)),
    };
    match text {
        Some(text) => {
            let mut lines = text.lines();
            if lines.next() != Some(JOURNAL_HEADER) {
                return Err(RekeyError::BadJournal {
                    path: journal,
                    line: 1,
                });
            }
            let mut names = Vec::new();
            for (i, line) in lines.enumerate() {
                names.push(SecretName::new(line).map_err(|_| RekeyError::BadJournal {
                    path: journal.clone(),
                    line: i + 2,
                })?);
            }
            finish(dir, &names, &mut |_| HookAction::Continue)?;
            Ok(Recovery::RolledForward(names))
        }
        None => {
            let temps = stray_temps(dir)?;
            for tmp in &temps {
                fs::remove_file(tmp).map_err(io_err("removing", tmp))?;
            }
            if temps.is_empty() {
                Ok(Recovery::Clean)
            } else {
                sync_dir(dir.root()).map_err(io_err("syncing", dir.root()))?;
                Ok(Recovery::RolledBack(temps.len()))
            }
        }
    }
}
