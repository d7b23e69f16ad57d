//! `cargo run -p hlb-helm --example helm-template -- [NAME] CHART [flags]`:
//! `helm template` through hlb-helm, for trying charts by hand (the `hlb`
//! binary's `hlb helm template` is the real command).

use std::io::Write as _;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    let opts = match hlb_helm::api::parse_args(&args, &cwd) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    };
    match hlb_helm::template(&opts) {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("level=INFO msg={w:?}");
            }
            let _ = std::io::stdout().write_all(&r.stdout);
        }
        Err(e) => {
            eprint!("{}", e.stderr());
            std::process::exit(1);
        }
    }
}
