//! The edit buffer: $VISUAL / $EDITOR on a private file on tmpfs, removed
//! whatever happens, so plaintext never reaches a disk.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hlb_secrets::Plaintext;

#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    #[error(
        "no tmpfs (/dev/shm or $XDG_RUNTIME_DIR) for the edit buffer: pipe the secret into `hlb secret set` instead"
    )]
    NoTmpfs,
    #[error("{what}")]
    Buffer {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("running the editor `{editor}`")]
    Spawn {
        editor: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the editor `{editor}` failed ({status}); nothing changed")]
    Failed {
        editor: String,
        status: std::process::ExitStatus,
    },
}

fn buffer_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EditorError {
    let what = what.into();
    move |source| EditorError::Buffer { what, source }
}

/// Run the editor on `initial` (empty when `None`) and return what it saved.
pub(super) fn edit_in_buffer(
    initial: Option<&Plaintext>,
    label: &str,
) -> Result<Plaintext, EditorError> {
    let base = ["/dev/shm", "/run/user"]
        .iter()
        .map(PathBuf::from)
        .chain(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
        .find(|p| is_tmpfs(p))
        .ok_or(EditorError::NoTmpfs)?;
    let buffer = tempfile::Builder::new()
        .prefix("hlb-secret-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(buffer_err(format!(
            "creating the edit buffer in {}",
            base.display()
        )))?;
    let path = buffer.path().join(label);
    {
        let mut f = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut file = f
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(buffer_err("creating the edit buffer"))?;
        if let Some(p) = initial {
            file.write_all(p.expose())
                .map_err(buffer_err("writing the edit buffer"))?;
        }
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .status()
        .map_err(|source| EditorError::Spawn {
            editor: editor.clone(),
            source,
        })?;
    if !status.success() {
        return Err(EditorError::Failed { editor, status });
    }
    let bytes = std::fs::read(&path).map_err(buffer_err("reading the edit buffer"))?;
    drop(buffer); // removes the buffer
    Ok(Plaintext::new(bytes))
}

fn is_tmpfs(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes only into the struct we pass.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut s) };
    rc == 0 && s.f_type == libc::TMPFS_MAGIC
}
