//! Per-invocation context: the ops layer's [`Env`] made from the flags and
//! environment variables, where output goes, and the renderer every
//! operation reports to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlb::ops::env::ENTRY;
use hlb::ops::{Env, SharedReporter};

use crate::cli::Global;
use crate::out::Out;
use crate::render::Renderer;

pub struct Ctx {
    pub env: Env,
    pub out: Out,
    pub renderer: Arc<Renderer>,
}

impl Ctx {
    pub fn new(global: Global) -> Ctx {
        let out = Out::new(global.json, global.color);
        let env = Env {
            recipes: recipes_dir(global.recipes),
            store: global.store,
            state: global.state,
            identity: global.identity,
            mirrors: global.mirrors,
            mirror_list: std::env::var("HLB_MIRRORS").ok(),
            offline: global.offline,
        };
        Ctx {
            env,
            out,
            renderer: Arc::new(Renderer::new(out)),
        }
    }

    /// The reporter operations get.
    pub fn reporter(&self) -> SharedReporter {
        self.renderer.clone()
    }
}

/// The recipes directory: `--recipes`, else `.` when it has lab.kdl, else `recipes/`.
fn recipes_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(d) = explicit {
        return d;
    }
    if Path::new(ENTRY).exists() {
        PathBuf::from(".")
    } else {
        PathBuf::from("recipes")
    }
}
