//! Build script: bake a RUNPATH to libtorch into the `dpwear` binary so that it runs without
//! `LD_LIBRARY_PATH`, and link `libtorch_cuda` eagerly when the `cuda` feature is on (the default
//! `--as-needed` link would otherwise drop it and CUDA would silently stay off). Also records
//! the git commit for result records (with `-dirty` when tracked files had uncommitted changes).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The code version recorded in every result record.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .map(|out| String::from_utf8_lossy(&out).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    // Built from uncommitted changes to tracked files: say so (the commit alone would claim
    // code that did not produce the record). Sources are watched so that the flag is fresh.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|out| !out.is_empty());
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

/// stdout of a successful `git ARGS`, or None (no git, not a checkout).
fn git(args: &[&str]) -> Option<Vec<u8>> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
}
