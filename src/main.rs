//! The `dpwear` binary: parses the command line and maps outcomes to documented exit codes
//! (see `dpwear --help` and README.md).

use clap::Parser;

fn main() {
    tune_malloc();
    default_sigpipe();
    let cli = match dpwear::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => dpwear::cli::exit::USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(dpwear::cli::run(cli));
}

/// Restores the default action of SIGPIPE (Rust's runtime ignores it, so a write to a closed
/// pipe turns into a "Broken pipe" panic in `println!`): `dpwear status … | head -1` then ends
/// quietly, as `cat` would. Nothing in dpwear writes into a child's stdin, so no other pipe
/// can raise it; finished work is safe because every output is written atomically.
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Keeps glibc from returning large tensor buffers to the kernel after every step (each batch
/// would otherwise page-fault and zero fresh memory): mmap threshold 32 MiB, trim threshold
/// 1 GiB. Measured on the CNN's LOSO folds: system time 10.9 s → 0.6 s per 15 folds.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
