//! Print the `hlb-tree-v1` content hash of a path; used by
//! `bench/hash-tree.sh` to compare against `b3sum`.
//!
//! `cargo run --release -p hlb-cache --example hash_tree -- PATH`

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: hash_tree PATH");
        return ExitCode::from(2);
    };
    match hlb_cache::tree::hash_path_sized(std::path::Path::new(&path)) {
        Ok((digest, stats)) => {
            println!("{digest}  {} bytes in {} nodes", stats.bytes, stats.nodes);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
