//! Training loops (tch): the one place that owns epochs, batches, seeding and timing.
//! `classifier` trains one stress classifier and predicts; `eval_runner` runs the LOSO and
//! TSTR protocols over replicates and folds and builds the result record.
//!
//! May depend on: tch, models, evaluation, config (seeds), features. Must never use
//! orchestration.
pub mod classifier;
pub mod eval_runner;
