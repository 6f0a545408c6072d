//! Neural models. `spec` (pure: names and reference hyper-parameters) builds everywhere; the
//! networks themselves (`layers`, `dropout`, `classifiers`, `generators`, and `posthoc`, the
//! small GRUs of the post-hoc quality scores) need libtorch (feature `torch`).
//!
//! May depend on: tch, `privacy::dpsgd` (the recording `Tape` of the DP forward passes) and the
//! pure labels of `privacy::accounting` (in `spec`). Must never use orchestration, clap or
//! indicatif.
pub mod generator_spec;
pub mod spec;

#[cfg(feature = "torch")]
pub mod generators;

#[cfg(feature = "torch")]
pub mod classifiers;
#[cfg(feature = "torch")]
pub mod dropout;
#[cfg(feature = "torch")]
pub mod layers;
#[cfg(feature = "torch")]
pub mod posthoc;

pub use spec::{ClassifierKind, DpMode, DpTraining, HeadMode, TrainHyper};
