//! Training one stress classifier and predicting with it.
//!
//! Batched libtorch operations only: a fold's training windows live in one (N, 6, 210) float32
//! tensor and every batch is an `index_select` of it; there is no per-sample loop in Rust.
//! Shuffling per epoch comes from the fold's seeded ChaCha stream, initialisation from
//! `tch::manual_seed`, and dropout masks on the CPU from the counter-based
//! [`DropoutStream`] of the dropout seed (libtorch's generator, seeded with it, on CUDA).
//!
//! With [`TrainSpec::privacy`] set, the model is trained with DP-SGD instead (see
//! [`super::dp`]); without it, training is exactly the non-private loop below.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::dp::{self, DpPlan};
use crate::evaluation::record::FoldPrivacy;
use crate::models::classifiers;
use crate::models::dropout::{self, DropoutStream};
use crate::models::{ClassifierKind, DpMode, HeadMode, TrainHyper};

/// Inputs of one training run.
pub struct TrainSpec<'a> {
    pub kind: ClassifierKind,
    pub head: HeadMode,
    pub hyper: TrainHyper,
    pub device: Device,
    /// Training features (N, 6, 210), float32, on `device`.
    pub x: &'a Tensor,
    /// Training labels (0/1).
    pub y: &'a [u8],
    /// Seed for weight initialisation (libtorch generator).
    pub init_seed: i64,
    /// Seed for dropout during training (libtorch generator, set after initialisation).
    pub dropout_seed: i64,
    /// Shuffling stream.
    pub shuffle: ChaCha20Rng,
    /// Private training (None: non-private).
    pub privacy: Option<PrivateTraining<'a>>,
}

/// What private training needs beyond the non-private inputs.
pub struct PrivateTraining<'a> {
    /// The fold's plan (σ calibrated before training).
    pub plan: DpPlan,
    /// Subject of each training window (for the subject unit).
    pub subjects: &'a [u32],
    /// The fold's `Purpose::Privacy` stream (batches and noise).
    pub rng: ChaCha20Rng,
}

/// A trained classifier ready to predict.
pub struct Trained {
    _vs: nn::VarStore,
    model: Box<dyn classifiers::Classifier>,
    head: HeadMode,
    /// How features are transformed before the model (training and prediction alike).
    input: InputTransform,
    pub class_weights: Vec<f64>,
    pub final_loss: f64,
    pub train_seconds: f64,
    /// Where the training time went.
    pub profile: TrainProfile,
    /// The privacy record of private training.
    pub privacy: Option<FoldPrivacy>,
}

/// Seconds spent in each part of training (CPU ops are synchronous, so wall time is exact;
/// on CUDA the split is approximate).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainProfile {
    /// Building the model and fitting the scaler.
    pub setup: f64,
    /// Batch assembly (index_select of the fold's tensor).
    pub batching: f64,
    /// Forward pass and loss.
    pub forward: f64,
    /// Backward pass.
    pub backward: f64,
    /// Adam step.
    pub step: f64,
}

/// A stopwatch that books the time since its previous lap into a [`TrainProfile`] slot.
pub(crate) struct Lap(Instant);

impl Lap {
    pub(crate) fn start() -> Self {
        Lap(Instant::now())
    }

    /// Adds the time since the previous lap to `slot` and starts the next lap.
    pub(crate) fn book(&mut self, slot: &mut f64) {
        *slot += self.0.elapsed().as_secs_f64();
        self.0 = Instant::now();
    }
}

/// The windows `idx` of features `x` and labels `y`, on their device.
pub(crate) fn gather_batch(x: &Tensor, y: &Tensor, idx: &[i64]) -> (Tensor, Tensor) {
    let it = Tensor::from_slice(idx).to_device(x.device());
    (x.index_select(0, &it), y.index_select(0, &it))
}

/// Class weights: the reference's `{0: 1, 1: n0/n1}` (none when a class is absent), or
/// scikit-learn's "balanced" `n / (2 · n_c)` for the default head (1 for an absent class).
pub fn class_weights(y: &[u8], head: HeadMode) -> Vec<f64> {
    let n1 = y.iter().filter(|&&l| l == 1).count() as f64;
    let n0 = y.len() as f64 - n1;
    match head {
        HeadMode::Reference => {
            if n0 > 0.0 && n1 > 0.0 {
                vec![1.0, n0 / n1]
            } else {
                vec![1.0, 1.0]
            }
        }
        HeadMode::Default => [n0, n1]
            .iter()
            .map(|&c| {
                if c > 0.0 {
                    y.len() as f64 / (2.0 * c)
                } else {
                    1.0
                }
            })
            .collect(),
    }
}

/// Serialises model initialisation: libtorch's CPU generator is one per process, so two folds
/// training concurrently ([`super::eval_runner`]) that each seed it and draw their initial
/// weights would interleave their draws, and a fold's model would depend on its neighbour's
/// timing (it did: folds 0 and 1 of a concurrent LOSO differed from run to run).
static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `build` (which draws initial weights from libtorch's generator) with the generator
/// seeded by `seed`, holding the process-wide initialisation lock; then seeds the generator
/// with `after` (the dropout seed, which libtorch's dropout uses on CUDA).
pub(crate) fn seeded_init<R>(seed: i64, after: i64, build: impl FnOnce() -> R) -> R {
    let _guard = INIT_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    tch::manual_seed(seed);
    let out = build();
    tch::manual_seed(after);
    out
}

/// Builds a `kind` model on `device` with its initial weights drawn from `init_seed` (see
/// [`seeded_init`]; `after` seeds libtorch's generator afterwards).
pub(crate) fn init_model(
    kind: ClassifierKind,
    device: Device,
    init_seed: i64,
    after: i64,
) -> (nn::VarStore, Box<dyn classifiers::Classifier>) {
    seeded_init(init_seed, after, || {
        let vs = nn::VarStore::new(device);
        let model = classifiers::build(kind, vs.root());
        (vs, model)
    })
}

/// Keras' Adam defaults (β1, β2, ε), used by every classifier optimiser.
pub(crate) const KERAS_ADAM_BETA1: f64 = 0.9;
pub(crate) const KERAS_ADAM_BETA2: f64 = 0.999;
pub(crate) const KERAS_ADAM_EPS: f64 = 1e-7;

/// Keras' Adam defaults: β1 0.9, β2 0.999, ε 1e-7.
fn keras_adam(vs: &nn::VarStore, lr: f64) -> nn::Optimizer {
    nn::Adam {
        beta1: KERAS_ADAM_BETA1,
        beta2: KERAS_ADAM_BETA2,
        wd: 0.0,
        eps: KERAS_ADAM_EPS,
        amsgrad: false,
    }
    .build(vs, lr)
    .expect("Adam over a fresh VarStore")
}

/// Trains a classifier on the spec's data (privately when `spec.privacy` is set; the error
/// then says why private training cannot run).
pub fn train(mut spec: TrainSpec<'_>) -> Result<Trained, String> {
    if let Some(p) = spec.privacy.take() {
        return train_private(spec, p);
    }
    Ok(train_plain(spec))
}

fn train_plain(mut spec: TrainSpec<'_>) -> Trained {
    let started = Instant::now();
    let n = spec.y.len();
    let (vs, model) = init_model(spec.kind, spec.device, spec.init_seed, spec.dropout_seed);

    let input = InputTransform::for_head(spec.head, spec.x);
    let x_train = input.apply(spec.x);
    let weights = class_weights(spec.y, spec.head);
    let y_all = Tensor::from_slice(&spec.y.iter().map(|&l| l as i64).collect::<Vec<_>>())
        .to_device(spec.device);
    let w_table = Tensor::from_slice(&weights.iter().map(|&w| w as f32).collect::<Vec<_>>())
        .to_device(spec.device);

    let mut opt = keras_adam(&vs, spec.hyper.learning_rate);
    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut final_loss = f64::NAN;
    let mut profile = TrainProfile {
        setup: started.elapsed().as_secs_f64(),
        ..Default::default()
    };
    let mut lap = Lap::start();
    let mut masks = DropoutStream::new(spec.dropout_seed as u64);
    for _epoch in 0..spec.hyper.epochs {
        order.shuffle(&mut spec.shuffle);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(spec.hyper.batch_size.max(1)) {
            lap.book(&mut profile.batching);
            let (xb, yb) = gather_batch(&x_train, &y_all, chunk);
            let wb = w_table.index_select(0, &yb);
            lap.book(&mut profile.batching);
            let logits = dropout::with_stream(&mut masks, || model.forward_t(&xb, true));
            let per_sample = per_sample_loss(&logits, &yb, spec.head);
            // Keras "sum over batch size": Σ wᵢ lᵢ / B
            let loss = (per_sample * wb).sum(Kind::Float) / chunk.len() as f64;
            loss_sum += loss.double_value(&[]);
            lap.book(&mut profile.forward);
            opt.zero_grad();
            loss.backward();
            lap.book(&mut profile.backward);
            opt.step();
            lap.book(&mut profile.step);
            batches += 1;
        }
        final_loss = loss_sum / batches.max(1) as f64;
    }
    Trained {
        _vs: vs,
        model,
        head: spec.head,
        input,
        class_weights: weights,
        final_loss,
        train_seconds: started.elapsed().as_secs_f64(),
        profile,
        privacy: None,
    }
}

/// DP-SGD training (see [`super::dp`]): example mode builds the DP variant of the model,
/// weights classes with the request's public class weights (after clipping), feeds the default
/// head log-compressed instead of standardised features (nothing fitted on private windows),
/// and records the plan with the realised steps; reference-batch mode keeps the reference's
/// model, weights and inputs.
fn train_private(spec: TrainSpec<'_>, p: PrivateTraining<'_>) -> Result<Trained, String> {
    let started = Instant::now();
    let mode = p.plan.request.mode;
    let (vs, (model, arch_note)) = seeded_init(spec.init_seed, spec.dropout_seed, || {
        let vs = nn::VarStore::new(spec.device);
        let built = match mode {
            DpMode::Example => classifiers::build_dp(spec.kind, vs.root()),
            DpMode::ReferenceBatch => (classifiers::build(spec.kind, vs.root()), None),
        };
        (vs, built)
    });
    let mut masks = DropoutStream::new(spec.dropout_seed as u64);
    let (input, weights) = match mode {
        DpMode::Example => (
            match spec.head {
                HeadMode::Default => InputTransform::SignedLog1p,
                HeadMode::Reference => InputTransform::Raw,
            },
            p.plan.request.class_weights.to_vec(),
        ),
        DpMode::ReferenceBatch => (
            InputTransform::for_head(spec.head, spec.x),
            class_weights(spec.y, spec.head),
        ),
    };
    let x_train = input.apply(spec.x);
    let y_all = Tensor::from_slice(&spec.y.iter().map(|&l| l as i64).collect::<Vec<_>>())
        .to_device(spec.device);
    let mut opt = keras_adam(&vs, spec.hyper.learning_rate);
    let mut profile = TrainProfile::default();
    let (final_loss, mut stats) = match mode {
        DpMode::Example => {
            crate::privacy::dpsgd::check_dp_compatible(&model.layer_kinds())
                .map_err(|e| e.to_string())?;
            let params = dp::tape_params(model.as_ref(), &x_train);
            dp::check_all_recorded(&vs, &params)?;
            profile.setup = started.elapsed().as_secs_f64();
            let (loss, mut stats) = dropout::with_stream(&mut masks, || {
                dp::train_example(
                    model.as_ref(),
                    &mut opt,
                    &params,
                    spec.head,
                    &x_train,
                    &y_all,
                    p.subjects,
                    &p.plan,
                    p.rng,
                    &mut profile,
                )
            });
            stats.notes.push(dp::EXAMPLE_PREPROCESSING_NOTE.into());
            (loss, stats)
        }
        DpMode::ReferenceBatch => {
            let params = vs.trainable_variables();
            let w_table =
                Tensor::from_slice(&weights.iter().map(|&w| w as f32).collect::<Vec<_>>())
                    .to_device(spec.device);
            profile.setup = started.elapsed().as_secs_f64();
            let (loss, mut stats) = dropout::with_stream(&mut masks, || {
                dp::train_reference_batch(
                    model.as_ref(),
                    &mut opt,
                    &params,
                    spec.head,
                    &spec.hyper,
                    &x_train,
                    &y_all,
                    &w_table,
                    &p.plan,
                    spec.shuffle,
                    p.rng,
                    &mut profile,
                )
            });
            stats.notes.push(dp::REFERENCE_BATCH_NOTE.into());
            if spec.head == HeadMode::Reference {
                stats.notes.push(dp::REFERENCE_LOSS_BUG_NOTE.into());
            }
            (loss, stats)
        }
    };
    stats.dp_architecture_note = arch_note;
    stats.parameters = vs.trainable_variables().iter().map(|v| v.numel()).sum();
    let privacy = p.plan.finish(stats)?;
    Ok(Trained {
        _vs: vs,
        model,
        head: spec.head,
        input,
        class_weights: weights,
        final_loss,
        train_seconds: started.elapsed().as_secs_f64(),
        profile,
        privacy: Some(privacy),
    })
}

/// Per-sample loss: the reference's binary cross-entropy averaged over the two one-hot
/// columns (two independent sigmoids), or softmax cross-entropy for the default head.
pub(crate) fn per_sample_loss(logits: &Tensor, y: &Tensor, head: HeadMode) -> Tensor {
    match head {
        HeadMode::Reference => {
            let target = y.one_hot(2).to_kind(Kind::Float);
            logits
                .binary_cross_entropy_with_logits::<Tensor>(
                    &target,
                    None,
                    None,
                    tch::Reduction::None,
                )
                .mean_dim([1i64].as_slice(), false, Kind::Float)
        }
        HeadMode::Default => {
            let logp = logits.log_softmax(-1, Kind::Float);
            -logp.gather(1, &y.unsqueeze(1), false).squeeze_dim(1)
        }
    }
}

/// The feature transform in front of the model.
pub(crate) enum InputTransform {
    /// Features as stored (the reference head).
    Raw,
    /// Standardisation with the training windows' mean and 1/sd per feature (the default head
    /// without DP; zero-sd features, the zero padding, stay at 0 after centring).
    Standardise { mean: Tensor, inv_sd: Tensor },
    /// sign(x)·ln(1 + |x|), fitted on nothing: the default head under example-level DP, where
    /// statistics of the private windows may not be used (FFT magnitudes up to ≈ 35 become
    /// ≤ 3.6, and zeros stay zeros).
    SignedLog1p,
}

impl InputTransform {
    /// The non-private choice: standardisation fitted on `x` for the default head, raw features
    /// for the reference head.
    pub(crate) fn for_head(head: HeadMode, x: &Tensor) -> Self {
        match head {
            HeadMode::Default => Self::fit_standardise(x),
            HeadMode::Reference => Self::Raw,
        }
    }

    fn fit_standardise(x: &Tensor) -> Self {
        let flat = x.flatten(1, -1);
        let mean = flat.mean_dim([0i64].as_slice(), true, Kind::Float);
        let sd = flat.std_dim([0i64].as_slice(), false, true);
        let inv_sd = sd.gt(1e-12).to_kind(Kind::Float) / sd.clamp_min(1e-12);
        InputTransform::Standardise { mean, inv_sd }
    }

    pub(crate) fn apply(&self, x: &Tensor) -> Tensor {
        match self {
            InputTransform::Raw => x.shallow_clone(),
            InputTransform::Standardise { mean, inv_sd } => {
                let shape = x.size();
                ((x.flatten(1, -1) - mean) * inv_sd).view(shape.as_slice())
            }
            InputTransform::SignedLog1p => x.sign() * x.abs().log1p(),
        }
    }
}

impl Trained {
    /// A non-private model trained elsewhere (fold-batched training), from its parts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        vs: nn::VarStore,
        model: Box<dyn classifiers::Classifier>,
        head: HeadMode,
        input: InputTransform,
        class_weights: Vec<f64>,
        final_loss: f64,
        train_seconds: f64,
        profile: TrainProfile,
    ) -> Self {
        Self {
            _vs: vs,
            model,
            head,
            input,
            class_weights,
            final_loss,
            train_seconds,
            profile,
            privacy: None,
        }
    }

    /// The model's variables by name (the trained parameters).
    pub fn variables(&self) -> std::collections::HashMap<String, Tensor> {
        self._vs.variables()
    }

    /// Class probabilities (N, 2) for features (N, 6, 210) on the model's device: per-column
    /// sigmoids for the reference head (they need not sum to 1), a softmax for the default.
    pub fn predict(&self, x: &Tensor) -> Vec<[f64; 2]> {
        let x = self.input.apply(x);
        let probs = tch::no_grad(|| {
            let n = x.size()[0];
            let mut outs = Vec::new();
            let mut start = 0;
            while start < n {
                let len = 256.min(n - start);
                let logits = self.model.forward_t(&x.narrow(0, start, len), false);
                outs.push(match self.head {
                    HeadMode::Reference => logits.sigmoid(),
                    HeadMode::Default => logits.softmax(-1, Kind::Float),
                });
                start += len;
            }
            if outs.is_empty() {
                Tensor::zeros([0, 2], (Kind::Float, x.device()))
            } else {
                Tensor::cat(&outs, 0)
            }
        });
        let v: Vec<f32> = Vec::try_from(probs.to_device(Device::Cpu).flatten(0, -1))
            .expect("float probabilities");
        v.chunks(2).map(|c| [c[0] as f64, c[1] as f64]).collect()
    }
}

/// Features of the given windows as an (n, 6, 210) float32 tensor.
pub fn features_tensor(x: &[f64], idx: &[usize], device: Device) -> Tensor {
    use crate::features::FEATURES_PER_WINDOW;
    let mut buf: Vec<f32> = Vec::with_capacity(idx.len() * FEATURES_PER_WINDOW);
    for &i in idx {
        buf.extend(
            x[i * FEATURES_PER_WINDOW..(i + 1) * FEATURES_PER_WINDOW]
                .iter()
                .map(|&v| v as f32),
        );
    }
    Tensor::from_slice(&buf)
        .view([idx.len() as i64, 6, 210])
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_initialisations_draw_what_they_would_draw_alone() {
        let first_weights = |seed: i64| {
            seeded_init(seed, 0, || {
                let vs = nn::VarStore::new(Device::Cpu);
                let _m = classifiers::build(ClassifierKind::CnnLstm, vs.root());
                let v = vs.variables();
                let mut names: Vec<_> = v.keys().cloned().collect();
                names.sort();
                names
                    .iter()
                    .map(|n| v[n].sum(Kind::Double).double_value(&[]))
                    .collect::<Vec<_>>()
            })
        };
        let alone: Vec<_> = (0..8).map(first_weights).collect();
        let together: Vec<Vec<_>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    s.spawn(move || {
                        (0..8)
                            .filter(|k| k % 2 == t)
                            .map(first_weights)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (k, a) in alone.iter().enumerate() {
            assert_eq!(a, &together[k % 2][k / 2], "model {k}");
        }
    }

    #[test]
    fn class_weights_follow_the_reference_and_balanced_rules() {
        let y = [0u8, 0, 0, 1];
        assert_eq!(class_weights(&y, HeadMode::Reference), vec![1.0, 3.0]);
        assert_eq!(class_weights(&y, HeadMode::Default), vec![4.0 / 6.0, 2.0]);
        assert_eq!(class_weights(&[0, 0], HeadMode::Reference), vec![1.0, 1.0]);
    }
}
