//! dpwear behaves like a Unix filter when its reader goes away (`dpwear … | head -1`): it ends
//! quietly (SIGPIPE, as `cat` does) instead of panicking with "Broken pipe".

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

/// Runs `dpwear ARGS` with stdout into a pipe whose read end is already closed.
fn with_closed_stdout(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = common::dpwear()
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run dpwear");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn closed_stdout_ends_quietly() {
    let (status, stderr) = with_closed_stdout(&[
        "privacy",
        "epsilon",
        "--sigma",
        "1.1",
        "--sample-rate",
        "0.01",
        "--steps",
        "100",
        "--delta",
        "1e-5",
    ]);
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "stderr: {stderr}");
    assert!(
        status.success() || status.signal() == Some(libc::SIGPIPE),
        "status {status:?}, stderr: {stderr}"
    );
}
