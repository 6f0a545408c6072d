//! Training loops (tch): the one place that owns epochs, batches, seeding and timing.
//! `classifier` trains one stress classifier and predicts; `eval_runner` runs the LOSO and
//! TSTR protocols over replicates and folds and builds the result record; `dp` trains
//! privately (DP-SGD, σ calibrated per fold) and records the guarantee; `fold_batch` trains
//! several folds' CNNs as one batched model; `generator` trains the
//! generators; `quality` measures synthetic data (TimeGAN's discriminative and predictive
//! scores) and audits the generators' private discriminator step (empirical ε lower bound).
//!
//! May depend on: tch, models, evaluation, config (seeds), features, privacy. Must never use
//! orchestration.
pub mod classifier;
pub mod dp;
pub mod eval_runner;
pub mod fold_batch;
pub mod generator;
pub mod quality;
pub mod tabular;
