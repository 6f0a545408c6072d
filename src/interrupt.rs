//! The process-wide interrupt flag: SIGINT and SIGTERM (Ctrl-C, `scancel`), and SIGUSR1 (sent
//! by Slurm `--signal` before a job's time limit), set one flag that long-running loops check
//! between units of work (folds, cells, training steps). A second SIGINT restores the default
//! action, so a third Ctrl-C kills at once.
//!
//! The signals are never delivered to a thread that computes: [`install`] blocks them in the
//! calling thread (and so in every thread it starts afterwards, libtorch's and rayon's pools
//! included) and one watcher thread takes them with `sigwait`. An asynchronous handler running
//! on a compute thread can land inside JIT-compiled kernels: measured with libtorch 2.11's
//! oneDNN LSTM backward, a SIGTERM during training corrupted the heap in about one run of three
//! ("corrupted size vs. prev_size", SIGABRT or SIGSEGV) before this design. Call [`install`]
//! early, before the work starts threads.
//!
//! May depend on: libc. Nothing else.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1];

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a plain sigset_t we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in SIGNALS {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and the threads it starts from
/// now on) and starts the watcher thread that turns them into the flag. Idempotent.
pub fn install() {
    INSTALL.call_once(|| {
        let set = signal_set();
        // SAFETY: pthread_sigmask on the calling thread with a valid, initialised set.
        unsafe {
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let spawned = std::thread::Builder::new()
            .name("dpwear-signals".into())
            .spawn(move || watch(set));
        if spawned.is_err() {
            // Without a watcher the signals must not stay blocked: restore them.
            // SAFETY: as above.
            unsafe {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
        }
    });
}

/// The watcher: waits for the blocked signals and sets the flag.
fn watch(set: libc::sigset_t) {
    let mut sigint_seen = false;
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on a valid set whose signals are blocked in this thread (inherited).
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        SIGNAL.store(sig, Ordering::SeqCst);
        REQUESTED.store(true, Ordering::SeqCst);
        if sig == libc::SIGINT {
            if sigint_seen {
                // Second Ctrl-C: the next one kills. Default action, and unblocked in this
                // thread only, so that a process-directed SIGINT lands here.
                let mut only_int: libc::sigset_t = unsafe { std::mem::zeroed() };
                // SAFETY: plain sigset manipulation and per-thread mask / disposition changes.
                unsafe {
                    libc::sigemptyset(&mut only_int);
                    libc::sigaddset(&mut only_int, libc::SIGINT);
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::pthread_sigmask(libc::SIG_UNBLOCK, &only_int, std::ptr::null_mut());
                }
            }
            sigint_seen = true;
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
