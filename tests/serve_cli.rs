//! `dpwear serve` as a process: start-up refusals with their exit codes, the announced
//! address, a request over a real socket, and a clean stop on SIGTERM.

#![cfg(feature = "serve")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::run;

fn code_and_stderr(args: &[&str]) -> (i32, String) {
    let o = run(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn start_up_refusals_name_the_option_and_exit_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, err) = code_and_stderr(&["serve", "--models", "/no/such/models"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--models /no/such/models"), "{err}");

    let (code, err) = code_and_stderr(&["serve", "--models", d, "--bind", "0.0.0.0:0"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("--allow-host"), "{err}");

    let corrupt = dir.path().join("real.h5");
    std::fs::write(&corrupt, b"not an HDF5 file").unwrap();
    let (code, err) = code_and_stderr(&[
        "serve",
        "--models",
        d,
        "--bind",
        "127.0.0.1:0",
        "--real",
        corrupt.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--real"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = code_and_stderr(&["serve", "--models", d, "--bind", &addr]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains(&format!("listen on {addr}")), "{err}");
}

#[test]
fn it_announces_its_address_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::dpwear()
        .args([
            "serve",
            "--models",
            dir.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("unexpected first line {line:?}")
        });
    let host = url.trim_end_matches('/').to_string();

    let ask = |host_header: &str| -> String {
        let mut s = TcpStream::connect(&host).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "GET /api/models HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    };
    let ok = ask(&host);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"models\":[]"), "{ok}");
    assert!(
        ok.to_ascii_lowercase().contains("content-security-policy"),
        "{ok}"
    );
    let rebound = ask("attacker.example");
    assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");

    // SAFETY: sending SIGTERM to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "a clean stop");
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
