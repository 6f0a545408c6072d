//! (being built)
use crate::models::generator_spec::GeneratorMode;
use crate::training::generator::algorithm::{Family, Overrides};

pub fn family(
    _mode: GeneratorMode,
    _n_classes: usize,
    _overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    Err("this generator is not built yet".into())
}

pub fn from_hyper(_hyper: &serde_json::Value) -> Result<Box<dyn Family>, String> {
    Err("this generator is not built yet".into())
}
