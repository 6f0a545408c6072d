//! Build script: bake a RUNPATH to libtorch into the `dpwear` binary so that it runs without
//! `LD_LIBRARY_PATH`, and link `libtorch_cuda` eagerly when the `cuda` feature is on (the default
//! `--as-needed` link would otherwise drop it and CUDA would silently stay off). Also records
//! the git commit for result records (with `-dirty` when tracked files had uncommitted changes).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The code version recorded in every result record.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    // Built from uncommitted changes to tracked files: say so (the commit alone would claim
    // code that did not produce the record). Sources are watched so that the flag is fresh.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    let commit = if dirty && commit != "unknown" {
        format!("{commit}-dirty")
    } else {
        commit
    };
    println!("cargo:rustc-env=DPWEAR_GIT_COMMIT={commit}");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    if std::env::var("CARGO_FEATURE_CUDA").is_ok() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
