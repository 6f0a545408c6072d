//! Fake commands for tests (fake `sbatch`, `squeue`, … on a test's own bin folder). Shared by
//! the integration tests (`tests/common`) and the Slurm client's unit tests (included there
//! with `#[path]`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Writes an executable shell script `name` with `body` into `dir`.
///
/// The file is written by a child `sh`, never through a descriptor of this process: a write
/// descriptor open here would be inherited by any child another test thread forks at that
/// moment, and exec of the fake then fails with ETXTBSY ("Text file busy") until that child
/// has exec'd. The child writes a temporary name, makes it executable and renames it, so the
/// fake appears complete or not at all.
pub fn write_fake_command(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    let mut child = Command::new("/bin/sh")
        .args([
            "-c",
            r#"cat > "$1.tmp" && chmod 755 "$1.tmp" && mv "$1.tmp" "$1""#,
            "sh",
        ])
        .arg(&p)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start sh to write a fake command");
    child
        .stdin
        .take()
        .expect("stdin of sh")
        .write_all(format!("#!/bin/sh\n{body}\n").as_bytes())
        .expect("write the fake command");
    let status = child.wait().expect("wait for sh");
    assert!(status.success(), "writing the fake {} failed", p.display());
}
