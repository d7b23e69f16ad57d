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

use hlb_builder::{BuildCx, BuildError, Compiler};

use crate::common::{as_text, bool_param, content, interp_params, interpolate_text, write_file};

#[derive(Debug, Default)]
pub struct FileCompiler;

impl Compiler for FileCompiler {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        let bytes = content(cx)?;
        if !bool_param(cx, "interpolate")? {
            return write_file(cx.out, &bytes);
        }
        let name = &cx.drv.name;
        let text = as_text(
            &bytes,
            name,
            "interpolation needs text: turn `interpolate` off to copy the file unchanged",
        )?;
        let params = interp_params(cx)?;
        let out = interpolate_text(text, &params, name)?;
        write_file(cx.out, out.as_bytes())
    }
}
