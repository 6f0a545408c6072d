//! Atomic file writes: the content goes to a temporary file in the same folder, is flushed to
//! disk and renamed over the target, so a reader sees the old file or the new one, never half
//! of one, and an interrupted write leaves the old file intact.
//!
//! Temporary files are named `.<name>.tmp-<pid>@<host>`. Any failure after the temporary file
//! was created removes it ([`rename_into_place`] for writers that fill the file themselves,
//! such as HDF5 stores). A writer killed outright (`kill -9`, a node crash) cannot clean up,
//! so every write first removes the stale temporary files of its folder: those of a process
//! of this host that no longer runs (and, from other hosts sharing the folder, those untouched
//! for a day). [`clean_stale_temporaries`] does the same on demand (`plan` calls it).
//!
//! May depend on: std, libc (whether a pid is alive).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A temporary file of another host is removed only when untouched for this long (its writer
/// may still run there; pids of other hosts cannot be checked).
pub const FOREIGN_TEMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// This host's name (empty when unknown).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The temporary name used while writing `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}@{}", std::process::id(), hostname()))
}

/// Renames the finished temporary file `tmp` onto `target`; on failure `tmp` is removed.
pub fn rename_into_place(tmp: &Path, target: &Path) -> std::io::Result<()> {
    let r = std::fs::rename(tmp, target);
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    r
}

/// Writes `bytes` to `path` atomically, creating the parent folders.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
        clean_stale_temporaries(parent);
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serialises `value` as pretty JSON (with a final newline) and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    s.push('\n');
    write(path, s.as_bytes())
}

/// The writer of a temporary file name: `(pid, host)` (`host` is `None` for the older
/// `.<name>.tmp-<pid>` form, which was always local). `None` when it is not a temporary name.
fn temp_owner(file_name: &str) -> Option<(u32, Option<&str>)> {
    if !file_name.starts_with('.') {
        return None;
    }
    let (_, tail) = file_name.rsplit_once(".tmp-")?;
    let (pid, host) = match tail.split_once('@') {
        Some((p, h)) => (p, Some(h)),
        None => (tail, None),
    };
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((pid.parse().ok()?, host))
}

/// Whether process `pid` exists on this host.
fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the temporary files in `dir` left by writers that died (see the module docs);
/// returns how many were removed. Errors (an unreadable folder) remove nothing.
pub fn clean_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = hostname();
    let mut removed = 0;
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((pid, host)) = temp_owner(name) else {
            continue;
        };
        let local = host.is_none_or(|h| h == me);
        let stale = if local {
            pid != std::process::id() && !pid_alive(pid)
        } else {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > FOREIGN_TEMP_MAX_AGE)
        };
        let is_file = e.file_type().map(|t| t.is_file()).unwrap_or(false);
        if stale && is_file && std::fs::remove_file(e.path()).is_ok() {
            tracing::debug!(path = %e.path().display(), "removed a stale temporary file");
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/a.json");
        super::write(&p, b"one").unwrap();
        super::write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(d.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_rename_onto_a_directory_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write(&target, b"data").is_err());
        assert_eq!(names(d.path()), vec!["out.json".to_string()]);
        // a writer that fills the temporary itself
        let tmp = temp_path(&target);
        std::fs::write(&tmp, b"data").unwrap();
        assert!(rename_into_place(&tmp, &target).is_err());
        assert!(!tmp.exists());
    }

    /// A pid that is not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(!pid_alive(pid));
        pid
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed_at_the_next_write() {
        let d = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let host = hostname();
        let stale_new = format!(".manifest.json.tmp-{dead}@{host}");
        let stale_old = format!(".manifest.json.tmp-{dead}");
        let alive = format!(".other.json.tmp-{}@{host}", std::process::id());
        let parent_alive = format!(".cells.json.tmp-1@{host}"); // init never dies
        let foreign = format!(".manifest.json.tmp-{dead}@another-host-{host}");
        let unrelated = ".manifest.json.tmp-notapid".to_string();
        for n in [
            &stale_new,
            &stale_old,
            &alive,
            &parent_alive,
            &foreign,
            &unrelated,
        ] {
            std::fs::write(d.path().join(n), b"half").unwrap();
        }
        write(&d.path().join("manifest.json"), b"{}").unwrap();
        let left = names(d.path());
        assert!(!left.contains(&stale_new), "{left:?}");
        assert!(!left.contains(&stale_old), "{left:?}");
        for keep in [&alive, &parent_alive, &foreign, &unrelated] {
            assert!(left.contains(keep), "{keep} removed: {left:?}");
        }
        assert!(left.contains(&"manifest.json".to_string()));
    }

    #[test]
    fn temporary_names_are_parsed_strictly() {
        assert_eq!(temp_owner(".a.json.tmp-12@h"), Some((12, Some("h"))));
        assert_eq!(temp_owner(".a.json.tmp-12"), Some((12, None)));
        assert_eq!(temp_owner("a.json.tmp-12"), None);
        assert_eq!(temp_owner(".a.json.tmp-"), None);
        assert_eq!(temp_owner(".a.json.tmp-1x2"), None);
        assert_eq!(temp_owner(".a.json"), None);
    }
}
