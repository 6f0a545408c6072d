//! Build script: bake a RUNPATH to libtorch into the `dpwear` binary so that it runs without
//! `LD_LIBRARY_PATH`, and link `libtorch_cuda` eagerly when the `cuda` feature is on (the default
//! `--as-needed` link would otherwise drop it and CUDA would silently stay off).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    if std::env::var("CARGO_FEATURE_CUDA").is_ok() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
