//! Keeping decrypted secrets out of core dumps.
//!
//! Why: plaintext lives only in memory (design D7), but a crash while it
//! is there would write that memory to a core file. The CLI holds a
//! [`CoreDumpGuard`] for as long as any secret is decrypted: it sets the
//! soft `RLIMIT_CORE` to 0 and puts the previous soft limit back on drop.
//! Only the soft limit is touched, so dropping the guard can always
//! restore it, even without privileges.

use std::io;

/// While alive, this process writes no core dump.
#[derive(Debug)]
pub struct CoreDumpGuard {
    previous_soft: libc::rlim_t,
}

fn get() -> io::Result<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid pointer given.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) };
    if rc == 0 {
        Ok(lim)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set(lim: &libc::rlimit) -> io::Result<()> {
    // SAFETY: setrlimit only reads the valid rlimit given.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_CORE, lim) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl CoreDumpGuard {
    /// Disables core dumps until the guard is dropped.
    pub fn new() -> io::Result<Self> {
        let lim = get()?;
        set(&libc::rlimit {
            rlim_cur: 0,
            rlim_max: lim.rlim_max,
        })?;
        Ok(Self {
            previous_soft: lim.rlim_cur,
        })
    }

    /// The current soft core size limit (for tests and diagnostics).
    pub fn current_soft_limit() -> io::Result<libc::rlim_t> {
        get().map(|l| l.rlim_cur)
    }
}

impl Drop for CoreDumpGuard {
    fn drop(&mut self) {
        if let Ok(lim) = get() {
            // Best effort: a failure here leaves core dumps off, the safe side.
            let _ = set(&libc::rlimit {
                rlim_cur: self.previous_soft,
                rlim_max: lim.rlim_max,
            });
        }
    }
}
