//! The `file` compiler: one file, copied or interpolated.
//!
//! Parameters: `interpolate` (bool), `params` (the lab parameters the text
//! refers to, already chosen by the planner), optional `text` (inline
//! content). Content comes from `text`, else recipe source `src`, else the
//! single file of input `src`. With `interpolate`, `${name}` references are
//! replaced (see `hlb_builder::interp`); the content must then be UTF-8.
//! Without it the bytes pass through untouched, binary files included.
//! Output: one file at `out`. Where it is delivered (path, mode, owner) is
//! the planner's business, recorded in the generation.
//!
//! A secret-bearing file (`drv.secret`) also has `secrets` (the names it
//! may reveal, each with its `tag:NAME` source) and either
//! `secret_content: NAME` (the file is that secret's plaintext, and there
//! is no other content) or a text whose interpolation may use
//! `${secret.NAME}`. Its output is the plaintext age-encrypted to the
//! deploy recipients (`SecretSource::seal_for_store`): the plaintext exists
//! only in a zeroizing buffer during the build, never on disk. A public
//! file (`drv.secret == false`) with `secrets` or `secret_content` is
//! refused rather than written in clear.

use hlb_builder::{BuildCx, BuildError, Compiler, Value};
use hlb_secrets::Plaintext;

use crate::common::{
    as_text, bool_param, content, interp_params, interpolate_text, str_param, write_file,
};
use crate::secret::{Declared, splice};

#[derive(Debug, Default)]
pub struct FileCompiler;

impl Compiler for FileCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::FILE
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        if cx.drv.secret {
            return build_secret(cx);
        }
        for key in ["secrets", "secret_content"] {
            if !matches!(cx.drv.params.get(key), None | Some(Value::Null)) {
                return Err(BuildError::Internal(format!(
                    "derivation {} has `{key}` but is not marked secret: refusing to write secret material in clear",
                    cx.drv.name
                )));
            }
        }
        let bytes = content(cx)?;
        if !bool_param(cx, "interpolate")? {
            return write_file(cx.out, &bytes);
        }
        let name = &cx.drv.name;
        let text = as_text(&bytes, name, INTERPOLATION_NEEDS_TEXT)?;
        let params = interp_params(cx)?;
        let out = interpolate_text(text, &params, name)?;
        write_file(cx.out, out.as_bytes())
    }
}

const INTERPOLATION_NEEDS_TEXT: &str =
    "interpolation needs text: turn `interpolate` off to copy the file unchanged";

/// A secret-bearing file: build the plaintext in memory, store it sealed.
fn build_secret(cx: &BuildCx<'_>) -> Result<(), BuildError> {
    let secrets = Declared::from_param(cx, "secrets")?;
    let plaintext = match str_param(cx, "secret_content")? {
        Some(whole) => {
            let other = if str_param(cx, "text")?.is_some() {
                Some("a `text` parameter")
            } else if cx.sources.contains_key("src") || cx.inputs.contains_key("src") {
                Some("a `src`")
            } else {
                None
            };
            if let Some(other) = other {
                return Err(BuildError::Internal(format!(
                    "derivation {} has both `secret_content` and {other}",
                    cx.drv.name
                )));
            }
            secrets.reveal(whole)?
        }
        None => {
            let name = str_param(cx, "source_name")?.unwrap_or(&cx.drv.name);
            let bytes = content(cx)?;
            if bool_param(cx, "interpolate")? {
                let text = as_text(&bytes, name, INTERPOLATION_NEEDS_TEXT)?;
                splice(text, &interp_params(cx)?, &secrets, name)?
            } else if secrets.is_empty() {
                Plaintext::new(bytes)
            } else {
                // `${secret.NAME}` would be delivered as literal text.
                return Err(secrets.never_revealed());
            }
        }
    };
    let sealed = cx.secrets.seal_for_store(&plaintext)?;
    drop(plaintext);
    write_file(cx.out, &sealed)
}
