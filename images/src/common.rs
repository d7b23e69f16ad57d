//! What the text compilers share: reading their content, interpolating
//! lab parameters with positions in errors, and writing outputs atomically.

use std::collections::BTreeMap;
use std::path::Path;

use hlb_builder::interp::{InterpError, interpolate};
use hlb_builder::{BuildCx, BuildError, Value};
use hlb_cache::fsx::{self, IoError};

pub(crate) fn io_err(e: IoError) -> BuildError {
    BuildError::Io {
        op: e.op,
        path: e.path,
        source: e.source,
    }
}

/// A boolean parameter; absent means `false`. A wrong type is a planner bug.
pub(crate) fn bool_param(cx: &BuildCx<'_>, key: &str) -> Result<bool, BuildError> {
    match cx.drv.params.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(BuildError::Internal(format!(
            "derivation {}: parameter `{key}` should be a boolean, not {other:?}",
            cx.drv.name
        ))),
    }
}

/// An optional string parameter.
pub(crate) fn str_param<'a>(cx: &'a BuildCx<'_>, key: &str) -> Result<Option<&'a str>, BuildError> {
    match cx.drv.params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(other) => Err(BuildError::Internal(format!(
            "derivation {}: parameter `{key}` should be a string, not {other:?}",
            cx.drv.name
        ))),
    }
}

/// The interpolation parameters (`params`), as text.
pub(crate) fn interp_params(cx: &BuildCx<'_>) -> Result<BTreeMap<String, String>, BuildError> {
    let mut out = BTreeMap::new();
    match cx.drv.params.get("params") {
        None | Some(Value::Null) => {}
        Some(Value::Map(m)) => {
            for (k, v) in m {
                let text = match v {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(BuildError::Internal(format!(
                            "derivation {}: parameter `{k}` has no text form: {other:?}",
                            cx.drv.name
                        )));
                    }
                };
                out.insert(k.clone(), text);
            }
        }
        Some(other) => {
            return Err(BuildError::Internal(format!(
                "derivation {}: `params` should be a map, not {other:?}",
                cx.drv.name
            )));
        }
    }
    Ok(out)
}

/// The content to compile: inline `text`, else recipe source `src`, else
/// the single file of input `src` (a fetched file).
pub(crate) fn content(cx: &BuildCx<'_>) -> Result<Vec<u8>, BuildError> {
    if let Some(text) = str_param(cx, "text")? {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(bytes) = cx.sources.get("src") {
        return Ok(bytes.to_vec());
    }
    if cx.inputs.contains_key("src") {
        return read_single_file(cx.input("src")?);
    }
    Err(BuildError::Internal(format!(
        "derivation {} has no content: no `text` parameter, no source `src` and no input `src`",
        cx.drv.name
    )))
}

/// Read `path`, or the one regular file inside it when it is a directory.
fn read_single_file(path: &Path) -> Result<Vec<u8>, BuildError> {
    let meta = fsx::symlink_metadata(path).map_err(io_err)?;
    if meta.is_file() {
        return fsx::read(path).map_err(io_err);
    }
    if meta.is_dir() {
        let names = fsx::read_dir_sorted(path).map_err(io_err)?;
        if let [only] = names.as_slice() {
            let file = path.join(only);
            if fsx::symlink_metadata(&file).map_err(io_err)?.is_file() {
                return fsx::read(&file).map_err(io_err);
            }
        }
        return Err(BuildError::Invalid(format!(
            "input {} should hold exactly one regular file, it holds {} entries",
            path.display(),
            names.len()
        )));
    }
    Err(BuildError::Invalid(format!(
        "input {} is neither a file nor a directory",
        path.display()
    )))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The content as UTF-8 text, or an error that says why it must be text.
pub(crate) fn as_text<'a>(bytes: &'a [u8], name: &str, why: &str) -> Result<&'a str, BuildError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            e.valid_up_to(),
        );
        BuildError::Invalid(format!(
            "{name}:{line}:{col}: not UTF-8 text (invalid byte at offset {}); {why}",
            e.valid_up_to()
        ))
    })
}

/// Apply `${name}` interpolation; every problem is reported with its
/// `name:line:column`.
pub(crate) fn interpolate_text(
    text: &str,
    params: &BTreeMap<String, String>,
    name: &str,
) -> Result<String, BuildError> {
    interpolate(text, &|k| params.get(k).cloned()).map_err(|errors| {
        BuildError::Invalid(
            errors
                .iter()
                .map(
                    |InterpError {
                         offset, message, ..
                     }| {
                        let (line, col) = line_col(text, *offset);
                        format!("{name}:{line}:{col}: {message}")
                    },
                )
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// Write a single-file output atomically.
pub(crate) fn write_file(out: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    fsx::write_atomic(out, bytes).map_err(io_err)
}

/// Write a directory output: build it beside `out`, then rename it into
/// place, so `out` never exists half-written.
pub(crate) fn write_dir(out: &Path, files: &[(&str, &[u8])]) -> Result<(), BuildError> {
    let tmp = fsx::temp_sibling(out, "build");
    let result = (|| {
        fsx::create_dir(&tmp)?;
        for (name, bytes) in files {
            fsx::write_atomic(&tmp.join(name), bytes)?;
        }
        fsx::fsync_dir(&tmp)?;
        fsx::rename(&tmp, out)?;
        match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => fsx::fsync_dir(p),
            _ => Ok(()),
        }
    })();
    if result.is_err() {
        let _ = fsx::remove_dir_all(&tmp);
    }
    result.map_err(io_err)
}
