//! The process-wide interrupt flag: SIGINT and SIGTERM (Ctrl-C, `scancel`), and SIGUSR1 (sent
//! by Slurm `--signal` before a job's time limit), set one flag that long-running loops check
//! between units of work (folds, cells). A second SIGINT restores the default action, so a
//! third Ctrl-C kills at once.
//!
//! May depend on: libc. Nothing else.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    if REQUESTED.swap(true, Ordering::SeqCst) && sig == libc::SIGINT {
        // SAFETY: signal() is async-signal-safe; restores the default for the next Ctrl-C.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Installs the handler for SIGINT, SIGTERM and SIGUSR1.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
        // SAFETY: the handler only touches atomics and calls signal(), both async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// True once a signal has arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The last signal received (0 = none).
pub fn signal() -> i32 {
    SIGNAL.load(Ordering::SeqCst)
}

/// Sets the flag by hand (tests, or a parent deciding to stop).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}
