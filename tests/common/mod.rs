//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference data folder (`../shared/data` beside the repository; CI has it there).
pub fn shared_data() -> PathBuf {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if beside.exists() {
        return beside;
    }
    PathBuf::from("/work/shared/data")
}

/// The reference's WESAD files.
pub fn wesad_ref(name: &str) -> PathBuf {
    let p = shared_data().join("wesad").join(name);
    assert!(
        p.exists(),
        "reference data {} is missing: the tests read it from ../shared/data",
        p.display()
    );
    p
}

/// The built `dpwear` binary.
pub fn dpwear() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_dpwear"))
}

/// Python with numpy for the fixture generators: `DPWEAR_PYTHON`, the project's `.venv`, or
/// `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DPWEAR_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}
