//! The one place that maps a [`GeneratorKind`] to its family.
//!
//! May depend on: the families in [`super::kinds`].

use super::algorithm::{Family, Overrides};
use super::kinds;
use crate::models::generator_spec::{GeneratorKind, GeneratorMode};

const TABULAR: &str =
    "the BGAN generates tabular records, not sensor windows (see training::tabular)";

/// The family of `kind` with the hyper-parameters of `mode` and the overrides applied.
pub fn family(
    kind: GeneratorKind,
    mode: GeneratorMode,
    n_classes: usize,
    overrides: &Overrides,
) -> Result<Box<dyn Family>, String> {
    match kind {
        GeneratorKind::Cgan => kinds::cgan::family(mode, n_classes, overrides),
        GeneratorKind::Dgan => kinds::dgan::family(mode, n_classes, overrides),
        GeneratorKind::Timegan => kinds::timegan::family(mode, n_classes, overrides),
        GeneratorKind::DpMerf => kinds::dp_merf::family(mode, n_classes, overrides),
        GeneratorKind::Bgan => Err(TABULAR.into()),
    }
}

/// The family of `kind` with the hyper-parameters a model card recorded.
pub fn family_from_hyper(
    kind: GeneratorKind,
    hyper: &serde_json::Value,
) -> Result<Box<dyn Family>, String> {
    match kind {
        GeneratorKind::Cgan => kinds::cgan::from_hyper(hyper),
        GeneratorKind::Dgan => kinds::dgan::from_hyper(hyper),
        GeneratorKind::Timegan => kinds::timegan::from_hyper(hyper),
        GeneratorKind::DpMerf => kinds::dp_merf::from_hyper(hyper),
        GeneratorKind::Bgan => Err(TABULAR.into()),
    }
}
