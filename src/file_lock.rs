//! Advisory file locks (`flock`) that keep two processes from working on one campaign or one
//! cell at once:
//!
//! - the **campaign lock** `results/<c>/.lock`, held by `plan`, `run` and `submit` for their
//!   whole life (a second one refuses at once and names the holder, whose pid, host, command
//!   and start time are written inside the file);
//! - a **cell lock** `cells/<id>.lock`, held by the rank 0 of `run-cell` while it computes the
//!   cell (a second `run-cell` of the cell waits for it and then finds the cell finished).
//!   `status` tells a running cell from a partial one by probing it.
//!
//! The locks belong to the open file: they vanish when the holder exits or is killed, so a
//! stale lock file is harmless. Descriptors are close-on-exec: subprocesses do not inherit
//! them. `flock` is advisory and, on some network file systems, local to one node.
//!
//! May depend on: libc, std.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: held by {holder}")]
    Held { path: PathBuf, holder: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: interrupted while waiting for {holder}")]
    Interrupted { path: PathBuf, holder: String },
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn flock(f: &File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), op) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn would_block(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EWOULDBLOCK) || e.raw_os_error() == Some(libc::EAGAIN)
}

/// Who holds the lock at `path`, as its holder wrote it.
pub fn holder(path: &Path) -> String {
    let mut s = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut s));
    let s = s.trim();
    if s.is_empty() {
        "another process (it wrote no details)".into()
    } else {
        s.to_string()
    }
}

fn describe_self(what: &str) -> String {
    format!(
        "pid {} on host {} ({what}, since unix time {})",
        std::process::id(),
        crate::atomic_file::hostname(),
        crate::orchestration::records::now_unix()
    )
}

fn open(path: &Path) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)
}

fn record_holder(mut lock: FileLock, what: &str) -> Result<FileLock, LockError> {
    let path = lock.path.clone();
    let r = (|| {
        lock.file.set_len(0)?;
        lock.file.rewind()?;
        writeln!(lock.file, "{}", describe_self(what))
    })();
    r.map_err(|source| LockError::Io { path, source })?;
    Ok(lock)
}

/// Takes the exclusive lock at `path` or fails at once with [`LockError::Held`]; `what` (the
/// command) is written inside for whoever is refused.
pub fn try_lock(path: &Path, what: &str) -> Result<FileLock, LockError> {
    let file = open(path)?;
    match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => record_holder(
            FileLock {
                file,
                path: path.to_path_buf(),
            },
            what,
        ),
        Err(e) if would_block(&e) => Err(LockError::Held {
            path: path.to_path_buf(),
            holder: holder(path),
        }),
        Err(source) => Err(LockError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Takes the exclusive lock at `path`, waiting for its holder (polling, so that an interrupt
/// ends the wait with [`LockError::Interrupted`]); `on_wait` is told the holder once.
pub fn lock_waiting(
    path: &Path,
    what: &str,
    on_wait: impl FnOnce(&str),
) -> Result<FileLock, LockError> {
    let mut on_wait = Some(on_wait);
    loop {
        match try_lock(path, what) {
            Err(LockError::Held { holder, .. }) => {
                if crate::interrupt::requested() {
                    return Err(LockError::Interrupted {
                        path: path.to_path_buf(),
                        holder,
                    });
                }
                if let Some(f) = on_wait.take() {
                    f(&holder);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Whether some process holds the lock at `path` (a missing file: no). Never creates it.
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => false,
        Err(e) => would_block(&e),
    }
}

/// Campaign locks this process holds (kept until it exits).
static HELD: Mutex<Vec<FileLock>> = Mutex::new(Vec::new());

/// Takes the campaign lock `lock_path` for the rest of this process's life (again in the same
/// process: nothing to do).
pub fn hold_for_process(lock_path: &Path, what: &str) -> Result<(), LockError> {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    let key = std::fs::canonicalize(lock_path).ok();
    if key.is_some()
        && held
            .iter()
            .any(|l| std::fs::canonicalize(&l.path).ok() == key)
    {
        return Ok(());
    }
    let lock = try_lock(lock_path, what)?;
    held.push(lock);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c/.lock");
        let first = try_lock(&p, "dpwear run").unwrap();
        assert!(is_held(&p));
        let err = try_lock(&p, "dpwear plan").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("dpwear run"),
            "{msg}"
        );
        drop(first);
        assert!(!is_held(&p));
        let again = try_lock(&p, "dpwear plan").unwrap();
        assert!(holder(&p).contains("dpwear plan"));
        drop(again);
        assert!(!is_held(&d.path().join("missing.lock")));
        assert!(!d.path().join("missing.lock").exists());
    }

    #[test]
    fn hold_for_process_is_reentrant() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".lock");
        hold_for_process(&p, "one").unwrap();
        hold_for_process(&p, "two").unwrap();
        assert!(is_held(&p));
        assert!(matches!(try_lock(&p, "x"), Err(LockError::Held { .. })));
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cell.lock");
        let first = try_lock(&p, "first").unwrap();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let mut told = String::new();
            let l = lock_waiting(&p2, "second", |h| told = h.to_string()).unwrap();
            (told, holder(l.path()))
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        let (told, now) = waiter.join().unwrap();
        assert!(told.contains("first"), "{told}");
        assert!(now.contains("second"), "{now}");
    }
}
