//! `hlb helm template`: the native Helm engine (`hlb_helm`) as a drop-in
//! for `helm template`. It keeps helm's contract, not hlb's: the exact
//! stdout bytes, helm's log lines and `Error: …` on stderr, and exit 1 for
//! every failure (usage included), so scripts written for helm keep working.

use std::io::Write as _;
use std::process::ExitCode;

pub fn template(args: &[String]) -> ExitCode {
    let fail = |warnings: &[String], message: &str| {
        let mut err = std::io::stderr().lock();
        for w in warnings {
            let _ = writeln!(err, "level=INFO msg={w:?}");
        }
        let _ = writeln!(err, "Error: {message}");
        ExitCode::from(1)
    };
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return fail(&[], &format!("the current directory: {e}")),
    };
    let opts = match hlb_helm::api::parse_args(args, &cwd) {
        Ok(o) => o,
        Err(e) => return fail(&[], &e),
    };
    match hlb_helm::template(&opts) {
        Ok(r) => {
            let mut err = std::io::stderr().lock();
            for w in &r.warnings {
                let _ = writeln!(err, "level=INFO msg={w:?}");
            }
            match std::io::stdout().lock().write_all(&r.stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&[], &format!("writing the output: {e}")),
            }
        }
        Err(e) => fail(&e.warnings, &e.message),
    }
}
